// DenseNet121 (Huang et al. 2017) as keras_applications/densenet.py builds it (Keras 2.2,
// tf.keras 2.x), layer for layer and name for name:
//
//   zero_padding2d_1 conv1/conv (7×7/2, no bias) conv1/bn conv1/relu zero_padding2d_2 pool1 (max 3/2)
//   conv2_block{1..6}:  _0_bn _0_relu _1_conv (1×1, 128) _1_bn _1_relu _2_conv (3×3 same, 32) _concat
//   pool2_bn pool2_relu pool2_conv (1×1, half the channels) pool2_pool (average 2/2)
//   conv3_block{1..12} pool3_… conv4_block{1..24} pool4_… conv5_block{1..16}
//   bn relu, then avg_pool fc1000 (include_top; tf.keras names it 'predictions') or avg_pool / max_pool
//
// Every BatchNormalization has ε = 1.001e-5; no convolution has a bias. 8 062 504 parameters with
// the top, 7 037 504 without. Input ≥ 32×32; preprocessing 'torch' ((x/255 − mean)/std, RGB).
// Weights: keras-applications release 'densenet' (also storage.googleapis.com/tensorflow/
// keras-applications/densenet/): densenet121_weights_tf_dim_ordering_tf_kernels.h5 and …_notop.h5,
// Keras 2 save_weights, where the '/' of 'conv1/conv' makes nested groups:
// /conv1/conv/conv1/conv/kernel:0, /conv1/bn/conv1/bn/gamma:0, …, /conv2_block1_0_bn/
// conv2_block1_0_bn/moving_variance:0, /fc1000/fc1000/kernel:0.

import { apply, input, Model, type SymbolicTensor } from '../model.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { Concatenate } from '../layers/merge.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { Activation } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import { loadAppWeights, randomAppLayers, storedKernel, writeKerasAppWeights, type RandomAppWeightsOptions } from './app_weights_file.ts';
import { registerApplication, type AppOptions } from './registry.ts';

export const DENSENET121_WEIGHTS_FILE = 'densenet121_weights_tf_dim_ordering_tf_kernels.h5';
export const DENSENET121_WEIGHTS_FILE_NOTOP = 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5';

/** Building blocks of the four dense blocks (DenseNet169: 6 12 32 32, DenseNet201: 6 12 48 32). */
export const DENSENET121_BLOCKS = [6, 12, 24, 16] as const;
const GROWTH = 32;

/** Grad-CAM layers: the final ReLU (7×7 at 224) and the input of the last transition (14×14). */
export const DENSENET121_CAM_LAYERS = ['relu', 'pool4_relu'] as const;

/** The names the classifier may have in a file (keras-applications' own, then tf.keras'). */
export function densenet121LayerAliases(name: string): string[] {
  return name === 'fc1000' || name === 'predictions' ? [name, name === 'fc1000' ? 'predictions' : 'fc1000'] : [name];
}

/**
 * keras.applications DenseNet121 with random weights (include_top, pooling, input_shape ≥ 32,
 * classes, classifier_activation as Keras). The model is built; load an official file with
 * `loadDenseNet121Weights`.
 */
export function densenet121(o: AppOptions = {}): Model {
  const s = o.inputShape ?? [224, 224, 3];
  if (s.length !== 3 || !s.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`DenseNet121: inputShape must be [H, W, C] of positive integers, got ${JSON.stringify(o.inputShape)}`);
  if (s[0] < 32 || s[1] < 32) throw new Error(`DenseNet121: input size must be at least 32×32 (Keras' minimum), got ${s[0]}×${s[1]}`);
  const classes = o.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`DenseNet121: classes must be a positive integer, got ${o.classes}`);

  const bn = (x: SymbolicTensor, name: string) => apply(new BatchNormalization(0.99, 1.001e-5, true, true, name), x);
  const relu = (x: SymbolicTensor, name: string) => apply(new Activation('relu', name), x);
  const conv = (x: SymbolicTensor, filters: number, k: number, name: string, strides = 1, padding: 'same' | 'valid' = 'valid') =>
    apply(new Conv2D({ name, filters, kernelSize: k, strides, padding, useBias: false }), x);

  const img = input([s[0], s[1], s[2]], 'input_1');
  let x = apply(new ZeroPadding2D([[3, 3], [3, 3]], 'zero_padding2d_1'), img);
  x = relu(bn(conv(x, 64, 7, 'conv1/conv', 2), 'conv1/bn'), 'conv1/relu');
  x = apply(new ZeroPadding2D([[1, 1], [1, 1]], 'zero_padding2d_2'), x);
  x = apply(new MaxPooling2D({ poolSize: 3, strides: 2, name: 'pool1' }), x);
  let channels = 64;
  DENSENET121_BLOCKS.forEach((blocks, i) => {
    for (let b = 1; b <= blocks; b++) {
      const pre = `conv${i + 2}_block${b}`;
      let y = relu(bn(x, `${pre}_0_bn`), `${pre}_0_relu`);
      y = relu(bn(conv(y, 4 * GROWTH, 1, `${pre}_1_conv`), `${pre}_1_bn`), `${pre}_1_relu`);
      y = conv(y, GROWTH, 3, `${pre}_2_conv`, 1, 'same');
      x = apply(new Concatenate(3, `${pre}_concat`), x, y);
      channels += GROWTH;
    }
    if (i < 3) {
      const pre = `pool${i + 2}`;
      channels = Math.floor(channels * 0.5);
      x = conv(relu(bn(x, `${pre}_bn`), `${pre}_relu`), channels, 1, `${pre}_conv`);
      x = apply(new AveragePooling2D({ poolSize: 2, strides: 2, name: `${pre}_pool` }), x);
    }
  });
  x = relu(bn(x, 'bn'), 'relu');
  if (o.includeTop ?? true) {
    x = apply(new GlobalAveragePooling2D({ name: 'avg_pool' }), x);
    x = apply(new Dense({ name: 'fc1000', units: classes, activation: o.classifierActivation ?? 'softmax' }), x);
  } else if (o.pooling === 'avg') x = apply(new GlobalAveragePooling2D({ name: 'avg_pool' }), x);
  else if (o.pooling === 'max') x = apply(new GlobalMaxPooling2D({ name: 'max_pool' }), x);
  return new Model({ inputs: img, outputs: x, name: 'densenet121' });
}

/**
 * The options an official DenseNet121 file was made for (top, classes, input channels), from its
 * layer names and shapes; null when it is not DenseNet121 (DenseNet169 / 201 have more blocks in
 * conv4 or conv5).
 */
export function recogniseDenseNet121(file: KerasFile): AppOptions | null {
  const has = (n: string) => file.layers.some((l) => l.name === n && l.weights.length > 0);
  const k = storedKernel(file, 'conv1/conv');
  if (!k || k.length !== 4 || k[0] !== 7 || k[1] !== 7 || k[3] !== 64) return null;
  const [b3, b4, b5] = DENSENET121_BLOCKS.slice(1);
  for (const [stage, n] of [[3, b3], [4, b4], [5, b5]])
    if (!has(`conv${stage}_block${n}_2_conv`) || has(`conv${stage}_block${n + 1}_1_conv`)) return null;
  if (!has('bn')) return null;
  const inputShape: [number, number, number] = [224, 224, k[2]];
  const t = ['fc1000', 'predictions'].map((n) => storedKernel(file, n)).find((s) => s && s.length === 2);
  return t ? { includeTop: true, classes: t[1], inputShape } : { includeTop: false, inputShape };
}

/** Copies an official DenseNet121 file into `model`; one-line errors naming the file, layer and shapes. */
export function loadDenseNet121Weights(model: Model, file: KerasFile, path: string): void {
  loadAppWeights(model, file, path, 'DenseNet121', densenet121LayerAliases);
}

export interface RandomDenseNet121Options extends AppOptions, RandomAppWeightsOptions {}

/** `randomAppLayers` of `densenet121(o)` (built and disposed here), in model order. */
export function randomDenseNet121Layers(o: RandomDenseNet121Options = {}): KerasLayerWeights[] {
  const m = densenet121(o);
  try {
    return randomAppLayers(m, o);
  } finally {
    m.dispose();
  }
}

/** Writes seeded random weights for `densenet121(o)` in the layout of keras-applications' file. Deterministic. */
export async function writeRandomDenseNet121Weights(path: string, o: RandomDenseNet121Options = {}): Promise<void> {
  await writeKerasAppWeights(path, randomDenseNet121Layers(o));
}

registerApplication({
  name: 'densenet121',
  kerasName: 'DenseNet121',
  pixels: 'torch',
  size: 224,
  build: (o) => densenet121(o),
  recognise: recogniseDenseNet121,
  loadWeights: loadDenseNet121Weights,
  gradCamLayers: DENSENET121_CAM_LAYERS,
});
