// Runs one compiled test file under Node and prints its counts as a `##lanterna-result` line.
//   node dist/test/runtimes/node.js dist/test/elementwise.test.js
// scripts/test.sh starts one process per file, so that a crash only fails that file.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resultLine, runSuite } from './harness.ts';

const file = process.argv[2];
if (!file) {
  console.error('usage: node dist/test/runtimes/node.js <compiled test file>');
  process.exit(2);
}

const result = await runSuite(file, () => import(pathToFileURL(resolve(file)).href), (s) => process.stdout.write(s));
process.stdout.write('\n' + resultLine(result) + '\n');
process.exitCode = result.failed ? 1 : 0;

// Release the GPU device if a test file created one, so the process ends by itself; should
// something still hold it open, end it anyway once the result is out.
try {
  const context = await import(new URL('../../engine/context.js', import.meta.url).href);
  context.shutdown();
} catch {
  // no engine in this build: nothing to release
}
setTimeout(() => process.exit(), 5000).unref();
