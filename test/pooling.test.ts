import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { globalAvgPoolRef, poolGeometry, poolRef, type PoolPadding } from '../kernels/pooling.ts';
import { assertClose, assertEqualArrays, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(5);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case {
  shape: [number, number, number, number];
  pool: [number, number];
  strides?: [number, number];
  padding: PoolPadding;
  dilations?: [number, number];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

const CASES: Case[] = [
  { shape: [1, 1, 1, 1], pool: [1, 1], padding: 'valid' },
  { shape: [1, 1, 1, 1], pool: [2, 2], padding: 'same' },
  { shape: [2, 4, 6, 3], pool: [2, 2], padding: 'valid' },
  { shape: [2, 5, 7, 3], pool: [2, 2], padding: 'valid' }, // odd sizes drop the last row/column
  { shape: [2, 5, 7, 3], pool: [2, 2], padding: 'same' }, // odd sizes pad bottom/right
  { shape: [1, 9, 9, 2], pool: [3, 3], strides: [2, 2], padding: 'same' },
  { shape: [1, 9, 8, 2], pool: [3, 3], strides: [2, 2], padding: 'valid' },
  { shape: [3, 7, 6, 5], pool: [2, 3], strides: [1, 2], padding: 'same' },
  { shape: [1, 6, 7, 2], pool: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1] },
  { shape: [1, 6, 7, 2], pool: [3, 3], strides: [2, 2], padding: [1, 2, 0, 2], countIncludePad: true },
  { shape: [1, 5, 5, 1], pool: [3, 3], strides: [1, 1], padding: [2, 2, 2, 2], countIncludePad: true },
  { shape: [2, 8, 9, 2], pool: [2, 2], strides: [1, 1], padding: 'valid', dilations: [2, 3] },
  { shape: [1, 4, 5, 2], pool: [3, 3], strides: [2, 2], padding: 'valid', ceilMode: true },
  { shape: [1, 5, 5, 1], pool: [2, 2], strides: [2, 2], padding: [1, 1, 1, 1], ceilMode: true, countIncludePad: true },
  { shape: [2, 30, 30, 16], pool: [2, 2], padding: 'valid' }, // several workgroups
  { shape: [4, 28, 28, 8], pool: [3, 3], strides: [2, 2], padding: 'same' },
  { shape: [2, 5, 6, 8], pool: [2, 2], padding: 'valid' }, // disjoint, four channels per thread
];

const describe = (c: Case) =>
  `[${c.shape}] pool ${c.pool} strides ${c.strides ?? c.pool} ${JSON.stringify(c.padding)}${c.dilations ? ` dil ${c.dilations}` : ''}${c.ceilMode ? ' ceil' : ''}${c.countIncludePad ? ' incl-pad' : ''}`;
const geomOf = (c: Case) => poolGeometry(c.shape, c.pool, c.strides ?? c.pool, c.dilations ?? [1, 1], c.padding, c.ceilMode);
const opts = (c: Case) => ({ pool: c.pool, strides: c.strides, padding: c.padding, dilations: c.dilations, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad });
const maxOf = (c: Case) => (x: E.Tensor) => E.maxPool2d(x, opts(c));
const avgOf = (c: Case) => (x: E.Tensor) => E.avgPool2d(x, opts(c));

/** Distinct values (a shuffled ramp) so that no window holds a tie. */
function distinct(n: number): Float32Array {
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

test('pool geometry follows Keras SAME / VALID and ONNX ceil mode', () => {
  const g = (shape: number[], k: number, s: number, p: PoolPadding, ceil = false) => {
    const q = poolGeometry(shape, [k, k], [s, s], [1, 1], p, ceil);
    return [q.OH, q.padT, q.padB];
  };
  const eq = (a: number[], b: number[], what: string) => assertEqualArrays(a, b, what);
  eq(g([1, 5, 5, 1], 2, 2, 'same'), [3, 0, 1], 'same 5/2: 3 rows, pad 0 top 1 bottom');
  eq(g([1, 9, 9, 1], 3, 2, 'same'), [5, 1, 1], 'same 9/2 k3: 5 rows, pad 1,1');
  eq(g([1, 6, 6, 1], 3, 2, 'same'), [3, 0, 1], 'same 6/2 k3: extra pad at the bottom');
  eq(g([1, 5, 5, 1], 2, 2, 'valid'), [2, 0, 0], 'valid 5/2');
  eq(g([1, 4, 4, 1], 3, 2, 'valid', true), [2, 0, 0], 'ceil 4/2 k3');
  eq(g([1, 5, 5, 1], 2, 2, [1, 1, 1, 1], true), [3, 1, 1], 'ceil drops a window starting in the bottom pad');
});

test('pooling by hand: Keras same average divides by the valid taps; ONNX count_include_pad by all', async () => {
  // x = 1..9 as one 3×3 channel; pool 2, 'same' → pad 1 at bottom and right.
  const x = () => E.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  const [avg, max, incl] = await E.tidy(() =>
    Promise.all([
      E.avgPool2d(x(), { pool: 2, padding: 'same' }).data(),
      E.maxPool2d(x(), { pool: 2, padding: 'same' }).data(),
      E.avgPool2d(x(), { pool: 2, padding: [0, 1, 0, 1], countIncludePad: true }).data(),
    ]),
  );
  assertEqualArrays(avg, [3, 4.5, 7.5, 9], 'avg same');
  assertEqualArrays(max, [5, 6, 8, 9], 'max same');
  assertEqualArrays(incl, [3, 9 / 4, 15 / 4, 9 / 4], 'avg with count_include_pad');
});

for (const kind of ['max', 'avg'] as const) {
  test(`${kind}Pool2d matches the reference on awkward shapes (atol 1e-6, rtol 1e-5)`, async () => {
    for (const c of CASES) {
      const x = r.uniform(size(c.shape), -2, 2);
      const y = await E.tidy(() => (kind === 'max' ? maxOf(c) : avgOf(c))(E.tensor(x, c.shape)).data());
      const g = geomOf(c);
      assertClose(y, poolRef(kind, x, g, c.countIncludePad).y, { atol: 1e-6, rtol: 1e-5 }, `${kind} ${describe(c)}`);
    }
  });
}

test('maxPool2d output shape follows the padding mode', async () => {
  E.tidy(() => {
    const y = E.maxPool2d(E.zeros([2, 5, 7, 3]), { pool: 2, padding: 'same' });
    assertEqualArrays(y.shape, [2, 3, 4, 3], 'same');
    const v = E.maxPool2d(E.zeros([2, 5, 7, 3]), { pool: 2 });
    assertEqualArrays(v.shape, [2, 2, 3, 3], 'valid (default)');
  });
});

// Backward on small shapes: disjoint 2×2 windows (their own kernel), overlapping windows (stride <
// pool), stride 2 on odd sizes, pads.
const GRAD_CASES = [CASES[2], CASES[3], CASES[16], CASES[4], CASES[5], CASES[7], CASES[8], CASES[9], CASES[11], CASES[13]];

test('maxPool2d backward (saved argmax, gathered per input) matches finite differences', async () => {
  for (const c of GRAD_CASES) {
    const g = geomOf(c);
    await checkGrad(`max ${describe(c)}`, ([x]) => maxOf(c)(x), ([x]) => poolRef('max', x, g).y, [{ data: distinct(size(c.shape)), shape: c.shape }]);
  }
});

test('avgPool2d backward matches finite differences', async () => {
  for (const c of GRAD_CASES) {
    const g = geomOf(c);
    await checkGrad(`avg ${describe(c)}`, ([x]) => avgOf(c)(x), ([x]) => poolRef('avg', x, g, c.countIncludePad).y, [
      { data: r.uniform(size(c.shape)), shape: c.shape },
    ]);
  }
});

test('maxPool2d backward sends a tied window’s gradient to its first maximum only', async () => {
  const dx = await E.tidy(() => {
    // Window 0 is all 3s, window 1 all 1s: the first tap of each takes the gradient.
    const x = E.tensor([3, 3, 1, 1, 3, 3, 1, 1], [1, 2, 4, 1]).requireGrad();
    const y = E.maxPool2d(x, { pool: 2 });
    return E.grad(y, [x], E.tensor([10, 20], [1, 1, 2, 1]))[0].data();
  });
  assertEqualArrays(dx, [10, 0, 20, 0, 0, 0, 0, 0], 'ties');
});

test('maxPool2d saves no argmax when no gradient is recorded', async () => {
  await E.asyncTidy(async (s) => {
    const [y, z] = s.run(() => {
      const x = E.tensor(r.uniform(2 * 4 * 4 * 2), [2, 4, 4, 2]).requireGrad();
      return [E.noGrad(() => E.maxPool2d(x, { pool: 2 })), E.maxPool2d(x, { pool: 2 })];
    });
    if (y.node) throw new Error('recorded under noGrad');
    if (z.node?.saved.length !== 1 || z.node.saved[0].dtype !== 'int32') throw new Error('argmax not saved while recording');
    assertEqualArrays(await y.data(), await z.data(), 'same values with and without argmax');
  });
});

// ---- global average ---------------------------------------------------------------------------

test('globalAvgPool matches the reference (atol 1e-6, rtol 1e-5)', async () => {
  for (const shape of [[1, 1, 1, 1], [2, 7, 5, 3], [3, 14, 14, 64], [1, 16, 16, 300]] as [number, number, number, number][]) {
    const x = r.uniform(size(shape));
    const y = await E.tidy(() => E.globalAvgPool(E.tensor(x, shape)).data());
    assertClose(y, globalAvgPoolRef(x, shape[0], shape[1] * shape[2], shape[3]), { atol: 1e-6, rtol: 1e-5 }, `gap [${shape}]`);
  }
  E.tidy(() => assertEqualArrays(E.globalAvgPool(E.zeros([2, 3, 3, 5]), true).shape, [2, 1, 1, 5], 'keepDims'));
});

test('globalAvgPool backward matches finite differences', async () => {
  for (const shape of [[1, 1, 1, 2], [2, 3, 5, 4]]) {
    await checkGrad(`gap [${shape}]`, ([x]) => E.globalAvgPool(x), ([x]) => globalAvgPoolRef(x, shape[0], shape[1] * shape[2], shape[3]), [
      { data: r.uniform(size(shape)), shape },
    ]);
    await checkGrad(`gap keepDims [${shape}]`, ([x]) => E.globalAvgPool(x, true), ([x]) => globalAvgPoolRef(x, shape[0], shape[1] * shape[2], shape[3]), [
      { data: r.uniform(size(shape)), shape },
    ]);
  }
});

// ---- errors -----------------------------------------------------------------------------------

test('pooling rejects bad arguments naming the op and the shapes', () => {
  throwsNaming(() => E.maxPool2d(E.zeros([4, 4, 3]), { pool: 2 }), 'maxPool2d', '[4,4,3]');
  throwsNaming(() => E.maxPool2d(E.zeros([1, 2, 5, 1]), { pool: 3 }), 'maxPool2d', '[1,2,5,1]');
  throwsNaming(() => E.avgPool2d(E.zeros([1, 5, 5, 1]), { pool: 2, padding: [2, 0, 0, 0] }), 'avgPool2d', 'pads');
  throwsNaming(() => E.avgPool2d(E.zeros([1, 5, 5, 1]), { pool: 0 }), 'avgPool2d', 'pool');
  throwsNaming(() => E.maxPool2d(E.zeros([1, 5, 5, 1], 'int32'), { pool: 2 }), 'maxPool2d', 'float32');
  throwsNaming(() => E.globalAvgPool(E.zeros([2, 3])), 'globalAvgPool', '[2,3]');
});

test.run();
