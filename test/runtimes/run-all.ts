// Runs every test in every runtime and prints one summary; scripts/test.sh calls it after the
// build. Each runtime is a set of child processes that print `##lanterna-result` lines
// (harness.ts); a child that dies without one counts as one failure.
//
//   node dist/test/runtimes/run-all.js [--only node,deno,chromium,web,onnx] [--typecheck ok|failed]
//        [--summary-file F] [name filter ...]
//
//   node      every dist/test/**/*.test.js, each file in its own process (Dawn)
//   deno      the portable suites (test/suites.ts) from the TypeScript sources, one process each (wgpu)
//   chromium  the portable suites bundled by esbuild, one page each, headless Chromium (SwiftShader)
//   web       the browser app (web/) end to end in headless Chromium: dist/test/runtimes/web.js,
//             one count per check (LANTERNA_SCREENSHOTS=DIR also saves screenshots of each view)
//   package   the package as users get it (dist/test/runtimes/package.js): npm pack, a fresh
//             project installing the tarball, the examples in Node and Deno, a strict TypeScript
//             consumer, npx lanterna, and the example page (plain and bundled) in Chromium
//   onnx      dist/test/onnx/run.js, the ONNX conformance runner, when it exists
//   bench-deno, bench-chromium
//             the benchmark suite (bench/) at tiny sizes, one run each, beside TF.js, under Deno
//             and in a Chromium page: checks that our side runs and that the engines agree
//             (Node's run is test/bench_harness.test.ts)
//
// A runtime that cannot start (no deno, no Chromium, no adapter) is SKIPPED with the reason and
// counts neither as passed nor as failed. The last line printed is `N passed, N failed`.
// Environment: LANTERNA_TEST_TIMEOUT, seconds per test file (default 1200).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PORTABLE_SUITES } from '../suites.ts';
import { RESULT_TAG, SKIP_TAG, type SuiteResult } from './harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // <outDir>/test/runtimes → repository
const DIST = fileURLToPath(new URL('../../', import.meta.url)); // the build folder (dist/)
const TIMEOUT_MS = Number(process.env.LANTERNA_TEST_TIMEOUT || 1200) * 1000;
const DEVICE_TAG = '##lanterna-device ';
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
// Known, harmless driver chatter on stderr.
const NOISE = [/artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit/, /XDG_RUNTIME_DIR/];

type Name = 'node' | 'deno' | 'chromium' | 'web' | 'package' | 'bench-deno' | 'bench-chromium' | 'onnx';
const ALL: Name[] = ['node', 'deno', 'chromium', 'web', 'package', 'bench-deno', 'bench-chromium', 'onnx'];

interface Report {
  name: string;
  skipped?: string;
  passed: number;
  failed: number;
  skippedTests: number;
  ms: number;
  adapter?: string;
  failures: string[];
  /** Wall time per file, for the slowest-files list. */
  times: [string, number][];
}

interface ChildResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  results: SuiteResult[];
  skip?: string;
  device?: any;
  tail: string[];
  /** Everything the child printed on stdout, when run quietly. */
  text: string;
}

// --- arguments ------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opt = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const only = (opt('--only') ?? ALL.join(',')).split(',').filter(Boolean) as Name[];
const typecheck = opt('--typecheck');
const summaryFile = opt('--summary-file');
const filters = argv;
const wanted = (file: string) => filters.length === 0 || filters.some((f) => file.includes(f));

// --- child processes -------------------------------------------------------------------------
let current: ReturnType<typeof spawn> | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (current?.pid) killGroup(current.pid);
    process.exit(130);
  });

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const color = process.stdout.isTTY ? {} : { NO_COLOR: '1' };

/** Runs a child, passing its output through minus the tag lines, which it collects. */
function runChild(cmd: string, args: string[], timeoutMs: number, env: Record<string, string> = {}, quiet = false): Promise<ChildResult> {
  const write = (s: string) => (quiet ? (out.text += s) : process.stdout.write(s));
  const writeErr = (s: string) => (quiet ? undefined : process.stderr.write(s));
  const out: ChildResult = { code: null, signal: null, timedOut: false, results: [], tail: [], text: '' };
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...color, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    const remember = (line: string) => {
      const plain = line.replace(ANSI, '').trim();
      if (!plain) return;
      out.tail.push(plain);
      if (out.tail.length > 30) out.tail.shift();
    };
    const tag = (line: string) => {
      try {
        if (line.startsWith(RESULT_TAG)) out.results.push(JSON.parse(line.slice(RESULT_TAG.length)));
        else if (line.startsWith(SKIP_TAG)) out.skip = JSON.parse(line.slice(SKIP_TAG.length)).reason;
        else if (line.startsWith(DEVICE_TAG)) out.device = JSON.parse(line.slice(DEVICE_TAG.length));
      } catch {
        write(line + '\n');
      }
    };
    // stdout: passed through as it comes (uvu's dots have no newline), tag lines held back.
    let pending = '';
    let midLine = false;
    let blank = false; // an empty line held back: the runners put one before their tag line
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      let s = pending + chunk;
      pending = '';
      for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n')) {
        const line = s.slice(0, nl);
        s = s.slice(nl + 1);
        if (!midLine && line.startsWith('##lanterna-')) {
          tag(line);
          blank = false;
        } else if (!midLine && line === '') {
          if (blank) write('\n');
          blank = true;
        } else {
          if (blank && !midLine) write('\n');
          blank = false;
          write(line + '\n');
          remember(line);
        }
        midLine = false;
      }
      if (!s) return;
      if (blank) write('\n');
      blank = false;
      if (!midLine && ('##lanterna-'.startsWith(s) || s.startsWith('##lanterna-'))) pending = s;
      else {
        write(s);
        midLine = true;
      }
    });
    let errPending = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (errPending + chunk).split('\n');
      errPending = lines.pop()!;
      for (const line of lines) {
        if (NOISE.some((r) => r.test(line))) continue;
        writeErr(line + '\n');
        remember(line);
      }
    });
    const timer = setTimeout(() => {
      out.timedOut = true;
      if (child.pid) killGroup(child.pid);
    }, timeoutMs);
    child.on('error', (e) => {
      out.tail.push(e.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (child.pid) killGroup(child.pid); // stragglers it left behind (browser helpers, say)
      if (pending) tag(pending);
      if (blank) write('\n');
      if (errPending && !NOISE.some((r) => r.test(errPending))) {
        writeErr(errPending + '\n');
        remember(errPending);
      }
      if (midLine) write('\n');
      out.code = code;
      out.signal = signal;
      done(out);
    });
  });
}

function why(c: ChildResult, timeoutMs: number): string {
  if (c.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  const last = c.tail.at(-1) ?? 'no output';
  return c.signal ? `killed by ${c.signal}; last output: ${last}` : `exited with code ${c.code} and no result; last output: ${last}`;
}

function newReport(name: string): Report {
  return { name, passed: 0, failed: 0, skippedTests: 0, ms: 0, failures: [], times: [] };
}

function add(r: Report, s: SuiteResult) {
  r.passed += s.passed;
  r.failed += s.failed;
  r.skippedTests += s.skipped;
  if (s.failed) r.failures.push(`${s.file}: ${s.failed} failed${s.error ? ` (${s.error.split('\n')[0]})` : ''}`);
}

/** Runs one file's child and adds its results; a child without a result counts as one failure. */
async function runFile(r: Report, file: string, cmd: string, args: string[], env?: Record<string, string>) {
  const t0 = Date.now();
  const c = await runChild(cmd, args, TIMEOUT_MS, env);
  const ms = Date.now() - t0;
  r.times.push([file, ms]);
  process.stdout.write(`  (${fmtTime(ms)})\n`);
  if (c.results.length === 1) c.results[0].file = file;
  if (c.results.length === 0) {
    const reason = why(c, TIMEOUT_MS);
    process.stdout.write(`\n  ✘ ${file}: ${reason}\n`);
    add(r, { file, passed: 0, failed: 1, skipped: 0, ms: 0, error: reason });
  } else for (const s of c.results) add(r, s);
}

function banner(title: string) {
  process.stdout.write(`\n=== ${title} ${'='.repeat(Math.max(3, 76 - title.length))}\n`);
}

function adapterLine(d: any): string {
  if (!d) return '';
  const icd = d.icd ? ` · ${d.icd}` : '';
  return `${d.driver} via ${String(d.webgpu).split(' (')[0]}${icd}`;
}

function exists(rel: string) {
  return existsSync(join(ROOT, rel));
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'runtimes' ? [] : walk(join(dir, e.name))) : [join(dir, e.name)],
  );
}

// --- runtimes -------------------------------------------------------------------------------
let nodeProbe: Promise<{ adapter?: string; skip?: string }> | null = null;

/** Node's adapter, as `lanterna info --json` finds it (once); `skip` says why there is none. */
function nodeAdapter(): Promise<{ adapter?: string; skip?: string }> {
  return (nodeProbe ??= (async () => {
    const cli = join(DIST, 'cli/main.js');
    if (!existsSync(cli)) return {}; // no CLI in this build: run the tests anyway
    const probe = await runChild(process.execPath, [cli, 'info', '--json'], 120_000, {}, true);
    if (probe.code !== 0)
      return { skip: `no WebGPU adapter in Node: ${probe.tail.find((l) => l.startsWith('lanterna:'))?.slice(10) ?? why(probe, 120_000)}` };
    try {
      return { adapter: adapterLine(JSON.parse(probe.text.slice(probe.text.indexOf('{')))) };
    } catch {
      return {}; // unexpected output: run anyway
    }
  })());
}

async function nodeRuntime(): Promise<Report> {
  const r = newReport('node');
  banner('node (Dawn): every test file, one process each');
  // Stale outputs of deleted sources are left out: only files whose test/**/*.test.ts exists.
  const files = walk(join(DIST, 'test'))
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => relative(DIST, f))
    .filter((f) => exists(f.replace(/\.js$/, '.ts')))
    .filter(wanted)
    .sort();
  const probe = await nodeAdapter();
  if (probe.skip) {
    r.skipped = probe.skip;
    return r;
  }
  r.adapter = probe.adapter;
  if (r.adapter) console.log(`adapter: ${r.adapter}`);
  if (files.length === 0) {
    r.skipped = `no test files in ${relative(ROOT, DIST)}/test (build first)`;
    return r;
  }
  const runner = join(DIST, 'test/runtimes/node.js');
  for (const f of files) {
    const name = f.replace(/\.js$/, '.ts');
    process.stdout.write(`${name}\n`);
    await runFile(r, name, process.execPath, [runner, join(DIST, f)]);
  }
  return r;
}

function findDeno(): string | null {
  const local = join(ROOT, 'node_modules/.bin/deno');
  for (const cmd of [local, 'deno']) {
    const v = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
    if (v.status === 0) return cmd;
  }
  return null;
}

async function denoRuntime(suites: string[]): Promise<Report> {
  const r = newReport('deno');
  banner('deno (wgpu): the portable suites from the TypeScript sources');
  const deno = findDeno();
  if (!deno) {
    r.skipped = 'no deno binary (npm i -D deno provides node_modules/.bin/deno)';
    return r;
  }
  // SwiftShader unless the caller chose: wgpu's shaders run far slower on lavapipe than Dawn's do
  // (test/matmul.test.ts: 2m41s against 15 s on SwiftShader), and Node already covers lavapipe.
  const env: Record<string, string> = { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' };
  if (!process.env.LANTERNA_VULKAN && !process.env.VK_ICD_FILENAMES) env.LANTERNA_VULKAN = 'swiftshader';
  const base = ['run', '-A', '--no-lock', 'test/runtimes/deno.ts'];
  const probe = await runChild(deno, [...base, '--probe'], 120_000, env, true);
  if (!probe.device) {
    r.skipped = probe.skip ?? `deno could not run: ${why(probe, 120_000)}`;
    return r;
  }
  r.adapter = adapterLine(probe.device);
  console.log(`adapter: ${r.adapter}`);
  for (const f of suites) {
    process.stdout.write(`${f}\n`);
    await runFile(r, f, deno, [...base, f], env);
  }
  return r;
}

async function chromiumRuntime(suites: string[]): Promise<Report> {
  const r = newReport('chromium');
  banner('chromium (SwiftShader): the portable suites, bundled, one page each');
  const runner = join(DIST, 'test/runtimes/chromium.js');
  const limit = TIMEOUT_MS * Math.max(1, suites.length) + 180_000;
  const c = await runChild(process.execPath, [runner, ...suites], limit);
  if (c.skip) {
    r.skipped = c.skip;
    return r;
  }
  r.adapter = adapterLine(c.device);
  for (const s of c.results) {
    add(r, s);
    r.times.push([s.file, s.ms]);
  }
  const missing = suites.filter((f) => !c.results.some((s) => s.file === f));
  if (missing.length) {
    const reason = why(c, limit);
    process.stdout.write(`\n  ✘ chromium runner ended early: ${reason}\n`);
    for (const f of missing) add(r, { file: f, passed: 0, failed: 1, skipped: 0, ms: 0, error: reason });
  }
  return r;
}

/** One runner file that reports all its checks as result lines (the browser app, the package). */
async function oneRunnerRuntime(name: string, title: string, source: string, args: string[] = []): Promise<Report> {
  const r = newReport(name);
  banner(title);
  const runner = join(DIST, source.replace(/\.ts$/, '.js'));
  if (!existsSync(runner) || !exists(source)) {
    r.skipped = `no ${source} in this build`;
    return r;
  }
  const limit = Math.min(TIMEOUT_MS, 900_000);
  const c = await runChild(process.execPath, [runner, ...args], limit);
  if (c.skip) {
    r.skipped = c.skip;
    return r;
  }
  for (const s of c.results) {
    add(r, s);
    r.times.push([s.file, s.ms]);
  }
  r.adapter = adapterLine(c.device);
  if (!c.results.length) add(r, { file: source, passed: 0, failed: 1, skipped: 0, ms: 0, error: why(c, limit) });
  return r;
}

const webRuntime = () =>
  oneRunnerRuntime('web', 'web (SwiftShader): the browser app end to end in headless Chromium', 'test/runtimes/web.ts',
    process.env.LANTERNA_SCREENSHOTS ? ['--screenshots', process.env.LANTERNA_SCREENSHOTS] : []);

const packageRuntime = () =>
  oneRunnerRuntime('package', 'package: npm pack, installed into a fresh project, used from Node, TypeScript, Deno and Chromium', 'test/runtimes/package.ts');

// A few workloads of each family at tiny sizes: about 40 s per runtime on SwiftShader on 2 cores
// (TF.js's pipeline compilation dominates; cam2 and the other kernels run in Node's test).
const BENCH_CI = ['--tiny', '--runs', '1', '--warmup', '0', '--no-save', '--quiet', '--result-line', '--only', 'matmul-16,fwd,maxpool,train-cam1,epoch,gradcam', '--epoch-limit', '4'];

/** One benchmark child's result line (or skip) as a report row. */

async function benchRuntime(name: string, title: string, cmd: string | null, args: string[], env: Record<string, string> = {}): Promise<Report> {
  const r = newReport(name);
  banner(title);
  if (!cmd) {
    r.skipped = 'no deno binary (npm i -D deno provides node_modules/.bin/deno)';
    return r;
  }
  const limit = 600_000;
  const c = await runChild(cmd, args, limit, env);
  if (c.skip) {
    r.skipped = c.skip;
    return r;
  }
  r.adapter = adapterLine(c.device);
  if (c.results.length === 0) add(r, { file: `${name}`, passed: 0, failed: 1, skipped: 0, ms: 0, error: why(c, limit) });
  for (const s of c.results) {
    add(r, s);
    r.times.push([s.file, s.ms]);
  }
  return r;
}

async function onnxRuntime(): Promise<Report> {
  const r = newReport('onnx');
  banner('onnx: ONNX backend conformance tests (libonnx-testdata)');
  const runner = join(DIST, 'test/onnx/run.js');
  if (!existsSync(runner) || !exists('test/onnx/run.ts')) {
    r.skipped = 'no ONNX conformance runner (test/onnx/run.ts) in this build';
    return r;
  }
  const probe = await nodeAdapter();
  if (probe.skip) {
    r.skipped = probe.skip;
    return r;
  }
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-onnx-'));
  const jsonFile = join(dir, 'summary.json');
  try {
    const limit = Math.max(TIMEOUT_MS, 1800_000);
    const c = await runChild(process.execPath, [runner, '--quiet', '--json', jsonFile], limit);
    let summary: any = null;
    try {
      summary = JSON.parse(readFileSync(jsonFile, 'utf8'));
    } catch {
      // no JSON: read the output instead
    }
    if (c.skip) r.skipped = c.skip;
    else if (summary && summary.available === false) r.skipped = `no ONNX test data at ${summary.data} (apt-get install libonnx-testdata)`;
    else if (summary && typeof summary.passed === 'number') {
      r.passed = summary.passed;
      r.failed = summary.failed;
      r.skippedTests = summary.skipped ?? 0;
      for (const f of summary.failures ?? []) r.failures.push(`${f.name}: ${String(f.detail ?? '').split('\n')[0]}`);
      if (!r.adapter && summary.adapter) r.adapter = summary.adapter;
    } else if (c.results.length) for (const s of c.results) add(r, s);
    else {
      const text = c.tail.join('\n');
      const m = /passed (\d+), failed (\d+)/.exec(text) ?? /(\d+) passed, (\d+) failed/.exec(text);
      if (m) {
        r.passed = +m[1];
        r.failed = +m[2];
      } else add(r, { file: 'test/onnx/run.ts', passed: 0, failed: 1, skipped: 0, ms: 0, error: why(c, limit) });
    }
    if (c.code !== 0 && !r.skipped && r.failed === 0)
      add(r, { file: 'test/onnx/run.ts', passed: 0, failed: 1, skipped: 0, ms: 0, error: why(c, limit) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return r;
}

// --- main -----------------------------------------------------------------------------------
function fmtTime(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

async function main(): Promise<number> {
  const suites = PORTABLE_SUITES.filter((f) => exists(f)).filter(wanted);
  const reports: Report[] = [];
  const timed = async (f: () => Promise<Report>) => {
    const t0 = Date.now();
    const r = await f();
    r.ms = Date.now() - t0;
    reports.push(r);
  };
  if (only.includes('node')) await timed(nodeRuntime);
  if (only.includes('deno')) await timed(() => denoRuntime(suites));
  if (only.includes('chromium')) await timed(() => chromiumRuntime(suites));
  if (only.includes('web') && (filters.length === 0 || filters.some((f) => 'web'.includes(f) || 'test/runtimes/web.ts'.includes(f)))) await timed(webRuntime);
  if (only.includes('package') && (filters.length === 0 || filters.some((f) => 'package'.includes(f) || f.includes('package')))) await timed(packageRuntime);
  const benchWanted = filters.length === 0 || filters.some((f) => 'bench'.includes(f) || f.includes('bench'));
  if (only.includes('bench-deno') && benchWanted)
    await timed(() =>
      benchRuntime('bench-deno', 'bench-deno (wgpu): the benchmark suite, tiny, beside TF.js', findDeno(), ['run', '-A', '--no-lock', 'bench/run_deno.ts', ...BENCH_CI], {
        DENO_NO_UPDATE_CHECK: '1',
        DENO_NO_PROMPT: '1',
        ...(!process.env.LANTERNA_VULKAN && !process.env.VK_ICD_FILENAMES ? { LANTERNA_VULKAN: 'swiftshader' } : {}),
      }),
    );
  if (only.includes('bench-chromium') && benchWanted)
    await timed(() =>
      benchRuntime('bench-chromium', 'bench-chromium (SwiftShader): the benchmark suite, tiny, in a page beside TF.js', process.execPath, [join(DIST, 'bench/run_chrome.js'), ...BENCH_CI]),
    );
  if (only.includes('onnx') && filters.length === 0) await timed(onnxRuntime);
  if (typecheck) {
    const r = newReport('tsc');
    if (typecheck === 'ok') r.passed = 1;
    else {
      r.failed = 1;
      r.failures.push('tsc -p tsconfig.json reported type errors (see above)');
    }
    reports.push(r);
  }

  banner('summary');
  const rows = [['runtime', 'result', 'passed', 'failed', 'skipped', 'time', 'adapter / reason']];
  for (const r of reports)
    rows.push([
      r.name,
      r.skipped ? 'SKIPPED' : r.failed ? 'FAILED' : 'ok',
      r.skipped ? '-' : String(r.passed),
      r.skipped ? '-' : String(r.failed),
      r.skipped ? '-' : String(r.skippedTests),
      r.name === 'tsc' ? '' : fmtTime(r.ms),
      r.skipped ? (r.skipped.length > 90 ? r.skipped.slice(0, 89) + '…' : r.skipped) : (r.adapter ?? ''),
    ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const right = new Set([2, 3, 4, 5]);
  for (const row of rows)
    console.log(row.map((c, i) => (i === row.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
  const slow = reports
    .flatMap((r) => r.times.map(([f, ms]) => [`${r.name}: ${f}`, ms] as const))
    .filter(([, ms]) => ms >= 30_000)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  if (slow.length) {
    console.log('\nslowest files:');
    for (const [f, ms] of slow) console.log(`  ${fmtTime(ms).padStart(6)}  ${f}`);
  }
  const skipped = reports.filter((r) => r.skipped && r.skipped.length > 90);
  if (skipped.length) {
    console.log('\nskipped:');
    for (const r of skipped) console.log(`  ${r.name}: ${r.skipped}`);
  }
  const failures = reports.flatMap((r) => {
    const shown = r.failures.slice(0, 15).map((f) => `${r.name}: ${f}`);
    if (r.failures.length > 15) shown.push(`${r.name}: ... and ${r.failures.length - 15} more (see above)`);
    return shown;
  });
  if (failures.length) {
    console.log('\nfailed:');
    for (const f of failures) console.log(`  ${f}`);
  }
  const passed = reports.reduce((s, r) => s + r.passed, 0);
  const failed = reports.reduce((s, r) => s + r.failed, 0);
  const last = `${passed} passed, ${failed} failed`;
  const ran = reports.some((r) => r.name !== 'tsc' && !r.skipped && r.passed + r.failed > 0);
  if (!ran) console.log('\nno tests ran: every runtime was skipped (exit code 1)');
  if (summaryFile) writeFileSync(summaryFile, last + '\n');
  console.log(last);
  return failed > 0 || !ran ? 1 : 0;
}

process.exitCode = await main();
