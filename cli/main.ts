// The `lanterna` command line. Each subcommand lives in its own file under cli/commands/ and
// exports `register(program)`; add it to COMMANDS below.
//
// Errors: a LanternaError (or any error) ends the process with a one-line message on stderr and
// exit code 1; `--debug` prints the stack trace as well.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { shutdown } from '../engine/context.ts';
import { LanternaError } from '../engine/errors.ts';
import * as info from './commands/info.ts';
import * as train from './commands/train.ts';
import * as evaluate from './commands/evaluate.ts';
import * as cam from './commands/cam.ts';
import * as gradcam from './commands/gradcam.ts';
import * as predict from './commands/predict.ts';
import * as auditCmd from './commands/audit.ts';

export interface CommandModule {
  register(program: Command): void;
}

/** Subcommands, in the order `lanterna --help` lists them. */
const COMMANDS: CommandModule[] = [train, evaluate, predict, cam, gradcam, auditCmd, info];

function packageVersion(): string {
  try {
    // dist/cli/main.js → ../../package.json
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('lanterna')
    .description('What a convolutional network looks at: a WebGPU tensor engine, training, Keras import, CAM and Grad-CAM.')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'print stack traces of errors')
    .showHelpAfterError('(run `lanterna --help` for the commands and options)')
    .exitOverride(); // before the subcommands, which inherit it: main() decides how to exit
  for (const c of COMMANDS) c.register(program);
  return program;
}

/** Formats an error for the user: one line, unless debugging. */
export function formatError(e: unknown, debug: boolean): string {
  if (debug && e instanceof Error && e.stack) return `lanterna: ${e.stack}`;
  if (e instanceof LanternaError) return `lanterna: ${e.message}`;
  if (e instanceof Error) return `lanterna: ${e.name === 'Error' ? '' : e.name + ': '}${e.message} (run with --debug for the stack trace)`;
  return `lanterna: ${String(e)}`;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const debug = argv.includes('--debug');
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    // Commander has already printed its own message (unknown option, --help, --version).
    if (e instanceof CommanderError) return e.exitCode;
    console.error(formatError(e, debug));
    return 1;
  } finally {
    shutdown(); // release the GPU device, if a command made one, so the process can end
  }
}

// Run when executed directly (`node dist/cli/main.js ...`); bin/lanterna.js imports main().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
