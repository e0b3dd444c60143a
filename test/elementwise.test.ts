import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { binaryBroadcastRef, unaryRef, type BinaryOp, type UnaryOp } from '../kernels/elementwise.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(1);

// Awkward sizes: one element, odd, one workgroup + 1, several workgroups; multiples of 4 take
// the CPU drivers' vec4 block kernels (16 = one block; 4004 = 1001 vec4, a partial last block).
const SIZES = [1, 7, 257, 3 * 1024 + 5, 16, 4004];
// Each forward runs under both plans: on a CPU driver (vec4 blocks where n % 4 == 0) and as on a GPU.
const PLANS = [true, false].map((cpuDriver) => ({ cpuDriver }));
const g = E.gpu();
const UNARY: [UnaryOp, (x: E.Tensor) => E.Tensor, [number, number]][] = [
  ['relu', E.relu, [-3, 3]],
  ['relu6', E.relu6, [-3, 9]],
  ['elu', (x) => E.elu(x), [-3, 3]],
  ['sigmoid', E.sigmoid, [-8, 8]],
  ['tanh', E.tanh, [-60, 60]],
  ['exp', E.exp, [-5, 5]],
  ['log', E.log, [0.01, 10]],
  ['neg', E.neg, [-3, 3]],
  ['sqrt', E.sqrt, [0.01, 10]],
  ['abs', E.abs, [-3, 3]],
  ['swish', E.swish, [-120, 30]],
  ['hard_sigmoid', E.hardSigmoid, [-6, 6]],
  ['hard_sigmoid_keras2', E.hardSigmoidKeras2, [-6, 6]],
  ['hard_swish', E.hardSwish, [-8, 8]],
  ['gelu', (x) => E.gelu(x), [-12, 12]],
  ['gelu_tanh', (x) => E.gelu(x, true), [-12, 12]],
  ['selu', E.selu, [-6, 6]],
  ['softplus', E.softplus, [-30, 30]],
  ['softsign', E.softsign, [-20, 20]],
  ['leaky_relu', (x) => E.leakyRelu(x), [-3, 3]],
];

// Op parameters the wrappers above pass (leaky_relu's default slope), for the references.
const P: Partial<Record<UnaryOp, [number]>> = { leaky_relu: [0.2] };

for (const [name, fn, [lo, hi]] of UNARY) {
  test(`unary ${name} matches the reference (atol 1e-5, rtol 1e-5)`, async () => {
    for (const plan of PLANS)
      await g.withPlan(plan, async () => {
        for (const n of SIZES) {
          const x = r.uniform(n, lo, hi);
          const y = await E.tidy(() => fn(E.tensor(x, [n])).data());
          assertClose(y, unaryRef(name, x, ...(P[name] ?? [])), { atol: 1e-5, rtol: 1e-5 }, `${name} n=${n} cpuDriver=${plan.cpuDriver}`);
        }
      });
    if (!g.hasPipeline(`unary4:op=${name}`)) throw new Error(`the vec4 block kernel did not run for ${name}`);
  });
  test(`unary ${name} backward matches finite differences`, async () => {
    // Keep points away from kinks (relu at 0, relu6 at 6, abs at 0) where differences are undefined.
    let x = r.uniform(33, lo / 4, hi / 4);
    x = x.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : Math.abs(v - 6) < 0.05 ? v + 0.1 : v));
    await checkGrad(name, ([t]) => fn(t), ([a]) => unaryRef(name, a, ...(P[name] ?? [])), [{ data: x, shape: [3, 11] }]);
    // 44 elements: the vec4 block gradient kernel on CPU drivers.
    const x4 = Float32Array.from({ length: 44 }, (_, i) => x[i % 33] + (i >= 33 ? 0.01 : 0));
    await checkGrad(name, ([t]) => fn(t), ([a]) => unaryRef(name, a, ...(P[name] ?? [])), [{ data: x4, shape: [4, 11] }]);
  });
}

const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];
const PAIRS: [number[], number[]][] = [
  [[5], [5]],
  [[2, 3, 4], [2, 3, 4]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[1], [3, 5]],
  [[2, 3, 1, 5], [1, 3, 7, 1]],
  [[300, 7], [7]],
  [[300, 8], [300, 8]], // same shape, a multiple of 4: the vec4 block kernel on CPU drivers
];
const fnOf = (op: BinaryOp) => (a: E.Tensor, b: E.Tensor) => E.binary(op, a, b);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

for (const op of BINARY) {
  test(`binary ${op} with broadcasting matches the reference`, async () => {
    for (const plan of PLANS)
      await g.withPlan(plan, async () => {
        for (const [as, bs] of PAIRS) {
          const a = r.uniform(size(as), -2, 2);
          const b = r.uniform(size(bs), 0.5, 2).map((v, i) => (i % 2 ? -v : v));
          const y = await E.tidy(() => fnOf(op)(E.tensor(a, as), E.tensor(b, bs)).data());
          assertClose(y, binaryBroadcastRef(op, a, as, b, bs), { atol: 1e-6, rtol: 1e-6 }, `${op} [${as}]x[${bs}] cpuDriver=${plan.cpuDriver}`);
        }
      });
    if (!g.hasPipeline(`binary4:op=${op}`)) throw new Error(`the vec4 block kernel did not run for ${op}`);
  });
  test(`binary ${op} backward (with broadcasting) matches finite differences`, async () => {
    for (const [as, bs] of [PAIRS[1], PAIRS[2], PAIRS[3], PAIRS[5]]) {
      const a = r.uniform(size(as), -2, 2);
      // Distinct magnitudes keep maximum/minimum away from ties.
      const b = r.uniform(size(bs), 0.5, 2).map((v, i) => (i % 2 ? -v : v) + 0.013);
      await checkGrad(
        `${op} [${as}]x[${bs}]`,
        ([x, y]) => fnOf(op)(x, y),
        ([x, y]) => binaryBroadcastRef(op, x, as, y, bs),
        [
          { data: a, shape: as },
          { data: b, shape: bs },
        ],
      );
    }
  });
}

test('binary rejects shapes that do not broadcast, naming them', () => {
  E.tidy(() => {
    const a = E.zeros([2, 3]);
    const b = E.zeros([4]);
    let msg = '';
    try {
      E.add(a, b);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes('add') || !msg.includes('[2,3]') || !msg.includes('[4]')) throw new Error(`bad message: ${msg}`);
  });
});

test.run();
