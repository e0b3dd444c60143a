// The A/B comparison of two builds of Lanterna (bench/ab.ts): options, the noise estimate and
// verdict per workload, and the Markdown report. Pure (no node: imports), tested by
// test/bench_ab.test.ts.
//
// Noise. Base and head run alternately, round by round (base, head; head, base; …: the
// harness's alternation), so run i of each is adjacent in time and sees the same machine load.
// The per-round ratios head_i / base_i are the paired ratios; an order-statistic (sign-test)
// confidence interval for their median is the noise band: distribution-free, robust to an
// outlying round, valid however noisy the machine. A workload is "slower" when the whole band is
// above 1 and the ratio of the medians above 1 + threshold ("faster" mirrored), else "within
// noise". Identical code then comes out "within noise" in all but ~(1 − confidence) of
// workloads, and only when the ratio also passes the threshold.

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
  /** Checkouts of the two builds (repository roots); their dist folders default to <root>/dist. */
  baseRoot?: string;
  headRoot?: string;
  baseDist?: string;
  headDist?: string;
}

/**
 * More counted runs than the suite's 5 (a band at 95% needs 6 pairs; 9 give one that ignores
 * the most extreme round on each side), a longer budget and at least 5 runs, so that the
 * 20-second cam2 epoch part on lavapipe still gets a band.
 */
export const AB_DEFAULTS = { runs: 9, warmup: 1, warmupMs: 1000, skipWarmupMs: 5000, maxSeconds: 60, minRuns: 5, confidence: 0.95, threshold: 0.03 };

export const AB_USAGE =
  'usage: bash bench/ab.sh <base-commit> [<head-commit>] [options]   (head: the working tree)\n' +
  '   or: node dist/bench/ab.js --base-root DIR [--head-root DIR] [--base-dist DIR] [--head-dist DIR] [options]\n' +
  'options: [--runs N (9)] [--min-runs N (5)] [--max-seconds S (60)] [--warmup N (1)] [--warmup-ms T (1000)] [--skip-warmup-ms T (5000)]\n' +
  '         [--large] [--tiny] [--only a,b] [--batch N] [--epoch-limit N] [--confidence C (0.95)] [--threshold F (0.03)]\n' +
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
  a.minRuns = Math.min(a.minRuns, a.runs); // --runs 3 alone: 3 runs, not "at least 5"
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

export type Verdict = 'within noise' | 'slower' | 'faster' | 'too few runs';

/** Pairs below which no verdict is given (two rounds bound a median at 50% confidence). */
export const MIN_PAIRS = 3;

export interface Comparison {
  /** median(head) / median(base): above 1, head is slower. */
  ratio: number;
  /** Rounds in which both ran. */
  pairs: number;
  /** The noise band: a confidence interval for the median of the paired ratios. */
  band?: Interval;
  /** Interquartile range of the base's runs over their median: how much one build varies. */
  baseSpread: number;
  headSpread: number;
  verdict: Verdict;
}

const spread = (x: readonly number[]) => {
  const s = [...x].sort((a, b) => a - b);
  return (quantile(s, 0.75) - quantile(s, 0.25)) / quantile(s, 0.5);
};

/** Compares the counted runs of base and head (each in run order). */
export function compareRuns(base: readonly number[], head: readonly number[], o: { confidence: number; threshold: number }): Comparison {
  const med = (x: readonly number[]) => quantile([...x].sort((a, b) => a - b), 0.5);
  const ratio = med(head) / med(base);
  const paired = pairedRatios(base, head);
  const band = medianInterval(paired, o.confidence);
  let verdict: Verdict = 'within noise';
  if (paired.length < MIN_PAIRS || !band) verdict = 'too few runs';
  else if (band.lo > 1 && ratio > 1 + o.threshold) verdict = 'slower';
  else if (band.hi < 1 && ratio < 1 / (1 + o.threshold)) verdict = 'faster';
  return { ratio, pairs: paired.length, ...(band ? { band } : {}), baseSpread: spread(base), headSpread: spread(head), verdict };
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
  base?: SideResult;
  head?: SideResult;
  /** Base and head probes compared (max relative difference; the workload's tolerance). */
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

function sideCell(s?: SideResult): string {
  if (!s) return '—';
  if (!s.ms) return `failed: ${cell(s.error ?? 'no result')}`;
  return `${fmtMs(s.ms.median)} (${fmtMs(s.ms.min)}–${fmtMs(s.ms.max)})`;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%` : '—');

function bandCell(c?: Comparison): string {
  if (!c?.band) return '—';
  return `${c.band.lo.toFixed(3)}–${c.band.hi.toFixed(3)} (${Math.floor(c.band.level * 1000) / 10}%)`;
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
  lines.push(
    `Each build runs in its own Node process (${h.runtimeVersion ?? 'node'}), on the same adapter; both run every workload of the suite, ` +
      `alternating run by run (base, head; head, base; …) after a probe of each (outputs compared: Agree) and a warm-up ` +
      `(≥ ${o.warmup} run${o.warmup === 1 ? '' : 's'} and ≥ ${o.warmupMs} ms each). Times in ms: median of ${o.runs} counted runs (min–max), ` +
      `each run timed inside its process up to the GPU sync. A side whose runs would take over ${(o.maxSeconds ?? Infinity) / 2} s gets fewer (at least ${o.minRuns}). ` +
      `**Ratio** = head median / base median (above 1: head slower). **Noise band** = a distribution-free confidence interval ` +
      `(order statistics) for the median of the per-round ratios head_i / base_i (runs i of both, adjacent in time), its coverage in brackets. ` +
      `**Verdict**: slower when the whole band is above 1 and the ratio above ${(1 + (o.threshold ?? 0)).toFixed(2)}; faster when below 1 and under ${(1 / (1 + (o.threshold ?? 0))).toFixed(3)}; ` +
      `else within noise. Spread = interquartile range / median of each build's runs. ` +
      `${h.date ?? rep.date.slice(0, 10)}; host: ${h.cpus ?? '?'} × ${h.cpuModel ?? 'CPU'}, load average ${h.loadBefore ?? '?'} before / ${h.loadAfter ?? '?'} after; ${h.seconds ?? '?'} s in all.`,
  );
  lines.push('');
  lines.push('| Workload | Base ms | Head ms | Ratio | Noise band | Spread base / head | Verdict | Agree | Dispatches / run | Runs |');
  lines.push('|---|--:|--:|--:|--:|--:|---|--:|--:|--:|');
  for (const r of rep.rows) {
    const c = r.comparison;
    const runs = r.only ? '—' : r.base?.runs === r.head?.runs ? `${r.base?.runs ?? 0}` : `${r.base?.runs ?? 0} / ${r.head?.runs ?? 0}`;
    lines.push(
      `| ${cell(r.title)} | ${sideCell(r.base)} | ${sideCell(r.head)} | ${c ? `${c.ratio.toFixed(3)}×` : '—'} | ${bandCell(c)} | ` +
        `${c ? `${pct(c.baseSpread)} / ${pct(c.headSpread)}` : '—'} | ${verdictCell(r)} | ${agreeCell(r.agreement)} | ${countCell(r, 'dispatches')} | ${runs} |`,
    );
  }
  lines.push('', summary(rep.rows));
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
