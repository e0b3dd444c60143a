import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { adamRef, kerasAdamRate, onnxAdamRate, sgdRef } from '../kernels/optim.ts';
import { assertClose, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(3);
// One element, odd, one workgroup + 1, several workgroups.
const SIZES = [1, 7, 257, 3 * 1024 + 5];
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const TOL = { atol: 1e-6, rtol: 1e-5 };

test(`adamStep: 10 Keras steps match a float64 reference after every step (atol ${TOL.atol}, rtol ${TOL.rtol})`, async () => {
  for (const n of SIZES) {
    const shape = n > 7 ? [n] : [1, n];
    const p0 = r.uniform(n, -1, 1);
    const [p, m, v] = [E.tensor(p0, shape), E.zeros(shape), E.zeros(shape)];
    const [pr, mr, vr] = [f64(p0), new Float64Array(n), new Float64Array(n)];
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    for (let step = 1; step <= 10; step++) {
      // Gradients of varied scale, with some exact zeros (m/(√v+ε) must stay finite).
      const g = r.normal(n).map((x, i) => (i % 5 === 3 ? 0 : x * 10 ** ((step % 3) - 1)));
      E.tidy(() => E.adamStep(p, E.tensor(g, shape), m, v, { ...h, step }));
      adamRef(pr, g, mr, vr, { lrT: kerasAdamRate(h.lr, h.beta1, h.beta2, step), beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon, decay: 0, decayPost: 0 });
      assertClose(await m.data(), mr, TOL, `m n=${n} step ${step}`);
      assertClose(await v.data(), vr, { atol: 1e-9, rtol: 1e-5 }, `v n=${n} step ${step}`);
      assertClose(await p.data(), pr, TOL, `param n=${n} step ${step}`);
    }
    [p, m, v].forEach((t) => t.dispose());
  }
});

test('adamStep uses Keras defaults (lr 1e-3, β 0.9/0.999, ε 1e-7): first step moves each weight by ≈ lr·sign(g) (atol 1e-7)', async () => {
  const g = Float32Array.of(3, -0.5, 1e-3, -200);
  const out = await E.tidy(() => {
    const p = E.zeros([4]);
    E.adamStep(p, E.tensor(g), E.zeros([4]), E.zeros([4]), { step: 1 });
    return p.data();
  });
  // Step 1: lr_t = lr·√(1−β2)/(1−β1), m = (1−β1)·g, v = (1−β2)·g², so
  // Δ = −lr·g·√(1−β2)/(√(1−β2)·|g| + ε) ≈ −lr·sign(g) while |g| ≫ ε/√(1−β2) ≈ 3e-6.
  const pr = new Float64Array(4);
  adamRef(pr, g, new Float64Array(4), new Float64Array(4), { lrT: kerasAdamRate(1e-3, 0.9, 0.999, 1), beta1: 0.9, beta2: 0.999, epsilon: 1e-7, decay: 0, decayPost: 0 });
  assertClose(out, pr, { atol: 1e-7, rtol: 0 }, 'first step');
  assertClose(out, [-1e-3, 1e-3, -1e-3, 1e-3], { atol: 1e-5, rtol: 0 }, '≈ −lr·sign(g)');
});

test('one pipeline serves every Adam and SGD step, whatever the size or hyperparameters', async () => {
  const g = E.gpu();
  const run = (n: number, step: number, lr: number) =>
    E.tidy(() => {
      const [p, gr, m, v] = [E.ones([n]), E.ones([n]), E.zeros([n]), E.zeros([n])];
      E.adamStep(p, gr, m, v, { lr, step });
      E.sgdStep(p, gr, v, { lr, momentum: step / 10, nesterov: step % 2 === 0 });
      E.sgdStep(p, gr, null, { lr });
    });
  run(5, 1, 0.1);
  const before = g.counters.pipelines;
  for (let s = 2; s < 6; s++) run(5 + 300 * s, s, 0.1 / s);
  if (g.counters.pipelines !== before) throw new Error(`${g.counters.pipelines - before} new pipelines compiled`);
});

test(`ONNX Adam matches the operator's reference formula, T = 0 and T > 0 (atol ${TOL.atol}, rtol ${TOL.rtol})`, async () => {
  const cases = [
    // test_adam's inputs and attributes.
    { r: 0.1, t: 0, x: [1.2, 2.8], g: [-0.94, -2.5], v: [1.7, 3.6], h: [0.1, 0.1], alpha: 0.95, beta: 0.1, epsilon: 1e-7, normCoefficient: 0.001, normCoefficientPost: 0 },
    // test_adam_multiple's second tensor, then a bias-corrected step with a post-step shrink.
    { r: 0.1, t: 0, x: [1, 2], g: [-1, -3], v: [4, 1], h: [1, 10], alpha: 0.95, beta: 0.85, epsilon: 1e-2, normCoefficient: 0.001, normCoefficientPost: 0 },
    { r: 0.05, t: 7, x: [0.5, -2, 3], g: [0.3, 0.1, -4], v: [0.2, -0.1, 0], h: [0.5, 0.01, 2], alpha: 0.9, beta: 0.999, epsilon: 1e-6, normCoefficient: 0.01, normCoefficientPost: 0.02 },
  ];
  for (const c of cases) {
    const [x, v, h] = [E.tensor(c.x), E.tensor(c.v), E.tensor(c.h)];
    E.tidy(() => E.adamOnnxStep(x, E.tensor(c.g), v, h, c));
    const [xr, vr, hr] = [f64(c.x), f64(c.v), f64(c.h)];
    adamRef(xr, c.g, vr, hr, { lrT: onnxAdamRate(c.r, c.alpha, c.beta, c.t), beta1: c.alpha, beta2: c.beta, epsilon: c.epsilon, decay: c.normCoefficient, decayPost: c.normCoefficientPost });
    assertClose(await x.data(), xr, TOL, `X_new T=${c.t}`);
    assertClose(await v.data(), vr, TOL, `V_new T=${c.t}`);
    assertClose(await h.data(), hr, TOL, `H_new T=${c.t}`);
    [x, v, h].forEach((t) => t.dispose());
  }
});

test('ONNX test_adam expected output, independently of adamRef (atol 1e-6)', async () => {
  // apply_adam in onnx/backend/test/case/node/adam.py, by hand for element 0:
  // g' = 0.001·1.2 − 0.94 = −0.9388; v = 0.95·1.7 + 0.05·g' = 1.56806; h = 0.1·0.1 + 0.9·g'² = 0.80322...
  const gr = 0.001 * 1.2 - 0.94;
  const vn = 0.95 * 1.7 + 0.05 * gr;
  const hn = 0.1 * 0.1 + 0.9 * gr * gr;
  const xn = 1.2 - (0.1 * vn) / (Math.sqrt(hn) + 1e-7);
  const x = E.tensor([1.2, 2.8]);
  E.tidy(() =>
    E.adamOnnxStep(x, E.tensor([-0.94, -2.5]), E.tensor([1.7, 3.6]), E.tensor([0.1, 0.1]), { r: 0.1, t: 0, alpha: 0.95, beta: 0.1, epsilon: 1e-7, normCoefficient: 0.001 }),
  );
  assertClose((await x.data()).slice(0, 1), [xn], { atol: 1e-6, rtol: 0 }, 'X_new[0]');
  x.dispose();
});

for (const [momentum, nesterov] of [
  [0, false],
  [0.9, false],
  [0.9, true],
] as [number, boolean][]) {
  test(`sgdStep (momentum ${momentum}, nesterov ${nesterov}): 8 Keras steps match a float64 reference (atol ${TOL.atol}, rtol ${TOL.rtol})`, async () => {
    for (const n of SIZES) {
      const p0 = r.uniform(n, -1, 1);
      const p = E.tensor(p0);
      const vel = momentum ? E.zeros([n]) : null;
      const [pr, vr] = [f64(p0), new Float64Array(n)];
      for (let s = 0; s < 8; s++) {
        const g = r.normal(n);
        E.tidy(() => E.sgdStep(p, E.tensor(g), vel, { lr: 0.05, momentum, nesterov }));
        sgdRef(pr, g, vr, { lr: 0.05, momentum, nesterov });
      }
      assertClose(await p.data(), pr, TOL, `param n=${n}`);
      if (vel) assertClose(await vel.data(), vr, TOL, `velocity n=${n}`);
      p.dispose();
      vel?.dispose();
    }
  });
}

test('optimiser steps reject mismatched or aliased state, naming op and shapes', () => {
  const expectErr = throwsNaming;
  expectErr(() => E.adamStep(E.zeros([3, 4]), E.zeros([12]), E.zeros([3, 4]), E.zeros([3, 4]), { step: 1 }), 'adamStep', 'grad', '[12]', '[3,4]');
  expectErr(() => {
    const m = E.zeros([5]);
    E.adamStep(E.zeros([5]), E.zeros([5]), m, m, { step: 1 });
  }, 'adamStep', 'share');
  expectErr(() => E.adamStep(E.zeros([5]), E.zeros([5]), E.zeros([5]), E.zeros([5]), { step: 0 }), 'adamStep', 'step');
  expectErr(() => E.sgdStep(E.zeros([5]), E.zeros([5]), null, { momentum: 0.9 }), 'sgdStep', 'velocity', '[5]');
});

test('optimiser steps record nothing on the tape', () => {
  E.tidy(() => {
    const p = E.ones([3]).requireGrad();
    E.sgdStep(p, E.ones([3]), null, { lr: 0.1 });
    if (p.node) throw new Error('sgdStep recorded a node');
  });
});

test.run();
