// Whether the user's stderr is a terminal. Under bin/lanterna.js the CLI runs in a child whose
// stderr is a pipe to the launcher (cli/launch.ts), which says in LANTERNA_STDERR what it leads
// to: 'tty:<columns>' or 'pipe'. The width is the terminal's at the start (a resize is not seen).

import { CHILD_ENV } from './launch.ts';

/** The user's stderr terminal and its width, or null when stderr does not lead to one. */
export function stderrTerminal(env: Readonly<Record<string, string | undefined>> = process.env): { columns: number } | null {
  if (process.stderr.isTTY) return { columns: process.stderr.columns || 80 };
  const m = /^tty:(\d+)$/.exec(env[CHILD_ENV] ?? '');
  return m ? { columns: Number(m[1]) || 80 } : null;
}

/**
 * A stream for cli-progress, which draws only on a terminal and asks the stream itself: stderr,
 * or, when stderr is the launcher's pipe to a terminal, stderr presented as that terminal.
 */
export function barStream(): NodeJS.WritableStream {
  const t = stderrTerminal();
  if (process.stderr.isTTY || !t) return process.stderr;
  const err = process.stderr;
  // cli-progress and node:readline (cursor moves) only ever call write() and read these two.
  const stream = { isTTY: true, columns: t.columns, write: (...a: Parameters<typeof err.write>) => err.write(...a) };
  return stream as unknown as NodeJS.WritableStream;
}
