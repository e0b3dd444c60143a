// The A/B comparison of two builds (bench/ab_compare.ts): the noise band, the verdict, the
// options and the report. Pure logic, no GPU; bench/ab.sh runs the real thing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AB_DEFAULTS, binomialCdfHalf, compareRuns, medianInterval, pairedRatios, parseAbArgs, quantile, renderAbMarkdown, reportBase, summary, withSamples,
  type AbBuild, type AbReport, type AbRow,
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

test('compareRuns: identical, slower, faster, a negligible change, too few runs', () => {
  const base = [100, 104, 98, 130, 101, 99, 103, 97, 102];
  const same = compareRuns(base, base, o);
  assert.is(same.ratio, 1);
  assert.is(same.verdict, 'within noise');
  assert.is(same.pairs, 9);
  assert.equal([same.band!.lo, same.band!.hi], [1, 1]);

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

  // 25% slower on the median, but one round in four the other way: the band straddles 1.
  const mixed = compareRuns([100, 100, 100, 100, 100, 100, 100, 100, 100], [125, 80, 125, 125, 80, 125, 125, 80, 125], o);
  assert.is(mixed.ratio, 1.25);
  assert.is(mixed.verdict, 'within noise');

  assert.is(compareRuns([100, 100], [200, 200], o).verdict, 'too few runs');
  assert.is(compareRuns([100, 100, 100], [200, 200, 200], o).verdict, 'slower', 'three rounds all 2× slower (band at 75%)');

  const s = compareRuns([100, 90, 110, 100, 120], [100, 100, 100, 100, 100], o);
  assert.ok(near(s.baseSpread, (110 - 100) / 100), `IQR / median: ${s.baseSpread}`);
  assert.is(s.headSpread, 0);
});

test('compareRuns on identical builds under heavy noise: few false verdicts', () => {
  // Both builds' runs drawn from one distribution (±40% load noise shared by a round, ±15% each):
  // the fraction of workloads called slower or faster stays near 1 − confidence, or below.
  const r = rng(7);
  let flagged = 0;
  const trials = 2000;
  for (let t = 0; t < trials; t++) {
    const base: number[] = [];
    const head: number[] = [];
    for (let i = 0; i < AB_DEFAULTS.runs; i++) {
      const load = 1 + 0.4 * r();
      base.push(100 * load * (1 + 0.15 * r()));
      head.push(100 * load * (1 + 0.15 * r()));
    }
    if (compareRuns(base, head, o).verdict !== 'within noise') flagged++;
  }
  assert.ok(flagged / trials <= 0.05, `${flagged} of ${trials} flagged`);
  // … and a real 20% slowdown under the same noise is seen nearly always.
  let seen = 0;
  for (let t = 0; t < 500; t++) {
    const base: number[] = [];
    const head: number[] = [];
    for (let i = 0; i < AB_DEFAULTS.runs; i++) {
      const load = 1 + 0.4 * r();
      base.push(100 * load * (1 + 0.15 * r()));
      head.push(120 * load * (1 + 0.15 * r()));
    }
    if (compareRuns(base, head, o).verdict === 'slower') seen++;
  }
  assert.ok(seen / 500 >= 0.8, `20% slower seen in ${seen} of 500`);
});

test('parseAbArgs: defaults, the suite\'s options, checks', () => {
  const d = parseAbArgs([]);
  assert.is(d.runs, 9);
  assert.is(d.minRuns, 5);
  assert.is(d.maxSeconds, 60);
  assert.is(d.confidence, 0.95);
  assert.is(d.save, true);
  const a = parseAbArgs(['--runs', '3', '--tiny', '--only', 'matmul,conv', '--threshold', '0.05', '--base-root', '/tmp/x', '--no-save', '--max-seconds', '0']);
  assert.is(a.runs, 3);
  assert.is(a.minRuns, 3, '--runs 3 alone: 3 runs');
  assert.is(a.tiny, true);
  assert.equal(a.only, ['matmul', 'conv']);
  assert.is(a.threshold, 0.05);
  assert.is(a.baseRoot, '/tmp/x');
  assert.is(a.save, false);
  assert.is(a.maxSeconds, Infinity, '0: no budget');
  assert.throws(() => parseAbArgs(['--runs', '0']), /--runs/);
  assert.throws(() => parseAbArgs(['--confidence', '1']), /--confidence/);
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

test('the report: file name, table, verdicts, summary', () => {
  const side = (engine: string, samples: number[], dispatches: number): SideResult => ({ engine, ms: stats(samples), runs: samples.length, perRun: { dispatches } });
  const b = [10, 11, 10, 12, 10];
  const row = (id: string, head: number[], extra: Partial<AbRow> = {}): AbRow => ({
    id, family: 'matmul', title: `w ${id}`, base: side('base', b, 3), head: side('head', head, 3),
    agreement: { maxRelDiff: 0, tolerance: 1e-3, ok: true, what: '4 values' }, comparison: compareRuns(b, head, o), ...extra,
  });
  const rows: AbRow[] = [
    row('same', b),
    row('slow', b.map((v) => v * 1.5), { head: side('head', b.map((v) => v * 1.5), 5), agreement: { maxRelDiff: 2e-6, tolerance: 1e-3, ok: true, what: '4 values' } }),
    { id: 'gone', family: 'conv', title: 'w gone', only: 'base' },
    { id: 'broke', family: 'conv', title: 'w broke', base: side('base', b, 3), head: { engine: 'head', error: 'GPU | lost' } },
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
  assert.match(md, '| w same | 10.0 (10.0–12.0) | 10.0 (10.0–12.0) | 1.000× | 1.000–1.000 (93.7%) |');
  assert.match(md, '| **slower** | 2e-6 | 3 → 5 | 5 |');
  assert.match(md, '| w gone | — | — | — | — | — | only in base |');
  assert.match(md, 'failed: GPU \\| lost');
  assert.match(md, 'Head slower on: w slow (1.500×).');
  assert.match(md, '\na note\n');
  const s = summary(rows);
  assert.match(s, '1 of 2 workloads compared are within noise.');
  assert.match(s, 'No comparison (a side failed): w broke.');
  assert.match(s, 'In one build\'s suite only: gone (base).');
  assert.match(s, 'Probes differ between the builds on: w slow (2.0e-6)');
  assert.is(summary([row('a', b), row('b', b)]), 'All 2 workloads compared are within noise. Every probe is bit-identical between the builds.');
});

test.run();
