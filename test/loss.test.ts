import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { cceRef, oneHotRef, sceRef, type LabelKind, type Reduction } from '../kernels/loss.ts';
import { planRows, rowBase, type RowVariant } from '../kernels/softmax.ts';
import { assertClose, assertEqualArrays, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(5);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
const rowShapeOf = (s: number[]) => [s[0], ...s.slice(2)];

/** Registers a test once per row-kernel variant: the choice by adapter alone would leave one untested. */
function testVariants(name: string, fn: () => Promise<void>): void {
  for (const v of ['thread', 'tree'] as RowVariant[]) test(`${name} [${v} per row]`, () => E.gpu().withPlan({ rowVariant: v }, fn));
}

// [N, C, D..]: N=1, C=1, MNIST (100×10), odd sizes, ImageNet width, rows longer than a workgroup
// together with more rows than a workgroup, and ONNX's K-dimensional layouts (strided rows).
const SCE_SHAPES = [[1, 1], [1, 10], [100, 10], [7, 13], [3, 1000], [70, 257], [2, 3, 4], [2, 5, 3, 2]];

/** Soft targets: non-negative rows that sum to `total` (1 for distributions). */
function softTargets(shape: number[], total = 1): Float32Array {
  const y = r.uniform(size(shape), 0, 1);
  const p = planRows(shape, 1);
  for (let row = 0; row < p.rows; row++) {
    const b = rowBase(p, row);
    let s = 0;
    for (let j = 0; j < p.c; j++) s += y[b + j * p.inner];
    for (let j = 0; j < p.c; j++) y[b + j * p.inner] *= total / s;
  }
  return y;
}

async function sceGpu(x: Float32Array, shape: number[], labels: Int32Array | Float32Array, lshape: number[], o: E.SoftmaxCrossEntropyOptions & { w?: Float32Array } = {}) {
  return E.tidy(() => {
    const weights = o.w ? E.tensor(o.w, [o.w.length]) : undefined;
    return E.softmaxCrossEntropy(E.tensor(x, shape), E.tensor(labels, lshape), { ...o, weights }).data();
  });
}

for (const kind of ['index', 'soft'] as LabelKind[])
  testVariants(`softmaxCrossEntropy (${kind} labels) matches the float64 reference for every reduction (atol 1e-5, rtol 1e-5)`, async () => {
    for (const shape of SCE_SHAPES) {
      const x = r.uniform(size(shape), -5, 5);
      const ls = kind === 'index' ? rowShapeOf(shape) : shape;
      const labels = kind === 'index' ? r.int(size(ls), shape[1]) : softTargets(shape, shape[0] === 7 ? 2.5 : 1);
      for (const reduction of REDUCTIONS) {
        const y = await sceGpu(x, shape, labels, ls, { reduction });
        const ref = sceRef(x, planRows(shape, 1), labels, kind, { reduction });
        assertClose(y, ref, { atol: 1e-5, rtol: 1e-5 }, `sce ${kind} [${shape}] ${reduction}`);
      }
    }
  });

testVariants('softmaxCrossEntropy with class weights and ignoreIndex follows ONNX (atol 1e-5, rtol 1e-5)', async () => {
  for (const shape of [[9, 5], [4, 300], [3, 4, 2]]) {
    const C = shape[1];
    const x = r.uniform(size(shape), -3, 3);
    const ls = rowShapeOf(shape);
    const labels = r.int(size(ls), C);
    labels[0] = 2; // at least one ignored row
    const w = r.uniform(C, 0.2, 2);
    for (const reduction of REDUCTIONS)
      for (const o of [{ w }, { ignoreIndex: 2 }, { w, ignoreIndex: 2 }, { ignoreIndex: -1 }]) {
        const y = await sceGpu(x, shape, labels, ls, { reduction, ...o });
        const ref = sceRef(x, planRows(shape, 1), labels, 'index', { reduction, weights: o.w, ignoreIndex: o.ignoreIndex });
        assertClose(y, ref, { atol: 1e-5, rtol: 1e-5 }, `sce [${shape}] ${reduction} ${Object.keys(o)}`);
      }
  }
});

testVariants('softmaxCrossEntropy is stable for logits of ±80 and offsets of 1000 (rtol 1e-5)', async () => {
  for (const [shape, shift] of [
    [[6, 10], 0],
    [[4, 1000], 0],
    [[5, 10], 1000],
  ] as [number[], number][]) {
    // Each row spans the full ±80 and its label sits on the -80: the loss is ≥ 160, where
    // log(softmax) alone underflows to -inf.
    const [n, c] = shape;
    const labels = Int32Array.from({ length: n }, (_, i) => 1 + (i % (c - 1)));
    const x = r.uniform(n * c, -80, 80);
    labels.forEach((l, i) => ((x[i * c] = 80), (x[i * c + l] = -80)));
    x.forEach((v, k) => (x[k] = v + shift));
    const soft = new Float32Array(x.length).map((_, k) => (labels[Math.floor(k / c)] === k % c ? 1 : 0));
    for (const [kind, lab, ls] of [
      ['index', labels, [shape[0]]],
      ['soft', soft, shape],
    ] as [LabelKind, Int32Array | Float32Array, number[]][]) {
      const y = await sceGpu(x, shape, lab, ls, { reduction: 'none' });
      if (y.some((v) => !Number.isFinite(v) || v < 159)) throw new Error(`sce ${kind} [${shape}] +${shift}: ${y}`);
      assertClose(y, sceRef(x, planRows(shape, 1), lab, kind, { reduction: 'none' }), { atol: 0, rtol: 1e-5 }, `sce ${kind} [${shape}] +${shift}`);
    }
  }
});

test('softmaxCrossEntropy keeps a small loss accurate next to logits of 1000 (atol 1e-6)', async () => {
  // Confident, correct rows: loss ≈ Σ exp(x − max) ~ 1e-3. Forming lse = 1000.001 first would round
  // it to float32's step at 1000 (6e-5), a 6% error; (max − x) + log s keeps float32's resolution
  // of s ≈ 1.001 (1e-7).
  const x = Float32Array.from({ length: 40 }, (_, k) => 1000 - (k % 10 === 3 ? 0 : 7 + (k % 10) + Math.floor(k / 10) / 10));
  const labels = Int32Array.from([3, 3, 3, 3]);
  const soft = Float32Array.from(x, (_, k) => (k % 10 === 3 ? 1 : 0));
  for (const [kind, lab, ls] of [
    ['index', labels, [4]],
    ['soft', soft, [4, 10]],
  ] as [LabelKind, Int32Array | Float32Array, number[]][]) {
    const y = await sceGpu(x, [4, 10], lab, ls, { reduction: 'none' });
    assertClose(y, sceRef(x, planRows([4, 10], 1), lab, kind, { reduction: 'none' }), { atol: 1e-6, rtol: 0 }, `sce ${kind} near 1000`);
  }
});

test('softmaxCrossEntropy: an out-of-range label is refused when the loss is read, naming the first one', async () => {
  const x = r.uniform(12, -1, 1);
  let msg = '';
  await sceGpu(x, [3, 4], Int32Array.of(1, 4, -2), [3], { reduction: 'none' }).catch((e: Error) => (msg = e.message));
  if (!msg.includes('label 4 at index 1') || !msg.includes('0..3')) throw new Error(`got "${msg}"`);
});

for (const reduction of REDUCTIONS)
  testVariants(`softmaxCrossEntropy backward (${reduction}) matches finite differences (atol 1e-3, rtol 1e-2)`, async () => {
    const cases: [number[], LabelKind, E.SoftmaxCrossEntropyOptions & { w?: Float32Array }][] = [
      [[5, 7], 'index', {}],
      [[2, 300], 'index', {}],
      [[1, 1], 'index', {}],
      [[3, 4, 2], 'index', {}],
      [[6, 5], 'index', { w: r.uniform(5, 0.5, 2), ignoreIndex: 3 }],
      [[4, 6], 'soft', {}],
      [[2, 3, 3], 'soft', {}],
      [[2, 260], 'soft', {}],
    ];
    for (const [shape, kind, o] of cases) {
      const x = r.uniform(size(shape), -3, 3);
      const ls = kind === 'index' ? rowShapeOf(shape) : shape;
      const labels = kind === 'index' ? r.int(size(ls), shape[1]) : softTargets(shape, 1.5);
      if (o.ignoreIndex !== undefined) labels[0] = o.ignoreIndex;
      const lt = E.tensor(labels, ls);
      const wt = o.w ? E.tensor(o.w, [o.w.length]) : undefined;
      await checkGrad(
        `sce ${kind} [${shape}] ${reduction} ${Object.keys(o)}`,
        ([t]) => E.softmaxCrossEntropy(t, lt, { reduction, ignoreIndex: o.ignoreIndex, weights: wt }),
        ([a]) => sceRef(a, planRows(shape, 1), labels, kind, { reduction, ignoreIndex: o.ignoreIndex, weights: o.w }),
        [{ data: x, shape }],
        { only: [0] },
      );
      lt.dispose();
      wt?.dispose();
    }
  });

test('softmaxCrossEntropy gradient is exactly (softmax − onehot)/N at ±80 logits (atol 1e-6)', async () => {
  const shape = [4, 10];
  const x = r.uniform(40, -80, 80);
  const labels = r.int(4, 10);
  const g = await E.tidy(() => {
    const t = E.tensor(x, shape).requireGrad();
    E.backward(E.softmaxCrossEntropy(t, E.tensor(labels, [4])));
    return t.grad!.data();
  });
  const sm = await E.tidy(() => E.softmax(E.tensor(x, shape)).data());
  const expected = Float64Array.from(sm, (p, k) => (p - (labels[Math.floor(k / 10)] === k % 10 ? 1 : 0)) / 4);
  assertClose(g, expected, { atol: 1e-6, rtol: 0 }, 'dlogits');
});

const probsOf = (rows: number, c: number, normalised: boolean) => {
  const p = r.uniform(rows * c, 0.05, 1);
  if (normalised)
    for (let i = 0; i < rows; i++) {
      const row = p.subarray(i * c, (i + 1) * c);
      const s = row.reduce((a, b) => a + b, 0);
      row.forEach((v, j) => (row[j] = v / s));
    }
  return p;
};

for (const kind of ['index', 'soft'] as LabelKind[]) {
  testVariants(`categoricalCrossEntropy (${kind} labels) matches Keras' formula for every reduction (atol 1e-5, rtol 1e-5)`, async () => {
    for (const [rows, c] of [[1, 1], [1, 10], [100, 10], [7, 13], [3, 1000], [70, 257]]) {
      const p = probsOf(rows, c, rows !== 7);
      if (c > 1) p[1] = 0; // clipped to ε: loss −log(1e-7) where its label is 1
      const labels = kind === 'index' ? r.int(rows, c) : softTargets([rows, c]);
      for (const reduction of REDUCTIONS) {
        const y = await E.tidy(() =>
          E.categoricalCrossEntropy(E.tensor(p, [rows, c]), E.tensor(labels, kind === 'index' ? [rows] : [rows, c]), { reduction }).data(),
        );
        assertClose(y, cceRef(p, c, labels, kind, reduction), { atol: 1e-5, rtol: 1e-5 }, `cce ${kind} [${rows},${c}] ${reduction}`);
      }
    }
  });

  testVariants(`categoricalCrossEntropy (${kind} labels) backward matches finite differences (atol 1e-3, rtol 1e-2)`, async () => {
    for (const reduction of REDUCTIONS)
      for (const [rows, c, norm] of [[5, 7, true], [3, 6, false], [2, 300, true], [1, 1, true]] as [number, number, boolean][]) {
        const p = probsOf(rows, c, norm);
        const labels = kind === 'index' ? r.int(rows, c) : softTargets([rows, c]);
        const lt = E.tensor(labels, kind === 'index' ? [rows] : [rows, c]);
        await checkGrad(
          `cce ${kind} [${rows},${c}] ${reduction}`,
          ([t]) => E.categoricalCrossEntropy(t, lt, { reduction }),
          ([a]) => cceRef(a, c, labels, kind, reduction),
          [{ data: p, shape: [rows, c] }],
          { only: [0], eps: 1e-6 },
        );
        lt.dispose();
      }
  });
}

test('oneHot matches the reference; labels outside [0, depth) give zero rows (exact)', async () => {
  for (const [shape, depth] of [[[1], 1], [[100], 10], [[3, 4], 1000], [[257], 3]] as [number[], number][]) {
    const labels = r.int(size(shape), depth + 2).map((v, i) => (i % 5 === 4 ? -1 : v));
    const y = await E.tidy(() => E.oneHot(E.tensor(labels, shape), depth).data());
    assertEqualArrays(y, oneHotRef(labels, depth), `oneHot [${shape}] depth ${depth}`);
  }
});

test('losses reject mismatched labels, naming op and shapes', () => {
  const expectErr = throwsNaming;
  expectErr(() => E.softmaxCrossEntropy(E.zeros([4, 10]), E.zeros([5], 'int32')), 'softmaxCrossEntropy', '[4,10]', '[5]');
  expectErr(() => E.softmaxCrossEntropy(E.zeros([4, 10]), E.zeros([4, 9])), 'softmaxCrossEntropy', '[4,9]');
  expectErr(() => E.softmaxCrossEntropy(E.zeros([4, 10]), E.zeros([4], 'int32'), { weights: E.zeros([9]) }), 'softmaxCrossEntropy', '[9]');
  expectErr(() => E.categoricalCrossEntropy(E.zeros([4, 10]), E.zeros([4, 10], 'int32')), 'categoricalCrossEntropy', '[4,10]');
  expectErr(() => E.oneHot(E.zeros([3]), 4), 'oneHot', 'int32');
});

test('backward through a loss with labels that require a gradient names the op', async () => {
  let msg = '';
  E.tidy(() => {
    const x = E.tensor(r.uniform(6), [2, 3]).requireGrad();
    const y = E.tensor(softTargets([2, 3]), [2, 3]).requireGrad();
    try {
      E.backward(E.softmaxCrossEntropy(x, y));
    } catch (e) {
      msg = (e as Error).message;
    }
  });
  if (!msg.includes('softmaxCrossEntropy') || !msg.includes('labels')) throw new Error(`bad message: ${msg}`);
});

test.run();
