// Second derivatives (grad with createGraph, then grad again) per op, against a float64 host
// reference: the Hessian-vector product H·v of s = Σ w·f(x) by central differences, in x, of
// the central difference of s along v (a finite difference of the first derivative ∇s·v). Also:
// the first derivatives under createGraph equal the normal path's, the ops without a
// differentiable gradient refuse naming themselves, and the functional transforms.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { convGeometry } from '../kernels/conv2d.ts';
import { conv2dRef } from '../kernels/conv2d_ref.ts';
import { binaryBroadcastRef, unaryRef, type BinaryOp, type UnaryOp } from '../kernels/elementwise.ts';
import { concatRef, sliceRef, transposeRef } from '../kernels/layout.ts';
import { globalAvgPoolRef, poolGeometry, poolRef, type PoolPadding } from '../kernels/pooling.ts';
import { assertClose, ready, rng, throwsNaming } from './helpers.ts';

await ready;

type F64 = Float64Array;
interface Case {
  name: string;
  inputs: { data: Float32Array; shape: number[] }[];
  f: (xs: Tensor[]) => Tensor;
  ref: (xs: F64[]) => ArrayLike<number>;
  /** Largest max|Hv − ref| / max|ref| allowed (float32 against float64). */
  tol?: number;
}

const r = rng(11);
// Away from kinks (relu at 0, abs at 0): a difference step must not cross one.
const away = (n: number, lo = -1, hi = 1) => Float32Array.from(r.uniform(n, lo, hi), (v) => (Math.abs(v) < 0.1 ? v + Math.sign(v || 1) * 0.2 : v));
const inp = (shape: number[], lo = -1, hi = 1) => ({ data: away(shape.reduce((a, b) => a * b, 1), lo, hi), shape });

// ---- float64 references
const sq = (y: ArrayLike<number>) => Float64Array.from(y, (v) => v * v);
function matmulRef(a: F64, b: F64, M: number, K: number, N: number, transB = false): F64 {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) y[i * N + j] += a[i * K + k] * (transB ? b[j * K + k] : b[k * N + j]);
  return y;
}
function softmaxRows(x: ArrayLike<number>, C: number, log = false): F64 {
  const y = new Float64Array(x.length);
  for (let r0 = 0; r0 < x.length; r0 += C) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[r0 + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[r0 + j] - m);
    for (let j = 0; j < C; j++) y[r0 + j] = log ? x[r0 + j] - m - Math.log(s) : Math.exp(x[r0 + j] - m) / s;
  }
  return y;
}
function sceRef(x: F64, C: number, labels: Int32Array | null, soft: F64 | null, weights: number[] | null, reduction: 'mean' | 'sum' | 'none'): F64 {
  const ls = softmaxRows(x, C, true);
  const N = x.length / C;
  const rows = new Float64Array(N);
  let den = 0;
  for (let i = 0; i < N; i++) {
    if (soft) {
      for (let j = 0; j < C; j++) rows[i] -= soft[i * C + j] * ls[i * C + j];
      den += 1;
    } else {
      const wr = weights ? weights[labels![i]] : 1;
      rows[i] = -wr * ls[i * C + labels![i]];
      den += weights ? wr : 1;
    }
  }
  if (reduction === 'none') return rows;
  const s = rows.reduce((a, b) => a + b, 0);
  return Float64Array.of(reduction === 'sum' ? s : s / den);
}
const sumAxis = (x: F64, R: number, C: number, axis: 0 | 1, mean = false) => {
  const y = new Float64Array(axis === 0 ? C : R);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) y[axis === 0 ? j : i] += x[i * C + j] / (mean ? (axis === 0 ? R : C) : 1);
  return y;
};

// ---- cases
const cases: Case[] = [];
const smooth: [UnaryOp, number, number][] = [
  ['sigmoid', -2, 2], ['tanh', -2, 2], ['exp', -1, 1], ['log', 0.5, 2], ['square', -2, 2], ['sqrt', 0.5, 2],
  ['softplus', -2, 2], ['swish', -2, 2], ['softsign', -2, 2], ['gelu_tanh', -2, 2], ['gelu', -2, 2],
];
for (const [op, lo, hi] of smooth)
  cases.push({ name: op, inputs: [inp([2, 3], lo, hi)], f: ([x]) => E.unary(op, x), ref: ([x]) => unaryRef(op, x) });
// Piecewise linear: zero second derivative of the op itself; times x, its mask shows in H.
for (const [op, p] of [['relu', 1], ['leaky_relu', 0.2], ['abs', 1], ['relu6', 1], ['affine', 1.5], ['neg', 1], ['hard_sigmoid', 1]] as [UnaryOp, number][])
  cases.push({ name: `${op}(x)·x`, inputs: [inp([2, 3], -2, 2)], f: ([x]) => E.mul(E.unary(op, x, p), x), ref: ([x]) => Float64Array.from(unaryRef(op, x, p), (v, i) => v * x[i]) });
const bin = (op: BinaryOp, as: number[], bs: number[], lo = -1, hi = 1): Case => ({
  name: `${op} ${JSON.stringify(as)}·${JSON.stringify(bs)}, squared`,
  inputs: [inp(as), inp(bs, lo, hi)],
  f: ([a, b]) => E.square(E.binary(op, a, b)),
  ref: ([a, b]) => sq(binaryBroadcastRef(op, a, as, b, bs)),
});
cases.push(bin('add', [2, 3], [3]), bin('sub', [2, 3], [2, 1]), bin('mul', [2, 3], [3]), bin('div', [2, 3], [3], 0.5, 2), bin('maximum', [2, 3], [3]));
cases.push({ name: 'mul a·b (no square)', inputs: [inp([2, 3]), inp([2, 3])], f: ([a, b]) => E.mul(a, b), ref: ([a, b]) => Float64Array.from(a, (v, i) => v * b[i]) });
cases.push({ name: 'div a/b (no square)', inputs: [inp([2, 3]), inp([2, 3], 0.5, 2)], f: ([a, b]) => E.div(a, b), ref: ([a, b]) => Float64Array.from(a, (v, i) => v / b[i]) });
cases.push({ name: 'sum axis 0, squared', inputs: [inp([3, 4])], f: ([x]) => E.square(E.sum(x, 0)), ref: ([x]) => sq(sumAxis(x, 3, 4, 0)) });
cases.push({ name: 'mean axis 1, squared', inputs: [inp([3, 4])], f: ([x]) => E.square(E.mean(x, 1)), ref: ([x]) => sq(sumAxis(x, 3, 4, 1, true)) });
cases.push({ name: 'max axis 1, squared', inputs: [inp([3, 4])], f: ([x]) => E.square(E.max(x, 1)), ref: ([x]) => sq(Float64Array.from({ length: 3 }, (_, i) => Math.max(...x.slice(i * 4, i * 4 + 4)))) });
cases.push({ name: 'matmul a·b', inputs: [inp([2, 3]), inp([3, 4])], f: ([a, b]) => E.matmul(a, b), ref: ([a, b]) => matmulRef(a, b, 2, 3, 4) });
cases.push({ name: 'matmul a·bᵀ, squared', inputs: [inp([2, 3]), inp([4, 3])], f: ([a, b]) => E.square(E.matmul(a, b, { transposeB: true })), ref: ([a, b]) => sq(matmulRef(a, b, 2, 3, 4, true)) });
cases.push({
  name: 'dense x·w + b, squared',
  inputs: [inp([2, 3]), inp([3, 4]), inp([4])],
  f: ([x, w, b]) => E.square(E.dense(x, w, b)),
  ref: ([x, w, b]) => sq(Float64Array.from(matmulRef(x, w, 2, 3, 4), (v, i) => v + b[i % 4])),
});
cases.push({ name: 'softmax', inputs: [inp([2, 4], -2, 2)], f: ([x]) => E.softmax(x), ref: ([x]) => softmaxRows(x, 4) });
cases.push({ name: 'logSoftmax', inputs: [inp([2, 4], -2, 2)], f: ([x]) => E.logSoftmax(x), ref: ([x]) => softmaxRows(x, 4, true) });
cases.push({ name: 'softmax axis 0', inputs: [inp([3, 2], -2, 2)], f: ([x]) => E.softmax(x, 0), ref: ([x]) => transposeRef(softmaxRows(transposeRef(x, [3, 2], [1, 0]), 3), [2, 3], [1, 0]) });
const labels = Int32Array.of(1, 3, 0);
cases.push({ name: 'softmaxCrossEntropy (int labels, mean)', inputs: [inp([3, 4], -2, 2)], f: ([x]) => E.softmaxCrossEntropy(x, E.tensor(labels, [3])), ref: ([x]) => sceRef(x, 4, labels, null, null, 'mean') });
cases.push({
  name: 'softmaxCrossEntropy (weights, sum)',
  inputs: [inp([3, 4], -2, 2)],
  f: ([x]) => E.softmaxCrossEntropy(x, E.tensor(labels, [3]), { weights: E.tensor([0.5, 1, 2, 1.5], [4]), reduction: 'sum' }),
  ref: ([x]) => sceRef(x, 4, labels, null, [0.5, 1, 2, 1.5], 'sum'),
});
const soft = Float32Array.of(0.2, 0.3, 0.5, 0, 0, 0, 0.1, 0.9, 1, 0, 0, 0);
cases.push({ name: 'softmaxCrossEntropy (soft labels, none)', inputs: [inp([3, 4], -2, 2)], f: ([x]) => E.softmaxCrossEntropy(x, E.tensor(soft, [3, 4]), { reduction: 'none' }), ref: ([x]) => sceRef(x, 4, null, Float64Array.from(soft), null, 'none') });
cases.push({ name: 'reshape, squared', inputs: [inp([2, 3])], f: ([x]) => E.square(E.reshape(x, [3, 2])), ref: ([x]) => sq(x) });
cases.push({ name: 'transpose, ·w', inputs: [inp([2, 3]), inp([3, 2])], f: ([x, w]) => E.mul(E.transpose(x), w), ref: ([x, w]) => Float64Array.from(transposeRef(x, [2, 3], [1, 0]), (v, i) => v * w[i]) });
cases.push({ name: 'slice (stride 2), squared', inputs: [inp([3, 5])], f: ([x]) => E.square(E.slice(x, [0, 1], [2, 2], [2, 2])), ref: ([x]) => sq(sliceRef(x, [3, 5], [0, 1], [2, 2], [2, 2])) });
cases.push({
  name: 'concat, squared',
  inputs: [inp([2, 2]), inp([2, 3])],
  f: ([a, b]) => E.square(E.concat([a, b], 1)),
  ref: ([a, b]) => sq(concatRef([a, b], [[2, 2], [2, 3]], 1)),
});
for (const [strides, padding] of [[1, 'same'], [2, 'valid']] as const) {
  const g = convGeometry([2, 5, 5, 2], [3, 3, 2, 3], [strides, strides], padding);
  cases.push({
    name: `conv2d stride ${strides} ${padding} (+bias), squared`,
    inputs: [inp([2, 5, 5, 2]), inp([3, 3, 2, 3]), inp([3])],
    f: ([x, w, b]) => E.square(E.conv2d(x, w, b, { strides, padding })),
    ref: ([x, w, b]) => sq(conv2dRef(x, w, g, b)),
  });
}
{
  const g = convGeometry([1, 4, 4, 2], [3, 3, 2, 2], [1, 1], 'same');
  cases.push({
    name: 'conv2d relu (fused), squared',
    inputs: [inp([1, 4, 4, 2]), inp([3, 3, 2, 2])],
    f: ([x, w]) => E.square(E.conv2d(x, w, null, { padding: 'same', activation: 'relu' })),
    ref: ([x, w]) => sq(Float64Array.from(conv2dRef(x, w, g), (v) => Math.max(v, 0))),
  });
}
// Pooling: the backward is linear in dy and records its adjoint (scatter ↔ gather, pool ↔ its
// backward). Overlapping windows (stride 1, 'same') and disjoint ones (the vec4 path, C = 4).
// Distinct values keep max pooling away from ties: a difference step must not move an argmax.
const distinct = (shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = Array.from({ length: n }, (_, i) => i).sort(() => r.uniform(1)[0] - 0.5);
  return { data: Float32Array.from(perm, (k) => -1 + (2 * k) / n + 0.01), shape };
};
for (const [shape, pool, strides, padding] of [
  [[1, 4, 5, 2], 2, 1, 'same'],
  [[2, 4, 4, 4], 2, 2, 'valid'],
  [[1, 5, 5, 1], 3, 2, [1, 1, 1, 1]],
] as [number[], number, number, PoolPadding][]) {
  const g = poolGeometry(shape, [pool, pool], [strides, strides], [1, 1], padding);
  const tag = `${pool}×${pool}/${strides} ${JSON.stringify(padding)}`;
  cases.push({ name: `maxPool2d ${tag}, squared`, inputs: [distinct(shape)], f: ([x]) => E.square(E.maxPool2d(x, { pool, strides, padding })), ref: ([x]) => sq(poolRef('max', x, g).y) });
  cases.push({ name: `avgPool2d ${tag}, squared`, inputs: [inp(shape)], f: ([x]) => E.square(E.avgPool2d(x, { pool, strides, padding })), ref: ([x]) => sq(poolRef('avg', x, g).y) });
}
cases.push({ name: 'globalAvgPool, squared', inputs: [inp([2, 3, 2, 3])], f: ([x]) => E.square(E.globalAvgPool(x)), ref: ([x]) => sq(globalAvgPoolRef(x, 2, 6, 3)) });
{
  // Grad-CAM's shape: conv → GAP → dense score, the map Σ_c mean(∂score/∂A)·A differentiated in x.
  const g = convGeometry([1, 4, 4, 2], [3, 3, 2, 3], [1, 1], 'same');
  cases.push({
    name: 'globalAvgPool(keepDims)·x·w (GAP of a conv)',
    inputs: [inp([1, 4, 4, 2]), inp([3, 3, 2, 3])],
    f: ([x, w]) => {
      const a = E.tanh(E.conv2d(x, w, null, { padding: 'same' }));
      return E.mul(E.globalAvgPool(E.square(a), true), a);
    },
    ref: ([x, w]) => {
      const a = Float64Array.from(conv2dRef(x, w, g), Math.tanh);
      const m = globalAvgPoolRef(sq(a), 1, 16, 3);
      return Float64Array.from(a, (v, i) => v * m[i % 3]);
    },
  });
}
cases.push({
  name: 'MLP dense·tanh·dense → softmaxCrossEntropy',
  inputs: [inp([3, 4]), inp([4, 5]), inp([5, 3])],
  f: ([x, w1, w2]) => E.softmaxCrossEntropy(E.dense(E.tanh(E.dense(x, w1)), w2), E.tensor(Int32Array.of(2, 0, 1), [3])),
  ref: ([x, w1, w2]) => sceRef(matmulRef(Float64Array.from(matmulRef(x, w1, 3, 4, 5), Math.tanh), w2, 3, 5, 3), 3, Int32Array.of(2, 0, 1), null, null, 'mean'),
});

/** H·v of s = Σ w·ref(x) in float64: ∂/∂xᵢ of (s(x + h·v) − s(x − h·v))/2h, centrally. */
function hvpRef(c: Case, xs: F64[], w: F64, v: F64[], h = 1e-4): F64[] {
  const s = (ys: F64[]) => {
    const y = c.ref(ys);
    let t = 0;
    for (let i = 0; i < y.length; i++) t += w[i] * y[i];
    return t;
  };
  const along = (sign: number) => xs.map((x, k) => Float64Array.from(x, (e, i) => e + sign * h * v[k][i]));
  return xs.map((x, k) =>
    Float64Array.from(x, (_, i) => {
      const at = (a: number, b: number) => {
        const ys = along(b);
        ys[k][i] += a * h;
        return s(ys);
      };
      return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h);
    }),
  );
}

const table: { op: string; maxAbs: number; scale: number; rel: number }[] = [];

test('second derivatives (H·v) match finite differences of first derivatives, per op', async () => {
  const failures: string[] = [];
  for (const c of cases) {
    const xs64 = c.inputs.map((i) => Float64Array.from(i.data));
    const y0 = c.ref(xs64);
    const w = Float32Array.from(r.uniform(y0.length, -1, 1));
    const v = c.inputs.map((i) => Float32Array.from(r.uniform(i.data.length, -1, 1)));
    const expected = hvpRef(c, xs64, Float64Array.from(w), v.map((t) => Float64Array.from(t)));
    const [got, g1, g0] = await E.asyncTidy(async (s) => {
      const { hv, gcg, gplain } = s.run(() => {
        const xs = c.inputs.map((i) => E.tensor(i.data, i.shape));
        const yShape = c.f(xs.map((x) => E.view(x, x.shape))).shape;
        const wt = E.tensor(w, yShape);
        const fn = (...ls: Tensor[]) => E.sum(E.mul(c.f(ls), wt));
        const ls = xs.map((x) => E.view(x, x.shape).requireGrad());
        const gcg = E.grad(fn(...ls), ls, undefined, { createGraph: true });
        const gplain = E.grad(fn(...ls), ls);
        const hv = E.hvp(fn, xs, v.map((t, k) => E.tensor(t, c.inputs[k].shape))).hvp;
        return { hv, gcg, gplain };
      });
      return Promise.all([E.readAll(hv), E.readAll(gcg), E.readAll(gplain)]);
    });
    // createGraph changes how the first derivative is computed (composed ops instead of fused kernels), not its value.
    g0.forEach((g, k) => assertClose(g1[k], g, { atol: 1e-5, rtol: 1e-4 }, `${c.name}: first derivative with createGraph, input ${k}`));
    let maxAbs = 0;
    let scale = 0;
    got.forEach((g, k) =>
      g.forEach((a, i) => {
        maxAbs = Math.max(maxAbs, Math.abs(a - expected[k][i]));
        scale = Math.max(scale, Math.abs(expected[k][i]));
      }),
    );
    const rel = maxAbs / Math.max(scale, 1e-3);
    table.push({ op: c.name, maxAbs, scale, rel });
    if (!(rel <= (c.tol ?? 2e-5))) failures.push(`${c.name}: max|Hv − ref| ${maxAbs.toExponential(2)} / max|ref| ${scale.toExponential(2)} = ${rel.toExponential(2)}`);
  }
  console.log('\nsecond derivatives: op | max|Hv − ref| | max|ref| | relative');
  for (const t of table) console.log(`  ${t.op.padEnd(46)} ${t.maxAbs.toExponential(2)}  ${t.scale.toExponential(2)}  ${t.rel.toExponential(2)}`);
  if (failures.length) throw new Error(`second derivatives off:\n${failures.join('\n')}`);
});

test('a differentiable Grad-CAM (conv → GAP → dense → softmax, α = GAP of ∂p/∂A) passes gradcheck in the image', async () => {
  // The map is built from a gradient (createGraph), so its gradient in x is a second derivative
  // through softmax, dense, globalAvgPool and conv. The conv weight requires a gradient so that
  // A does even in gradcheck's unrecorded difference passes.
  const w = E.keep(E.tensor(away(3 * 3 * 4, -0.8, 0.8), [3, 3, 1, 4]).requireGrad());
  const d = E.keep(E.tensor(away(4 * 3, -2, 2), [4, 3]));
  const pick = E.keep(E.tensor([0, 1, 0], [1, 3]));
  const x = E.keep(E.tensor(away(16), [1, 4, 4, 1]));
  const cam = (xi: Tensor) => {
    const A = E.tanh(E.conv2d(xi, w, null, { padding: 'same' }));
    const p = E.sum(E.mul(E.softmax(E.dense(E.globalAvgPool(A), d)), pick));
    const [dA] = E.grad(p, [A], undefined, { createGraph: true });
    return E.sum(E.mul(A, E.globalAvgPool(dA, true)), 3); // [1, 4, 4], no final relu: no kink
  };
  try {
    const rep = await E.gradcheck(cam, [x], { eps: 1e-2, atol: 1e-4, rtol: 1e-2 });
    if (!rep.ok) throw new Error(rep.message);
    // The α path matters here: without createGraph the same check fails.
    const plain = (xi: Tensor) => {
      const A = E.tanh(E.conv2d(xi, w, null, { padding: 'same' }));
      const [dA] = E.grad(E.sum(E.mul(E.softmax(E.dense(E.globalAvgPool(A), d)), pick)), [A]);
      return E.sum(E.mul(A, E.globalAvgPool(dA, true)), 3);
    };
    const bad = await E.gradcheck(plain, [x], { eps: 1e-2, atol: 1e-4, rtol: 1e-2 });
    if (bad.ok) throw new Error('dropping the α path should fail the check');
  } finally {
    for (const t of [w, d, pick, x]) t.dispose();
  }
});

test('ops whose gradient has no differentiable form refuse a second derivative, naming op and kernel', () => {
  E.tidy(() => {
    const x = E.tensor(away(16), [1, 4, 4, 1]).requireGrad();
    const twice = (y: Tensor, t: Tensor = x) => {
      const [g] = E.grad(E.sum(y), [t], undefined, { createGraph: true });
      return E.grad(E.sum(E.mul(g, g)), [t]);
    };
    throwsNaming(() => twice(E.resize(x, [6, 6])), 'second derivative through resize is not supported');
    throwsNaming(() => twice(E.elu(x)), 'second derivative through elu is not supported', 'unaryGradKernel');
    const g = E.tensor([1.5, 0.5], [2]);
    const xb = E.tensor(away(8), [4, 2]).requireGrad();
    throwsNaming(() => twice(E.batchNorm(xb, E.tensor([0.1, -0.2], [2]), E.tensor([1, 2], [2]), g, null, 1e-3), xb), 'second derivative through batchNorm', 'batchNormKernel');
    const p = E.tensor([0.2, 0.3, 0.5, 0.6, 0.3, 0.1], [2, 3]).requireGrad();
    throwsNaming(() => twice(E.categoricalCrossEntropy(p, E.tensor(Int32Array.of(0, 2), [2])), p), 'second derivative through categoricalCrossEntropy', 'categoricalCrossEntropy.grad');
    // A first derivative through them still works under createGraph.
    E.grad(E.sum(E.elu(x)), [x], undefined, { createGraph: true });
  });
});

test('createGraph off records nothing: the gradients are plain tensors, as before', () => {
  E.tidy(() => {
    const x = E.tensor([0.3, -0.2, 0.9], [3]).requireGrad();
    const [g] = E.grad(E.sum(E.tanh(E.mul(x, x))), [x]);
    if (g.requiresGrad || g.node) throw new Error('a gradient without createGraph must not be recorded');
    throwsNaming(() => E.grad(E.sum(g), [x]), 'not recorded', 'createGraph: true');
    const [gc] = E.grad(E.sum(E.tanh(E.mul(x, x))), [x], undefined, { createGraph: true });
    if (!gc.requiresGrad || !gc.node) throw new Error('a gradient with createGraph must be recorded');
  });
});

test('backward with createGraph: x.grad can be differentiated again (d/dx Σ (dΣx³/dx)² = 36x³)', async () => {
  const x0 = [0.5, -1, 1.5];
  const got = await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor(x0, [3]).requireGrad());
    s.run(() => E.backward(E.sum(E.mul(E.square(x), x)), undefined, { createGraph: true }));
    const [h] = s.run(() => E.grad(E.sum(E.square(x.grad!)), [x]));
    const out = await h.data();
    x.dispose();
    return out;
  });
  assertClose(got, x0.map((v) => 36 * v ** 3), { atol: 1e-4, rtol: 1e-5 }, 'd/dx Σ(3x²)²');
});

// ---------------------------------------------------------------- functional transforms

function fdJacobian(f: (x: F64) => ArrayLike<number>, x: F64, h = 1e-5): F64 {
  const m = f(x).length;
  const J = new Float64Array(m * x.length);
  for (let j = 0; j < x.length; j++) {
    const up = Float64Array.from(x);
    const dn = Float64Array.from(x);
    up[j] += h;
    dn[j] -= h;
    const a = f(up);
    const b = f(dn);
    for (let i = 0; i < m; i++) J[i * x.length + j] = (a[i] - b[i]) / (2 * h);
  }
  return J;
}

const mlp = (x: F64, w: F64) => Float64Array.from(matmulRef(x, w, 2, 3, 2), Math.tanh);
const x2 = away(6);
const w2 = away(6);

test('jacobian, vjp and jvp of tanh(x·w) match finite differences', async () => {
  const J = fdJacobian((w) => mlp(Float64Array.from(x2), w), Float64Array.from(w2)); // [4, 6]
  const u = r.uniform(4);
  const t = r.uniform(6);
  const [jac, vj, jv] = await E.asyncTidy(async (s) => {
    const out = s.run(() => {
      const x = E.tensor(x2, [2, 3]);
      const w = E.tensor(w2, [3, 2]);
      const f = (a: Tensor) => E.tanh(E.matmul(x, a));
      const jac = E.jacobian(f, w);
      if (jac.shape.join() !== '2,2,3,2') throw new Error(`jacobian shape ${jac.shape}`);
      return [jac, E.vjp(f, [w], E.tensor(u, [2, 2])).vjp[0], E.jvp(f, [w], [E.tensor(t, [3, 2])]).jvp];
    });
    return E.readAll(out);
  });
  assertClose(jac, J, { atol: 1e-5, rtol: 1e-4 }, 'jacobian');
  assertClose(vj, Float64Array.from({ length: 6 }, (_, j) => u.reduce((a, ui, i) => a + ui * J[i * 6 + j], 0)), { atol: 1e-5, rtol: 1e-4 }, 'vjp');
  assertClose(jv, Float64Array.from({ length: 4 }, (_, i) => t.reduce((a, tj, j) => a + J[i * 6 + j] * tj, 0)), { atol: 1e-5, rtol: 1e-4 }, 'jvp');
});

test('hvp of a linear function is zero; jvp of a linear one is J·v', async () => {
  const [h, jv] = await E.asyncTidy(async (s) =>
    E.readAll(
      s.run(() => {
        const x = E.tensor([1, 2, 3], [3]);
        const v = E.tensor([1, -1, 2], [3]);
        return [E.hvp((a) => E.sum(E.scale(a, 3)), [x], [v]).hvp[0], E.jvp((a) => E.scale(a, 3), [x], [v]).jvp];
      }),
    ),
  );
  assertClose(h, [0, 0, 0], { atol: 0, rtol: 0 }, 'hvp of 3·Σx');
  assertClose(jv, [3, -3, 6], { atol: 1e-6, rtol: 1e-6 }, 'jvp of 3x');
});

test('gradcheck: passes a correct gradient, reports the worst element of a wrong one', async () => {
  const x = E.keep(E.tensor(away(6), [2, 3]));
  const w = E.keep(E.tensor(away(6), [3, 2]));
  try {
    const ok = await E.gradcheck((a, b) => E.softmax(E.matmul(a, b)), [x, w]);
    if (!ok.ok || ok.checked !== 12) throw new Error(ok.message);
    // relu'(x)·dy halved in a custom op: the check must name that element.
    const wrong = (a: Tensor) => E.add(E.scale(a, 0.5), E.noGrad(() => E.scale(a, 0.5)));
    const bad = await E.gradcheck(wrong, [x]);
    if (bad.ok || !bad.worst || !/gradcheck failed: input 0 element \[\d,\d\]/.test(bad.message)) throw new Error(`expected a failure, got ${bad.message}`);
    if (Math.abs(bad.worst.numeric - 2 * bad.worst.analytic) > 1e-3 * Math.abs(bad.worst.numeric)) throw new Error(`numeric ${bad.worst.numeric} should be twice analytic ${bad.worst.analytic}`);
    let threw = '';
    await E.gradcheck(wrong, [x], { throwOnFail: true }).catch((e) => (threw = e.message));
    if (!threw.includes('gradcheck failed')) throw new Error('throwOnFail must throw');
  } finally {
    x.dispose();
    w.dispose();
  }
});

test.run();
