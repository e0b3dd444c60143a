// The benchmark suite's Node entry point: our engine beside TensorFlow.js 4.22's WebGPU backend
// on the same adapter, in one process.
//
//   npm run bench                              # build into dist/, run the default suite
//   node dist/bench/run.js [options]
//     --runs N          counted runs per engine (default 5)
//     --warmup N        warm-up runs per engine, after the probe (default 1)
//     --large           add matmul 4096 and a VGG16 forward (slow on CPU drivers)
//     --only a,b        workloads whose id contains a or b, or whose family is a or b
//                       (families: matmul, conv, pool, train, model)
//     --batch N         training batch of cam1 and cam2 (default 100; cam2 10 on CPU drivers)
//     --max-seconds S   time budget per workload (default 40): a side whose counted runs would
//                       take over S/2 seconds gets fewer, never below --min-runs (default 1);
//                       0: no limit
//     --warmup-ms T     warm up each side for at least T ms too (default 1000)
//     --skip-warmup-ms T  a side whose probe run took over T ms (default 5000) skips warm-up
//     --out DIR         where results go (default bench/results); --no-save writes nothing
//     --list            list the workloads and exit
//     --profile         per-kernel breakdown (issue 5; not implemented yet)
//   LANTERNA_VULKAN=swiftshader|lavapipe, or VK_ICD_FILENAMES, choose the driver (engine/adapter.ts).
//
// Writes <out>/<adapter>-<date>.json, .md and .svg (a -2, -3 … suffix rather than overwrite).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as E from '../engine/index.ts';
import { DEFAULT_SUITE, runSuite, type SuiteOptions, type WorkloadResult } from './harness.ts';
import { adapterLabel, renderMarkdown, renderSvg, type BenchReport } from './report.ts';
import { select, workloads } from './suite.ts';
import { oursEngine, setupTfjs, type TfjsSetup } from './tfjs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // <outDir>/bench → repository

export interface BenchArgs {
  runs: number;
  warmup: number;
  large: boolean;
  tiny: boolean;
  only: string[];
  batch?: number;
  maxSeconds: number;
  minRuns: number;
  skipWarmupMs: number;
  warmupMs: number;
  out: string;
  save: boolean;
  list: boolean;
  profile: boolean;
  quiet: boolean;
}

export function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = {
    runs: DEFAULT_SUITE.runs,
    warmup: DEFAULT_SUITE.warmup,
    large: false,
    tiny: false,
    only: [],
    maxSeconds: DEFAULT_SUITE.maxSeconds,
    minRuns: DEFAULT_SUITE.minRuns,
    skipWarmupMs: DEFAULT_SUITE.skipWarmupMs,
    warmupMs: DEFAULT_SUITE.warmupMs,
    out: join(ROOT, 'bench', 'results'),
    save: true,
    list: false,
    profile: false,
    quiet: false,
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const next = () => argv[++i];
    switch (f) {
      case '--runs': a.runs = num(f, next(), 1); break;
      case '--warmup': a.warmup = num(f, next(), 0); break;
      case '--large': a.large = true; break;
      case '--tiny': a.tiny = true; break;
      case '--only': a.only = (next() ?? '').split(',').filter(Boolean); break;
      case '--batch': a.batch = num(f, next(), 1); break;
      case '--max-seconds': a.maxSeconds = num(f, next(), 0) || Infinity; break;
      case '--min-runs': a.minRuns = num(f, next(), 1); break;
      case '--skip-warmup-ms': a.skipWarmupMs = num(f, next(), 0); break;
      case '--warmup-ms': a.warmupMs = num(f, next(), 0); break;
      case '--out': a.out = resolve(next() ?? '.'); break;
      case '--no-save': a.save = false; break;
      case '--list': a.list = true; break;
      case '--profile': a.profile = true; break;
      case '--quiet': a.quiet = true; break;
      case '--help':
      case '-h':
        throw new Error(
          'usage: node dist/bench/run.js [--runs N] [--warmup N] [--large] [--only a,b] [--batch N] [--max-seconds S] [--min-runs N] [--warmup-ms T] [--skip-warmup-ms T] [--out DIR] [--no-save] [--list] [--profile]',
        );
      default:
        throw new Error(`unknown option ${f} (see --help)`);
    }
  }
  a.minRuns = Math.min(a.minRuns, a.runs);
  return a;
}

let tfjsOnce: Promise<TfjsSetup> | null = null;

function gitInfo(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    return { commit, dirty };
  } catch {
    return {}; // not a git checkout (a bundle on the lent GPU machine)
  }
}

/** A short hash of the kernel and engine sources, since results depend on uncommitted work too. */
function sourceHash(): string | undefined {
  try {
    const h = createHash('sha256');
    for (const dir of ['kernels', 'engine', 'engine/ops']) {
      const d = join(ROOT, dir);
      for (const f of readdirSync(d).filter((n) => n.endsWith('.ts')).sort()) h.update(`${dir}/${f}\0`).update(readFileSync(join(d, f)));
    }
    return h.digest('hex').slice(0, 12);
  } catch {
    return undefined; // sources not shipped (a bundle)
  }
}

function freeName(dir: string, base: string): string {
  let name = base;
  for (let k = 2; existsSync(join(dir, name + '.json')); k++) name = `${base}-${k}`;
  return name;
}

/** Runs the suite; returns the report and where it was written. */
export async function benchMain(argv: string[]): Promise<{ report: BenchReport; files: string[] }> {
  const args = parseArgs(argv);
  const log = args.quiet ? () => {} : (s: string) => console.log(s);
  if (args.profile)
    throw new Error(
      '--profile (a per-kernel GPU timestamp breakdown of a training step and a Grad-CAM) is issue 5 work and not implemented yet. ' +
        'Per-run dispatch, submit, readback and buffer-creation counts are already in the JSON (results[].ours.perRun).',
    );
  await E.init();
  const device = await E.describeDevice();
  const adapter = adapterLabel(device);
  const list = select(workloads({ large: args.large, tiny: args.tiny, batch: args.batch, cpuAdapter: device.cpuAdapter }), args.only);
  if (args.list) {
    for (const w of list) log(`${w.id.padEnd(36)} ${w.title}`);
    return { report: null as unknown as BenchReport, files: [] };
  }
  if (list.length === 0) throw new Error(`no workload matches --only ${args.only.join(',')} (see --list)`);
  tfjsOnce ??= setupTfjs();
  const tfjs = await tfjsOnce;
  const sameAdapter =
    String(tfjs.adapterInfo.vendor ?? '') === device.vendor && String(tfjs.adapterInfo.architecture ?? '') === device.architecture;
  log(`adapter: ${adapter.text}`);
  log(`TF.js ${tfjs.version} (${tfjs.backend}) sees: ${JSON.stringify(tfjs.adapterInfo)}${sameAdapter ? '' : '  <-- NOT the same adapter'}`);
  log(`${list.length} workloads, ${args.runs} counted runs after a probe and a warm-up (≥ ${args.warmup} run(s), ≥ ${args.warmupMs} ms), engines alternating\n`);
  const host: Record<string, unknown> = {
    runtime: 'node',
    runtimeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model?.trim(),
    loadBefore: +loadavg()[0].toFixed(2),
    ...gitInfo(),
    sourceHash: sourceHash(),
  };
  const options = {
    runs: args.runs, warmup: args.warmup, warmupMs: args.warmupMs, skipWarmupMs: args.skipWarmupMs, large: args.large, tiny: args.tiny,
    only: args.only, batch: args.batch ?? null, maxSeconds: args.maxSeconds, minRuns: args.minRuns,
  };
  const date = new Date().toISOString();
  const makeReport = (results: WorkloadResult[], final: boolean): BenchReport => {
    const notes: string[] = [];
    if (!final) notes.push(`Partial: ${results.length} of ${list.length} workloads so far (the run was still going, or was stopped).`);
    if (adapter.cpuAdapter)
      notes.push(
        `This adapter is a software driver running on the CPU (${host.cpus} cores${(host.cpus as number) <= 4 ? ', shared with other work: timings are noisy, read the medians' : ''}). ` +
          'Rates here say nothing about a real GPU.',
      );
    if (results.some((r) => r.agreement && !r.agreement.ok))
      notes.push('⚠ marks workloads where the two engines computed different results (see "Agree"): their timings compare different work.');
    return {
      schema: 1,
      kind: 'lanterna-bench',
      date,
      adapter,
      device: device as unknown as Record<string, unknown>,
      tfjs: { version: tfjs.version, backend: tfjs.backend, adapterInfo: tfjs.adapterInfo },
      sameAdapter,
      host: { ...host, loadAfter: +loadavg()[0].toFixed(2), seconds: +((performance.now() - t0) / 1000).toFixed(1) },
      options,
      results,
      notes,
      ...(final ? {} : { partial: true }),
    };
  };
  // Files are (re)written after every workload, so that a run stopped half-way keeps what it measured.
  const files: string[] = [];
  let base: string | null = null;
  const save = (rep: BenchReport, md: string) => {
    if (!args.save) return;
    mkdirSync(args.out, { recursive: true });
    base ??= freeName(args.out, `${adapter.slug}-${date.slice(0, 10)}${args.tiny ? '-tiny' : ''}`);
    files.length = 0;
    for (const [ext, text] of [
      ['.json', JSON.stringify(rep, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n'],
      ['.md', md],
      ['.svg', renderSvg(rep)],
    ]) {
      const f = join(args.out, base + ext);
      writeFileSync(f, text);
      files.push(f);
    }
  };
  const t0 = performance.now();
  const opts: SuiteOptions = {
    runs: args.runs, warmup: args.warmup, warmupMs: args.warmupMs, skipWarmupMs: args.skipWarmupMs, maxSeconds: args.maxSeconds, minRuns: args.minRuns, log,
    onResult: (done) => {
      if (done.length < list.length) {
        const rep = makeReport([...done], false);
        save(rep, renderMarkdown(rep));
      }
    },
  };
  const results = await runSuite(list, oursEngine(), tfjs.engine, tfjs.tf, opts);
  const report = makeReport(results, true);
  const md = renderMarkdown(report);
  log('\n' + md);
  save(report, md);
  if (files.length) log(`wrote ${files.join(', ')}`);
  return { report, files };
}

/** Frees both engines' devices, so the process can end. */
export async function benchShutdown(): Promise<void> {
  if (tfjsOnce) (await tfjsOnce.catch(() => null))?.dispose();
  tfjsOnce = null;
  E.shutdown();
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  try {
    await benchMain(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await benchShutdown();
    setTimeout(() => process.exit(), 3000).unref();
  }
}
