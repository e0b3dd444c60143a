// MobileNet v1 (Howard et al. 2017) as keras.applications.MobileNet builds it in tf.keras 2.x and
// Keras 3, layer for layer and name for name:
//
//   conv1 (3×3 'same', stride 2, no bias) conv1_bn conv1_relu (ReLU 6)           int(32α) filters
//   13 blocks: [conv_pad_N (0,1)(0,1) and 'valid' when stride 2]
//     conv_dw_N (3×3 depthwise) conv_dw_N_bn conv_dw_N_relu conv_pw_N (1×1) conv_pw_N_bn conv_pw_N_relu
//     pointwise filters int(f·α), f = 64 128 128 256 256 512 ×6 1024 1024; stride 2 at 2, 4, 6, 12
//   top: global_average_pooling2d (keepdims) dropout (1e-3) conv_preds (1×1, bias)
//        reshape_2 (classes) predictions (Activation softmax)
//
// BatchNormalization has Keras' defaults (epsilon 1e-3). 4 253 864 parameters at α = 1 with the
// top, 3 228 864 without; any input from 32×32 up.
//
// Official weights: `mobilenet_{1_0|7_5|5_0|2_5}_{224|192|160|128}_tf.h5` and `…_tf_no_top.h5`
// (fchollet/deep-learning-models release v0.6), written by Keras 2.0.4's save_weights: the
// Keras 2.0 model (no padding layers, Activation('relu6') under the ReLU names, the top as
// global_average_pooling2d_1 reshape_1 dropout conv_preds act_softmax reshape_2; the no_top file
// ends in global_average_pooling2d_1 too). The layers with weights have the same names in both
// Keras versions, so the files load by name.

import { Conv2D } from '../layers/conv2d.ts';
import { DepthwiseConv2D } from '../layers/depthwise.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { GlobalAveragePooling2D } from '../layers/pooling.ts';
import { BatchNormalization, Dropout } from '../layers/regularization.ts';
import { ReLU } from '../layers/activation_layers.ts';
import { Activation, Reshape } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { fileFits, fileShape, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { heSymmetric, seededAppLayers } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

export interface MobileNetOptions extends AppOptions {
  /** Depthwise channel multiplier (Keras' depth_multiplier); default 1. */
  depthMultiplier?: number;
  /** Rate of the Dropout before conv_preds; default 1e-3. */
  dropout?: number;
}

/** The widths of the official weights files. */
export const MOBILENET_ALPHAS = [0.25, 0.5, 0.75, 1.0] as const;
/** Pointwise filters and stride of blocks 1–13. */
const BLOCKS: readonly [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];
const MATCH: MatchOptions = { what: 'MobileNet', topLayers: ['conv_preds'], extraLayers: true };

/** The official file name for these options: mobilenet_2_5_224_tf_no_top.h5, … */
export function mobilenetWeightsFile(alpha: number, rows: number, includeTop: boolean): string {
  const text = alpha === 1 ? '1_0' : alpha === 0.75 ? '7_5' : alpha === 0.5 ? '5_0' : '2_5';
  return `mobilenet_${text}_${rows}_tf${includeTop ? '' : '_no_top'}.h5`;
}

/** The architecture for these options, unbuilt (app_graph.ts). */
export function describeMobileNet(options: MobileNetOptions = {}): AppGraph {
  const o = appOptions('MobileNet', options, { size: 224, alpha: true });
  const alpha = options.alpha ?? 1;
  const dm = options.depthMultiplier ?? 1;
  if (!(alpha > 0) || Math.trunc(32 * alpha) < 1) throw new Error(`MobileNet: alpha must be positive (32·alpha ≥ 1), got ${alpha}`);
  const g = new AppGraph(`mobilenet_${alpha.toFixed(2)}_${o.inputShape[0]}`);
  let x = g.input([...o.inputShape]);
  const bn = (name: string, t: AppTensor) => g.call(new BatchNormalization(0.99, 1e-3, true, true, name), t);
  const relu6 = (name: string, t: AppTensor) => g.call(new ReLU(6, 0, 0, name), t);
  x = g.call(new Conv2D({ name: 'conv1', filters: Math.trunc(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x);
  x = relu6('conv1_relu', bn('conv1_bn', x));
  BLOCKS.forEach(([f, s], i) => {
    const id = i + 1;
    if (s === 2) x = g.call(new ZeroPadding2D([[0, 1], [0, 1]], `conv_pad_${id}`), x);
    x = g.call(new DepthwiseConv2D({ name: `conv_dw_${id}`, kernelSize: 3, strides: s, padding: s === 1 ? 'same' : 'valid', depthMultiplier: dm, useBias: false }), x);
    x = relu6(`conv_dw_${id}_relu`, bn(`conv_dw_${id}_bn`, x));
    x = g.call(new Conv2D({ name: `conv_pw_${id}`, filters: Math.trunc(f * alpha), kernelSize: 1, padding: 'same', useBias: false }), x);
    x = relu6(`conv_pw_${id}_relu`, bn(`conv_pw_${id}_bn`, x));
  });
  // The classifier is a 1×1 convolution on the kept-dims average, reshaped, then the activation.
  const custom = (t: AppTensor) => {
    t = g.call(new GlobalAveragePooling2D({ name: 'global_average_pooling2d', keepdims: true }), t);
    t = g.call(new Dropout(options.dropout ?? 1e-3, 'dropout'), t);
    t = g.call(new Conv2D({ name: 'conv_preds', filters: o.classes, kernelSize: 1, padding: 'same' }), t);
    return g.call(new Activation(o.classifierActivation, 'predictions'), g.call(new Reshape([o.classes], 'reshape_2'), t));
  };
  return g.top(x, o, { avg: 'global_average_pooling2d', max: 'global_max_pooling2d', custom });
}

/** keras.applications.MobileNet(weights=None, …): built, with random (Glorot) weights. */
export function mobilenet(o: MobileNetOptions = {}): Model {
  return describeMobileNet(o).build();
}

/** The layer list of the official file (Keras 2.0.4 names), with `weights` for the weighted ones. */
function officialLayers(includeTop: boolean, weights: Map<string, KerasLayerWeights>): KerasLayerWeights[] {
  const names = ['input_1', 'conv1', 'conv1_bn', 'conv1_relu'];
  for (let id = 1; id <= 13; id++) for (const p of ['dw', 'pw']) names.push(`conv_${p}_${id}`, `conv_${p}_${id}_bn`, `conv_${p}_${id}_relu`);
  names.push('global_average_pooling2d_1');
  if (includeTop) names.push('reshape_1', 'dropout', 'conv_preds', 'act_softmax', 'reshape_2');
  return names.map((n) => weights.get(n) ?? { name: n, weights: [] });
}

/**
 * Seeded random weights (heSymmetric, the classifier × 0.5; seed 20170417 by default) for
 * `mobilenet(o)` in the layout of Keras' official file (layer names of the Keras 2.0 model,
 * weightless layers listed).
 */
export function randomMobileNetLayers(o: MobileNetOptions & RandomWeightsOptions = {}): KerasLayerWeights[] {
  const w = seededAppLayers(describeMobileNet(o), o.seed ?? 20170417, heSymmetric({ scale: { conv_preds: 0.5 } }));
  return officialLayers(o.includeTop ?? true, new Map(w.map((l) => [l.name, l])));
}

/** Writes randomMobileNetLayers(o) as Keras 2.0.4's save_weights wrote mobilenet_*_tf(_no_top).h5. */
export async function writeRandomMobileNetWeights(path: string, o: MobileNetOptions & RandomWeightsOptions = {}): Promise<void> {
  await writeAppWeights(path, randomMobileNetLayers(o), { style: 'keras2', kerasVersion: '2.0.4' });
}

/**
 * The options of an official MobileNet file (or one in its layout): alpha from conv1's filters,
 * the top and classes from conv_preds, checked against every layer's shapes. Null otherwise.
 */
export function recogniseMobileNet(file: KerasFile): MobileNetOptions | null {
  const k = fileShape(file, 'conv1');
  const dw = fileShape(file, 'conv_dw_1');
  if (!k || k.length !== 4 || !dw || dw.length !== 4 || !fileShape(file, 'conv_pw_13')) return null;
  const preds = fileShape(file, 'conv_preds');
  for (const alpha of MOBILENET_ALPHAS) {
    if (Math.trunc(32 * alpha) !== k[3]) continue;
    const o: MobileNetOptions = preds ? { alpha, includeTop: true, classes: preds[3], depthMultiplier: dw[3] } : { alpha, includeTop: false, depthMultiplier: dw[3] };
    if (o.depthMultiplier === 1) delete o.depthMultiplier;
    if (fileFits(file, describeMobileNet(o).weightShapes(), MATCH)) return o;
  }
  return null;
}

registerApplication({
  name: 'mobilenet',
  kerasName: 'MobileNet',
  pixels: 'tf',
  size: 224,
  build: (o) => mobilenet(o),
  recognise: recogniseMobileNet,
  match: MATCH,
  gradCamLayers: ['conv_pw_13_relu', 'conv_pw_11_relu'],
  writeRandomWeights: writeRandomMobileNetWeights,
});
