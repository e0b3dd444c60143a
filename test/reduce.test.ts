import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { reduceRef, type ReduceOp } from '../kernels/reduce.ts';
import * as assert from 'uvu/assert';
import { assertClose, assertEqualArrays, checkGrad, ready, rng, withVariant } from './helpers.ts';

const g = await ready;
const r = rng(11);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

// Every kernel: thread-per-output (R < 256), workgroup tree (R ≥ 256), and for sum/mean over
// consecutive axes short of the last the column sums, in one pass ([3, 5] axis 0) and two
// ([1000, 3], [100, 28, 28, 3]; per outer index: [4, 9, 9, 5] axes 1, 2, [3, 70, 2] axis 1 and
// [2, 5, 33, 4] axes 1, 2 in uneven chunks).
const CASES: [number[], number[]][] = [
  [[1], [0]],
  [[7], [0]],
  [[3, 5], [1]],
  [[3, 5], [0]],
  [[2, 3, 4], [0, 2]],
  [[4, 9, 9, 5], [1, 2]],
  [[2, 300], [1]],
  [[100, 28, 28, 3], [0, 1, 2]],
  [[1000, 3], [0]],
  [[2, 3, 4, 5], [0, 1, 2, 3]],
  [[3, 70, 2], [1]],
  [[2, 5, 33, 4], [1, 2]],
];

for (const op of ['sum', 'mean', 'max', 'min'] as Exclude<ReduceOp, 'argmax'>[]) {
  test(`reduce ${op} over axes matches the reference (atol 1e-4, rtol 1e-5)`, async () => {
    for (const [shape, axes] of CASES) {
      const x = r.uniform(size(shape), -3, 3);
      const y = await E.tidy(() => E.reduce(op, E.tensor(x, shape), axes).data());
      assertClose(y, reduceRef(op, x, shape, axes), { atol: 1e-4, rtol: 1e-5 }, `${op} [${shape}] axes [${axes}]`);
    }
  });
  test(`reduce ${op} backward matches finite differences`, async () => {
    for (const [shape, axes] of [CASES[2], CASES[4], CASES[5]]) {
      const x = r.uniform(size(shape), -3, 3);
      await checkGrad(`${op} [${shape}] axes [${axes}]`, ([t]) => E.reduce(op, t, axes), ([a]) => reduceRef(op, a, shape, axes), [{ data: x, shape }]);
    }
  });
}

test('argmax along an axis (exact; first index on ties)', async () => {
  for (const [shape, axis] of [
    [[5, 10], 1],
    [[5, 10], 0],
    [[3, 1000], 1],
    [[2, 3, 4], 1],
  ] as [number[], number][]) {
    const x = r.uniform(size(shape), -3, 3);
    const y = await E.tidy(() => E.argmax(E.tensor(x, shape), axis).data());
    assertEqualArrays(y, reduceRef('argmax', x, shape, [axis]), `argmax [${shape}] axis ${axis}`);
  }
  const ties = await E.tidy(() => E.argmax(E.tensor([1, 3, 3, 0], [1, 4]), 1).data());
  assertEqualArrays(ties, [1], 'ties');
});

// Column sums in both kernel shapes (the workgroup one is what GPUs run): one pass and two, column
// counts that fill a tile, leave part of one (40, 10, 3) or span several, many groups (a global
// average pool) and rows that do not divide into chunks, against the float64 reference.
const COL_CASES: [number[], number[]][] = [
  [[100, 28, 28, 16], [0, 1, 2]],
  [[50, 28, 28, 40], [0, 1, 2]],
  [[3001, 10], [0]],
  [[777, 3], [0]],
  [[5, 2, 160], [1]],
  [[100, 28, 28, 128], [1, 2]],
  [[4, 300, 64], [1]],
];
for (const v of ['register', 'tiled'] as const) {
  test(`${v}: column sums and means match the reference (atol 1e-4, rtol 1e-5)`, () =>
    withVariant(v, { TM: 128, TN: 128 }, async () => {
      for (const op of ['sum', 'mean'] as const)
        for (const [shape, axes] of COL_CASES) {
          const x = r.uniform(size(shape), -1, 1);
          const y = await E.tidy(() => E.reduce(op, E.tensor(x, shape), axes).data());
          assertClose(y, reduceRef(op, x, shape, axes), { atol: 1e-4, rtol: 1e-5 }, `${v} ${op} [${shape}] axes [${axes}]`);
        }
      const keys = v === 'tiled' ? [8, 16, 32].map((TX) => `colsum_tree:TX=${TX},bias=false,relu=false`) : ['colsum:bias=false,relu=false'];
      for (const k of keys) assert.ok(g.hasPipeline(k), `${v}: ${k} ran`);
    }),
  );
}

test('keepDims and negative axes', async () => {
  const y = E.tidy(() => E.sum(E.tensor([1, 2, 3, 4, 5, 6], [2, 3]), -1, true));
  if (y.shape.join() !== '2,1') throw new Error(`shape ${y.shape}`);
  assertClose(await y.data(), [6, 15], { atol: 0, rtol: 0 }, 'sum');
  y.dispose();
});

test.run();
