// The test harness itself (test/runtimes/): counts are right, and failures cannot go unseen —
// a failing test, a file that throws at load, and a process that dies all count as failed.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import { RESULT_TAG, type SuiteResult } from './runtimes/harness.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const runner = here('./runtimes/node.js');

function run(fixture: string): { status: number | null; results: SuiteResult[]; stdout: string } {
  const p = spawnSync(process.execPath, [runner, here(`./runtimes/fixtures/${fixture}.js`)], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const results = p.stdout
    .split('\n')
    .filter((l) => l.startsWith(RESULT_TAG))
    .map((l) => JSON.parse(l.slice(RESULT_TAG.length)));
  return { status: p.status, results, stdout: p.stdout };
}

test('counts passed, failed and skipped tests across the suites of a file', () => {
  const r = run('mixed');
  if (r.results.length !== 1) throw new Error(`expected one result line, got ${r.results.length}:\n${r.stdout}`);
  const { passed, failed, skipped } = r.results[0];
  if (passed !== 3 || failed !== 1 || skipped !== 1) throw new Error(`counts ${JSON.stringify({ passed, failed, skipped })}, expected 3/1/1`);
  if (!r.stdout.includes('deliberate failure')) throw new Error('the failure message was not printed');
  if (r.status !== 1) throw new Error(`exit code ${r.status}, expected 1`);
});

test('a file that throws while loading counts as one failure, with the reason', () => {
  const r = run('throws');
  const res = r.results[0];
  if (!res || res.failed !== 1 || res.passed !== 0) throw new Error(`unexpected result: ${JSON.stringify(res)}`);
  if (!res.error?.includes('top-level failure on purpose')) throw new Error(`reason missing: ${res.error}`);
});

test('a process that dies mid-test prints no result (the runner then counts it failed)', () => {
  const r = run('exits');
  if (r.results.length !== 0 || r.status !== 7) throw new Error(`expected no result and exit 7, got ${r.results.length} results, exit ${r.status}`);
});

test.run();
