// PReLU (learned slopes, shared_axes) built from Keras configs: forward against a float64 reference
// of relu(x) − α·relu(−x), the gradients of x and α against finite differences, the config round
// trip and shape errors. Also the activation name 'exponential' in Activation and Dense.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { layerFromConfig } from '../nn/from_config.ts';
import type { Layer } from '../nn/layer.ts';
import { Rng } from '../nn/random.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(51);
const ctx = { training: false };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function built(cls: string, cfg: object, inShape: number[]): Layer {
  const l = layerFromConfig(cls, { name: 'p', ...cfg }, 'test');
  l.build(inShape, new Rng(1));
  return l;
}

/** relu(x) − α·relu(−x) in float64, α broadcast over the batch and its size-1 (shared) axes. */
function preluRef(x: ArrayLike<number>, shape: number[], alpha: ArrayLike<number>, ashape: number[]): Float64Array {
  const full = [1, ...ashape];
  return Float64Array.from(x, (v, i) => {
    let a = 0;
    for (let d = 0, q = i, stride = size(shape); d < shape.length; d++) {
      stride /= shape[d];
      const k = Math.floor(q / stride);
      q %= stride;
      a = a * full[d] + (full[d] === 1 ? 0 : k);
    }
    return Math.max(v, 0) - alpha[a] * Math.max(-v, 0);
  });
}

// [config, input shape, alpha shape]
const CASES: [object, number[], number[]][] = [
  [{}, [7], [7]],
  [{}, [3, 4, 2], [3, 4, 2]],
  [{ shared_axes: [1, 2] }, [3, 4, 2], [1, 1, 2]],
  [{ shared_axes: 3 }, [3, 4, 2], [3, 4, 1]],
  [{ shared_axes: [1, 2, 3] }, [3, 4, 2], [1, 1, 1]],
];

test(`PReLU: alpha shapes, forward and the gradients of x and alpha on ${CASES.length} shared_axes cases`, async () => {
  let worst = 0;
  for (const [cfg, inShape, ashape] of CASES) {
    const layer = built('PReLU', cfg, inShape);
    assert.equal(layer.weights.map((w) => [w.name, w.shape, w.trainable]), [['alpha', ashape, true]], `${JSON.stringify(cfg)} weights`);
    assert.ok((await layer.weights[0].read()).every((v) => v === 0), 'alpha starts at 0 (Keras Zeros)');
    const alpha = r.uniform(size(ashape), -0.5, 1);
    layer.weights[0].assign(alpha);
    const shape = [2, ...inShape];
    const x = r.uniform(size(shape), -3, 3);
    const got = (await E.tidy(() => layer.call(E.tensor(x, shape), ctx).data())) as Float32Array;
    worst = Math.max(worst, assertClose(got, preluRef(x, shape, alpha, ashape), { atol: 1e-6, rtol: 1e-6 }, `PReLU ${JSON.stringify(cfg)}`));
    await checkGrad(
      `PReLU ${JSON.stringify(cfg)}`,
      (ts) => {
        const kept = layer.weights[0].value;
        layer.weights[0].value = ts[1];
        try {
          return layer.call(ts[0], ctx);
        } finally {
          layer.weights[0].value = kept;
        }
      },
      ([x, a]) => preluRef(x, shape, a, ashape),
      [{ data: x, shape }, { data: alpha, shape: ashape }],
      { atol: 1e-3, rtol: 1e-3 },
    );
    layer.dispose();
  }
  console.log(`  PReLU: max |err| ${worst.toExponential(2)}`);
});

test('PReLU: config round trip, a Constant alpha_initializer, and shared axes that do not fit', async () => {
  for (const cfg of [{ shared_axes: [1, 2] }, { shared_axes: null }, { alpha_initializer: { class_name: 'Constant', config: { value: 0.25 } }, shared_axes: [1] }]) {
    const c = layerFromConfig('PReLU', { name: 'p', ...cfg }, 'test').getConfig();
    for (const [k, v] of Object.entries(cfg)) assert.equal(c[k], v, `PReLU config ${k}`);
    assert.equal(layerFromConfig('PReLU', c, 'test').getConfig(), c, 'PReLU round trip');
  }
  const k3 = built('PReLU', { alpha_initializer: { module: 'keras.initializers', class_name: 'Constant', config: { value: 0.25 }, registered_name: null } }, [3]);
  assert.equal(Array.from(await k3.weights[0].read()), [0.25, 0.25, 0.25], 'Keras 3 Constant initializer');
  k3.dispose();
  throwsNaming(() => built('PReLU', { shared_axes: [3] }, [4, 2]), "PReLU 'p'", 'shared axis 3 is out of range', '[4,2]');
  throwsNaming(() => built('PReLU', { shared_axes: [0] }, [4, 2]), "PReLU 'p'", 'shared_axes must be positive');
  const p = built('PReLU', { shared_axes: [1] }, [3, 2]);
  throwsNaming(() => p.call(E.zeros([2, 4, 2]), ctx), "PReLU 'p'", 'built for inputs [3,2]', '[2,4,2]');
  p.dispose();
});

test("the activation name 'exponential' in Activation and Dense: forward and gradient", async () => {
  const act = built('Activation', { activation: 'exponential' }, [5]);
  const x = r.uniform(10, -3, 3);
  assertClose((await E.tidy(() => act.call(E.tensor(x, [2, 5]), ctx).data())) as Float32Array, Float64Array.from(x, Math.exp), { atol: 0, rtol: 1e-6 }, 'Activation exponential');
  await checkGrad('Activation exponential', (ts) => act.call(ts[0], ctx), ([x]) => x.map(Math.exp), [{ data: x, shape: [2, 5] }], { atol: 1e-3, rtol: 1e-3 });
  const dense = built('Dense', { units: 3, activation: 'exponential' }, [5]);
  assert.is(dense.getConfig().activation, 'exponential');
  const w = Float64Array.from(await dense.weights[0].read());
  const ref = (x: ArrayLike<number>) => Float64Array.from({ length: 6 }, (_, i) => Math.exp(Array.from({ length: 5 }, (_, k) => x[Math.floor(i / 3) * 5 + k] * w[k * 3 + (i % 3)]).reduce((a, b) => a + b)));
  assertClose((await E.tidy(() => dense.call(E.tensor(x, [2, 5]), ctx).data())) as Float32Array, ref(x), { atol: 1e-6, rtol: 1e-5 }, 'Dense exponential');
  await checkGrad('Dense exponential', (ts: Tensor[]) => dense.call(ts[0], ctx), ([x]) => ref(x), [{ data: x, shape: [2, 5] }], { atol: 1e-3, rtol: 1e-3 });
  act.dispose();
  dense.dispose();
});

test.run();
