import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { concatRef, padRef, sliceRef, transposeRef } from '../kernels/layout.ts';
import { assertEqualArrays, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(11);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ints = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 7919) % 100003 - 50000);

/** Runs `fn` on a float32 tensor and an int32 tensor of the same shape; both must match `ref` exactly. */
async function bothDtypes(shape: number[], fn: (t: E.Tensor) => E.Tensor, ref: (x: ArrayLike<number>) => Float64Array, what: string) {
  const xf = r.uniform(size(shape), -5, 5);
  const yf = await E.tidy(() => fn(E.tensor(xf, shape)).data());
  assertEqualArrays(yf, Float32Array.from(ref(xf)), `${what} float32`);
  const xi = ints(size(shape));
  const ti = await E.tidy(() => {
    const y = fn(E.tensor(xi, shape, 'int32'));
    if (y.dtype !== 'int32') throw new Error(`${what}: int32 input gave ${y.dtype}`);
    return y.data();
  });
  assertEqualArrays(ti, Int32Array.from(ref(xi)), `${what} int32`);
}

// ---- transpose --------------------------------------------------------------------------------

const PERMS: [number[], number[]][] = [
  [[1], [0]],
  [[3, 5], [1, 0]],
  [[2, 3, 4], [2, 0, 1]],
  [[2, 7, 9, 3], [0, 3, 1, 2]], // NHWC → NCHW
  [[2, 3, 7, 9], [0, 2, 3, 1]], // NCHW → NHWC
  [[2, 1, 3, 5, 2], [4, 2, 0, 3, 1]],
  [[2, 1, 2, 3, 1, 2, 2, 3], [7, 0, 5, 2, 6, 1, 4, 3]], // rank 8
  [[33, 65, 3], [1, 2, 0]], // several workgroups
];

test('transpose matches the reference for ranks 1–8, float32 and int32 (exact)', async () => {
  for (const [shape, perm] of PERMS) await bothDtypes(shape, (t) => E.transpose(t, perm), (x) => transposeRef(x, shape, perm), `transpose [${shape}] by [${perm}]`);
});

test('transpose without perm reverses the axes (exact)', async () => {
  const shape = [2, 3, 4];
  await bothDtypes(shape, (t) => E.transpose(t), (x) => transposeRef(x, shape, [2, 1, 0]), 'transpose default');
});

test('transpose backward (inverse permutation) matches finite differences', async () => {
  for (const [shape, perm] of [PERMS[2], PERMS[5]])
    await checkGrad(`transpose [${shape}] by [${perm}]`, ([x]) => E.transpose(x, perm), ([x]) => transposeRef(x, shape, perm), [
      { data: r.uniform(size(shape)), shape },
    ]);
});

// ---- slice ------------------------------------------------------------------------------------

// [shape, begin, size, strides]; begin as normalised by the op (for the reference).
const SLICES: [number[], number[], number[], number[] | undefined][] = [
  [[1], [0], [1], undefined],
  [[7], [2], [4], undefined],
  [[5, 6], [1, 0], [3, 6], undefined],
  [[4, 7, 5], [0, 1, 4], [4, 3, 2], [1, 2, -2]], // strided, one axis walking backwards
  [[2, 9, 9, 3], [1, 0, 1, 0], [1, 5, 4, 3], [1, 2, 2, 1]], // stride 2 on odd sizes
  [[6, 5], [5, 4], [6, 5], [-1, -1]], // full reversal
  [[3, 4], [0, 1], [3, 0], undefined], // empty result
  [[40, 50, 3], [3, 2, 1], [30, 40, 2], undefined], // several workgroups
];

test('slice matches the reference: strides, negative strides, empty, float32 and int32 (exact)', async () => {
  for (const [shape, begin, sz, st] of SLICES)
    await bothDtypes(shape, (t) => E.slice(t, begin, sz, st), (x) => sliceRef(x, shape, begin, sz, st), `slice [${shape}] at [${begin}] size [${sz}] step [${st}]`);
});

test('slice: size −1 runs to the end, negative begin counts from the end (exact)', async () => {
  const shape = [5, 8];
  await bothDtypes(shape, (t) => E.slice(t, [-2, 1], [-1, -1]), (x) => sliceRef(x, shape, [3, 1], [2, 7]), 'slice -1 sizes');
  await bothDtypes(shape, (t) => E.slice(t, [4, 6], [-1, -1], [-2, -3]), (x) => sliceRef(x, shape, [4, 6], [3, 3], [-2, -3]), 'slice -1 sizes, negative steps');
});

/** Python range semantics, the definition ONNX Slice uses. */
function pyRange(n: number, b: number, e: number, s: number): number[] {
  const norm = (v: number) => (v < 0 ? v + n : v);
  const [lo, hi] = s > 0 ? [0, n] : [-1, n - 1];
  const bb = Math.min(Math.max(norm(b), lo), hi);
  const ee = Math.min(Math.max(norm(e), lo), hi);
  const out: number[] = [];
  for (let i = bb; s > 0 ? i < ee : i > ee; i += s) out.push(i);
  return out;
}

test('stridedSlice follows Python/ONNX begin:end:step clamping (exact)', async () => {
  const BIG = 2 ** 31 - 1;
  const cases: [number[], number[], number[], number[]][] = [
    [[10], [2], [8], [3]],
    [[10], [-3], [BIG], [1]],
    [[10], [BIG], [-BIG], [-1]], // full reversal with sentinels
    [[10], [8], [1], [-3]],
    [[10], [5], [2], [1]], // empty
    [[4, 9, 3], [1, -1, 0], [3, 0, BIG], [1, -2, 2]],
    [[3, 5], [-100, 100], [100, -100], [1, -1]],
  ];
  for (const [shape, b, e, s] of cases) {
    const idx = shape.map((n, d) => pyRange(n, b[d], e[d], s[d]));
    const outShape = idx.map((v) => v.length);
    const ref = (x: ArrayLike<number>) => {
      const y = new Float64Array(size(outShape));
      const st = shape.map((_, d) => size(shape.slice(d + 1)));
      for (let i = 0; i < y.length; i++) {
        let rem = i;
        let off = 0;
        for (let d = shape.length - 1; d >= 0; d--) {
          off += idx[d][rem % outShape[d]] * st[d];
          rem = Math.floor(rem / outShape[d]);
        }
        y[i] = x[off];
      }
      return y;
    };
    await bothDtypes(shape, (t) => {
      const y = E.stridedSlice(t, b, e, s);
      if (y.shape.join() !== outShape.join()) throw new Error(`stridedSlice [${b}]:[${e}]:[${s}] gave [${y.shape}], expected [${outShape}]`);
      return y;
    }, ref, `stridedSlice [${shape}] [${b}]:[${e}]:[${s}]`);
  }
});

test('slice backward (gradient placed into zeros) matches finite differences', async () => {
  for (const [shape, begin, sz, st] of [SLICES[2], SLICES[3], SLICES[5]])
    await checkGrad(`slice [${shape}] step [${st}]`, ([x]) => E.slice(x, begin, sz, st), ([x]) => sliceRef(x, shape, begin, sz, st), [
      { data: r.uniform(size(shape)), shape },
    ]);
});

// ---- concat -----------------------------------------------------------------------------------

const CONCATS: [number[][], number][] = [
  [[[1], [1]], 0],
  [[[2, 3], [5, 3], [1, 3]], 0],
  [[[2, 3, 4], [2, 1, 4], [2, 6, 4]], 1],
  [[[2, 5, 5, 3], [2, 5, 5, 1], [2, 5, 5, 4]], -1], // channel concat, negative axis
  [[[3, 2], [3, 0], [3, 4]], 1], // an empty input
  [[[60, 17], [60, 9]], 1], // several workgroups
];

test('concat matches the reference for any axis, float32 and int32 (exact)', async () => {
  for (const [shapes, axis] of CONCATS) {
    const ax = axis < 0 ? axis + shapes[0].length : axis;
    for (const dtype of ['float32', 'int32'] as const) {
      const xs = shapes.map((s) => (dtype === 'int32' ? ints(size(s)) : r.uniform(size(s), -5, 5)));
      const y = await E.tidy(() => E.concat(xs.map((x, i) => E.tensor(x, shapes[i], dtype)), axis).data());
      const ref = concatRef(xs, shapes, ax);
      assertEqualArrays(y, dtype === 'int32' ? Int32Array.from(ref) : Float32Array.from(ref), `concat ${JSON.stringify(shapes)} axis ${axis} ${dtype}`);
    }
  }
});

test('concat backward (one slice per input) matches finite differences', async () => {
  for (const [shapes, axis] of [CONCATS[2], CONCATS[3]]) {
    const ax = axis < 0 ? axis + shapes[0].length : axis;
    await checkGrad(
      `concat ${JSON.stringify(shapes)} axis ${axis}`,
      (xs) => E.concat(xs, axis),
      (xs) => concatRef(xs, shapes, ax),
      shapes.map((s) => ({ data: r.uniform(size(s)), shape: s })),
    );
  }
});

// ---- pad --------------------------------------------------------------------------------------

const PADS: [number[], [number, number][]][] = [
  [[1], [[0, 0]]],
  [[1, 1], [[2, 1], [0, 3]]],
  [[3, 5], [[1, 2], [2, 0]]],
  [[2, 5, 7, 3], [[0, 0], [1, 2], [2, 1], [0, 0]]], // spatial padding of NHWC
  [[4, 6], [[-1, 2], [3, -2]]], // negative pads crop
  [[30, 40, 2], [[3, 3], [4, 4], [0, 1]]], // several workgroups
];

test('constant pad matches the reference, with fill value and negative pads, float32 and int32 (exact)', async () => {
  for (const [shape, pads] of PADS) await bothDtypes(shape, (t) => E.pad(t, pads, -7), (x) => padRef(x, shape, pads, -7), `pad [${shape}] by ${JSON.stringify(pads)}`);
});

test('edge and reflect pads match the reference (exact)', async () => {
  for (const mode of ['edge', 'reflect'] as const) {
    for (const [shape, pads] of [PADS[2], PADS[3], PADS[5]] as const)
      await bothDtypes(shape, (t) => E.pad(t, pads, 0, mode), (x) => padRef(x, shape, pads, 0, mode), `pad ${mode} [${shape}] by ${JSON.stringify(pads)}`);
  }
  // The convention, by hand: reflect does not repeat the border (NumPy / ONNX), edge does.
  const y = await E.tidy(() => Promise.all([E.pad(E.tensor([1, 2, 3], [3]), [[2, 2]], 0, 'reflect').data(), E.pad(E.tensor([1, 2, 3], [3]), [[2, 1]], 0, 'edge').data()]));
  assertEqualArrays(y[0], [3, 2, 1, 2, 3, 2, 1], 'reflect [1,2,3] by 2');
  assertEqualArrays(y[1], [1, 1, 1, 2, 3, 3], 'edge [1,2,3] by 2,1');
});

test('constant pad backward (a slice, zeros where negative pads cropped) matches finite differences', async () => {
  for (const [shape, pads] of [PADS[2], PADS[3], PADS[4]])
    await checkGrad(`pad [${shape}] by ${JSON.stringify(pads)}`, ([x]) => E.pad(x, pads, 0.5), ([x]) => padRef(x, shape, pads, 0.5), [
      { data: r.uniform(size(shape)), shape },
    ]);
});

test('edge and reflect pad backward (axes folded back in turn) matches finite differences', async () => {
  const cases: [number[], [number, number][]][] = [
    [[5], [[2, 3]]],
    [[1, 4], [[2, 1], [3, 3]]], // a length-1 axis under edge padding
    [[2, 4, 5, 3], [[0, 0], [1, 3], [2, 2], [0, 0]]],
    [[3, 3, 2], [[2, 2], [0, 1], [1, 0]]],
  ];
  for (const mode of ['edge', 'reflect'] as const)
    for (const [shape, pads] of cases) {
      if (mode === 'reflect' && shape.some((n, d) => Math.max(...pads[d]) > n - 1)) continue;
      await checkGrad(`pad ${mode} [${shape}] by ${JSON.stringify(pads)}`, ([x]) => E.pad(x, pads, 0, mode), ([x]) => padRef(x, shape, pads, 0, mode), [
        { data: r.uniform(size(shape)), shape },
      ]);
    }
});

// ---- errors -----------------------------------------------------------------------------------

test('layout ops reject bad arguments naming the op and the shapes', () => {
  const x = () => E.zeros([2, 3, 4]);
  throwsNaming(() => E.transpose(x(), [0, 0, 1]), 'transpose', '[2,3,4]');
  throwsNaming(() => E.transpose(x(), [1, 0]), 'transpose', '[2,3,4]');
  throwsNaming(() => E.slice(x(), [0, 2, 0], [2, 2, 4]), 'slice', '[2,3,4]', 'axis 1');
  throwsNaming(() => E.slice(x(), [0, 0, 0], [1, 1, 1], [1, 0, 1]), 'slice', 'stride 0');
  throwsNaming(() => E.concat([x(), E.zeros([2, 4, 4])], 0), 'concat', '[2,3,4]', '[2,4,4]');
  throwsNaming(() => E.concat([x(), E.zeros([2, 3, 4], 'int32')], 0), 'concat', 'int32');
  throwsNaming(() => E.pad(x(), [[0, 0], [3, 0], [0, 0]], 0, 'reflect'), 'pad_reflect', '[2,3,4]');
  throwsNaming(() => E.pad(x(), [[0, 0], [-2, -2], [0, 0]]), 'pad', '[2,3,4]');
  throwsNaming(() => E.pad(x(), [[0, 0]]), 'pad', '[2,3,4]');
});

test.run();
