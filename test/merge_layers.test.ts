// Keras merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate), built from
// configs and called as the graph model calls them (buildMany, callMany): forward against a
// float64 reference of Keras' rules (lower-rank inputs get 1s after the batch axis, then NumPy
// broadcasting), every input's gradient against finite differences, config round trips, and the
// one-line errors for shapes that cannot merge.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { layerFromConfig } from '../nn/from_config.ts';
import { isMergeLayer, type MergeLayer } from '../nn/layer.ts';
import { Rng } from '../nn/random.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(31);
const ctx = { training: false };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function merge(cls: string, shapes: number[][], cfg: object = {}): MergeLayer {
  const l = layerFromConfig(cls, { name: 'm', ...cfg }, 'test');
  if (!isMergeLayer(l)) throw new Error(`${cls} is not a merge layer`);
  l.buildMany(shapes, new Rng(1));
  return l;
}

/** Keras' merge in float64: expand ranks after the batch axis, broadcast, fold `f` over the inputs. */
function mergeRef(f: (v: number[]) => number, xs: ArrayLike<number>[], shapes: number[][]): Float64Array {
  const rank = Math.max(...shapes.map((s) => s.length));
  const al = shapes.map((s) => [s[0], ...Array<number>(rank - s.length).fill(1), ...s.slice(1)]);
  const out = al[0].map((_, d) => Math.max(...al.map((s) => s[d])));
  const y = new Float64Array(size(out));
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < y.length; i++) {
    for (let d = rank - 1, q = i; d >= 0; d--) {
      idx[d] = q % out[d];
      q = Math.floor(q / out[d]);
    }
    y[i] = f(xs.map((x, k) => x[al[k].reduce((off, n, d) => off * n + (n === 1 ? 0 : idx[d]), 0)]));
  }
  return y;
}

const OPS: Record<string, (v: number[]) => number> = {
  Add: (v) => v.reduce((a, b) => a + b),
  Subtract: (v) => v[0] - v[1],
  Multiply: (v) => v.reduce((a, b) => a * b),
  Average: (v) => v.reduce((a, b) => a + b) / v.length,
  Maximum: (v) => Math.max(...v),
  Minimum: (v) => Math.min(...v),
};

// Batch-excluded input shapes: equal, size-1 broadcast both ways, a lower-rank input (aligned to
// the right, after the batch), a batch-only input ([] = one value per example), three inputs.
const CASES: number[][][] = [
  [[3, 5], [3, 5]],
  [[4, 4, 3], [1, 1, 3]],
  [[3, 1], [1, 5]],
  [[4, 4, 3], [3]],
  [[2, 3], []],
  [[7], [7], [7]],
  [[2, 1, 3], [2, 4, 1], [4, 3]],
];
const N = 2;

test(`elementwise merges: forward against the float64 reference on ${CASES.length} shape cases (atol 1e-6)`, async () => {
  let worst = 0;
  for (const [cls, f] of Object.entries(OPS))
    for (const shapes of CASES) {
      if (cls === 'Subtract' && shapes.length !== 2) continue;
      const layer = merge(cls, shapes);
      const full = shapes.map((s) => [N, ...s]);
      const xs = full.map((s) => r.uniform(size(s), -2, 2));
      const { y, shape } = await E.tidy(() => {
        const t = layer.callMany(xs.map((x, k) => E.tensor(x, full[k])), ctx);
        return t.data().then((y) => ({ y, shape: t.shape.slice() }));
      });
      assert.equal(shape, [N, ...layer.outputShape!], `${cls} ${JSON.stringify(shapes)} shape`);
      worst = Math.max(worst, assertClose(y, mergeRef(f, xs, full), { atol: 1e-6, rtol: 1e-6 }, `${cls} ${JSON.stringify(shapes)}`));
      layer.dispose();
    }
  console.log(`  elementwise merges: max |err| ${worst.toExponential(2)}`);
});

test('elementwise merges: every input gradient against finite differences, broadcast ones summed back', async () => {
  for (const [cls, f] of Object.entries(OPS))
    for (const shapes of [CASES[1], CASES[3], CASES[4], CASES[6]]) {
      if (cls === 'Subtract' && shapes.length !== 2) continue;
      const layer = merge(cls, shapes);
      const full = shapes.map((s) => [N, ...s]);
      const inputs = full.map((s) => ({ data: r.uniform(size(s), -2, 2), shape: s }));
      await checkGrad(`${cls} ${JSON.stringify(shapes)}`, (ts) => layer.callMany(ts, ctx), (xs) => mergeRef(f, xs, full), inputs, { atol: 1e-3, rtol: 1e-3 });
    }
});

/** Concatenation along `axis` (of the batch tensor) in float64. */
function concatRef(xs: ArrayLike<number>[], shapes: number[][], axis: number): Float64Array {
  const outer = size(shapes[0].slice(0, axis));
  const rows = shapes.map((s) => size(s.slice(axis)));
  const y = new Float64Array(outer * rows.reduce((a, b) => a + b, 0));
  let o = 0;
  for (let i = 0; i < outer; i++) xs.forEach((x, k) => {
    for (let j = 0; j < rows[k]; j++) y[o++] = x[i * rows[k] + j];
  });
  return y;
}

// [Keras axis, batch-excluded shapes]: channels (3 and −1), rows (1), columns (−2), three inputs.
const CONCATS: [number, number[][]][] = [
  [3, [[4, 4, 3], [4, 4, 2]]],
  [-1, [[4, 4, 3], [4, 4, 1]]],
  [1, [[2, 5, 3], [3, 5, 3]]],
  [-2, [[2, 1, 3], [2, 4, 3], [2, 2, 3]]],
  [1, [[5], [3]]],
];

test('Concatenate: forward against the reference on every axis but the batch, and every input gradient', async () => {
  let worst = 0;
  for (const [axis, shapes] of CONCATS) {
    const layer = merge('Concatenate', shapes, { axis });
    const full = shapes.map((s) => [N, ...s]);
    const a = axis < 0 ? axis + full[0].length : axis;
    const xs = full.map((s) => r.uniform(size(s), -2, 2));
    const { y, shape } = await E.tidy(() => {
      const t = layer.callMany(xs.map((x, k) => E.tensor(x, full[k])), ctx);
      return t.data().then((y) => ({ y, shape: t.shape.slice() }));
    });
    const want = full[0].slice();
    want[a] = full.reduce((t, s) => t + s[a], 0);
    assert.equal(shape, want, `axis ${axis} shape`);
    assert.equal(layer.outputShape, want.slice(1), `axis ${axis} outputShape`);
    worst = Math.max(worst, assertClose(y, concatRef(xs, full, a), { atol: 0, rtol: 0 }, `Concatenate axis ${axis}`));
    const inputs = full.map((s) => ({ data: r.uniform(size(s), -2, 2), shape: s }));
    await checkGrad(`Concatenate axis ${axis}`, (ts) => layer.callMany(ts, ctx), (xs) => concatRef(xs, full, a), inputs, { atol: 1e-3, rtol: 1e-3 });
  }
  assert.is(worst, 0);
});

test('merge configs round trip through layerFromConfig', () => {
  for (const [cls, cfg] of [['Add', {}], ['Subtract', {}], ['Multiply', {}], ['Average', {}], ['Maximum', {}], ['Minimum', {}], ['Concatenate', { axis: 3 }], ['Concatenate', { axis: -1 }]] as const) {
    const layer = layerFromConfig(cls, { name: 'm', trainable: true, dtype: 'float32', ...cfg }, 'test');
    const c = layer.getConfig();
    assert.equal(c, { name: 'm', trainable: true, dtype: 'float32', ...cfg }, `${cls} config`);
    assert.equal(layerFromConfig(cls, c, 'test').getConfig(), c, `${cls} round trip`);
  }
  // Keras 2 files hold no axis for a default Concatenate.
  assert.is(layerFromConfig('Concatenate', { name: 'c' }, 'test').getConfig().axis, -1);
});

test('shapes that cannot merge: one-line errors naming the layer and the shapes', () => {
  const build = (cls: string, shapes: number[][], cfg: object = {}) => () => merge(cls, shapes, cfg);
  throwsNaming(build('Add', [[3, 5], [4, 5]]), "Add 'm'", '[3, 5] + [4, 5]', 'do not broadcast');
  throwsNaming(build('Maximum', [[4, 4, 3], [2]]), "Maximum 'm'", '[4, 4, 3] + [2]');
  throwsNaming(build('Subtract', [[5], [5], [5]]), "Subtract 'm'", 'exactly 2 inputs, got 3');
  throwsNaming(build('Multiply', [[5]]), "Multiply 'm'", 'at least 2 inputs, got 1');
  throwsNaming(build('Concatenate', [[4, 4, 3], [4, 5, 3]], { axis: -1 }), "Concatenate 'm'", '[4, 4, 3] + [4, 5, 3]', 'except along axis -1');
  throwsNaming(build('Concatenate', [[4, 3], [4, 4, 3]]), "Concatenate 'm'", '[4, 3] + [4, 4, 3]');
  throwsNaming(build('Concatenate', [[4, 3], [4, 3]], { axis: 0 }), "Concatenate 'm'", 'axis 0 is the batch axis');
  throwsNaming(build('Concatenate', [[4, 3], [4, 3]], { axis: 3 }), "Concatenate 'm'", 'axis 3 is out of range', '[4, 3] + [4, 3]');
  throwsNaming(build('Concatenate', [[4, 3], [4, 3]], { axis: -4 }), "Concatenate 'm'", 'axis -4 is out of range');
  // Called on tensors: the same checks, and batch sizes must agree.
  const add = merge('Add', [[3], [3]]);
  throwsNaming(() => add.callMany([E.zeros([2, 3]), E.zeros([2, 4])], ctx), "Add 'm'", '[3] + [4]');
  throwsNaming(() => add.callMany([E.zeros([2, 3]), E.zeros([1, 3])], ctx), "Add 'm'", 'different batch sizes', '[2, 3] + [1, 3]');
  throwsNaming(() => add.call(E.zeros([2, 3]), ctx), "Add 'm'", 'at least 2 inputs, got 1');
  throwsNaming(() => add.build([3], new Rng(0)), "Add 'm'", 'merges several inputs');
  const cat = merge('Concatenate', [[3], [2]]);
  throwsNaming(() => cat.callMany([E.zeros([2, 3]), E.zeros([3, 2])], ctx), "Concatenate 'm'", 'different batch sizes');
});

test.run();
