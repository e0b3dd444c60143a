// Files shipped with the package (models/, labels), found from the compiled CLI's location.

import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The package root: dist/cli/paths.js → ../../ (or cli/paths.ts → ../ when run from source). */
export function packageRoot(): string {
  for (const up of ['../..', '..']) {
    const root = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(root, 'package.json'))) return root;
  }
  return process.cwd();
}

export const shipped = (rel: string) => join(packageRoot(), rel);
