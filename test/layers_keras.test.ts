// Keras single-input layers built from configs: ReLU, LeakyReLU, ELU, Softmax, ZeroPadding2D,
// Cropping2D, UpSampling2D, Rescaling, Permute, GlobalAverage/MaxPooling2D keepdims,
// SpatialDropout2D, GaussianNoise. Each: forward against a float64 reference written here from
// Keras' definition, and its config round trip (modelFromConfig(model.toKerasConfig())).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { modelFromConfig } from '../nn/from_config.ts';
import type { Model } from '../nn/model.ts';
import { Rng } from '../nn/random.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(14);

type Ref = (x: ArrayLike<number>, shape: number[]) => Float64Array | number[];

function modelOf(inShape: number[], className: string, config: object, meta: object = {}): Model {
  return modelFromConfig({
    class_name: 'Sequential',
    ...meta,
    config: { name: 'm', layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, ...inShape] } }, { class_name: className, config: { name: 'l', ...config } }] },
  }).build();
}

async function run(model: Model, x: Float32Array, shape: number[], training = false): Promise<{ y: Float32Array; shape: number[] }> {
  return E.tidy(() => {
    const t = model.forward(E.tensor(x, shape), { training, rng: new Rng(3) }).output;
    return t.data().then((y) => ({ y: y as Float32Array, shape: [...t.shape] }));
  });
}

/** Builds the layer, checks output shape and values against `ref`, then the config round trip. */
async function check(className: string, config: object, inShape: number[], outShape: number[], ref: Ref, x?: Float32Array) {
  const model = modelOf(inShape, className, config);
  assert.equal(model.outputShape, outShape, `${className} output shape`);
  const shape = [2, ...inShape];
  const data = x ?? r.uniform(shape.reduce((a, b) => a * b, 1), -4, 4);
  const { y, shape: got } = await run(model, data, shape);
  assert.equal(got, [2, ...outShape], `${className} forward shape`);
  assertClose(y, ref(data, shape), { atol: 1e-5, rtol: 1e-5 }, `${className} ${JSON.stringify(config)}`);
  const cfg = model.getLayer('l').getConfig();
  for (const [k, v] of Object.entries(config)) assert.equal(cfg[k], v, `${className} config ${k}`);
  const again = modelFromConfig(model.toKerasConfig()).build();
  assert.equal(again.getLayer('l').getConfig(), cfg, `${className} round trip`);
  assert.equal(again.getLayer('l').className, className);
  model.dispose();
  again.dispose();
}

const map = (f: (v: number) => number): Ref => (x) => Float64Array.from(x, f);

/** keras.activations.relu, step by step in float64. */
function kerasRelu(m: number | null, a: number, t: number) {
  return (v: number) => {
    let y = t !== 0 ? (v > t ? v : 0) : m === 6 ? Math.min(Math.max(v, 0), 6) : Math.max(v, 0);
    if (m !== null && !(t === 0 && m === 6)) y = Math.min(Math.max(y, 0), m);
    return a !== 0 ? y - a * Math.max(t - v, 0) : y;
  };
}

test('ReLU: the Keras documentation examples', async () => {
  const x = Float32Array.of(-3, -1, 0, 2, -3, -1, 0, 2);
  const cases: [object, number[]][] = [
    [{}, [0, 0, 0, 2]],
    [{ max_value: 1 }, [0, 0, 0, 1]],
    [{ negative_slope: 1 }, [-3, -1, 0, 2]],
    [{ threshold: 1.5 }, [0, 0, 0, 2]],
    // Keras masks with a strict x > threshold: x = threshold gives 0.
    [{ threshold: 2 }, [0, 0, 0, 0]],
  ];
  for (const [cfg, want] of cases) {
    const { y } = await run(modelOf([4], 'ReLU', cfg), x, [2, 4]);
    assert.equal(Array.from(y.slice(0, 4)), want, JSON.stringify(cfg));
  }
});

test('ReLU with max_value, negative_slope and threshold matches keras.activations.relu', async () => {
  for (const [m, a, t] of [[null, 0, 0], [6, 0, 0], [2.5, 0, 0], [null, 0.1, 0], [6, 0.2, 0], [3, 0.1, 0.5], [null, 0, -1], [4, 0.3, -1]] as [number | null, number, number][])
    await check('ReLU', { max_value: m, negative_slope: a, threshold: t }, [3, 5], [3, 5], map(kerasRelu(m, a, t)));
});

test('LeakyReLU (alpha and Keras 3 negative_slope), ELU, Softmax', async () => {
  await check('LeakyReLU', { alpha: 0.1 }, [7], [7], map((v) => (v > 0 ? v : 0.1 * v)));
  const k3 = modelOf([3], 'LeakyReLU', { negative_slope: 0.25 });
  assert.equal((await run(k3, Float32Array.of(-4, 0, 2, -8, 1, 1), [2, 3])).y.slice(0, 3), Float32Array.of(-1, 0, 2));
  await check('ELU', { alpha: 0.5 }, [7], [7], map((v) => (v > 0 ? v : 0.5 * (Math.exp(v) - 1))));
  await check('Softmax', { axis: -1 }, [3, 4], [3, 4], (x) => {
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i += 4) {
      const row = Array.from(x).slice(i, i + 4);
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, j) => (y[i + j] = Math.exp(v - m) / s));
    }
    return y;
  });
});

/** NHWC element (n, h, w, c) of a row-major array. */
const at = (x: ArrayLike<number>, [, H, W, C]: number[], n: number, h: number, w: number, c: number) => x[((n * H + h) * W + w) * C + c];
function image(shape: number[], f: (n: number, h: number, w: number, c: number) => number): Float64Array {
  const [N, H, W, C] = shape;
  const y = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) y[((n * H + h) * W + w) * C + c] = f(n, h, w, c);
  return y;
}

test('ZeroPadding2D and Cropping2D', async () => {
  await check('ZeroPadding2D', { padding: [[1, 2], [0, 3]] }, [4, 3, 2], [7, 6, 2], (x, s) =>
    image([2, 7, 6, 2], (n, h, w, c) => (h >= 1 && h < 5 && w < 3 ? at(x, s, n, h - 1, w, c) : 0)),
  );
  // Keras' short forms: n and [h, w].
  assert.equal(modelOf([4, 3, 2], 'ZeroPadding2D', { padding: 2 }).outputShape, [8, 7, 2]);
  assert.equal(modelOf([4, 3, 2], 'ZeroPadding2D', { padding: [1, 0] }).outputShape, [6, 3, 2]);
  await check('Cropping2D', { cropping: [[1, 0], [2, 1]] }, [5, 6, 3], [4, 3, 3], (x, s) => image([2, 4, 3, 3], (n, h, w, c) => at(x, s, n, h + 1, w + 2, c)));
});

/** tf.image.resize bilinear (half_pixel_centers): source = (o + ½)/s − ½, clamped at 0. */
function bilinear(x: ArrayLike<number>, s: number[], fy: number, fx: number): Float64Array {
  const [, H, W] = s;
  const tap = (o: number, f: number, n: number): [number, number, number] => {
    const src = Math.max((o + 0.5) / f - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), src - i0];
  };
  return image([s[0], H * fy, W * fx, s[3]], (n, h, w, c) => {
    const [y0, y1, dy] = tap(h, fy, H);
    const [x0, x1, dx] = tap(w, fx, W);
    const top = at(x, s, n, y0, x0, c) * (1 - dx) + at(x, s, n, y0, x1, c) * dx;
    const bot = at(x, s, n, y1, x0, c) * (1 - dx) + at(x, s, n, y1, x1, c) * dx;
    return top * (1 - dy) + bot * dy;
  });
}

test('UpSampling2D nearest repeats pixels; bilinear is tf.image.resize with half-pixel centres', async () => {
  await check('UpSampling2D', { size: [2, 3], interpolation: 'nearest' }, [3, 4, 2], [6, 12, 2], (x, s) =>
    image([2, 6, 12, 2], (n, h, w, c) => at(x, s, n, Math.floor(h / 2), Math.floor(w / 3), c)),
  );
  await check('UpSampling2D', { size: [2, 3], interpolation: 'bilinear' }, [3, 4, 2], [6, 12, 2], (x, s) => bilinear(x, s, 2, 3));
  // A hand value: [0, 1] upsampled ×2 is [0, 0.25, 0.75, 1] in TensorFlow.
  const { y } = await run(modelOf([1, 2, 1], 'UpSampling2D', { size: [1, 2], interpolation: 'bilinear' }), Float32Array.of(0, 1, 0, 1), [2, 1, 2, 1]);
  assert.equal(Array.from(y.slice(0, 4)), [0, 0.25, 0.75, 1]);
});

test('Rescaling and Permute', async () => {
  await check('Rescaling', { scale: 1 / 127.5, offset: -1 }, [2, 3], [2, 3], map((v) => v / 127.5 - 1));
  // Per-channel lists (Keras 3, EfficientNet's 1/sqrt(stddev)): broadcast against the last axis.
  const sc = [0.5, -2, 3];
  const of = [1, 0, -0.25];
  await check('Rescaling', { scale: sc, offset: of }, [2, 3], [2, 3], (x) => Float64Array.from(x, (v, i) => v * sc[i % 3] + of[i % 3]));
  await check('Rescaling', { scale: sc, offset: 2 }, [4, 2, 3], [4, 2, 3], (x) => Float64Array.from(x, (v, i) => v * sc[i % 3] + 2));
  assert.throws(() => modelOf([2, 4], 'Rescaling', { scale: sc }), /Rescaling 'l': a list of 3 values does not broadcast against inputs \[2,4\]/);
  await check('Permute', { dims: [2, 3, 1] }, [2, 3, 4], [3, 4, 2], (x) => {
    const y = new Float64Array(x.length);
    for (let n = 0; n < 2; n++)
      for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) y[n * 24 + (b * 4 + c) * 2 + a] = x[n * 24 + (a * 3 + b) * 4 + c];
    return y;
  });
});

test('GlobalAveragePooling2D / GlobalMaxPooling2D with keepdims', async () => {
  const pool = (f: (v: number[]) => number): Ref => (x, s) => image([2, 1, 1, s[3]], (n, _h, _w, c) => {
    const v: number[] = [];
    for (let h = 0; h < s[1]; h++) for (let w = 0; w < s[2]; w++) v.push(at(x, s, n, h, w, c));
    return f(v);
  });
  await check('GlobalAveragePooling2D', { keepdims: true }, [3, 5, 4], [1, 1, 4], pool((v) => v.reduce((a, b) => a + b, 0) / v.length));
  await check('GlobalMaxPooling2D', { keepdims: true }, [3, 5, 4], [1, 1, 4], pool((v) => Math.max(...v)));
  await check('GlobalAveragePooling2D', { keepdims: false }, [3, 5, 4], [4], pool((v) => v.reduce((a, b) => a + b, 0) / v.length));
});

test('SpatialDropout2D and GaussianNoise: identity at inference; channels dropped / noise added in training', async () => {
  await check('SpatialDropout2D', { rate: 0.5 }, [4, 5, 6], [4, 5, 6], map((v) => v));
  await check('GaussianNoise', { stddev: 0.3 }, [4, 5, 6], [4, 5, 6], map((v) => v));
  const shape = [2, 4, 5, 16];
  const x = r.uniform(2 * 4 * 5 * 16, 1, 2);
  const { y } = await run(modelOf([4, 5, 16], 'SpatialDropout2D', { rate: 0.5 }), x, shape, true);
  let dropped = 0;
  for (let n = 0; n < 2; n++)
    for (let c = 0; c < 16; c++) {
      const ratios = new Set<number>();
      for (let h = 0; h < 4; h++) for (let w = 0; w < 5; w++) ratios.add(Math.round((at(y, shape, n, h, w, c) / at(x, shape, n, h, w, c)) * 1e4) / 1e4);
      assert.equal(ratios.size, 1, `channel (${n}, ${c}) is wholly kept or wholly dropped`);
      const [k] = ratios;
      assert.ok(k === 0 || k === 2, `channel (${n}, ${c}) scaled by ${k}`);
      if (k === 0) dropped++;
    }
  assert.ok(dropped > 4 && dropped < 28, `${dropped} of 32 channels dropped at rate 0.5`);
  const big = new Float32Array(20000).fill(1);
  const noisy = (await run(modelOf([20000], 'GaussianNoise', { stddev: 0.3 }), new Float32Array(40000).fill(1), [2, 20000], true)).y;
  const d = Array.from(noisy, (v, i) => v - (big[i % 20000] ?? 1));
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(sd - 0.3) < 0.01, `noise mean ${mean}, sd ${sd}`);
});

test('backward through ReLU (all three options), Cropping2D and bilinear UpSampling2D matches finite differences', async () => {
  const grad = async (className: string, config: object, inShape: number[], ref: Ref) => {
    const model = modelOf(inShape, className, config);
    const shape = [2, ...inShape];
    const x = r.uniform(shape.reduce((a, b) => a * b, 1), -4, 4);
    await checkGrad(className, ([t]) => model.forward(t, { training: false }).output, ([a]) => ref(a, shape), [{ data: x, shape }]);
    model.dispose();
  };
  await grad('ReLU', { max_value: 3, negative_slope: 0.2, threshold: 0.5 }, [3, 5], map(kerasRelu(3, 0.2, 0.5)));
  await grad('Cropping2D', { cropping: [[1, 0], [2, 1]] }, [5, 6, 3], (x, s) => image([2, 4, 3, 3], (n, h, w, c) => at(x, s, n, h + 1, w + 2, c)));
  await grad('UpSampling2D', { size: [2, 3], interpolation: 'bilinear' }, [3, 4, 2], (x, s) => bilinear(x, s, 2, 3));
});

test('hard_sigmoid follows the Keras version of the file', async () => {
  const x = Float32Array.of(-4, -2, 0, 1, 2, 4);
  const k2 = modelOf([6], 'Activation', { activation: 'hard_sigmoid' }, { keras_version: '2.1.4' });
  const k3 = modelOf([6], 'Activation', { activation: 'hard_sigmoid' }, { keras_version: '3.3.3' });
  const want2 = Array.from(x, (v) => Math.min(Math.max(0.2 * v + 0.5, 0), 1));
  const want3 = Array.from(x, (v) => Math.min(Math.max(v + 3, 0), 6) / 6);
  assertClose((await run(k2, Float32Array.from([...x, ...x]), [2, 6])).y.slice(0, 6), want2, { atol: 1e-6, rtol: 0 }, 'Keras 2');
  assertClose((await run(k3, Float32Array.from([...x, ...x]), [2, 6])).y.slice(0, 6), want3, { atol: 1e-6, rtol: 0 }, 'Keras 3');
  // A Keras 2 model's own config written back reads the same function.
  const again = modelFromConfig(k2.toKerasConfig()).build();
  assertClose((await run(again, Float32Array.from([...x, ...x]), [2, 6])).y.slice(0, 6), want2, { atol: 1e-6, rtol: 0 }, 'round trip');
});

test.run();
