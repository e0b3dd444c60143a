// Runs portable test files under Deno, straight from the TypeScript sources (Deno's navigator.gpu
// is wgpu). Run from the repository root:
//   deno run -A --no-lock test/runtimes/deno.ts test/elementwise.test.ts [more files]
//   deno run -A --no-lock test/runtimes/deno.ts --probe     # prints the adapter, or why there is none
// Deno resolves uvu and the other npm packages from package.json and node_modules.
// Prints one `##lanterna-result` line per file; see harness.ts.

import { errorText, resultLine, runSuite, SKIP_TAG } from './harness.ts';

declare const Deno: any;

const encoder = new TextEncoder();
const write = (s: string) => {
  Deno.stdout.writeSync(encoder.encode(s));
};
const cwd = 'file://' + Deno.cwd() + '/';
const args: string[] = [...Deno.args];

if (args[0] === '--probe') {
  try {
    const { describeDevice, formatDevice } = await import('../../engine/info.ts');
    const d = await describeDevice();
    write(formatDevice(d) + '\n');
    write('##lanterna-device ' + JSON.stringify(d) + '\n');
    Deno.exit(0);
  } catch (e) {
    write(SKIP_TAG + JSON.stringify({ reason: `no WebGPU adapter in Deno: ${firstLine(e)}` }) + '\n');
    Deno.exit(1);
  }
}

let failed = 0;
for (const file of args) {
  const result = await runSuite(file, () => import(new URL(file, cwd).href), write);
  write('\n' + resultLine(result) + '\n');
  failed += result.failed;
}
try {
  const context = await import('../../engine/context.ts');
  context.shutdown();
} catch {
  // nothing to release
}
Deno.exit(failed ? 1 : 0);

function firstLine(e: unknown): string {
  return errorText(e).split('\n')[0];
}
