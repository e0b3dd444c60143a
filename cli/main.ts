// The `lanterna` command line. Each subcommand lives in its own file under cli/commands/ and
// exports `register(program)` and its `EXAMPLES`; add it to COMMANDS below.
//
// Errors end the process with a one-line message on stderr: exit code 2 for a usage error
// (commander's, or a UsageError from cli/options.ts), 1 for any other; `--debug` prints the stack
// trace as well. bin/lanterna.js runs this in a child process that hides the GPU driver's own
// stderr lines (cli/launch.ts); `--verbose` is handled there and only registered here.

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
import * as explain from './commands/explain.ts';
import * as metrics from './commands/metrics.ts';
import * as auditCmd from './commands/audit.ts';
import { EXIT, examplesHelp, overviewHelp, type Example } from './help.ts';
import { UsageError } from './options.ts';

export interface CommandModule {
  register(program: Command): void;
  /** The first is the one `lanterna --help` shows. */
  EXAMPLES: readonly Example[];
}

/** Subcommands, in the order `lanterna --help` lists them. */
const COMMANDS: CommandModule[] = [train, evaluate, predict, cam, gradcam, explain, metrics, auditCmd, info];

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
    .option('--verbose', "show the GPU driver's own messages on stderr (hidden by default)")
    .option('--debug', 'print stack traces of errors (and, as --verbose, the driver messages)')
    .showHelpAfterError('(run `lanterna --help` for the commands and options)')
    // Commander's "error: …" reads as ours do.
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'lanterna: ')) })
    .exitOverride(); // before the subcommands, which inherit it: main() decides how to exit
  const overview: (readonly Example[])[] = [];
  for (const c of COMMANDS) {
    c.register(program);
    const cmd = program.commands[program.commands.length - 1];
    cmd.addHelpText('after', examplesHelp(c.EXAMPLES));
    cmd.showHelpAfterError(`(run \`lanterna ${cmd.name()} --help\` for its options and examples)`);
    overview.push(c.EXAMPLES);
  }
  program.addHelpText('after', overviewHelp(overview));
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
    return EXIT.ok;
  } catch (e) {
    // Commander has already printed its own message (unknown option, --help, --version); a
    // nonzero code from it is always about the command line.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    console.error(formatError(e, debug));
    return e instanceof UsageError ? EXIT.usage : EXIT.runtime;
  } finally {
    shutdown(); // release the GPU device, if a command made one, so the process can end
  }
}

// Run when executed directly (`node dist/cli/main.js ...`); bin/lanterna.js imports main().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
