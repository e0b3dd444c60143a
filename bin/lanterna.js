#!/usr/bin/env node
// The `lanterna` command: a thin shim over the compiled CLI in dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.error(`lanterna: ${fileURLToPath(main)} is missing: run \`npm run build\` (in ${root}) first.`);
  process.exit(1);
}
const cli = await import(main.href);
process.exitCode = await cli.main(process.argv);
