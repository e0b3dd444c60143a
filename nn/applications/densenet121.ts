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

import type { Model } from '../model.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { Concatenate } from '../layers/merge.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { Activation } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { fileHas, fileShape, loadAppWeights, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { heResidual, seededAppLayers } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

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

const MATCH: MatchOptions = { what: 'DenseNet121', aliases: (n) => densenet121LayerAliases(n).slice(1), extraLayers: true, byOrder: false };

/**
 * The architecture for these options (include_top, pooling, input_shape ≥ 32, classes,
 * classifier_activation as Keras), unbuilt (app_graph.ts).
 */
export function describeDenseNet121(options: AppOptions = {}): AppGraph {
  const o = appOptions('DenseNet121', options, { size: 224 });
  const g = new AppGraph('densenet121');
  const bn = (x: AppTensor, name: string) => g.call(new BatchNormalization(0.99, 1.001e-5, true, true, name), x);
  const relu = (x: AppTensor, name: string) => g.call(new Activation('relu', name), x);
  const conv = (x: AppTensor, filters: number, k: number, name: string, strides = 1, padding: 'same' | 'valid' = 'valid') =>
    g.call(new Conv2D({ name, filters, kernelSize: k, strides, padding, useBias: false }), x);

  let x = g.call(new ZeroPadding2D([[3, 3], [3, 3]], 'zero_padding2d_1'), g.input([...o.inputShape]));
  x = relu(bn(conv(x, 64, 7, 'conv1/conv', 2), 'conv1/bn'), 'conv1/relu');
  x = g.call(new ZeroPadding2D([[1, 1], [1, 1]], 'zero_padding2d_2'), x);
  x = g.call(new MaxPooling2D({ poolSize: 3, strides: 2, name: 'pool1' }), x);
  let channels = 64;
  DENSENET121_BLOCKS.forEach((blocks, i) => {
    for (let b = 1; b <= blocks; b++) {
      const pre = `conv${i + 2}_block${b}`;
      let y = relu(bn(x, `${pre}_0_bn`), `${pre}_0_relu`);
      y = relu(bn(conv(y, 4 * GROWTH, 1, `${pre}_1_conv`), `${pre}_1_bn`), `${pre}_1_relu`);
      y = conv(y, GROWTH, 3, `${pre}_2_conv`, 1, 'same');
      x = g.call(new Concatenate(3, `${pre}_concat`), x, y);
      channels += GROWTH;
    }
    if (i < 3) {
      const pre = `pool${i + 2}`;
      channels = Math.floor(channels * 0.5);
      x = conv(relu(bn(x, `${pre}_bn`), `${pre}_relu`), channels, 1, `${pre}_conv`);
      x = g.call(new AveragePooling2D({ poolSize: 2, strides: 2, name: `${pre}_pool` }), x);
    }
  });
  x = relu(bn(x, 'bn'), 'relu');
  return g.top(x, o, { avg: 'avg_pool', max: 'max_pool', dense: 'fc1000' });
}

/** keras.applications DenseNet121 with random weights; load an official file with `loadDenseNet121Weights`. */
export function densenet121(o: AppOptions = {}): Model {
  return describeDenseNet121(o).build();
}

/**
 * The options an official DenseNet121 file was made for (top, classes, input channels), from its
 * layer names and shapes; null when it is not DenseNet121 (DenseNet169 / 201 have more blocks in
 * conv4 or conv5).
 */
export function recogniseDenseNet121(file: KerasFile): AppOptions | null {
  const has = (n: string) => fileHas(file, n);
  const k = fileShape(file, 'conv1/conv');
  if (!k || k.length !== 4 || k[0] !== 7 || k[1] !== 7 || k[3] !== 64) return null;
  const [b3, b4, b5] = DENSENET121_BLOCKS.slice(1);
  for (const [stage, n] of [[3, b3], [4, b4], [5, b5]])
    if (!has(`conv${stage}_block${n}_2_conv`) || has(`conv${stage}_block${n + 1}_1_conv`)) return null;
  if (!has('bn')) return null;
  const inputShape: [number, number, number] = [224, 224, k[2]];
  const t = ['fc1000', 'predictions'].map((n) => fileShape(file, n)).find((s) => s && s.length === 2);
  return t ? { includeTop: true, classes: t[1], inputShape } : { includeTop: false, inputShape };
}

/** Copies an official DenseNet121 file into `model`; one-line errors naming the file, layer and shapes. */
export function loadDenseNet121Weights(model: Model, file: KerasFile, path: string): void {
  loadAppWeights(model, file, path, MATCH);
}

/** Seeded random weights (heResidual, no scaling; seed 12345 by default) for `densenet121(o)`, in model order. */
export function randomDenseNet121Layers(o: RandomWeightsOptions = {}): KerasLayerWeights[] {
  return seededAppLayers(describeDenseNet121(o), o.seed ?? 12345, heResidual());
}

/** Writes randomDenseNet121Layers(o) in the layout of keras-applications' file ('/' in names nesting the groups). */
export async function writeRandomDenseNet121Weights(path: string, o: RandomWeightsOptions = {}): Promise<void> {
  await writeAppWeights(path, randomDenseNet121Layers(o), { style: 'keras2', kerasVersion: '2.2.4' });
}

registerApplication({
  name: 'densenet121',
  kerasName: 'DenseNet121',
  pixels: 'torch',
  size: 224,
  build: (o) => densenet121(o),
  recognise: recogniseDenseNet121,
  match: MATCH,
  gradCamLayers: DENSENET121_CAM_LAYERS,
  writeRandomWeights: writeRandomDenseNet121Weights,
});
