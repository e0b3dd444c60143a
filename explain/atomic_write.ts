// Files written atomically: a temp file renamed into place, so an interrupted run never leaves a
// half-written output. Apart from explain/png.ts so that callers which write text only (the CLI's
// --json) do not pull the PNG encoder in, and cli/ helpers stay bundleable for the browser.

import { promises as fs } from 'node:fs';

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
