// The autograd API says what it does (issue 21): seeds checked, bad labels and non-finite inputs
// refused, float64 refused at creation, parameters named by layer, pre-activations capturable
// under fusion, zeroGrad, and a clear word on gradients made without createGraph.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { firstBadRef } from '../kernels/checks.ts';
import { Trainer, evaluate } from '../nn/fit.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { Flatten, InputLayer } from '../nn/layers/simple.ts';
import { SGD } from '../nn/optimizers.ts';
import { Sequential } from '../nn/sequential.ts';
import { assertClose, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(21);

async function rejectsNaming(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  let msg = '';
  try {
    await p;
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg) throw new Error(`expected an error naming ${parts.join(', ')}`);
  for (const s of parts) if (!msg.includes(s)) throw new Error(`error "${msg}" does not name ${s}`);
}

// ---------------------------------------------------------------- 1. seeds

test('backward without a seed refuses a non-scalar root, naming its shape', () => {
  E.tidy(() => {
    const x = E.tensor([1, 2, 3], [3]).requireGrad();
    throwsNaming(() => E.backward(E.mul(x, x)), 'not a scalar', '[3]');
    throwsNaming(() => E.grad(E.mul(x, x), [x]), 'not a scalar', '[3]');
    x.dispose();
  });
});

test('a seed must have exactly the root shape and dtype; a right one gives the vector-Jacobian product', async () => {
  const x0 = r.uniform(3);
  const v0 = r.uniform(3);
  const g = await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor(x0, [3]).requireGrad());
    s.run(() => {
      const y = E.mul(x, x);
      throwsNaming(() => E.backward(y, E.tensor(v0, [3, 1])), 'seed', '[3,1]', 'exactly the shape');
      throwsNaming(() => E.backward(y, E.tensor([1, 2, 3], [3], 'int32')), 'seed', 'int32', 'dtype');
      E.backward(y, E.tensor(v0, [3]));
    });
    const out = await x.grad!.data();
    x.dispose();
    return out;
  });
  assertClose(g, Float64Array.from(x0, (v, i) => 2 * v * v0[i]), { atol: 1e-6, rtol: 1e-6 }, 'vᵀ·∂(x²)/∂x');
});

test('grad of a gradient made without createGraph says to pass it (higher-order gradients: test/higher_order.test.ts)', () => {
  E.tidy(() => {
    const x = E.tensor([1, 2], [2]).requireGrad();
    const [gx] = E.grad(E.sum(E.mul(x, x)), [x]);
    throwsNaming(() => E.grad(E.sum(gx), [x]), 'computed from a gradient that was not recorded', '{ createGraph: true }');
    E.backward(E.sum(E.mul(x, x)));
    throwsNaming(() => E.backward(E.sum(E.mul(x.grad!, x.grad!))), 'not recorded', 'createGraph');
    x.dispose();
  });
});

// ---------------------------------------------------------------- 2. labels and non-finite inputs

test('softmaxCrossEntropy: reading the loss refuses the first label outside 0..C−1, naming index and value', async () => {
  const x0 = r.uniform(4 * 5);
  await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor(x0, [4, 5]));
    const bad = s.run(() => E.softmaxCrossEntropy(x, E.tensor([1, 0, 7, -1], [4], 'int32')));
    await rejectsNaming(bad.item(), 'softmaxCrossEntropy', 'label 7 at index 2', '0..4');
    await rejectsNaming(E.readAll([bad]), 'label 7 at index 2');
    const none = s.run(() => E.softmaxCrossEntropy(x, E.tensor([1, 0, 2, -1], [4], 'int32'), { reduction: 'none' }));
    await rejectsNaming(none.data(), 'label -1 at index 3');
    // ignoreIndex is not a bad label; good labels read as before.
    const ok = s.run(() => E.softmaxCrossEntropy(x, E.tensor([1, 0, 2, -1], [4], 'int32'), { ignoreIndex: -1 }));
    const v = await ok.item();
    let sum = 0;
    [1, 0, 2].forEach((c, row) => {
      const xs = Array.from(x0.subarray(row * 5, row * 5 + 5));
      const m = Math.max(...xs);
      sum += m + Math.log(xs.reduce((a, b) => a + Math.exp(b - m), 0)) - xs[c];
    });
    assertClose([v], [sum / 3], { atol: 1e-5, rtol: 1e-5 }, 'loss with ignoreIndex');
  });
});

test('categoricalCrossEntropy with index labels refuses a bad label when read', async () => {
  await E.asyncTidy(async (s) => {
    const p = s.run(() => E.categoricalCrossEntropy(E.softmax(E.tensor(r.uniform(6), [2, 3]), -1), E.tensor([0, 3], [2], 'int32')));
    await rejectsNaming(p.item(), 'categoricalCrossEntropy', 'label 3 at index 1', '0..2');
  });
});

test('the GPU check finds the first bad element as the float64 reference does (labels and NaN/Inf, 3000 values)', async () => {
  const n = 3000;
  const labels = r.int(n, 10);
  for (const k of [2999, 1700, 1703, 300]) labels[k] = k % 2 ? 10 : -3;
  const vals = r.uniform(n);
  vals[2500] = Infinity;
  vals[1999] = NaN;
  await E.asyncTidy(async (s) => {
    const [a, b, c] = s.run(() => {
      const host = E.zeros([]);
      const a = E.checkLabelsOnRead('t', E.zeros([]), E.tensor(labels, [n], 'int32'), 10);
      const b = E.checkFiniteOnRead('t', E.zeros([]), E.tensor(vals, [n]));
      const c = E.checkFiniteOnRead('t', host, E.tensor(r.uniform(n), [n]));
      return [a, b, c];
    });
    const want = firstBadRef(labels, 'label', 10)!;
    await rejectsNaming(a.data(), `label ${want[1]} at index ${want[0]}`);
    const wantF = firstBadRef(vals, 'finite')!;
    if (wantF[0] !== 1999) throw new Error('reference');
    await rejectsNaming(b.data(), 'holds NaN at index 1999');
    await c.data();
  });
});

test('tensor(): an int32 value that is not an integer is refused, naming index and value', () => {
  throwsNaming(() => E.tensor([0, 1.5, 2], [3], 'int32'), 'int32 value 1.5 at index 1');
});

function tinyModel(): Sequential {
  const m = new Sequential('tiny', 3);
  m.add(new InputLayer([2, 2, 1]));
  m.add(new Flatten());
  m.add(new Dense({ units: 3, activation: 'softmax' }));
  m.build();
  return m;
}

test('fit and evaluate refuse a bad or non-integer label before any step; fit reports a NaN image with its loss', async () => {
  const m = tinyModel();
  const t = new Trainer(m, { optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
  const x = r.uniform(6 * 4);
  const before = await m.weights[0].read();
  let steps = 0;
  const onBatchEnd = () => void steps++;
  await rejectsNaming(t.fit({ x, y: [0, 1, 2, 3, 0, 1] }, { batchSize: 2, onBatchEnd }), 'fit', 'label 3 at index 3', '0..2');
  await rejectsNaming(t.fit({ x, y: [0, 1, 2, 1.5, 0, 1] }, { batchSize: 2, onBatchEnd }), 'label 1.5 at index 3');
  await rejectsNaming(evaluate(m, { x, y: [0, 1, -1, 2, 0, 1] }), 'evaluate', 'label -1 at index 2');
  if (steps !== 0) throw new Error(`${steps} steps ran before the refusal`);
  assertClose(await m.weights[0].read(), before, { atol: 0, rtol: 0 }, 'weights untouched');
  const xn = x.slice();
  xn[4 * 4 + 2] = NaN;
  await rejectsNaming(t.fit({ x: xn, y: [0, 1, 2, 1, 0, 1] }, { batchSize: 2, shuffle: false }), 'fit', 'NaN', 'image 4', 'value 2');
  m.dispose();
  t.optimizer.dispose();
});

// ---------------------------------------------------------------- 3. dtypes

test("'float64' is refused at creation, not labelled onto float32 data", () => {
  throwsNaming(() => E.tensor([1, 2], [2], 'float64' as E.DType), "dtype 'float64' is not supported", 'float32, int32');
  throwsNaming(() => E.empty([2], 'float64' as E.DType), "dtype 'float64'");
});

// ---------------------------------------------------------------- 4. names and pre-activations

test('graph listings name parameters by layer and weight', () => {
  const m = new Sequential('named', 5);
  m.add(new InputLayer([4, 4, 1]));
  m.add(new Conv2D({ filters: 2, kernelSize: 3, activation: 'relu' }));
  m.add(new Flatten());
  m.add(new Dense({ units: 2 }));
  m.build();
  E.tidy(() => {
    const fwd = m.forward(E.tensor(r.uniform(16), [1, 4, 4, 1]), { training: true });
    const g = E.formatGraph(E.sum(fwd.output));
    for (const name of ['conv2d/kernel', 'conv2d/bias', 'dense/kernel', 'dense/bias'])
      if (!g.includes(`(${name})`)) throw new Error(`graph does not name ${name}:\n${g}`);
    const names = E.listGraph(E.sum(fwd.output)).flatMap((e) => e.inputs.map((i) => i.name).filter(Boolean));
    if (!names.includes('conv2d/kernel')) throw new Error('listGraph lacks conv2d/kernel');
  });
  m.dispose();
});

test('a fused conv2d+relu layer still gives its pre-activation and its gradient to a hook', async () => {
  const m = new Sequential('pre', 7);
  m.add(new InputLayer([5, 5, 2]));
  m.add(new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.build();
  const conv = m.layers[0] as Conv2D;
  const x0 = r.uniform(5 * 5 * 2);
  const w0 = r.uniform(5 * 5 * 3);
  let pre: E.Tensor | null = null;
  const off = conv.onPreActivation((p) => void (pre = E.keep(p.retainGrad())));
  const [pv, pg, out, ref] = await E.asyncTidy(async (s) => {
    const [y, ref] = s.run(() => {
      const x = E.tensor(x0, [1, 5, 5, 2]);
      const y = m.forward(x, { training: true }).output;
      E.backward(E.sum(E.mul(y, E.tensor(w0, y.shape))));
      const ref = E.noGrad(() => E.conv2d(x, conv.weights[0].value, conv.weights[1].value, { padding: 'same' }));
      return [y, ref];
    });
    return [await pre!.data(), await pre!.grad!.data(), await y.data(), await ref.data()];
  });
  off();
  if (conv.preActivationHooks.length) throw new Error('hook not removed');
  assertClose(pv, ref, { atol: 1e-5, rtol: 1e-5 }, 'pre-activation = conv2d without relu');
  assertClose(out, Float64Array.from(ref, (v) => Math.max(v, 0)), { atol: 1e-5, rtol: 1e-5 }, 'output = relu(pre)');
  assertClose(pg, Float64Array.from(ref, (v, i) => (v > 0 ? w0[i] : 0)), { atol: 1e-6, rtol: 1e-6 }, 'd/dpre');
  pre!.dispose();
  m.dispose();
});

// ---------------------------------------------------------------- 5. zeroGrad

test('zeroGrad on a tensor and on a model; SGD.apply() without gradients uses .grad; fit drops stale .grad', async () => {
  await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor([1, 2, 3], [3]).requireGrad());
    s.run(() => E.backward(E.sum(E.mul(x, x))));
    s.run(() => E.backward(E.sum(E.mul(x, x))));
    assertClose(await x.grad!.data(), [4, 8, 12], { atol: 0, rtol: 0 }, 'accumulated twice');
    const old = x.grad!;
    x.zeroGrad();
    if (x.grad !== null || !old.disposed) throw new Error('zeroGrad left the gradient');
    s.run(() => E.backward(E.sum(E.mul(x, x))));
    assertClose(await x.grad!.data(), [2, 4, 6], { atol: 0, rtol: 0 }, 'after zeroGrad');
    x.dispose();
  });
  const m = tinyModel();
  const xin = r.uniform(2 * 4);
  const k0 = await m.weights[0].read();
  const backwardOnce = () => E.tidy(() => E.backward(E.sum(E.mul(m.forward(E.tensor(xin, [2, 2, 2, 1]), { training: true }).output, E.tensor(r.uniform(6), [2, 3])))));
  backwardOnce();
  const gk = await m.weights[0].value.grad!.data();
  const opt = new SGD(0.5);
  E.tidy(() => opt.apply(m.trainableWeights));
  assertClose(await m.weights[0].read(), Float64Array.from(k0, (v, i) => v - 0.5 * gk[i]), { atol: 1e-6, rtol: 1e-6 }, 'SGD from .grad');
  opt.zeroGrad(m.trainableWeights);
  if (m.weights.some((w) => w.value.grad)) throw new Error('optimizer zeroGrad left a gradient');
  backwardOnce();
  m.zeroGrad();
  if (m.weights.some((w) => w.value.grad)) throw new Error('model zeroGrad left a gradient');
  backwardOnce();
  const t = new Trainer(m, { optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
  await t.fit({ x: xin, y: [0, 2] }, { batchSize: 2 });
  if (m.weights.some((w) => w.value.grad)) throw new Error('fit left a stale .grad');
  m.dispose();
  t.optimizer.dispose();
});

test.run();
