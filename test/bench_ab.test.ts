// The A/B comparison of two builds (bench/ab_compare.ts): the noise band, the verdict, the
// options and the report. Pure logic, no GPU; bench/ab.sh runs the real thing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AB_DEFAULTS, binomialCdfHalf, compareBuilds, compareRuns, medianInterval, pairedRatios, parseAbArgs, pooled, quantile, renderAbMarkdown, reportBase,
  studentCdf, studentCritical, summary, withSamples, type AbBuild, type AbReport, type AbRow,
} from '../bench/ab_compare.ts';
import { stats, type SideResult } from '../bench/harness.ts';

const near = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps;
const o = { confidence: 0.95, threshold: 0.03 };

/** A seeded uniform generator in [0, 1) (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

test('quantile, paired ratios, binomial tail', () => {
  assert.is(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.is(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.is(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.is(quantile([10], 0.75), 10);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.equal(pairedRatios([1, 2, 4], [2, 2, 2, 9]), [2, 1, 0.5], 'the rounds both ran, in order');
  assert.is(binomialCdfHalf(0, 5), 1 / 32);
  assert.is(binomialCdfHalf(1, 9), 10 / 512);
  assert.is(binomialCdfHalf(9, 9), 1);
  assert.is(binomialCdfHalf(-1, 4), 0);
});

test('medianInterval: order statistics with at least the asked coverage, or [min, max] with less', () => {
  const nine = [9, 1, 8, 2, 7, 3, 6, 4, 5];
  const i9 = medianInterval(nine, 0.95)!;
  assert.equal([i9.lo, i9.hi], [2, 8], 'n = 9: the 2nd and 8th, one extreme round ignored on each side');
  assert.ok(near(i9.level, 1 - 2 * (10 / 512)), `coverage ${i9.level}`);
  const i5 = medianInterval([5, 1, 4, 2, 3], 0.95)!;
  assert.equal([i5.lo, i5.hi], [1, 5], 'n = 5 cannot reach 95%: [min, max]');
  assert.ok(near(i5.level, 1 - 2 / 32), 'and says its coverage: 93.75%');
  const i5b = medianInterval([5, 1, 4, 2, 3], 0.9)!;
  assert.equal([i5b.lo, i5b.hi], [1, 5]);
  assert.ok(i5b.level >= 0.9);
  const x = Array.from({ length: 30 }, (_, i) => i + 1);
  for (const c of [0.8, 0.9, 0.95, 0.99]) {
    const iv = medianInterval(x, c)!;
    assert.ok(iv.level >= c, `n = 30 reaches ${c}: ${iv.level}`);
    assert.ok(iv.lo < 15.5 && iv.hi > 15.5);
  }
  assert.ok(medianInterval(x, 0.8)!.hi - medianInterval(x, 0.8)!.lo < medianInterval(x, 0.99)!.hi - medianInterval(x, 0.99)!.lo, 'narrower at lower confidence');
  assert.is(medianInterval([], 0.95), undefined);
  assert.equal(medianInterval([3], 0.95), { lo: 3, hi: 3, level: 0 });
});

test('Student t: distribution and two-sided critical values', () => {
  assert.ok(near(studentCritical(0.95, 2), 4.302653, 1e-5));
  assert.ok(near(studentCritical(0.95, 4), 2.776445, 1e-5));
  assert.ok(near(studentCritical(0.9, 10), 1.812461, 1e-5));
  assert.ok(near(studentCritical(0.99, 1), 63.65674, 1e-3));
  assert.ok(near(studentCritical(0.95, 1000), 1.962339, 1e-4), 'towards the normal');
  assert.is(studentCdf(0, 3), 0.5);
  assert.ok(near(studentCdf(-2.776445, 4), 0.025, 1e-6));
});

test('compareRuns (one process per build): identical, slower, faster, a negligible change, too few runs', () => {
  const base = [100, 104, 98, 130, 101, 99, 103, 97, 102];
  const same = compareRuns(base, base, o);
  assert.is(same.ratio, 1);
  assert.is(same.method, 'rounds');
  assert.is(same.verdict, 'within noise');
  assert.is(same.pairs, 9);
  assert.equal([same.band!.lo, same.band!.hi], [1, 1]);
  assert.is(same.aa, undefined, 'no A/A with one process');

  const slow = compareRuns(base, base.map((v, i) => v * (1.2 + (i % 3) * 0.02)), o);
  assert.is(slow.verdict, 'slower');
  assert.ok(slow.ratio > 1.2 && slow.band!.lo > 1);
  const fast = compareRuns(base, base.map((v, i) => v * (0.8 - (i % 2) * 0.03)), o);
  assert.is(fast.verdict, 'faster');
  assert.ok(fast.band!.hi < 1);

  // Consistently 1% slower: real, but under the threshold.
  const tiny = compareRuns(base, base.map((v) => v * 1.01), o);
  assert.ok(tiny.band!.lo > 1);
  assert.is(tiny.verdict, 'within noise');
  assert.is(compareRuns(base, base.map((v) => v * 1.01), { ...o, threshold: 0 }).verdict, 'slower', 'threshold 0: any consistent change counts');

  // 25% slower on the median, but one round in three the other way: the band straddles 1.
  const mixed = compareRuns([100, 100, 100, 100, 100, 100, 100, 100, 100], [125, 80, 125, 125, 80, 125, 125, 80, 125], o);
  assert.is(mixed.ratio, 1.25);
  assert.is(mixed.verdict, 'within noise');

  assert.is(compareRuns([100, 100], [200, 200], o).verdict, 'too few runs');
  assert.is(compareRuns([100, 100, 100], [200, 200, 200], o).verdict, 'slower', 'three rounds all 2× slower (band at 75%)');

  const s = compareRuns([100, 90, 110, 100, 120], [100, 100, 100, 100, 100], o);
  assert.ok(near(s.baseSpread, (110 - 100) / 100), `IQR / median: ${s.baseSpread}`);
  assert.is(s.headSpread, 0);
});

test('compareBuilds (several processes): t interval over the processes\' medians, A/A', () => {
  const b = [[100, 101, 99], [110, 111, 109], [90, 91, 89]];
  const same = compareBuilds(b, b, o);
  assert.is(same.method, 'processes');
  assert.is(same.processes, 3);
  assert.ok(near(same.ratio, 1));
  assert.ok(near(same.baseMs, Math.cbrt(100 * 110 * 90)), 'geometric mean of the medians');
  assert.ok(same.band!.lo < 1 && same.band!.hi > 1);
  assert.ok(near(same.aa!, 110 / 90 - 1), `A/A: ${same.aa}`);
  assert.is(same.verdict, 'within noise');
  // 30% slower in every process, processes ±10% apart: beyond the process noise.
  const slow = compareBuilds(b, b.map((r) => r.map((v) => v * 1.3)), o);
  assert.ok(near(slow.ratio, 1.3));
  assert.ok(slow.band!.lo > 1, `band ${slow.band!.lo}–${slow.band!.hi}`);
  assert.is(slow.verdict, 'slower');
  assert.is(compareBuilds(b, b.map((r) => r.map((v) => v * 0.7)), o).verdict, 'faster');
  // 8% slower, but processes of one build differ by 20%: within noise.
  assert.is(compareBuilds(b, b.map((r) => r.map((v) => v * 1.08)), o).verdict, 'within noise');
  // The band's half-width follows the t critical value at 2P − 2 = 4 degrees of freedom.
  const l = b.map((r) => Math.log(r[0]));
  const m = l.reduce((x, y) => x + y) / 3;
  const se = Math.sqrt(((2 * l.reduce((a, v) => a + (v - m) ** 2, 0)) / 4) * (2 / 3));
  assert.ok(near(Math.log(slow.band!.hi / slow.ratio), studentCritical(0.95, 4) * se, 1e-9));
});

/** Runs of P processes per build: shared load per round, a constant bias per process, run noise. */
function simulate(r: () => number, P: number, n: number, effect: number, processBias: number) {
  const base: number[][] = [];
  const head: number[][] = [];
  for (let j = 0; j < P; j++) {
    const bb = 1 + processBias * (2 * r() - 1);
    const hb = 1 + processBias * (2 * r() - 1);
    const b: number[] = [];
    const h: number[] = [];
    for (let i = 0; i < n; i++) {
      const load = 1 + 0.4 * r();
      b.push(100 * bb * load * (1 + 0.15 * r()));
      h.push(100 * effect * hb * load * (1 + 0.15 * r()));
    }
    base.push(b);
    head.push(h);
  }
  return { base, head };
}

test('identical builds under load and process noise: few false verdicts with several processes, many with one', () => {
  const r = rng(7);
  const trials = 1000;
  const rate = (P: number, n: number, effect: number, bias: number, v: string) => {
    let k = 0;
    for (let t = 0; t < trials; t++) {
      const { base, head } = simulate(r, P, n, effect, bias);
      if ((compareBuilds(base, head, o).verdict === 'within noise') === (v === 'within noise')) k++;
    }
    return k / trials;
  };
  const P = AB_DEFAULTS.processes;
  const n = AB_DEFAULTS.runs;
  const flagged = (p: number, bias: number) => 1 - rate(p, n, 1, bias, 'within noise');
  // Processes ±10% apart (as lavapipe's tiny workloads were): 3 processes stay near 1 − confidence…
  assert.ok(flagged(P, 0.1) <= 0.05, `default: ${flagged(P, 0.1)}`);
  assert.ok(flagged(P, 0.3) <= 0.08, `±30% apart: ${flagged(P, 0.3)}`);
  assert.ok(flagged(P, 0) <= 0.03, `no process noise: ${flagged(P, 0)}`);
  // … one process per build cannot see that noise and calls identical code slower or faster often.
  assert.ok(flagged(1, 0.1) >= 0.25, `one process: ${flagged(1, 0.1)}`);
  // A real 50% slowdown is seen under the same noise.
  assert.ok(rate(P, n, 1.5, 0.1, 'slower') >= 0.95, `50% slower seen: ${rate(P, n, 1.5, 0.1, 'slower')}`);
});

test('parseAbArgs: defaults, the suite\'s options, checks', () => {
  const d = parseAbArgs([]);
  assert.is(d.runs, 7);
  assert.is(d.minRuns, 2);
  assert.is(d.processes, 3);
  assert.is(d.maxSeconds, 60);
  assert.is(d.confidence, 0.95);
  assert.is(d.save, true);
  const a = parseAbArgs(['--runs', '1', '--processes', '2', '--tiny', '--only', 'matmul,conv', '--threshold', '0.05', '--base-root', '/tmp/x', '--no-save', '--max-seconds', '0']);
  assert.is(a.runs, 1);
  assert.is(a.minRuns, 1, '--runs 1 alone: 1 run');
  assert.is(a.processes, 2);
  assert.is(a.tiny, true);
  assert.equal(a.only, ['matmul', 'conv']);
  assert.is(a.threshold, 0.05);
  assert.is(a.baseRoot, '/tmp/x');
  assert.is(a.save, false);
  assert.is(a.maxSeconds, Infinity, '0: no budget');
  assert.throws(() => parseAbArgs(['--runs', '0']), /--runs/);
  assert.throws(() => parseAbArgs(['--confidence', '1']), /--confidence/);
  assert.throws(() => parseAbArgs(['--processes', '0']), /--processes/);
  assert.throws(() => parseAbArgs(['--base-root']), /needs a value/);
  assert.throws(() => parseAbArgs(['--profile']), /unknown option --profile/);
});

test('withSamples: the worker\'s counted runs replace the parent\'s times', () => {
  const side: SideResult = { engine: 'base', ms: stats([9, 9, 9]), runs: 3, rate: 1 };
  const w = withSamples(side, [50, 40, 1, 2, 3], 2e9, stats);
  assert.equal(w.ms!.samples, [1, 2, 3], 'the last `runs` (after the warm-up)');
  assert.is(w.ms!.median, 2);
  assert.is(w.rate, 1000, '2 GFLOP in 2 ms');
  const failed: SideResult = { engine: 'head', error: 'boom' };
  assert.is(withSamples(failed, [1, 2], undefined, stats), failed);
});

function build(role: string, commit: string, dirty = false): AbBuild {
  return { role, commit, dirty, subject: 'a | subject', source: role === 'head' ? 'worktree' : 'checkout', dist: `/x/${role}/dist`, sourceHash: 'abcdef123456' };
}

test('pooled: a build over its processes', () => {
  const a: SideResult = { engine: 'base#1', ms: stats([3, 1]), runs: 2, perRun: { dispatches: 4 } };
  const b: SideResult = { engine: 'base#2', ms: stats([2]), runs: 1 };
  const p = pooled([a, b], 'base', stats);
  assert.equal(p.ms!.samples, [3, 1, 2]);
  assert.is(p.runs, 3);
  assert.equal(p.perRun, { dispatches: 4 });
  const f = pooled([a, { engine: 'base#2', error: 'lost' }], 'base', stats);
  assert.is(f.ms, undefined, 'one process failed: no comparison');
  assert.is(f.error, 'base#2: lost');
});

test('the report: file name, table, verdicts, summary', () => {
  const side = (engine: string, samples: number[], dispatches: number): SideResult => ({ engine, ms: stats(samples), runs: samples.length, perRun: { dispatches } });
  const procs = [[10, 11, 10, 12, 10], [10.5, 10.2, 10.4, 10.9, 10.3], [9.6, 9.9, 9.7, 9.8, 10]];
  const times = (f: number) => procs.map((r) => r.map((v) => v * f));
  const row = (id: string, f: number, extra: Partial<AbRow> = {}, dispatches = 3): AbRow => {
    const base = procs.map((r, j) => side(`base#${j + 1}`, r, 3));
    const head = times(f).map((r, j) => side(`head#${j + 1}`, r, dispatches));
    return {
      id, family: 'matmul', title: `w ${id}`, base: pooled(base, 'base', stats), head: pooled(head, 'head', stats), processes: { base, head },
      agreement: { maxRelDiff: 0, tolerance: 1e-3, ok: true, what: '4 values' }, comparison: compareBuilds(procs, times(f), o), ...extra,
    };
  };
  const rows: AbRow[] = [
    row('same', 1),
    row('slow', 1.5, { agreement: { maxRelDiff: 2e-6, tolerance: 1e-3, ok: true, what: '4 values' } }, 5),
    { id: 'gone', family: 'conv', title: 'w gone', only: 'base' },
    { id: 'broke', family: 'conv', title: 'w broke', base: side('base', procs[0], 3), head: { engine: 'head', error: 'head#2: GPU | lost' } },
  ];
  const rep: AbReport = {
    schema: 1, kind: 'lanterna-ab', date: '2026-12-06T20:00:00.000Z', adapter: 'lavapipe (Mesa)', base: build('base', '28b3943aaaa'), head: build('head', '1234567bbbb', true),
    host: { cpus: 2, cpuModel: 'AMD EPYC', loadBefore: 1, loadAfter: 2, seconds: 3, runtimeVersion: 'v20' },
    options: { ...AB_DEFAULTS, runs: 5 }, rows, notes: ['a note'],
  };
  assert.is(reportBase(rep, 'lavapipe', false), 'ab-lavapipe-2026-12-06-28b3943-vs-1234567-dirty');
  assert.is(reportBase(rep, 'lavapipe', true), 'ab-lavapipe-2026-12-06-28b3943-vs-1234567-dirty-tiny');
  const md = renderAbMarkdown(rep);
  assert.match(md, '`28b3943` (base) vs `1234567-dirty` (head)');
  assert.match(md, 'working tree at `1234567` **with uncommitted changes** — a \\| subject');
  assert.match(md, 'checkout of `28b3943` (clean)');
  assert.match(md, 'kernels/ and engine/ sources: **identical**');
  assert.match(md, '3 processes of its own (base#1 … base#3, head#1 … head#3), Node v20, on the same adapter');
  assert.match(md, '4 degrees of freedom');
  assert.match(md, '| w same | 10.1 (9.60–12.0) | 10.1 (9.60–12.0) | 1.000× | 0.934–1.071 | 6.1% | 5.0% / 5.0% | within noise | identical | 3 | 3 × 5 |');
  assert.match(md, '| w slow | 10.1 (9.60–12.0) | 15.1 (14.4–18.0) | 1.500× | 1.401–1.606 | 6.1% | 5.0% / 5.0% | **slower** | 2e-6 | 3 → 5 | 3 × 5 |');
  assert.match(md, '| w gone | — | — | — | — | — | — | only in base |');
  assert.match(md, 'failed: head#2: GPU \\| lost');
  assert.match(md, 'Head slower on: w slow (1.500×).');
  assert.match(md, 'identical builds get a false "slower" or "faster" on at most ~5% of workloads: up to ~0.1 of these 2');
  assert.match(md, '\na note\n');
  const s = summary(rows);
  assert.match(s, '1 of 2 workloads compared are within noise.');
  assert.match(s, 'No comparison (a side failed): w broke.');
  assert.match(s, 'In one build\'s suite only: gone (base).');
  assert.match(s, 'Probes differ between the builds on: w slow (2.0e-6)');
  assert.is(summary([row('a', 1), row('b', 1)]), 'All 2 workloads compared are within noise. Every probe is bit-identical between the builds.');
});

test.run();
