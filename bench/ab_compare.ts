// The A/B comparison of two builds of Lanterna (bench/ab.ts): options, the noise estimate and
// verdict per workload, and the Markdown report. Pure (no node: imports), tested by
// test/bench_ab.test.ts.
//
// Noise has two sources, and the design measures both.
//  - Time: the machine's load drifts. All processes run alternately, round by round (the
//    harness's alternation), so every build's runs see the same load.
//  - Process: the same build in two processes can differ consistently — by 10–40% on a
//    sub-millisecond workload on lavapipe (memory layout, thread placement) — which no number
//    of runs in one process reveals, and which made a design with one process per build call
//    identical code "slower" or "faster" on 2 of 10 tiny workloads. So each build runs in
//    several processes (--processes, default 3), and the process is the unit of comparison:
//    each process's median, and a two-sample t interval on the log medians (within-build
//    variance pooled, 2P − 2 degrees of freedom) for head / base. The A/A column is how far two
//    processes of the same build differ.
// A workload is "slower" when that interval lies above 1 and the ratio is above 1 + threshold;
// "faster" mirrored; else "within noise". Identical builds come out "within noise" in all but a
// few per cent of workloads (test/bench_ab.test.ts simulates it). With --processes 1 the band is
// instead an order-statistic interval for the median of the per-round ratios head_i / base_i,
// which covers run-to-run noise only.

import { fmtMs, type Agreement, type SideResult, type Stats } from './harness.ts';

export interface AbArgs {
  runs: number;
  warmup: number;
  warmupMs: number;
  skipWarmupMs: number;
  maxSeconds: number;
  minRuns: number;
  large: boolean;
  tiny: boolean;
  only: string[];
  batch?: number;
  epochLimit?: number;
  /** Where the report goes (undefined: bench/results). */
  out?: string;
  save: boolean;
  quiet: boolean;
  /** Confidence of the paired-ratio interval (default 0.95). */
  confidence: number;
  /** Smallest relative change called slower / faster (default 0.03). */
  threshold: number;
  /** Worker processes per build (default 3). */
  processes: number;
  /** Checkouts of the two builds (repository roots); their dist folders default to <root>/dist. */
  baseRoot?: string;
  headRoot?: string;
  baseDist?: string;
  headDist?: string;
}

/**
 * Per process: 7 counted runs (the suite runs 5), a longer budget per process, and at least 2
 * runs, so that the 20-second cam2 epoch part on lavapipe still gets a median of two in each
 * of 3 processes per build.
 */
export const AB_DEFAULTS = { runs: 7, warmup: 1, warmupMs: 1000, skipWarmupMs: 5000, maxSeconds: 60, minRuns: 2, processes: 3, confidence: 0.95, threshold: 0.03 };

export const AB_USAGE =
  'usage: bash bench/ab.sh <base-commit> [<head-commit>] [options]   (head: the working tree)\n' +
  '   or: node dist/bench/ab.js --base-root DIR [--head-root DIR] [--base-dist DIR] [--head-dist DIR] [options]\n' +
  'options: [--runs N (7, per process)] [--min-runs N (2)] [--max-seconds S (60)] [--warmup N (1)] [--warmup-ms T (1000)] [--skip-warmup-ms T (5000)]\n' +
  '         [--large] [--tiny] [--only a,b] [--batch N] [--epoch-limit N] [--processes P (3)] [--confidence C (0.95)] [--threshold F (0.03)]\n' +
  '         [--out DIR] [--no-save] [--quiet]';

export function parseAbArgs(argv: string[]): AbArgs {
  const a: AbArgs = { ...AB_DEFAULTS, large: false, tiny: false, only: [], save: true, quiet: false };
  const num = (flag: string, v: string | undefined, min: number, max = Infinity): number => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} needs a number in [${min}, ${max}], got ${v ?? 'nothing'}`);
    return n;
  };
  const str = (flag: string, v: string | undefined): string => {
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const next = () => argv[++i];
    switch (f) {
      case '--runs': a.runs = num(f, next(), 1); break;
      case '--warmup': a.warmup = num(f, next(), 0); break;
      case '--warmup-ms': a.warmupMs = num(f, next(), 0); break;
      case '--skip-warmup-ms': a.skipWarmupMs = num(f, next(), 0); break;
      case '--max-seconds': a.maxSeconds = num(f, next(), 0) || Infinity; break;
      case '--min-runs': a.minRuns = num(f, next(), 1); break;
      case '--large': a.large = true; break;
      case '--tiny': a.tiny = true; break;
      case '--only': a.only = str(f, next()).split(',').filter(Boolean); break;
      case '--batch': a.batch = num(f, next(), 1); break;
      case '--epoch-limit': a.epochLimit = num(f, next(), 1); break;
      case '--confidence': a.confidence = num(f, next(), 0, 0.999999); break;
      case '--threshold': a.threshold = num(f, next(), 0); break;
      case '--processes': a.processes = Math.floor(num(f, next(), 1, 8)); break;
      case '--out': a.out = str(f, next()); break;
      case '--no-save': a.save = false; break;
      case '--quiet': a.quiet = true; break;
      case '--base-root': a.baseRoot = str(f, next()); break;
      case '--head-root': a.headRoot = str(f, next()); break;
      case '--base-dist': a.baseDist = str(f, next()); break;
      case '--head-dist': a.headDist = str(f, next()); break;
      case '--help':
      case '-h':
        throw new Error(AB_USAGE);
      default:
        throw new Error(`unknown option ${f}\n${AB_USAGE}`);
    }
  }
  a.minRuns = Math.min(a.minRuns, a.runs); // --runs 1 alone: 1 run, not "at least 2"
  return a;
}

/** The q-quantile of sorted values, interpolating linearly between order statistics. */
export function quantile(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const x = (n - 1) * q;
  const i = Math.floor(x);
  return i + 1 < n ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/** head_i / base_i for the rounds both sides ran (each list in run order). */
export function pairedRatios(base: readonly number[], head: readonly number[]): number[] {
  const n = Math.min(base.length, head.length);
  return Array.from({ length: n }, (_, i) => head[i] / base[i]);
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
export function binomialCdfHalf(k: number, n: number): number {
  if (k < 0) return 0;
  let c = 1; // C(n, 0)
  let s = 0;
  for (let i = 0; i <= Math.min(k, n); i++) {
    s += c;
    c = (c * (n - i)) / (i + 1);
  }
  return s / 2 ** n;
}

export interface Interval {
  lo: number;
  hi: number;
  /** The interval's actual coverage: ≥ the confidence asked for, or less when too few values allow no more. */
  level: number;
}

/**
 * A distribution-free confidence interval for the median of `values`: [x(k), x(n+1−k)] for the
 * largest k whose coverage 1 − 2·P(Binomial(n, ½) ≤ k−1) is at least `confidence`. With too
 * few values for that, [min, max] and its (lower) coverage. Undefined for no values.
 */
export function medianInterval(values: readonly number[], confidence: number): Interval | undefined {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return undefined;
  const coverage = (k: number) => 1 - 2 * binomialCdfHalf(k - 1, n);
  let k = 1;
  while (k + 1 <= (n + 1) / 2 && coverage(k + 1) >= confidence) k++;
  return { lo: s[k - 1], hi: s[n - k], level: coverage(k) };
}

/** ln Γ(x), x > 0 (Lanczos). */
function lnGamma(x: number): number {
  const g = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = 0.99999999999980993;
  const t = x + 7.5;
  for (let i = 0; i < 8; i++) a += g[i] / (x + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularised incomplete beta function I_x(a, b) (continued fraction, Lentz). */
function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - betaInc(1 - x, b, a);
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x)) / a;
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 300; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-14) break;
  }
  return front * f;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentCdf(t: number, df: number): number {
  const tail = 0.5 * betaInc(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The t with P(|T| ≤ t) = confidence (two-sided critical value), by bisection. */
export function studentCritical(confidence: number, df: number): number {
  const p = 0.5 + confidence / 2;
  let lo = 0;
  let hi = 1e4;
  for (let i = 0; i < 200 && hi - lo > 1e-10 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export type Verdict = 'within noise' | 'slower' | 'faster' | 'too few runs';

/** With one process per build: rounds below which no verdict is given (two bound a median at 50% confidence). */
export const MIN_PAIRS = 3;

export interface Comparison {
  /** Each build's time: the geometric mean of its processes' medians (ms). */
  baseMs: number;
  headMs: number;
  /** headMs / baseMs: above 1, head is slower. */
  ratio: number;
  /**
   * The noise band for the ratio: with several processes per build, a t confidence interval
   * from the processes' log medians; with one, an order-statistic interval for the median of
   * the per-round ratios. `level` is its coverage.
   */
  band?: Interval;
  /** 'processes' (t interval over processes) or 'rounds' (one process per build: per-round ratios). */
  method: 'processes' | 'rounds';
  /** Processes per build compared. */
  processes: number;
  /** Rounds in which base#1 and head#1 both ran. */
  pairs: number;
  /** A/A: the largest max/min − 1 of the medians of one build's processes, when a build has several. */
  aa?: number;
  /** Interquartile range over median of each build's runs (all processes): how much one build varies. */
  baseSpread: number;
  headSpread: number;
  verdict: Verdict;
}

const median = (x: readonly number[]) => quantile([...x].sort((a, b) => a - b), 0.5);
const mean = (x: readonly number[]) => x.reduce((a, b) => a + b, 0) / x.length;

const spread = (x: readonly number[]) => {
  const s = [...x].sort((a, b) => a - b);
  return (quantile(s, 0.75) - quantile(s, 0.25)) / quantile(s, 0.5);
};

/**
 * Compares the counted runs of base and head, one list per process (each in run order; base[j]
 * and head[j] alternated with each other and with every other process).
 */
export function compareBuilds(base: readonly (readonly number[])[], head: readonly (readonly number[])[], o: { confidence: number; threshold: number }): Comparison {
  const lb = base.filter((r) => r.length).map((r) => Math.log(median(r)));
  const lh = head.filter((r) => r.length).map((r) => Math.log(median(r)));
  const baseMs = Math.exp(mean(lb));
  const headMs = Math.exp(mean(lh));
  const ratio = headMs / baseMs;
  const pairs = base.length && head.length ? Math.min(base[0].length, head[0].length) : 0;
  const P = Math.min(lb.length, lh.length);
  const aas = [lb, lh].filter((l) => l.length > 1).map((l) => Math.exp(Math.max(...l) - Math.min(...l)) - 1);
  let band: Interval | undefined;
  let method: Comparison['method'] = 'processes';
  if (lb.length > 1 && lh.length > 1) {
    // Two-sample t on the log medians, within-build variance pooled.
    const df = lb.length + lh.length - 2;
    const ss = lb.reduce((a, v) => a + (v - mean(lb)) ** 2, 0) + lh.reduce((a, v) => a + (v - mean(lh)) ** 2, 0);
    const se = Math.sqrt((ss / df) * (1 / lb.length + 1 / lh.length));
    const half = studentCritical(o.confidence, df) * se;
    band = { lo: ratio * Math.exp(-half), hi: ratio * Math.exp(half), level: o.confidence };
  } else {
    method = 'rounds';
    band = base.length && head.length ? medianInterval(pairedRatios(base[0], head[0]), o.confidence) : undefined;
  }
  let verdict: Verdict = 'within noise';
  if (P === 0 || !band || (method === 'rounds' && pairs < MIN_PAIRS)) verdict = 'too few runs';
  else if (band.lo > 1 && ratio > 1 + o.threshold) verdict = 'slower';
  else if (band.hi < 1 && ratio < 1 / (1 + o.threshold)) verdict = 'faster';
  return {
    baseMs, headMs, ratio, ...(band ? { band } : {}), method, processes: P, pairs, ...(aas.length ? { aa: Math.max(...aas) } : {}),
    baseSpread: spread(base.flat()), headSpread: spread(head.flat()), verdict,
  };
}

/** One process per build. */
export function compareRuns(base: readonly number[], head: readonly number[], o: { confidence: number; threshold: number }): Comparison {
  return compareBuilds([base], [head], o);
}

/** A build's result over its processes: all counted runs pooled; failed if any process failed. */
export function pooled(sides: readonly SideResult[], role: string, stats: (x: number[]) => Stats): SideResult {
  const failed = sides.find((s) => !s.ms);
  const first = sides[0];
  if (!first) return { engine: role, error: 'no process' };
  if (failed) return { engine: role, error: `${failed.engine}: ${failed.error ?? failed.skipped ?? 'no result'}`, runs: sides.reduce((n, s) => n + (s.runs ?? 0), 0) };
  return {
    engine: role,
    ms: stats(sides.flatMap((s) => s.ms!.samples)),
    runs: sides.reduce((n, s) => n + (s.runs ?? 0), 0),
    ...(first.perRun ? { perRun: first.perRun } : {}),
    ...(first.setupMs !== undefined ? { setupMs: first.setupMs } : {}),
    ...(first.probeMs !== undefined ? { probeMs: first.probeMs } : {}),
  };
}

/** One build: where it came from. */
export interface AbBuild {
  /** 'base' | 'head'. */
  role: string;
  /** Full commit hash of the checkout (HEAD of the working tree for a working tree). */
  commit?: string;
  subject?: string;
  /** The working tree had uncommitted changes to tracked files. */
  dirty?: boolean;
  /** 'worktree' (the caller's tree) or 'checkout' (a clean temporary checkout). */
  source: string;
  /** The compiled build the worker loaded. */
  dist: string;
  /** A hash of kernels/, engine/ and engine/ops/ sources (as bench/run.ts records). */
  sourceHash?: string;
  /** The adapter its worker got, as the suite labels it. */
  adapter?: string;
}

export interface AbRow {
  id: string;
  family: string;
  title: string;
  params?: Record<string, unknown>;
  flops?: number;
  bytes?: number;
  unit?: string;
  /** Present in only one build's suite: not compared. */
  only?: 'base' | 'head';
  /** Each build over its processes (pooled). */
  base?: SideResult;
  head?: SideResult;
  /** Each process's own result (base#1, base#2, …), its samples the times measured in it. */
  processes?: { base: SideResult[]; head: SideResult[] };
  /** Every process's probe compared (max relative difference; the workload's tolerance). */
  agreement?: Agreement;
  comparison?: Comparison;
  /** Budget cuts (harness note). */
  note?: string;
  /** Workload.extrapolate (an epoch's part): median × factor, ms. */
  extrapolated?: { factor: number; what: string; baseMs?: number; headMs?: number };
}

export interface AbReport {
  schema: 1;
  kind: 'lanterna-ab';
  date: string;
  adapter: string;
  base: AbBuild;
  head: AbBuild;
  host: Record<string, unknown>;
  options: Record<string, unknown>;
  rows: AbRow[];
  notes: string[];
  partial?: boolean;
}

/** A build's short name: 7 hex digits, "+" with uncommitted changes. */
export function buildName(b: AbBuild): string {
  return `${b.commit ? b.commit.slice(0, 7) : b.role}${b.dirty ? '-dirty' : ''}`;
}

/** The report's file name without extension: ab-<adapter>-<date>-<base>-vs-<head>. */
export function reportBase(rep: Pick<AbReport, 'adapter' | 'date' | 'base' | 'head'>, slug: string, tiny: boolean): string {
  return `ab-${slug}-${rep.date.slice(0, 10)}-${buildName(rep.base)}-vs-${buildName(rep.head)}${tiny ? '-tiny' : ''}`;
}

const cell = (s?: string) => (s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function sideCell(s: SideResult | undefined, ms: number | undefined): string {
  if (!s) return '—';
  if (!s.ms) return `failed: ${cell(s.error ?? 'no result')}`;
  return `${fmtMs(ms ?? s.ms.median)} (${fmtMs(s.ms.min)}–${fmtMs(s.ms.max)})`;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%` : '—');

function bandCell(c?: Comparison): string {
  if (!c?.band) return '—';
  return `${c.band.lo.toFixed(3)}–${c.band.hi.toFixed(3)}${c.method === 'rounds' ? ` (${Math.floor(c.band.level * 1000) / 10}%, rounds)` : ''}`;
}

function verdictCell(r: AbRow): string {
  if (r.only) return `only in ${r.only}`;
  const c = r.comparison;
  if (!c) return 'failed';
  return c.verdict === 'slower' || c.verdict === 'faster' ? `**${c.verdict}**` : c.verdict;
}

function agreeCell(a?: Agreement): string {
  if (!a) return '—';
  if (a.maxRelDiff === 0) return 'identical';
  return `${a.ok ? '' : '⚠ '}${a.maxRelDiff.toExponential(0)}`;
}

function countCell(r: AbRow, key: string): string {
  const b = r.base?.perRun?.[key];
  const h = r.head?.perRun?.[key];
  if (b === undefined && h === undefined) return '—';
  return b === h ? `${b}` : `${b ?? '—'} → ${h ?? '—'}`;
}

/** Counted runs: "2 × 9" when every process did as many, else base's / head's ("9+9 / 9+7"). */
function runsCell(r: AbRow): string {
  if (r.only) return '—';
  const per = r.processes ?? { base: r.base ? [r.base] : [], head: r.head ? [r.head] : [] };
  const all = [...per.base, ...per.head].map((s) => s.runs ?? 0);
  if (all.length && all.every((n) => n === all[0])) return per.base.length > 1 ? `${per.base.length} × ${all[0]}` : `${all[0]}`;
  return `${per.base.map((s) => s.runs ?? 0).join('+')} / ${per.head.map((s) => s.runs ?? 0).join('+')}`;
}

/** The verdicts in one line: what a reader of the closing note wants first. */
export function summary(rows: readonly AbRow[]): string {
  const compared = rows.filter((r) => r.comparison);
  const by = (v: Verdict) => compared.filter((r) => r.comparison!.verdict === v);
  const list = (rs: AbRow[]) => rs.map((r) => `${r.title} (${r.comparison!.ratio.toFixed(3)}×)`).join('; ');
  const parts: string[] = [];
  const within = by('within noise');
  if (within.length === compared.length && compared.length) parts.push(`All ${compared.length} workloads compared are within noise.`);
  else {
    parts.push(`${within.length} of ${compared.length} workloads compared are within noise.`);
    if (by('slower').length) parts.push(`Head slower on: ${list(by('slower'))}.`);
    if (by('faster').length) parts.push(`Head faster on: ${list(by('faster'))}.`);
    if (by('too few runs').length) parts.push(`Too few runs for a verdict on: ${list(by('too few runs'))}.`);
  }
  const failed = rows.filter((r) => !r.only && !r.comparison);
  if (failed.length) parts.push(`No comparison (a side failed): ${failed.map((r) => r.title).join('; ')}.`);
  const only = rows.filter((r) => r.only);
  if (only.length) parts.push(`In one build's suite only: ${only.map((r) => `${r.id} (${r.only})`).join('; ')}.`);
  const differ = rows.filter((r) => r.agreement && r.agreement.maxRelDiff > 0);
  if (differ.length)
    parts.push(
      `Probes differ between the builds on: ${differ.map((r) => `${r.title} (${r.agreement!.maxRelDiff.toExponential(1)}${r.agreement!.ok ? '' : ', over the tolerance'})`).join('; ')}.`,
    );
  else if (rows.some((r) => r.agreement)) parts.push('Every probe is bit-identical between the builds.');
  return parts.join(' ');
}

function buildLine(b: AbBuild): string {
  const at = `\`${b.commit?.slice(0, 7) ?? '?'}\``;
  const what = `${b.source === 'worktree' ? 'working tree at' : 'checkout of'} ${at}${b.dirty ? ' **with uncommitted changes**' : ' (clean)'}`;
  return `**${b.role}**: ${what}${b.subject ? ` — ${cell(b.subject)}` : ''}${b.sourceHash ? `; kernels/ + engine/ hash \`${b.sourceHash}\`` : ''}`;
}

export function renderAbMarkdown(rep: AbReport): string {
  const o = rep.options as Partial<AbArgs>;
  const h = rep.host as Record<string, any>;
  const lines: string[] = [];
  lines.push(`### Lanterna A/B: \`${buildName(rep.base)}\` (base) vs \`${buildName(rep.head)}\` (head) — ${rep.adapter}`);
  lines.push('');
  lines.push(`- ${buildLine(rep.base)}`);
  lines.push(`- ${buildLine(rep.head)}`);
  if (rep.base.sourceHash && rep.head.sourceHash)
    lines.push(`- kernels/ and engine/ sources: ${rep.base.sourceHash === rep.head.sourceHash ? '**identical** in both builds' : 'differ'}`);
  lines.push('');
  const P = (o.processes ?? 1) as number;
  const conf = `${+((o.confidence ?? 0.95) * 100).toFixed(1)}%`;
  lines.push(
    `Each build runs in ${P === 1 ? 'one process of its own' : `${P} processes of its own (base#1 … base#${P}, head#1 … head#${P})`}, Node ${h.runtimeVersion ?? ''}, on the same adapter, ` +
      `loading its own dist/ and its own bench/ workloads. Per workload, every process sets up and probes it (outputs compared with base#1's: Agree), ` +
      `warms up (≥ ${o.warmup} run${o.warmup === 1 ? '' : 's'} and ≥ ${o.warmupMs} ms each), then all run alternately, one run each per round ` +
      `(${P === 1 ? 'base, head; head, base; …' : 'base#1, head#1, base#2, head#2 …; the next round in reverse'}): ${o.runs} counted runs each, ` +
      `timed inside the process up to the GPU sync; a process whose runs would take over ${(o.maxSeconds ?? Infinity) / 2} s gets fewer (at least ${o.minRuns}). ` +
      (P === 1
        ? `Times in ms: median (min–max). **Ratio** = head / base. **Noise band**: a distribution-free ${conf} confidence interval (order statistics) for the median ` +
          `of the per-round ratios head_i / base_i (adjacent in time, so load drift cancels; coverage in brackets). It covers run-to-run noise only: the same build ` +
          `in another process can differ more (use several processes). `
        : `Times in ms: the geometric mean of the ${P} processes' medians (min–max over all their runs). **Ratio** = head / base. ` +
          `**Noise band**: a ${conf} confidence interval for the ratio from a two-sample t test on the processes' log medians ` +
          `(within-build variance pooled, ${2 * P - 2} degrees of freedom), so that it covers both run-to-run and process-to-process noise. ` +
          `**A/A** = how far the medians of two processes of the same build differ (the larger over the builds: max / min − 1). `) +
      `**Verdict**: slower when the whole band is above 1 and the ratio above ${(1 + (o.threshold ?? 0)).toFixed(2)}; faster when the whole band is below 1 and the ratio under ${(1 / (1 + (o.threshold ?? 0))).toFixed(3)}; ` +
      `else within noise. Spread = interquartile range / median of all of a build's runs. ` +
      `${rep.date.slice(0, 10)}; host: ${h.cpus ?? '?'} × ${h.cpuModel ?? 'CPU'}, load average ${h.loadBefore ?? '?'} before / ${h.loadAfter ?? '?'} after; ${h.seconds ?? '?'} s in all.`,
  );
  lines.push('');
  lines.push('| Workload | Base ms | Head ms | Ratio | Noise band | A/A | Spread base / head | Verdict | Agree | Dispatches / run | Runs |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|');
  for (const r of rep.rows) {
    const c = r.comparison;
    lines.push(
      `| ${cell(r.title)} | ${sideCell(r.base, c?.baseMs)} | ${sideCell(r.head, c?.headMs)} | ${c ? `${c.ratio.toFixed(3)}×` : '—'} | ${bandCell(c)} | ${c?.aa !== undefined ? pct(c.aa) : '—'} | ` +
        `${c ? `${pct(c.baseSpread)} / ${pct(c.headSpread)}` : '—'} | ${verdictCell(r)} | ${agreeCell(r.agreement)} | ${countCell(r, 'dispatches')} | ${runsCell(r)} |`,
    );
  }
  lines.push('', summary(rep.rows));
  const compared = rep.rows.filter((r) => r.comparison).length;
  if (compared > 1 && o.confidence !== undefined)
    lines.push(
      '',
      `(At ${conf} confidence, identical builds get a false "slower" or "faster" on at most ~${+((1 - o.confidence) * 100).toFixed(1)}% of workloads: ` +
        `up to ~${+((1 - o.confidence) * compared).toFixed(1)} of these ${compared}, fewer where the ratio is within the ${+((o.threshold ?? 0) * 100).toFixed(1)}% threshold. A lone verdict deserves a rerun.)`,
    );
  for (const n of rep.notes) lines.push('', n);
  const cut = rep.rows.filter((r) => r.note);
  if (cut.length) lines.push('', ...cut.map((r) => `- ${r.title}: ${cell(r.note)}.`));
  const ex = rep.rows.filter((r) => r.extrapolated);
  if (ex.length) {
    const s = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
    lines.push('', '**Extrapolated** (a part was timed; median × factor, not measured):', '');
    for (const r of ex) lines.push(`- ${r.title}: ${r.extrapolated!.what} (×${+r.extrapolated!.factor.toFixed(1)}): base ${s(r.extrapolated!.baseMs)}, head ${s(r.extrapolated!.headMs)}`);
  }
  return lines.join('\n') + '\n';
}

/** Replaces a side's statistics with the times its own process measured (the last `runs` are the counted ones). */
export function withSamples(s: SideResult, measured: readonly number[], size: number | undefined, stats: (x: number[]) => Stats): SideResult {
  if (!s.ms || !s.runs) return s;
  const ms = stats(measured.slice(-s.runs));
  return { ...s, ms, ...(size ? { rate: +(size / (ms.median * 1e-3) / 1e9).toFixed(3) } : {}) };
}
