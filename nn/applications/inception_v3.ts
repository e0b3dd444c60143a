// Inception v3 (Szegedy et al. 2016) as keras.applications.InceptionV3 builds it (keras_applications
// 1.0.8, inception_v3.py), layer for layer and name for name. Every convolution is conv2d_bn: a
// bias-free Conv2D, BatchNormalization(scale=False, ε = 1e-3) and a ReLU Activation, all named
// automatically (conv2d_N, batch_normalization_N, activation_N from 1, as Keras 2.0–2.2 count them
// in a fresh session; tf.keras starts at conv2d):
//
//   stem       32 3×3 s2 valid, 32 3×3 valid, 64 3×3, max-pool 3×3 s2, 80 1×1 valid, 192 3×3 valid,
//              max-pool 3×3 s2
//   mixed0–2   35×35: 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | avg-pool 3×3 s1 same→1×1, concatenated
//   mixed3     17×17 reduction: 3×3 s2 | 1×1→3×3→3×3 s2 | max-pool 3×3 s2
//   mixed4–7   17×17: 1×1 | 1×1→1×7→7×1 | 1×1→7×1→1×7→7×1→1×7 | avg-pool→1×1
//   mixed8     8×8 reduction: 1×1→3×3 s2 | 1×1→1×7→7×1→3×3 s2 | max-pool
//   mixed9, 10 8×8: 1×1 | 1×1→(1×3 ‖ 3×1) (mixed9_0 / mixed9_1) | 1×1→3×3→(1×3 ‖ 3×1)
//              (concatenate_1 / _2) | avg-pool→1×1
//   top        avg_pool (GlobalAveragePooling2D), predictions (Dense 1000 softmax)
//
// 23 851 784 parameters with the top, 21 802 784 without. Input ≥ 75×75, default 299×299, pixels
// x/127.5 − 1 ('tf'). Average pools with 'same' padding divide by the taps inside the image, as TF.
//
// The official weights (fchollet/deep-learning-models release v0.5,
// inception_v3_weights_tf_dim_ordering_tf_kernels.h5 and …_notop.h5) are Keras 2.0 save_weights
// files (weights_file.ts 'keras2'): groups conv2d_N / batch_normalization_N / predictions with
// datasets conv2d_1/conv2d_1/kernel:0, batch_normalization_1/batch_normalization_1/beta:0,
// moving_mean:0, moving_variance:0 (no gamma: scale=False), in layer_names' topological order. The
// names are this file's, so they load by name (and by order, as Keras does: the same match).
// Grad-CAM (and CAM) default to mixed10, the last block, which the global average pooling reads
// (8×8 at 299); the finer layer is mixed7 (17×17), the last block before the 8×8 reduction.

import { Conv2D } from '../layers/conv2d.ts';
import { Concatenate } from '../layers/merge.ts';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { Activation } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { recogniseByStem, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { seededAppLayers, uniformFanIn } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

export const INCEPTION_V3_WEIGHTS_FILE = 'inception_v3_weights_tf_dim_ordering_tf_kernels.h5';
export const INCEPTION_V3_NOTOP_WEIGHTS_FILE = 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5';
export const INCEPTION_V3_MIN_SIZE = 75;
export const INCEPTION_V3_GRAD_CAM_LAYERS = ['mixed10', 'mixed7'] as const;
const MATCH: MatchOptions = { what: 'InceptionV3', topLayers: ['predictions'] };

/** The architecture for these options, unbuilt (app_graph.ts), in Keras' creation order. */
export function describeInceptionV3(options: AppOptions = {}): AppGraph {
  const o = appOptions('InceptionV3', options, { size: 299, minSize: INCEPTION_V3_MIN_SIZE });
  const g = new AppGraph('inception_v3');
  const n = { conv: 0, avg: 0, max: 0, cat: 0 };
  const convBn = (x: AppTensor, filters: number, rows: number, cols: number, padding: 'same' | 'valid' = 'same', strides = 1) => {
    const k = ++n.conv;
    x = g.call(new Conv2D({ name: `conv2d_${k}`, filters, kernelSize: [rows, cols], strides, padding, useBias: false }), x);
    x = g.call(new BatchNormalization(0.99, 1e-3, true, false, `batch_normalization_${k}`), x);
    return g.call(new Activation('relu', `activation_${k}`), x);
  };
  const avgPool = (x: AppTensor) => g.call(new AveragePooling2D({ name: `average_pooling2d_${++n.avg}`, poolSize: 3, strides: 1, padding: 'same' }), x);
  const maxPool = (x: AppTensor) => g.call(new MaxPooling2D({ name: `max_pooling2d_${++n.max}`, poolSize: 3, strides: 2, padding: 'valid' }), x);
  const concat = (name: string, xs: AppTensor[]) => g.call(new Concatenate(-1, name), ...xs);

  let x = convBn(g.input([...o.inputShape]), 32, 3, 3, 'valid', 2);
  x = convBn(x, 32, 3, 3, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 'valid');
  x = maxPool(x);
  for (const [i, pool] of [32, 64, 64].entries()) {
    const b1 = convBn(x, 64, 1, 1);
    const b5 = convBn(convBn(x, 48, 1, 1), 64, 5, 5);
    const b3 = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = convBn(avgPool(x), pool, 1, 1);
    x = concat(`mixed${i}`, [b1, b5, b3, bp]);
  }
  {
    const b3 = convBn(x, 384, 3, 3, 'valid', 2);
    const bd = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    x = concat('mixed3', [b3, bd, maxPool(x)]);
  }
  for (const [i, c] of [128, 160, 160, 192].entries()) {
    const b1 = convBn(x, 192, 1, 1);
    const b7 = convBn(convBn(convBn(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    let bd = convBn(x, c, 1, 1);
    bd = convBn(convBn(convBn(convBn(bd, c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat(`mixed${4 + i}`, [b1, b7, bd, bp]);
  }
  {
    const b3 = convBn(convBn(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    const b7 = convBn(convBn(convBn(convBn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2);
    x = concat('mixed8', [b3, b7, maxPool(x)]);
  }
  for (let i = 0; i < 2; i++) {
    const b1 = convBn(x, 320, 1, 1);
    const b3 = convBn(x, 384, 1, 1);
    const b3x = concat(`mixed9_${i}`, [convBn(b3, 384, 1, 3), convBn(b3, 384, 3, 1)]);
    const bd = convBn(convBn(x, 448, 1, 1), 384, 3, 3);
    const bdx = concat(`concatenate_${++n.cat}`, [convBn(bd, 384, 1, 3), convBn(bd, 384, 3, 1)]);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat(`mixed${9 + i}`, [b1, b3x, bdx, bp]);
  }
  return g.top(x, o, { pool: 'avg_pool', avg: 'global_average_pooling2d_1', max: 'global_max_pooling2d_1' });
}

/** An InceptionV3 with random weights (the layers' own initialisers). */
export function inceptionV3(o: AppOptions = {}): Model {
  return describeInceptionV3(o).build();
}

export interface RandomInceptionV3Options extends RandomWeightsOptions {
  kerasVersion?: string;
}

/** Seeded weights (uniformFanIn; seed 1 by default) for `inceptionV3(o)`, every layer in Keras' model.layers order. */
export function randomInceptionV3Layers(o: RandomInceptionV3Options = {}): KerasLayerWeights[] {
  return seededAppLayers(describeInceptionV3(o), o.seed ?? 1, uniformFanIn);
}

/** Writes `randomInceptionV3Layers(o)` as inception_v3_weights_tf_dim_ordering_tf_kernels(_notop).h5 lies (Keras 2.0 layout). */
export async function writeRandomInceptionV3Weights(path: string, o: RandomInceptionV3Options = {}): Promise<void> {
  await writeAppWeights(path, randomInceptionV3Layers(o), { style: 'keras2', kerasVersion: o.kerasVersion ?? '2.0.2' });
}

/** Options of an InceptionV3 weights file (top or not, classes, input channels), or null. */
export function recogniseInceptionV3(file: KerasFile): AppOptions | null {
  return recogniseByStem(file, 'conv2d_1', 299, describeInceptionV3, MATCH);
}

export const inceptionV3App = registerApplication({
  name: 'inception_v3',
  kerasName: 'InceptionV3',
  pixels: 'tf',
  size: 299,
  build: inceptionV3,
  recognise: recogniseInceptionV3,
  match: MATCH,
  gradCamLayers: INCEPTION_V3_GRAD_CAM_LAYERS,
  writeRandomWeights: writeRandomInceptionV3Weights,
});
