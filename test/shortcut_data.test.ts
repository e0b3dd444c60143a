// Shortcut datasets (nn/data/shortcut.ts): reproducible from the seed, the correlation realised,
// 'removed' is the digit untouched, 'swapped' never carries the label's cue, the cue region mask;
// the mark's patterns are as far apart as claimed, and the weather is a level under the ink. Pure
// host code on the real MNIST test digits: no GPU.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMnist } from '../nn/data/mnist.ts';
import {
  CUE_KINDS, MARK_PATTERNS, MARK_SIZE, cueMask, digitMask, drawCue, markMask, markPixel, shortcutModelName, shortcutRecordOf, shortcutSet, shortcutTestSets, weatherLevel,
  type CueKind,
} from '../nn/data/shortcut.ts';

const base = await loadMnist({ split: 'test', limit: 2000 });
const per = 784;
const img = (s: { images: Uint8Array }, i: number) => s.images.subarray(i * per, (i + 1) * per);
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** The class whose cue image i of a set carries, read back from its pixels alone (−1: none). */
function cueIn(kind: CueKind, pixels: Uint8Array, digit: Uint8Array): number {
  for (let c = 0; c < 10; c++) if (same(drawCue(digit.slice(), kind, c), pixels)) return c;
  return same(pixels, digit) ? -1 : -2;
}

test('the same seed gives the same bytes; another seed other cues', () => {
  for (const kind of CUE_KINDS) {
    const a = shortcutSet(base, { kind, correlation: 0.8, seed: 7 });
    const b = shortcutSet(base, { kind, correlation: 0.8, seed: 7 });
    const c = shortcutSet(base, { kind, correlation: 0.8, seed: 8 });
    assert.ok(same(a.images, b.images) && same(a.cues, b.cues), `${kind}: seed 7 twice`);
    assert.not.ok(same(a.cues, c.cues), `${kind}: seeds 7 and 8 draw the same cues`);
    assert.not.ok(same(a.images, c.images), `${kind}: seeds 7 and 8 give the same bytes`);
    assert.ok(same(a.labels, base.labels.subarray(0, base.n)), "labels are the digits' own");
  }
});

test('the base digits are left as they were', async () => {
  const before = base.images.slice();
  shortcutSet(base, { kind: 'mark', mode: 'swapped' });
  shortcutSet(base, { kind: 'weather', correlation: 0.5 });
  assert.ok(same(before, base.images));
});

test('the correlation is realised: the share of images carrying their own cue is P (binomial bounds), the pixels agree with `cues`', () => {
  for (const kind of CUE_KINDS)
    for (const p of [1, 0.95, 0.8]) {
      const s = shortcutSet(base, { kind, correlation: p, seed: 3 });
      let own = 0;
      for (let i = 0; i < s.n; i++) {
        if (s.cues[i] === s.labels[i]) own++;
        assert.ok(s.cues[i] >= 0 && s.cues[i] < 10, 'every training image carries a cue');
        if (i < 300) assert.is(cueIn(kind, img(s, i), img(base, i)), s.cues[i], `${kind} ${p}: image ${i}'s pixels carry the cue recorded`);
      }
      const share = own / s.n;
      const sd = Math.sqrt((p * (1 - p)) / s.n);
      assert.ok(Math.abs(share - p) <= 4 * sd + 1e-12, `${kind} correlation ${p}: realised ${share}`);
      assert.is(s.correlation, p);
    }
});

test('a mismatched cue is spread over the nine other classes', () => {
  const s = shortcutSet(base, { kind: 'mark', mode: 'swapped', seed: 5 });
  const counts = new Array(10).fill(0);
  for (let i = 0; i < s.n; i++) counts[(s.cues[i] - s.labels[i] + 10) % 10]++;
  assert.is(counts[0], 0);
  for (let d = 1; d < 10; d++) assert.ok(counts[d] > s.n / 9 / 2, `offset ${d}: ${counts[d]} of ${s.n}`);
});

test("'removed' is the digit untouched; 'swapped' never carries the label's cue; 'matched' always does", () => {
  for (const kind of CUE_KINDS) {
    const t = shortcutTestSets(base, kind, 0.95, 2);
    assert.ok(same(t.removed.images, base.images.subarray(0, base.n * per)), `${kind}: removed = MNIST`);
    assert.ok(t.removed.cues.every((c) => c === -1));
    const m = shortcutSet(base, { kind, mode: 'matched', seed: 2 });
    for (let i = 0; i < base.n; i++) {
      assert.ok(t.swapped.cues[i] !== base.labels[i], `${kind}: swapped image ${i} carries its own cue`);
      assert.is(m.cues[i], base.labels[i]);
      if (i < 200) {
        assert.is(cueIn(kind, img(t.swapped, i), img(base, i)), t.swapped.cues[i]);
        assert.ok(!same(img(t.swapped, i), img(m, i)), `${kind}: swapped image ${i} looks like its matched one`);
      }
    }
    assert.ok(Math.abs(t.trained.cues.filter((c, i) => c === base.labels[i]).length / base.n - 0.95) < 0.03, 'as in training: the training correlation');
  }
});

test('the cue changes pixels inside its region only, and the mark fills its region', () => {
  const mark = markMask();
  for (let c = 0; c < 10; c++)
    for (let i = 0; i < 50; i++) {
      const d = img(base, i);
      const withMark = drawCue(d.slice(), 'mark', c);
      for (let j = 0; j < per; j++) if (!mark[j]) assert.is(withMark[j], d[j], `class ${c}, digit ${i}: pixel ${j} outside the corner changed`);
      const withWeather = drawCue(d.slice(), 'weather', c);
      const region = cueMask('weather', d);
      for (let j = 0; j < per; j++) {
        if (!region[j]) assert.is(withWeather[j], d[j], `weather changed the digit's pixel ${j}`);
        assert.is(withWeather[j], d[j] >= 128 ? d[j] : Math.max(d[j], weatherLevel(c)));
      }
    }
  let inside = 0;
  for (let j = 0; j < per; j++) {
    const y = Math.floor(j / 28);
    const x = j % 28;
    assert.is(mark[j], y < MARK_SIZE && x < MARK_SIZE ? 1 : 0, `mark mask at (${y}, ${x})`);
    inside += mark[j];
  }
  assert.is(inside, 64);
  assert.ok(same(cueMask('mark', img(base, 3)), mark), "the mark's region does not depend on the digit");
  const d = img(base, 0);
  assert.ok(same(cueMask('weather', d), digitMask(d).map((v) => 1 - v)), "the weather's region is every pixel but the digit's");
  assert.is(digitMask(Uint8Array.from([0, 127, 128, 255])).join(''), '0011');
});

test("the mark's patterns: half the patch each, any two differing in exactly half of it; the weather's levels distinct", () => {
  const lit = (c: number) => Array.from({ length: 64 }, (_, k) => markPixel(c, k >> 3, k & 7));
  assert.is(MARK_PATTERNS.length, 10);
  for (let a = 0; a < 10; a++) {
    assert.is(lit(a).filter(Boolean).length, 32, `class ${a}`);
    for (let b = a + 1; b < 10; b++) assert.is(lit(a).filter((v, k) => v !== lit(b)[k]).length, 32, `classes ${a} and ${b}`);
  }
  assert.is(new Set(Array.from({ length: 10 }, (_, c) => weatherLevel(c))).size, 10);
  assert.ok(weatherLevel(0) > 0, "class 0's weather differs from no weather");
});

test('bad input: a clear error naming the problem', () => {
  assert.throws(() => shortcutSet(base, { kind: 'rain' as CueKind }), /unknown shortcut cue 'rain' \(kinds: mark, weather\)/);
  assert.throws(() => shortcutSet(base, { kind: 'mark', correlation: 1.5 }), /correlation must lie in 0\.\.1, got 1\.5/);
  assert.throws(() => shortcutSet(base, { kind: 'mark', mode: 'cloudy' as 'matched' }), /mode must be one of/);
  assert.throws(() => shortcutSet({ ...base, rows: 32, cols: 32 }, { kind: 'mark' }), /32×32/);
  assert.throws(() => drawCue(new Uint8Array(784), 'mark', 10), /class 10 is not a digit/);
  assert.throws(() => drawCue(new Uint8Array(100), 'weather', 1), /100 pixels are not a 28×28 image/);
});

test('model names and the record a model file keeps', () => {
  assert.is(shortcutModelName('mark', 1), 'shortcut-mark');
  assert.is(shortcutModelName('weather', 0.95), 'shortcut-weather-0.95');
  assert.equal(shortcutRecordOf({ lanterna_shortcut: '{"kind":"weather","correlation":0.8,"seed":1}' }), { kind: 'weather', correlation: 0.8, seed: 1 });
  assert.is(shortcutRecordOf({ lanterna_shortcut: '{"kind":"fog"}' }), null);
  assert.is(shortcutRecordOf({ lanterna_shortcut: 'not json' }), null);
  assert.is(shortcutRecordOf({}), null);
});

test.run();
