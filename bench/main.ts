// The benchmark suite, runtime-neutral: arguments, both engines on one adapter, the workloads,
// `--profile`, the report. Each runtime's entry supplies a BenchHost (files, host facts) and
// calls runBench: run.ts (Node), run_deno.ts (Deno), page.ts (a browser page, run_chrome.ts
// drives it).
//
// Options (all runtimes):
//   --runs N          counted runs per engine (default 5)
//   --warmup N        warm-up runs per engine, after the probe (default 1)
//   --large           add matmul 2048 and 4096, a VGG16 forward and a VGG16 Grad-CAM, and run
//                     the Keras applications at their own sizes (224, 299) instead of small ones
//   --app-size N      the Keras applications' rows at N×N instead
//   --only a,b        workloads whose id contains a or b, or whose family is a or b
//                     (families: matmul, conv, pool, train, epoch, model, app)
//   --batch N         training-step batch of cam1 and cam2 (default 100; cam2 10 on CPU drivers)
//   --epoch-limit N   digits of the epoch workloads (default 54 000; 200 on CPU drivers, the
//                     epoch time is then extrapolated and labelled so)
//   --max-seconds S   time budget per workload (default 40): a side whose counted runs would
//                     take over S/2 seconds gets fewer, never below --min-runs (default 1); 0: none
//   --warmup-ms T     warm up each side for at least T ms too (default 1000)
//   --skip-warmup-ms T  a side whose probe run took over T ms (default 5000) skips warm-up
//   --profile         also time each kernel of one training step and one Grad-CAM (ours), with
//                     GPU timestamps where the adapter offers them; counts always
//   --out DIR         where results go (default bench/results); --no-save writes nothing
//   --list            list the workloads and exit
//   --tiny            the CI test's sizes
//   --tfjs-backends a,b  TF.js backends beside ours (default webgpu,wasm,cpu): WebGPU on the
//                     same adapter gives the ratio the targets are about; wasm and cpu run on
//                     the CPU and decline workloads too big for them (tfjs.ts CPU_SIDE_MAX_FLOPS)

import * as E from '../engine/index.ts';
import { DEFAULT_SUITE, runSuite, type SuiteOptions, type WorkloadResult } from './harness.ts';
import { profileOurs } from './profile.ts';
import { adapterLabel, renderMarkdown, renderSvg, type BenchReport } from './report.ts';
import { select, workloads } from './suite.ts';
import type { BenchData } from './workloads/mobilenet.ts';
import { oursEngine, setupTfjs, TFJS_BACKENDS, type TfjsBackend, type TfjsSetup } from './tfjs.ts';

export interface BenchArgs {
  runs: number;
  warmup: number;
  large: boolean;
  tiny: boolean;
  only: string[];
  batch?: number;
  epochLimit?: number;
  appSize?: number;
  maxSeconds: number;
  minRuns: number;
  skipWarmupMs: number;
  warmupMs: number;
  /** As given; the host resolves it (undefined: its default). */
  out?: string;
  save: boolean;
  list: boolean;
  profile: boolean;
  quiet: boolean;
  /** TF.js backends beside ours; 'webgpu' always runs (first). */
  backends: TfjsBackend[];
}

export const USAGE =
  'options: [--runs N] [--warmup N] [--large] [--only a,b] [--batch N] [--epoch-limit N] [--app-size N] [--max-seconds S] [--min-runs N] ' +
  '[--warmup-ms T] [--skip-warmup-ms T] [--profile] [--out DIR] [--no-save] [--list] [--tiny] [--quiet] [--tfjs-backends webgpu,wasm,cpu]';

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
    save: true,
    list: false,
    profile: false,
    quiet: false,
    backends: [...TFJS_BACKENDS],
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
      case '--epoch-limit': a.epochLimit = num(f, next(), 1); break;
      case '--app-size': a.appSize = num(f, next(), 1); break;
      case '--max-seconds': a.maxSeconds = num(f, next(), 0) || Infinity; break;
      case '--min-runs': a.minRuns = num(f, next(), 1); break;
      case '--skip-warmup-ms': a.skipWarmupMs = num(f, next(), 0); break;
      case '--warmup-ms': a.warmupMs = num(f, next(), 0); break;
      case '--out': a.out = next() ?? '.'; break;
      case '--no-save': a.save = false; break;
      case '--list': a.list = true; break;
      case '--profile': a.profile = true; break;
      case '--quiet': a.quiet = true; break;
      case '--tfjs-backends': {
        const list = (next() ?? '').split(',').filter(Boolean);
        const bad = list.filter((b) => !(TFJS_BACKENDS as readonly string[]).includes(b));
        if (bad.length) throw new Error(`--tfjs-backends: unknown backend ${bad.join(', ')} (known: ${TFJS_BACKENDS.join(', ')})`);
        a.backends = ['webgpu', ...(list.filter((b) => b !== 'webgpu') as TfjsBackend[])];
        break;
      }
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${f} (see --help)`);
    }
  }
  a.minRuns = Math.min(a.minRuns, a.runs);
  return a;
}

/** What a runtime provides: host facts and file output. */
export interface BenchHost {
  /** 'node' | 'deno' | 'chromium'; names the result files (Node's have no prefix). */
  runtime: string;
  runtimeVersion: string;
  /** CPU count and model, git commit, source hash … whatever the host can tell. */
  info(): Record<string, unknown>;
  /** The 1-minute load average, where the host can tell. */
  load?(): number | undefined;
  /** Writes `files` ([extension, text]) as <out>/<base><ext>; returns their paths. */
  save?(out: string | undefined, base: string, files: [string, string][]): string[];
  /** Whether <out>/<base>.json exists already (a -2, -3 … suffix is added rather than overwrite). */
  exists?(out: string | undefined, base: string): boolean;
  /** After each workload (final = false) and at the end: the report so far. */
  onReport?(rep: BenchReport, final: boolean): void;
  /**
   * The shared data folder the real-model workloads read (MobileNet's TF.js files), or why there
   * is none (absent; a runtime that reads no files has no `data` at all).
   */
  data?(): BenchData | string;
  /** Where tfjs-backend-wasm's .wasm files are (a page's URL prefix); Node and Deno find them themselves. */
  wasmPaths?: string;
}

let tfjsOnce: Promise<TfjsSetup> | null = null;

/** Runs the suite; returns the report and where it was written. */
export async function runBench(argv: string[], host: BenchHost, log: (s: string) => void = (s) => console.log(s)): Promise<{ report: BenchReport; files: string[] }> {
  const args = parseArgs(argv);
  if (args.quiet) log = () => {};
  const t0 = performance.now();
  await E.init({ profile: args.profile });
  const device = await E.describeDevice();
  const adapter = adapterLabel(device);
  const list = select(
    workloads({
      large: args.large, tiny: args.tiny, batch: args.batch, epochLimit: args.epochLimit, appSize: args.appSize, cpuAdapter: device.cpuAdapter,
      data: host.data?.() ?? `${host.runtime} reads no data files here: the real-model workloads run under Node (npm run bench)`,
    }),
    args.only,
  );
  if (args.list) {
    for (const w of list) log(`${w.id.padEnd(36)} ${w.title}`);
    return { report: null as unknown as BenchReport, files: [] };
  }
  if (list.length === 0) throw new Error(`no workload matches --only ${args.only.join(',')} (see --list)`);
  tfjsOnce ??= setupTfjs({ backends: args.backends, wasmPaths: host.wasmPaths });
  // A runtime where TF.js's WebGPU backend cannot start still runs our side: rows say why.
  const tfjs = await tfjsOnce.catch((e: Error) => brokenTfjs(e));
  const sameAdapter =
    !tfjs.error && String(tfjs.adapterInfo.vendor ?? '') === device.vendor && String(tfjs.adapterInfo.architecture ?? '') === device.architecture;
  log(`adapter: ${adapter.text}`);
  if (tfjs.error) log(`TF.js could not start here: ${tfjs.error}`);
  else log(`TF.js ${tfjs.version} (${tfjs.backend}) sees: ${JSON.stringify(tfjs.adapterInfo)}${sameAdapter ? '' : '  <-- NOT the same adapter'}`);
  for (const o of tfjs.others) log(o.error ? `TF.js ${o.backend} could not start here: ${o.error}` : `beside it: ${o.engine.label}`);
  log(`${list.length} workloads, ${args.runs} counted runs after a probe and a warm-up (≥ ${args.warmup} run(s), ≥ ${args.warmupMs} ms), engines alternating\n`);
  const facts: Record<string, unknown> = { runtime: host.runtime, runtimeVersion: host.runtimeVersion, ...host.info(), loadBefore: host.load?.() };
  const options = {
    runs: args.runs, warmup: args.warmup, warmupMs: args.warmupMs, skipWarmupMs: args.skipWarmupMs, large: args.large, tiny: args.tiny,
    only: args.only, backends: args.backends, batch: args.batch ?? null, epochLimit: args.epochLimit ?? null, appSize: args.appSize ?? null, maxSeconds: args.maxSeconds, minRuns: args.minRuns, profile: args.profile,
  };
  const date = new Date().toISOString();
  const makeReport = (results: WorkloadResult[], final: boolean): BenchReport => {
    const notes: string[] = [];
    if (!final) notes.push(`Partial: ${results.length} of ${list.length} workloads so far (the run was still going, or was stopped).`);
    if (tfjs.error) notes.push(`TF.js ${tfjs.version} WebGPU could not start in ${host.runtime}: ${tfjs.error}. Only our side ran.`);
    const cpus = facts.cpus;
    if (adapter.cpuAdapter)
      notes.push(
        `This adapter is a software driver running on the CPU${typeof cpus === 'number' ? ` (${cpus} cores${cpus <= 4 ? ', shared with other work: timings are noisy, read the medians' : ''})` : ''}. ` +
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
      tfjs: {
        version: tfjs.version, backend: tfjs.backend, adapterInfo: tfjs.adapterInfo, ...(tfjs.error ? { error: tfjs.error } : {}),
        others: tfjs.others.map((o) => ({ id: o.engine.id, label: o.engine.label, ...(o.error ? { error: o.error } : {}) })),
      },
      sameAdapter,
      host: { ...facts, loadAfter: host.load?.(), seconds: +((performance.now() - t0) / 1000).toFixed(1) },
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
    host.onReport?.(rep, !rep.partial);
    if (!args.save || !host.save) return;
    if (base === null) {
      const prefix = host.runtime === 'node' ? '' : `${host.runtime}-`;
      const b = `${prefix}${adapter.slug}-${date.slice(0, 10)}${args.tiny ? '-tiny' : ''}`;
      base = b;
      for (let k = 2; host.exists?.(args.out, base); k++) base = `${b}-${k}`;
    }
    files.splice(0, files.length, ...host.save(args.out, base, [
      ['.json', JSON.stringify(rep, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n'],
      ['.md', md],
      ['.svg', renderSvg(rep)],
    ]));
  };
  const opts: SuiteOptions = {
    runs: args.runs, warmup: args.warmup, warmupMs: args.warmupMs, skipWarmupMs: args.skipWarmupMs, maxSeconds: args.maxSeconds, minRuns: args.minRuns, log,
    onResult: (done) => {
      // The last workload's result is saved too when the profiles are still to come.
      if (done.length < list.length || args.profile) {
        const rep = makeReport([...done], false);
        save(rep, renderMarkdown(rep));
      }
    },
  };
  const results = await runSuite(list, oursEngine(), [{ engine: tfjs.engine, tf: tfjs.tf }, ...tfjs.others], opts);
  if (args.profile)
    for (const [i, w] of list.entries()) {
      if (!w.profile || w.unavailable) continue;
      log(`profile: ${w.title} …`);
      try {
        results[i].profile = await profileOurs(w);
      } catch (e) {
        results[i].profile = { error: (e as Error).message.split('\n')[0] };
        log(`  profile failed: ${(e as Error).message}`);
      }
    }
  const report = makeReport(results, true);
  const md = renderMarkdown(report);
  log('\n' + md);
  save(report, md);
  if (files.length) log(`wrote ${files.join(', ')}`);
  return { report, files };
}

/** Stands in for TF.js where it cannot start: every TF.js side fails, naming the reason. */
function brokenTfjs(e: Error): TfjsSetup {
  const error = e.message.split('\n')[0].slice(0, 300);
  const tf = new Proxy({}, {
    get() {
      throw new Error(`TF.js unavailable here: ${error}`);
    },
  });
  return {
    tf,
    backend: 'webgpu',
    version: '4.22.0',
    adapterInfo: {},
    error,
    engine: { id: 'tfjs-webgpu', label: 'TF.js 4.22 WebGPU', sync: async () => {} },
    others: [],
    dispose: () => {},
  };
}

/** Frees both engines' devices, so the process can end. */
export async function benchShutdown(): Promise<void> {
  if (tfjsOnce) (await tfjsOnce.catch(() => null))?.dispose();
  tfjsOnce = null;
  E.shutdown();
}

/**
 * The CI's reading of a tiny run (test/runtimes/run-all.ts): per workload, "ours ran" and "the
 * engines agree" are one check each. Where TF.js's side failed (TF.js cannot run in every
 * runtime), the agreement check counts as skipped, with the reason in `error`.
 */
export function benchChecks(rep: BenchReport): { passed: number; failed: number; skipped: number; error?: string } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const why: string[] = [];
  for (const r of rep.results) {
    // A workload that cannot run here (its data absent, a runtime without files): skipped whole.
    if (r.ours.skipped) {
      skipped += 2 + (r.others?.length ?? 0); // our run, the agreement, each other backend's
      continue;
    }
    if (r.ours.ms) passed++;
    else {
      failed++;
      why.push(`${r.id}: ours failed: ${r.ours.error}`);
    }
    if (r.agreement) r.agreement.ok ? passed++ : (failed++, why.push(`${r.id}: engines disagree (${r.agreement.maxRelDiff})`));
    else if (r.tfjs.error) skipped++;
    else (failed++, why.push(`${r.id}: no agreement check`));
    // TF.js's CPU-side backends: an agreement each where they ran; skipped where they could not.
    for (const o of r.others ?? []) {
      if (o.agreement) o.agreement.ok ? passed++ : (failed++, why.push(`${r.id}: ours and ${o.engine} disagree (${o.agreement.maxRelDiff})`));
      else if (o.error || o.skipped) skipped++;
      else (failed++, why.push(`${r.id}: no agreement check with ${o.engine}`));
    }
  }
  const tfjsFailed = rep.results.find((r) => r.tfjs.error);
  if (tfjsFailed && !why.length) why.push(`TF.js side failed: ${tfjsFailed.tfjs.error}`);
  return { passed, failed, skipped, ...(why.length ? { error: why.slice(0, 3).join('; ') } : {}) };
}
