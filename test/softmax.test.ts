import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { ROW_WG, softmaxRef, type RowVariant, type SoftmaxMode } from '../kernels/softmax.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(11);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const OPS: [SoftmaxMode, (x: E.Tensor, axis?: number) => E.Tensor][] = [
  ['softmax', E.softmax],
  ['logsoftmax', E.logSoftmax],
];

// [shape, axis]: N=1 and C=1, odd C, MNIST's C=10, ImageNet's C=1000, rows of exactly and just over
// one workgroup's width (tree variant), more rows than a workgroup (thread variant), and axes
// other than the last (strided rows, inner > 1).
const CASES: [number[], number][] = [
  [[1, 1], -1],
  [[1, 7], -1],
  [[100, 10], -1],
  [[3, 1000], -1],
  [[2, ROW_WG], 1],
  [[3, ROW_WG + 1], -1],
  [[130, 33], 1],
  [[5], 0],
  [[2, 3, 4, 5], 1],
  [[4, 300, 3], 1],
  [[6, 5, 7], 0],
];

/** Registers a test once per row-kernel variant: the choice by adapter alone would leave one untested. */
function testVariants(name: string, fn: () => Promise<void>): void {
  for (const v of ['thread', 'tree'] as RowVariant[]) test(`${name} [${v} per row]`, () => E.gpu().withPlan({ rowVariant: v }, fn));
}

for (const [mode, fn] of OPS) {
  testVariants(`${mode} matches the float64 reference on awkward shapes and axes (atol 1e-6, rtol 1e-5)`, async () => {
    for (const [shape, axis] of CASES) {
      const x = r.uniform(size(shape), -4, 4);
      const y = await E.tidy(() => fn(E.tensor(x, shape), axis).data());
      const ax = axis < 0 ? axis + shape.length : axis;
      assertClose(y, softmaxRef(mode, x, shape, ax), { atol: 1e-6, rtol: 1e-5 }, `${mode} [${shape}] axis ${axis}`);
    }
  });

  testVariants(`${mode} is stable for logits of ±80 and rows offset by 1000 (atol 1e-5, rtol 1e-5)`, async () => {
    for (const [shape, shift] of [
      [[4, 10], 0],
      [[2, 1000], 0],
      [[3, 10], 1000],
      [[2, 1000], -1000],
    ] as [number[], number][]) {
      // exp(80) per element summed over 1000 classes would already be 5.5e37; shift 1000 overflows any naive softmax.
      const x = r.uniform(size(shape), -80, 80).map((v) => v + shift);
      const y = await E.tidy(() => fn(E.tensor(x, shape)).data());
      if (y.some((v) => !Number.isFinite(v))) throw new Error(`${mode} [${shape}] shift ${shift}: non-finite output`);
      assertClose(y, softmaxRef(mode, x, shape, 1), { atol: 1e-5, rtol: 1e-5 }, `${mode} [${shape}] shift ${shift}`);
    }
  });

  testVariants(`${mode} backward matches finite differences (atol 1e-3, rtol 1e-2)`, async () => {
    for (const [shape, axis] of [
      [[3, 7], -1],
      [[2, 4 * ROW_WG + 3], -1],
      [[2, 3, 4], 1],
      [[1, 1], -1],
    ] as [number[], number][]) {
      const x = r.uniform(size(shape), -3, 3);
      const ax = axis < 0 ? axis + shape.length : axis;
      await checkGrad(`${mode} [${shape}] axis ${axis}`, ([t]) => fn(t, axis), ([a]) => softmaxRef(mode, a, shape, ax), [{ data: x, shape }]);
    }
  });
}

test("softmax rows sum to 1 over 100 rows of ImageNet width, with the adapter's own variant (atol 1e-5)", async () => {
  const x = r.normal(100 * 1000).map((v) => 5 * v);
  const y = await E.tidy(() => E.softmax(E.tensor(x, [100, 1000])).data());
  const sums = new Float64Array(100);
  y.forEach((v, i) => (sums[Math.floor(i / 1000)] += v));
  assertClose(sums, new Array(100).fill(1), { atol: 1e-5, rtol: 0 }, 'row sums');
});

test('softmax rejects an out-of-range axis, naming op and shape', () => {
  E.tidy(() => {
    let msg = '';
    try {
      E.softmax(E.zeros([2, 3]), 2);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes('softmax') || !msg.includes('[2,3]')) throw new Error(`bad message: ${msg}`);
  });
});

test.run();
