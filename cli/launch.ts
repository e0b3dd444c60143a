// How bin/lanterna.js runs the CLI: in a child process (the same node, flags and arguments;
// stdin and stdout shared) whose stderr passes through cli/noise.ts, so the GPU driver's own
// warnings, written by native code to file descriptor 2, stay off the terminal. Signals are
// passed on and the child's exit code (or signal) becomes ours.
//
// No child when the user asked for everything (`--verbose`, `--debug`, LANTERNA_DEBUG=1, or
// VK_LOADER_DEBUG set, which asks the Vulkan loader to talk), nor for --help and --version, which
// start no GPU: the CLI then runs in this process. The child costs one more Node start (0.2 s on
// a busy 2-core machine, where a bare `node` takes 0.14 s) against the seconds a GPU command takes.
//
// The child learns from LANTERNA_STDERR that it is the child, and whether our stderr is a
// terminal ('tty:<columns>') or not ('pipe'): its own stderr is a pipe either way, and the
// training progress bar is drawn only on a terminal (cli/terminal.ts).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { isRoutineNoise, NoiseFilter } from './noise.ts';

/** The variable set in the child (see the file comment). */
export const CHILD_ENV = 'LANTERNA_STDERR';

/** How long a partial line that could be the start of a noise line is held before it is shown. */
const HOLD_MS = 50;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** True when the user asked to see the driver's messages: then nothing is filtered. */
export function wantsDriverMessages(args: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  return opts.includes('--verbose') || opts.includes('--debug') || env.LANTERNA_DEBUG === '1' || !!env.VK_LOADER_DEBUG;
}

/** True for a command line that only prints help or the version: no GPU, nothing to filter. */
export function onlyHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  return opts.length === 0 || opts[0] === 'help' || opts.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version');
}

/**
 * Runs the CLI whose compiled main module is `mainUrl` with `argv` (node, script, arguments…)
 * and resolves to its exit code: in a filtering child, or here when no filtering is wanted (or
 * this is the child).
 */
export async function launch(mainUrl: string, argv: readonly string[] = process.argv): Promise<number> {
  const args = argv.slice(2);
  // Under --inspect the debugger wants the CLI itself (and a child would find the port taken).
  const inspected = process.execArgv.some((a) => a.startsWith('--inspect'));
  // A bare --version needs no command module: importing them all (engine, nn, explain) cost
  // 0.8 s of CPU for one line.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const version = packageVersion(new URL('../../package.json', mainUrl));
    if (version) {
      console.log(version);
      return 0;
    }
  }
  if (process.env[CHILD_ENV] !== undefined || wantsDriverMessages(args, process.env) || onlyHelp(args) || inspected) {
    const cli = (await import(mainUrl)) as { main(argv: string[]): Promise<number> };
    return cli.main([...argv]);
  }
  return runFiltered(argv[1], args);
}

/** The `version` of the package.json at `url`, or null when it cannot be read. */
function packageVersion(url: URL): string | null {
  try {
    const v = JSON.parse(readFileSync(url, 'utf8')).version;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Runs `node [its flags] script args…` with stderr filtered; resolves to its exit code. */
export function runFiltered(script: string, args: readonly string[]): Promise<number> {
  const err = process.stderr;
  const env = { ...process.env, [CHILD_ENV]: err.isTTY ? `tty:${err.columns || 80}` : 'pipe' };
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', 'pipe'], env });
  const filter = new NoiseFilter();
  let timer: ReturnType<typeof setTimeout> | undefined;
  child.stderr!.on('data', (chunk: Buffer) => {
    clearTimeout(timer);
    const shown = filter.push(chunk);
    if (shown) err.write(shown);
    if (filter.holding) timer = setTimeout(() => err.write(filter.flush()), HOLD_MS);
  });
  // A terminal's Ctrl-C reaches the child too (same process group); a signal sent to us alone
  // is passed on. Either way the child decides how to end, and we end as it did.
  const forward = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      for (const s of FORWARDED) process.off(s, forward);
      err.write(`lanterna: cannot start ${process.execPath}: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const rest = filter.end();
      if (rest) err.write(rest);
      for (const s of FORWARDED) process.off(s, forward);
      if (signal) {
        process.kill(process.pid, signal); // default action now that our handler is gone
        resolve(128 + (constants.signals[signal] ?? 0));
        return;
      }
      const told = filter.hidden.filter((l) => l.trim() !== '' && !isRoutineNoise(l)).length;
      if (code !== 0 && told) err.write(`lanterna: (the GPU driver printed ${told} more line${told === 1 ? '' : 's'} about this; --verbose shows them)\n`);
      resolve(code ?? 1);
    });
  });
}
