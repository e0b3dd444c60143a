// Xception (Chollet 2017) as keras.applications.Xception builds it (keras_applications 1.0.8,
// xception.py), layer for layer and name for name:
//
//   entry flow   block1_conv1 (32, 3×3 s2 valid) block1_conv2 (64, 3×3 valid), each + _bn + _act;
//                blocks 2–4: residual conv2d_k (1×1 s2 same) + batch_normalization_k beside
//                [relu] sepconv1 bn relu sepconv2 bn, max-pool 3×3 s2 same, add_k
//                (128, 256, 728 filters; block 2 starts without the relu)
//   middle flow  blocks 5–12: 3 × (relu, 728-filter separable conv, bn), add with the block input
//   exit flow    block 13: residual 1024 beside relu sepconv 728 bn relu sepconv 1024 bn pool, add;
//                block14_sepconv1 (1536) bn act, block14_sepconv2 (2048) bn act
//   top          avg_pool (GlobalAveragePooling2D), predictions (Dense 1000 softmax)
//
// Every convolution is bias-free and 'same'-padded except the first two (valid); BatchNormalization
// has Keras' default ε = 1e-3. The layers Keras names automatically (the four residual convs and
// BNs, the twelve adds, the no-top pooling) carry the names a fresh Keras 2.2 session gives them
// (conv2d_1, batch_normalization_1, add_1, global_average_pooling2d_1; tf.keras starts at conv2d).
// 22 910 480 parameters with the top, 20 861 480 without. Input ≥ 71×71, default 299×299,
// pixels x/127.5 − 1 ('tf').
//
// The official weights (fchollet/deep-learning-models release v0.4,
// xception_weights_tf_dim_ordering_tf_kernels.h5 and …_notop.h5) were written by Keras 1 with its
// automatic names: convolution2d_N, separableconvolution2d_N, batchnormalization_N, dense_2, counted
// in creation order (so block2's residual is convolution2d_3 / batchnormalization_3, created before
// block2_sepconv1 = separableconvolution2d_1), listed in `layer_names` in Keras' topological order,
// with root attribute layer_names only (see weights_file.ts for the datasets). Keras 2 cannot match
// them by name (keras-team/keras#7006, #9683) and loads them by order; so do we. Grad-CAM (and CAM)
// default to block14_sepconv2_act, the last conv block's output that the global average pooling
// reads (10×10 at 299); the finer layer is block13_sepconv1_act (19×19), the middle flow's output.

import { Conv2D } from '../layers/conv2d.ts';
import { Add } from '../layers/merge.ts';
import { MaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { SeparableConv2D } from '../layers/separable.ts';
import { Activation } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { recogniseByStem, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { seededAppLayers, uniformFanIn } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

export const XCEPTION_WEIGHTS_FILE = 'xception_weights_tf_dim_ordering_tf_kernels.h5';
export const XCEPTION_NOTOP_WEIGHTS_FILE = 'xception_weights_tf_dim_ordering_tf_kernels_notop.h5';
export const XCEPTION_MIN_SIZE = 71;
export const XCEPTION_GRAD_CAM_LAYERS = ['block14_sepconv2_act', 'block13_sepconv1_act'] as const;
const MATCH: MatchOptions = { what: 'Xception', topLayers: ['predictions'] };

/** The architecture for these options, unbuilt (app_graph.ts), in Keras' creation order. */
export function describeXception(options: AppOptions = {}): AppGraph {
  const o = appOptions('Xception', options, { size: 299, minSize: XCEPTION_MIN_SIZE });
  const g = new AppGraph('xception');
  const conv = (name: string, x: AppTensor, filters: number, k: number, strides: number, padding: 'same' | 'valid') =>
    g.call(new Conv2D({ name, filters, kernelSize: k, strides, padding, useBias: false }), x);
  const sep = (name: string, x: AppTensor, filters: number) => g.call(new SeparableConv2D({ name, filters, kernelSize: 3, padding: 'same', useBias: false }), x);
  const bn = (name: string, x: AppTensor) => g.call(new BatchNormalization(0.99, 1e-3, true, true, name), x);
  const relu = (name: string, x: AppTensor) => g.call(new Activation('relu', name), x);
  let res = 0;
  let adds = 0;

  let x = relu('block1_conv1_act', bn('block1_conv1_bn', conv('block1_conv1', g.input([...o.inputShape]), 32, 3, 2, 'valid')));
  x = relu('block1_conv2_act', bn('block1_conv2_bn', conv('block1_conv2', x, 64, 3, 1, 'valid')));
  // Blocks 2–4 and 13: a strided 1×1 residual beside two separable convolutions and a max-pool.
  const down = (b: number, f1: number, f2: number, firstRelu: boolean) => {
    res++;
    const r = bn(`batch_normalization_${res}`, conv(`conv2d_${res}`, x, f2, 1, 2, 'same'));
    let y = firstRelu ? relu(`block${b}_sepconv1_act`, x) : x;
    y = bn(`block${b}_sepconv1_bn`, sep(`block${b}_sepconv1`, y, f1));
    y = bn(`block${b}_sepconv2_bn`, sep(`block${b}_sepconv2`, relu(`block${b}_sepconv2_act`, y), f2));
    y = g.call(new MaxPooling2D({ name: `block${b}_pool`, poolSize: 3, strides: 2, padding: 'same' }), y);
    x = g.call(new Add(`add_${++adds}`), y, r);
  };
  down(2, 128, 128, false);
  down(3, 256, 256, true);
  down(4, 728, 728, true);
  for (let b = 5; b <= 12; b++) {
    let y = x;
    for (let k = 1; k <= 3; k++) y = bn(`block${b}_sepconv${k}_bn`, sep(`block${b}_sepconv${k}`, relu(`block${b}_sepconv${k}_act`, y), 728));
    x = g.call(new Add(`add_${++adds}`), y, x);
  }
  down(13, 728, 1024, true);
  x = relu('block14_sepconv1_act', bn('block14_sepconv1_bn', sep('block14_sepconv1', x, 1536)));
  x = relu('block14_sepconv2_act', bn('block14_sepconv2_bn', sep('block14_sepconv2', x, 2048)));
  return g.top(x, o, { pool: 'avg_pool', avg: 'global_average_pooling2d_1', max: 'global_max_pooling2d_1' });
}

/** An Xception with random weights (the layers' own initialisers). */
export function xception(o: AppOptions = {}): Model {
  return describeXception(o).build();
}

/** Keras 1's class names, the stem of its automatic layer names. */
const KERAS1_PREFIX: Record<string, string> = {
  Conv2D: 'convolution2d',
  SeparableConv2D: 'separableconvolution2d',
  BatchNormalization: 'batchnormalization',
  Activation: 'activation',
  MaxPooling2D: 'maxpooling2d',
  Add: 'merge',
  GlobalAveragePooling2D: 'globalaveragepooling2d',
  GlobalMaxPooling2D: 'globalmaxpooling2d',
  Dense: 'dense',
};

/**
 * Keras 2 name → the name Keras 1 gave the same layer in the official file: its class's automatic
 * name, counted in creation order from 1 (the input is input_1), except the classifier, which is
 * dense_2 there.
 */
export function xceptionKeras1Names(g: AppGraph): Map<string, string> {
  const counts = new Map<string, number>();
  const out = new Map<string, string>([[g.inputName, 'input_1']]);
  for (const l of g.created()) {
    const p = KERAS1_PREFIX[l.className];
    const n = (counts.get(p) ?? 0) + 1;
    counts.set(p, n);
    out.set(l.name, p === 'dense' ? 'dense_2' : `${p}_${n}`);
  }
  return out;
}

/**
 * Seeded weights (uniformFanIn; seed 1 by default) for `xception(o)` in the official file's
 * layout: Keras 1 names, every layer (input and weightless ones too) in Keras' model.layers order.
 */
export function randomXceptionLayers(o: RandomWeightsOptions = {}): KerasLayerWeights[] {
  const g = describeXception(o);
  const k1 = xceptionKeras1Names(g);
  return seededAppLayers(g, o.seed ?? 1, uniformFanIn).map((l) => ({ ...l, name: k1.get(l.name)! }));
}

/** Writes `randomXceptionLayers(o)` as xception_weights_tf_dim_ordering_tf_kernels(_notop).h5 lies (Keras 1 layout). */
export async function writeRandomXceptionWeights(path: string, o: RandomWeightsOptions = {}): Promise<void> {
  await writeAppWeights(path, randomXceptionLayers(o), { style: 'keras1' });
}

/** Options of an Xception weights file (top or not, classes, input channels), or null. */
export function recogniseXception(file: KerasFile): AppOptions | null {
  return recogniseByStem(file, 'block1_conv1', 299, describeXception, MATCH);
}

export const xceptionApp = registerApplication({
  name: 'xception',
  kerasName: 'Xception',
  pixels: 'tf',
  size: 299,
  build: xception,
  recognise: recogniseXception,
  match: MATCH,
  gradCamLayers: XCEPTION_GRAD_CAM_LAYERS,
  writeRandomWeights: writeRandomXceptionWeights,
});
