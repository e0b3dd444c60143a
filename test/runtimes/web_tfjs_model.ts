// A tiny TF.js layers model for the browser app's test (web.ts), written with the library's
// writeTfjsModel (no GPU in the test process), and its forward pass and Grad-CAM in float64:
//   input 16×16×3 → conv_a 3×3×4 same relu → pool_a 2×2 → conv_b 3×3×6 same → bn_b → relu_b
//   → gap → predictions Dense(3, softmax)
// A Keras 2 functional config (InputLayer first) as tfjs-converter writes it, with the pixels
// recorded in userDefinedMetadata ('tf', so the page must take the record over its own default).

import { join } from 'node:path';
import { writeTfjsModel } from '../../nn/io/tfjs.ts';

export const TINY_H = 16;
export const TINY_W = 16;
export const TINY_CLASSES = 3;
/** Layers the picker must offer (spatial outputs, in model order) and the default (the last conv block's output). */
export const TINY_SPATIAL = ['conv_a', 'pool_a', 'conv_b', 'bn_b', 'relu_b'];
export const TINY_DEFAULT = 'relu_b';
export const TINY_PIXELS = 'tf';
const EPS = 0.001;

const node = (from: string) => [[[from, 0, 0, {}]]];
const conv = (name: string, filters: number, activation: string, from: string) => ({
  class_name: 'Conv2D', name, inbound_nodes: node(from),
  config: { name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation, use_bias: true, data_format: 'channels_last', dilation_rate: [1, 1] },
});
const CONFIG = {
  class_name: 'Model',
  config: {
    name: 'tiny_tfjs',
    layers: [
      { class_name: 'InputLayer', name: 'input_1', inbound_nodes: [], config: { name: 'input_1', batch_input_shape: [null, TINY_H, TINY_W, 3], dtype: 'float32' } },
      conv('conv_a', 4, 'relu', 'input_1'),
      { class_name: 'MaxPooling2D', name: 'pool_a', inbound_nodes: node('conv_a'), config: { name: 'pool_a', pool_size: [2, 2], strides: [2, 2], padding: 'valid', data_format: 'channels_last' } },
      conv('conv_b', 6, 'linear', 'pool_a'),
      { class_name: 'BatchNormalization', name: 'bn_b', inbound_nodes: node('conv_b'), config: { name: 'bn_b', axis: -1, momentum: 0.99, epsilon: EPS, center: true, scale: true } },
      { class_name: 'Activation', name: 'relu_b', inbound_nodes: node('bn_b'), config: { name: 'relu_b', activation: 'relu' } },
      { class_name: 'GlobalAveragePooling2D', name: 'gap', inbound_nodes: node('relu_b'), config: { name: 'gap', data_format: 'channels_last' } },
      { class_name: 'Dense', name: 'predictions', inbound_nodes: node('gap'), config: { name: 'predictions', units: TINY_CLASSES, activation: 'softmax', use_bias: true } },
    ],
    input_layers: [['input_1', 0, 0]],
    output_layers: [['predictions', 0, 0]],
  },
};

/** Deterministic values in [lo, hi] (float32, as stored). */
const values = (n: number, seed: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * (1 + Math.sin(seed * 12.9898 + i * 78.233))) / 2);

const W = {
  convAk: values(3 * 3 * 3 * 4, 1, -0.4, 0.4),
  convAb: values(4, 2, -0.05, 0.15),
  convBk: values(3 * 3 * 4 * 6, 3, -0.35, 0.35),
  convBb: values(6, 4, -0.1, 0.1),
  gamma: values(6, 5, 0.6, 1.4),
  beta: values(6, 6, 0, 0.3),
  mean: values(6, 7, -0.2, 0.2),
  variance: values(6, 8, 0.5, 1.5),
  denseK: values(6 * TINY_CLASSES, 9, -1.5, 1.5),
  denseB: values(TINY_CLASSES, 10, -0.2, 0.2),
};

/** Writes `dir/model.json` and `dir/group1-shard1of1.bin`; returns their paths. */
export function writeTinyTfjs(dir: string): { json: string; shard: string } {
  const weights = [
    { name: 'conv_a/kernel', shape: [3, 3, 3, 4], data: W.convAk },
    { name: 'conv_a/bias', shape: [4], data: W.convAb },
    { name: 'conv_b/kernel', shape: [3, 3, 4, 6], data: W.convBk },
    { name: 'conv_b/bias', shape: [6], data: W.convBb },
    { name: 'bn_b/gamma', shape: [6], data: W.gamma },
    { name: 'bn_b/beta', shape: [6], data: W.beta },
    { name: 'bn_b/moving_mean', shape: [6], data: W.mean },
    { name: 'bn_b/moving_variance', shape: [6], data: W.variance },
    { name: 'predictions/kernel', shape: [6, TINY_CLASSES], data: W.denseK },
    { name: 'predictions/bias', shape: [TINY_CLASSES], data: W.denseB },
  ];
  writeTfjsModel(dir, { modelConfig: { keras_version: '2.2.4', backend: 'tensorflow', model_config: CONFIG }, weights, userDefinedMetadata: { lanterna_preprocessing: { pixels: TINY_PIXELS } } });
  return { json: join(dir, 'model.json'), shard: join(dir, 'group1-shard1of1.bin') };
}

/** 3×3 'same' convolution, HWIO kernel, NHWC single image, float64. */
function conv3(x: Float64Array, h: number, w: number, cin: number, k: Float32Array, b: Float32Array, cout: number): Float64Array {
  const y = new Float64Array(h * w * cout);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let o = 0; o < cout; o++) {
        let s = b[o];
        for (let di = 0; di < 3; di++)
          for (let dj = 0; dj < 3; dj++) {
            const yi = i + di - 1, xj = j + dj - 1;
            if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
            for (let c = 0; c < cin; c++) s += x[(yi * w + xj) * cin + c] * k[((di * 3 + dj) * cin + c) * cout + o];
          }
        y[(i * w + j) * cout + o] = s;
      }
  return y;
}

const relu = (x: Float64Array) => x.map((v) => Math.max(v, 0));

/**
 * Forward of the tiny model on `pixels` (16×16×3, 0..255, 'tf' preprocessed here) in float64:
 * the class probabilities and relu_b's activations A [8, 8, 6].
 */
export function tinyForward64(pixels: ArrayLike<number>): { probs: number[]; A: Float64Array } {
  const x = Float64Array.from(pixels, (v) => v / 127.5 - 1);
  const a = relu(conv3(x, 16, 16, 3, W.convAk, W.convAb, 4));
  const p = new Float64Array(8 * 8 * 4);
  for (let i = 0; i < 8; i++)
    for (let j = 0; j < 8; j++)
      for (let c = 0; c < 4; c++) {
        let m = -Infinity;
        for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) m = Math.max(m, a[((2 * i + di) * 16 + 2 * j + dj) * 4 + c]);
        p[(i * 8 + j) * 4 + c] = m;
      }
  const b = conv3(p, 8, 8, 4, W.convBk, W.convBb, 6);
  const A = relu(b.map((v, n) => ((v - W.mean[n % 6]) / Math.sqrt(W.variance[n % 6] + EPS)) * W.gamma[n % 6] + W.beta[n % 6]));
  const g = Array.from({ length: 6 }, (_, k) => {
    let s = 0;
    for (let n = 0; n < 64; n++) s += A[n * 6 + k];
    return s / 64;
  });
  const z = Array.from({ length: TINY_CLASSES }, (_, j) => W.denseB[j] + g.reduce((s, v, k) => s + v * W.denseK[k * TINY_CLASSES + j], 0));
  const zmax = Math.max(...z);
  const e = z.map((v) => Math.exp(v - zmax));
  const sum = e.reduce((s, v) => s + v, 0);
  return { probs: e.map((v) => v / sum), A };
}

/**
 * Grad-CAM of the softmax output of class `c` at relu_b, in closed form: through GAP and Dense,
 * ∂p_c/∂A_ijk = p_c·Σ_j (δ_cj − p_j)·W[k, j] / 64 at every position, so α_k is that value.
 */
export function tinyGradCam64(probs: number[], A: Float64Array, c: number): Float64Array {
  const alpha = Array.from({ length: 6 }, (_, k) => (probs[c] * probs.reduce((s, pj, j) => s + ((j === c ? 1 : 0) - pj) * W.denseK[k * TINY_CLASSES + j], 0)) / 64);
  return Float64Array.from({ length: 64 }, (_, n) => Math.max(0, alpha.reduce((s, a, k) => s + a * A[n * 6 + k], 0)));
}
