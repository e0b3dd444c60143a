#!/usr/bin/env node
// The `lanterna` command: a thin shim over the compiled CLI in dist/. dist/cli/launch.js runs it
// in a child process whose stderr is filtered of the GPU driver's own warnings (cli/noise.ts),
// unless --verbose, --debug or LANTERNA_DEBUG=1 asks for them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
const launcher = new URL('../dist/cli/launch.js', import.meta.url);
if (!existsSync(main) || !existsSync(launcher)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.error(`lanterna: ${fileURLToPath(existsSync(main) ? launcher : main)} is missing: run \`npm run build\` (in ${root}) first.`);
  process.exit(1);
}
const { launch } = await import(launcher.href);
process.exitCode = await launch(main.href, process.argv);
