// Runs one uvu test file and counts its results, in any runtime (Node, Deno, a browser page).
//
// uvu normally runs each file's tests as soon as the file calls `test.run()`, and prints only a
// summary meant for people. Here uvu is put in its CLI mode (`UVU_DEFER`) so that `test.run()`
// only queues the file's suites; the harness then runs the queue itself and keeps the counts.
// The result travels as one line, `##lanterna-result {json}`, which scripts/test.sh reads.
//
// This module must not import uvu: uvu reads UVU_DEFER once, when it is first loaded, which has
// to happen after runSuite() has set it (i.e. inside `load`).

export const RESULT_TAG = '##lanterna-result ';
export const SKIP_TAG = '##lanterna-skip ';

export interface SuiteResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** Set when the file could not be loaded (its top level threw), e.g. no GPU adapter. */
  error?: string;
}

type Runner = () => Promise<[string | true, number, number, number]>;

const now = () => (globalThis.performance ?? Date).now();

/**
 * Loads a test file through `load` (a dynamic import) and runs the suites it queued.
 * `write` receives uvu's progress output (dots, failures).
 */
export async function runSuite(file: string, load: () => Promise<unknown>, write: (s: string) => void): Promise<SuiteResult> {
  const g = globalThis as any;
  g.UVU_DEFER = 1;
  g.UVU_QUEUE ??= [];
  const index = g.UVU_QUEUE.length;
  g.UVU_INDEX = index;
  g.UVU_QUEUE.push([file]);
  const t0 = now();
  const result: SuiteResult = { file, passed: 0, failed: 0, skipped: 0, ms: 0 };
  try {
    await load();
  } catch (e) {
    result.failed++;
    result.error = `loading ${file} failed: ${errorText(e)}`;
    write(`\n  ✘ ${result.error}\n`);
  }
  const group: unknown[] = g.UVU_QUEUE[index] ?? [];
  for (const run of group.slice(1) as Runner[]) {
    try {
      const [errors, ran, skipped, total] = await run();
      result.passed += ran;
      result.failed += total - ran;
      result.skipped += skipped;
      if (errors !== true) write('\n' + errors + '\n');
    } catch (e) {
      // A throwing before/after hook escapes uvu's runner.
      result.failed++;
      write(`\n  ✘ a suite hook of ${file} threw: ${errorText(e)}\n`);
    }
  }
  if (!result.error && result.passed + result.failed + result.skipped === 0) {
    result.failed++;
    result.error = `${file} ran no tests (does it call test.run()?)`;
    write(`\n  ✘ ${result.error}\n`);
  }
  result.ms = Math.round(now() - t0);
  return result;
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack && !e.stack.includes(e.message) ? `${e.message}\n${e.stack}` : (e.stack ?? e.message);
  return String(e);
}

export function resultLine(r: SuiteResult): string {
  return RESULT_TAG + JSON.stringify(r);
}
