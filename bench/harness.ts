// The benchmark harness: workloads, engines, the timing loop and the statistics. Runtime-neutral
// (no node: imports): the same code runs under Node, Deno and in a browser page (main.ts drives
// it; run.ts, run_deno.ts and page.ts are the runtimes' entries); report.ts renders the results.
//
// Method, per workload:
//   1. set up both sides with the same inputs (and, for training, the same initial weights);
//   2. probe: run each side once and read a representative output back (the result, or the
//      loss), and compare them — a benchmark of two engines computing different things is void;
//   3. warm-up runs, alternating engines;
//   4. counted runs, alternating engines (ours first on even runs, last on odd ones).
//      Besides TF.js's WebGPU backend (the ratio every target is about), TF.js's CPU-side
//      backends (wasm, cpu) can run as further sides of the same workload (`others`), each
//      with its own ratio; a side activates its backend before each of its steps.
//      A timed run records the work and then waits for the GPU: ours `await E.gpu().sync()`,
//      TF.js submits its queue and waits on onSubmittedWorkDone (the same thing its `data()`
//      does, minus the copy). Outputs are freed after the clock stops.

/** What one side of a workload does once set up. */
export interface Instance {
  /**
   * Records one run's work and returns what frees its outputs after the sync. Kernel workloads
   * await nothing; workloads whose real use reads back mid-way (an epoch reads each step's loss,
   * Grad-CAM the probabilities) await those readbacks, and their time includes them.
   */
  run(): (() => void) | Promise<() => void>;
  /** Runs once and reads back a representative output, to compare the two engines. */
  probe(): Promise<Float32Array>;
  /** Frees the inputs, weights, optimiser state. */
  dispose(): void;
}

export interface Engine {
  /** 'ours' | 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu'. */
  id: string;
  label: string;
  /** Makes this engine the current one before each of its steps (TF.js: its backend). */
  activate?(): Promise<void>;
  /** Why this engine does not run a workload (e.g. too many FLOPs for a CPU backend), or undefined. */
  declines?(w: Workload): string | undefined;
  /** Waits until all the work submitted so far has finished on the GPU. */
  sync(): Promise<void>;
  /** Counters to report per run (dispatches, submits, …), if the engine has them. */
  counters?(): Record<string, number>;
  /**
   * The engine's GPU memory, where it can tell (ours: its buffer pool): bytes live now, and the
   * most live since the last `resetPeak`. The harness reads it around each of the side's steps
   * only, so another engine's work in between never counts.
   */
  memory?: { live(): number; peak(): number; resetPeak(): void };
}

export interface Workload {
  /** Stable identifier, e.g. 'matmul-1024', used by --only and in JSON. */
  id: string;
  /** Family: matmul, conv, pool, train, model. */
  family: string;
  /** Human label for tables, e.g. 'matmul 1024×1024×1024'. */
  title: string;
  /** Floating-point operations per run, where defined (matmul 2MNK; conv 2·N·Ho·Wo·KH·KW·Cin·Cout). */
  flops?: number;
  /** Bytes read + written per run, where FLOPs say little (pooling). */
  bytes?: number;
  /** Nominal FLOPs of one run where `flops` is not reported (an epoch, a Grad-CAM): CPU backends decline big ones. */
  work?: number;
  /** The run computes gradients: TF.js's CPU backends are far slower per FLOP there (and wasm has no conv weight gradient). */
  backward?: boolean;
  /** Sizes and settings, recorded in JSON. */
  params: Record<string, unknown>;
  /** Largest acceptable relative difference between the engines' probes (max|a−b| / max|b|). */
  tolerance: number;
  /** Set up our side. */
  ours(): Promise<Instance>;
  /** Set up the TF.js side; `tf` is @tensorflow/tfjs-core with the backend already chosen. */
  tfjs(tf: any): Promise<Instance>;
  /** false: no warm-up runs (a run is long and warms itself, e.g. an epoch of 540 steps). */
  warmup?: boolean;
  /** The run is a part of the work reported (an epoch's first digits): time × factor estimates the whole. */
  extrapolate?: { factor: number; what: string };
  /** `--profile` times this workload's kernels (a training step, a Grad-CAM). */
  profile?: boolean;
  /**
   * Why this workload cannot run here (its data files are absent, or this runtime reads no
   * files): listed, but no side is set up, and every side reports the reason as `skipped`.
   */
  unavailable?: string;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Every counted run, in ms, in the order they ran. */
  samples: number[];
}

export interface SideResult {
  engine: string;
  /** Milliseconds per run; absent when the side failed. */
  ms?: Stats;
  /** GFLOP/s (or GB/s for byte-bound workloads) at the median. */
  rate?: number;
  /** Set-up time (ms), including the probe. */
  setupMs?: number;
  /** The probe's time (ms): a first run, with pipeline compilation, plus a readback. */
  probeMs?: number;
  /** Counted runs done (fewer than asked when the time budget cut them). */
  runs?: number;
  /** Warm-up runs done. */
  warmupRuns?: number;
  /** Per-run engine counters (ours: dispatches, submits, readbacks, uploads). */
  perRun?: Record<string, number>;
  /**
   * GPU memory (engines with Engine.memory): bytes live once set up (weights, inputs), and the
   * most live during any of the side's probe, warm-up and counted runs (those plus the
   * activations and outputs, and readback buffers).
   */
  memory?: { setupBytes: number; peakBytes: number };
  error?: string;
  /** The engine declined the workload (Engine.declines): not run, not a failure. */
  skipped?: string;
  /** Further TF.js backends (WorkloadResult.others): their time / our time, and their agreement. */
  ratio?: number;
  agreement?: Agreement;
}

export interface Agreement {
  maxRelDiff: number;
  tolerance: number;
  ok: boolean;
  what: string;
}

/** A TF.js side: its engine, and `tf` with which its workloads are set up. */
export interface TfSide {
  engine: Engine;
  tf: any;
}

export interface WorkloadResult {
  id: string;
  family: string;
  title: string;
  params: Record<string, unknown>;
  flops?: number;
  bytes?: number;
  /** 'GFLOP/s' or 'GB/s', the unit of `rate`. */
  unit?: string;
  /** Counted runs asked for (each side's own count is in ours.runs / tfjs.runs). */
  runs: number;
  warmup: number;
  ours: SideResult;
  /** TF.js's WebGPU backend on the same adapter. */
  tfjs: SideResult;
  /** TF.js's other backends (wasm, cpu) where asked for, each with its own ratio and agreement. */
  others?: SideResult[];
  /** Speed ratio: TF.js WebGPU median time / our median time (> 1: we are faster). */
  ratio?: number;
  /** max|ours − tfjs| / max|tfjs| on the probe, and whether it is within tolerance. */
  agreement?: Agreement;
  /** Why a side's counted runs were fewer than asked (time budget). */
  note?: string;
  /** Estimates of the whole from a part (Workload.extrapolate): median × factor, ms. */
  extrapolated?: { factor: number; what: string; oursMs?: number; tfjsMs?: number; othersMs?: Record<string, number> };
  /** `--profile`: our per-kernel GPU times and counts for one run (profile.ts). */
  profile?: unknown;
}

export interface SuiteOptions {
  runs: number;
  warmup: number;
  /** A side's counted runs are cut when they would take more than half of this (seconds)… */
  maxSeconds: number;
  /** … but never below this many. */
  minRuns: number;
  /** Warm-up goes on (alternating) until each side has spent this long warming up (ms)… */
  warmupMs: number;
  /** … except a side whose probe took longer than this (ms): it skips warm-up. */
  skipWarmupMs: number;
  log: (line: string) => void;
  /** Called after each workload with the results so far (run.ts saves them as it goes). */
  onResult?: (done: WorkloadResult[]) => void;
}

export const DEFAULT_SUITE: SuiteOptions = { runs: 5, warmup: 1, warmupMs: 1000, maxSeconds: 40, minRuns: 1, skipWarmupMs: 5000, log: () => {} };

/** At most this many warm-up runs per side, however short they are. */
export const MAX_WARMUP = 200;

const now = () => performance.now();

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1], mean: samples.reduce((a, b) => a + b, 0) / n, samples };
}

export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity;
    if (d > maxDiff) maxDiff = d;
    if (Math.abs(b[i]) > maxRef) maxRef = Math.abs(b[i]);
  }
  // All-zero reference (e.g. an engine whose dispatch was dropped): only an all-zero result agrees.
  return maxRef === 0 ? (maxDiff === 0 ? 0 : Infinity) : maxDiff / maxRef;
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0].slice(0, 300);
}

function diffCounters(a: Record<string, number>, b: Record<string, number>, runs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(b)) if (typeof b[k] === 'number' && typeof a[k] === 'number') out[k] = +((b[k] - a[k]) / runs).toFixed(2);
  return out;
}

interface Side {
  engine: Engine;
  make: () => Promise<Instance>;
  inst?: Instance;
  result: SideResult;
  samples: number[];
  probeMs?: number;
}

/** Runs `step` with the side's memory peak tracked (outside the clock: a pool's peak is a counter). */
async function tracked<T>(side: Side, step: () => Promise<T>): Promise<T> {
  const mem = side.engine.memory;
  mem?.resetPeak();
  const r = await step();
  if (mem && side.result.memory) side.result.memory.peakBytes = Math.max(side.result.memory.peakBytes, mem.peak());
  return r;
}

async function timed(side: Side): Promise<number> {
  await side.engine.activate?.();
  let free: () => void = () => {};
  const t = await tracked(side, async () => {
    const t0 = now();
    free = await side.inst!.run();
    await side.engine.sync();
    return now() - t0;
  });
  free();
  return t;
}

/**
 * Runs one workload on our engine and on each TF.js side (the first is TF.js WebGPU, the one
 * `ratio` and `agreement` are about; the rest go to `others`). Never throws: a failing side is
 * reported with its error, a declining one with its reason.
 */
export async function runWorkload(w: Workload, ours: Engine, tfjs: TfSide[], o: SuiteOptions): Promise<WorkloadResult> {
  const sides: Side[] = [
    { engine: ours, make: () => w.ours(), result: { engine: ours.id }, samples: [] },
    ...tfjs.map((t): Side => ({ engine: t.engine, make: () => w.tfjs(t.tf), result: { engine: t.engine.id }, samples: [] })),
  ];
  const unit = w.flops ? 'GFLOP/s' : w.bytes ? 'GB/s' : undefined;
  const res: WorkloadResult = {
    id: w.id, family: w.family, title: w.title, params: w.params, flops: w.flops, bytes: w.bytes, unit,
    runs: o.runs, warmup: o.warmup, ours: sides[0].result, tfjs: sides[1].result,
    ...(sides.length > 2 ? { others: sides.slice(2).map((s) => s.result) } : {}),
  };
  const fail = (s: Side, e: unknown) => {
    s.result.error = message(e);
    o.log(`  ${s.engine.id}: FAILED: ${s.result.error}`);
    try {
      s.inst?.dispose();
    } catch {
      // already broken
    }
    s.inst = undefined;
  };
  try {
    // Set-up and probe, one side after the other.
    const probes: (Float32Array | null)[] = sides.map(() => null);
    if (w.unavailable) o.log(`  skipped: ${w.unavailable}`);
    for (const [i, s] of sides.entries()) {
      const declined = w.unavailable ?? s.engine.declines?.(w);
      if (declined) {
        s.result.skipped = declined;
        continue;
      }
      try {
        await s.engine.activate?.();
        const t0 = now();
        s.inst = await s.make();
        if (s.engine.memory) s.result.memory = { setupBytes: s.engine.memory.live(), peakBytes: 0 };
        const t1 = now();
        probes[i] = await tracked(s, async () => {
          const p = await s.inst!.probe();
          await s.engine.sync();
          return p;
        });
        s.probeMs = now() - t1;
        s.result.setupMs = +(now() - t0).toFixed(1);
        s.result.probeMs = +s.probeMs.toFixed(1);
      } catch (e) {
        fail(s, e);
      }
    }
    const agreements = sides.map((s, i): Agreement | undefined => {
      if (i === 0 || !probes[0] || !probes[i]) return undefined;
      const d = relDiff(probes[0], probes[i]!);
      if (d > w.tolerance) o.log(`  WARNING: ours and ${s.engine.id} disagree: max rel diff ${d.toExponential(2)} > ${w.tolerance}`);
      return { maxRelDiff: d, tolerance: w.tolerance, ok: d <= w.tolerance, what: `${probes[0].length} values` };
    });
    const live = () => sides.filter((s) => s.inst);
    // Warm-up, alternating: at least `warmup` runs and `warmupMs` per side (at most
    // MAX_WARMUP runs), so that fast workloads on a GPU run long enough for clocks and caches
    // to settle (first runs on an H200 were 2–4× slower). The probe already compiled every
    // pipeline and filled the buffer pools, so a side whose probe took longer than
    // `skipWarmupMs` goes straight to its counted runs.
    const warm = new Map<Side, number>(sides.map((s) => [s, 0]));
    const warming = (s: Side) =>
      w.warmup !== false &&
      (s.probeMs ?? 0) <= o.skipWarmupMs && s.samples.length < MAX_WARMUP && (s.samples.length < o.warmup || (o.warmup > 0 && warm.get(s)! < o.warmupMs));
    for (let r = 0; live().some(warming); r++)
      for (const s of r % 2 ? [...live()].reverse() : live()) {
        if (!warming(s)) continue;
        try {
          const t = await timed(s);
          s.samples.push(t);
          warm.set(s, warm.get(s)! + t);
        } catch (e) {
          fail(s, e);
        }
      }
    for (const s of sides) s.result.warmupRuns = s.samples.length;
    // Counted runs, alternating: `runs` per side, unless a side's counted runs would pass half the
    // budget (judged from its last run); then it stops early, never below minRuns.
    for (const s of sides) s.samples = [];
    const budgetMs = o.maxSeconds * 500;
    const spent = new Map<Side, number>(sides.map((s) => [s, 0]));
    const wants = (s: Side) => {
      const n = s.samples.length;
      if (n >= o.runs) return false;
      return n < o.minRuns || spent.get(s)! + s.samples[n - 1] <= budgetMs;
    };
    const before = sides.map((s) => s.engine.counters?.());
    for (let r = 0; live().some(wants); r++)
      for (const s of r % 2 ? [...live()].reverse() : live()) {
        if (!wants(s)) continue;
        try {
          const t = await timed(s);
          s.samples.push(t);
          spent.set(s, spent.get(s)! + t);
        } catch (e) {
          fail(s, e);
        }
      }
    for (const s of live()) {
      const n = s.samples.length;
      s.result.runs = n;
      if (n < o.runs) {
        const cut = `${s.engine.id}: ${n} counted run${n > 1 ? 's' : ''} of ${o.runs} (${(spent.get(s)! / n / 1000).toFixed(1)} s each; budget ${o.maxSeconds} s per workload)`;
        res.note = res.note ? `${res.note}; ${cut}` : cut;
        o.log(`  ${cut}`);
      }
    }
    sides.forEach((s, i) => {
      if (!s.inst || s.samples.length === 0) return;
      s.result.ms = stats(s.samples);
      const size = w.flops ?? w.bytes;
      if (size) s.result.rate = +(size / (s.result.ms.median * 1e-3) / 1e9).toFixed(3);
      const after = s.engine.counters?.();
      if (before[i] && after) s.result.perRun = diffCounters(before[i]!, after, s.samples.length);
    });
    // A side that failed after its probe (a GPU error reported at the next sync) read back the
    // results of dropped work: its agreement says nothing (nor does anyone's, if ours failed).
    const mine = sides[0].result;
    const compared = (i: number) => {
      const s = sides[i].result;
      const ratio = mine.ms && s.ms ? +(s.ms.median / mine.ms.median).toFixed(3) : undefined;
      const agreement = s.error || mine.error ? undefined : agreements[i];
      return { ...(ratio !== undefined ? { ratio } : {}), ...(agreement ? { agreement } : {}) };
    };
    // The WebGPU side's ratio and agreement are the workload's own; the others keep theirs.
    Object.assign(res, compared(1));
    for (let i = 2; i < sides.length; i++) Object.assign(sides[i].result, compared(i));
    if (w.extrapolate) {
      const whole = (s: SideResult) => (s.ms ? +(s.ms.median * w.extrapolate!.factor).toFixed(1) : undefined);
      res.extrapolated = { ...w.extrapolate, oursMs: whole(mine), tfjsMs: whole(sides[1].result) };
      const more = sides.slice(2).filter((s) => s.result.ms);
      if (more.length) res.extrapolated.othersMs = Object.fromEntries(more.map((s) => [s.engine.id, whole(s.result)!]));
    }
  } finally {
    for (const s of sides) {
      try {
        if (s.inst) await s.engine.activate?.();
        s.inst?.dispose();
      } catch (e) {
        o.log(`  ${s.engine.id}: dispose failed: ${message(e)}`);
      }
      await s.engine.sync().catch(() => {});
    }
  }
  return res;
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** One line per finished workload, for the console while the suite runs. */
export function summaryLine(r: WorkloadResult): string {
  const side = (s: SideResult) =>
    s.ms ? `${fmtMs(s.ms.median)} ms${s.rate !== undefined ? ` (${s.rate.toFixed(2)} ${r.unit})` : ''}` : s.skipped ? 'skipped' : `failed`;
  const ratio = (v?: number) => (v !== undefined ? `×${v.toFixed(2)}` : '—');
  const more = (r.others ?? []).map((o) => `, ${o.engine} ${side(o)} ${ratio(o.ratio)}`).join('');
  return `${r.title}: ours ${side(r.ours)}, TF.js ${side(r.tfjs)}, ratio ${ratio(r.ratio)}${more}`;
}

/** Runs the workloads one after another. */
export async function runSuite(workloads: Workload[], ours: Engine, tfjs: TfSide[], o: SuiteOptions): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  for (const w of workloads) {
    o.log(`${w.title} …`);
    const r = await runWorkload(w, ours, tfjs, o);
    o.log('  ' + summaryLine(r));
    out.push(r);
    o.onResult?.(out);
  }
  return out;
}
