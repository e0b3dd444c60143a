// ResNet50 (He et al. 2016, v1: stride on the first 1×1 convolution of a block, as Caffe's) as
// keras.applications builds it, in the two layouts its official weights come in:
//
// 'keras'  keras_applications/resnet_common.py (Keras ≥ 2.2.5, tf.keras): conv1_pad conv1_conv
//          conv1_bn conv1_relu pool1_pad pool1_pool, then conv{2..5}_block{b}_{0..3}_{conv,bn}
//          (0 = the projection shortcut of block 1), _{1,2}_relu, _add, _out; BatchNormalization
//          ε = 1.001e-5; top avg_pool + probs (tf.keras calls it 'predictions'; both load).
//          Weights: keras-applications release 'resnet' (also storage.googleapis.com/tensorflow/
//          keras-applications/resnet/): resnet50_weights_tf_dim_ordering_tf_kernels.h5 and
//          …_notop.h5, Keras 2 save_weights (conv1_conv/conv1_conv/kernel:0, …).
// '2016'   keras_applications/resnet50.py (Keras ≤ 2.2.4), the names of Kaiming He's Caffe model:
//          conv1 bn_conv1, res{2..5}{a..f}_branch{1,2a,2b,2c} and bn…; unnamed activations and
//          adds (activation_1 … activation_49, add_1 … add_16, max_pooling2d_1); BatchNormalization
//          with Keras' default ε = 1e-3; top avg_pool + fc1000. Weights: fchollet/deep-learning-
//          models release v0.2, resnet50_weights_tf_dim_ordering_tf_kernels(_notop).h5, saved by
//          Keras 1: datasets directly in the layer group, conv1/conv1_W:0, conv1_b:0,
//          bn_conv1/bn_conv1_gamma:0, _beta:0, _running_mean:0, _running_std:0 (which holds the
//          variance: Keras 2 loads it as moving_variance unchanged), fc1000_W:0 / fc1000_b:0.
//
// Both have the same weights in the same shapes: 25 636 712 parameters with the top, 23 587 712
// without. Input ≥ 32×32 (Keras' minimum); preprocessing 'caffe' (BGR, ImageNet means).
// The loader accepts a file of either layout for a model of either layout (names are mapped),
// but each file computes what Keras computes only in its own layout (the ε differ).

import type { Model } from '../model.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { Add } from '../layers/merge.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { MaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { Activation } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { fileHas, fileShape, loadAppWeights, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { heResidual, seededAppLayers } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

export type ResNet50Layout = 'keras' | '2016';

export interface ResNet50Options extends AppOptions {
  /** Layer names and BatchNormalization ε of keras_applications' resnet_common.py ('keras', default) or resnet50.py ('2016'). */
  layout?: ResNet50Layout;
}

export const RESNET50_WEIGHTS_FILE = 'resnet50_weights_tf_dim_ordering_tf_kernels.h5';
export const RESNET50_WEIGHTS_FILE_NOTOP = 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5';

/** Bottleneck width and block count of the four stages conv2…conv5 (output width 4× the bottleneck). */
export const RESNET50_STAGES: readonly (readonly [number, number])[] = [[64, 3], [128, 4], [256, 6], [512, 3]];

/** Grad-CAM layers (the last block's output, the conv4 stage's output) of each layout. */
export const RESNET50_CAM_LAYERS: Record<ResNet50Layout, readonly [string, string]> = {
  keras: ['conv5_block3_out', 'conv4_block6_out'],
  '2016': ['activation_49', 'activation_40'],
};

const BRANCH_2016 = ['1', '2a', '2b', '2c'];

/** The 2016 name of a resnet_common name (and back, in resnet50LayerAliases). */
function to2016(name: string): string | null {
  if (name === 'conv1_conv') return 'conv1';
  if (name === 'conv1_bn') return 'bn_conv1';
  if (name === 'probs' || name === 'predictions') return 'fc1000';
  const m = /^conv(\d)_block(\d+)_(\d)_(conv|bn)$/.exec(name);
  if (!m) return null;
  const tag = `${m[1]}${String.fromCharCode(96 + Number(m[2]))}_branch${BRANCH_2016[Number(m[3])]}`;
  return m[4] === 'conv' ? `res${tag}` : `bn${tag}`;
}

function toKeras(name: string): string | null {
  if (name === 'conv1') return 'conv1_conv';
  if (name === 'bn_conv1') return 'conv1_bn';
  if (name === 'fc1000') return 'probs';
  const m = /^(res|bn)(\d)([a-z])_branch(1|2a|2b|2c)$/.exec(name);
  if (!m) return null;
  return `conv${m[2]}_block${m[3].charCodeAt(0) - 96}_${BRANCH_2016.indexOf(m[4])}_${m[1] === 'res' ? 'conv' : 'bn'}`;
}

/** The names a weighted layer may have in a ResNet50 file, its own first. */
export function resnet50LayerAliases(name: string): string[] {
  const out = [name];
  const other = to2016(name) ?? toKeras(name);
  if (other) out.push(other);
  if (name === 'probs' || name === 'fc1000') out.push('predictions');
  if (name === 'predictions') out.push('probs');
  return [...new Set(out)];
}

const MATCH: MatchOptions = { what: 'ResNet50', aliases: (n) => resnet50LayerAliases(n).slice(1), extraLayers: true, byOrder: false };

/**
 * The architecture for these options (include_top, pooling, input_shape, classes,
 * classifier_activation as Keras; `layout` picks the naming of resnet_common.py or of the 2016
 * resnet50.py), unbuilt (app_graph.ts).
 */
export function describeResNet50(options: ResNet50Options = {}): AppGraph {
  const layout = options.layout ?? 'keras';
  if (layout !== 'keras' && layout !== '2016') throw new Error(`ResNet50: layout must be 'keras' or '2016', got '${String(layout)}'`);
  const o = appOptions('ResNet50', options, { size: 224 });
  const old = layout === '2016';
  const eps = old ? 1e-3 : 1.001e-5;
  // Keras 2.2.4 numbers unnamed layers from 1 in a fresh session; named here so that they do not
  // depend on what else was built before.
  let acts = 0;
  let adds = 0;
  const g = new AppGraph('resnet50');
  const relu = (x: AppTensor, name: string) => g.call(new Activation('relu', old ? `activation_${++acts}` : name), x);
  const conv = (x: AppTensor, filters: number, k: number, name: string, strides = 1, padding: 'same' | 'valid' = 'valid') =>
    g.call(new Conv2D({ name, filters, kernelSize: k, strides, padding }), x);
  const bn = (x: AppTensor, name: string) => g.call(new BatchNormalization(0.99, eps, true, true, name), x);

  let x = g.call(new ZeroPadding2D([[3, 3], [3, 3]], 'conv1_pad'), g.input([...o.inputShape]));
  x = conv(x, 64, 7, old ? 'conv1' : 'conv1_conv', 2);
  x = bn(x, old ? 'bn_conv1' : 'conv1_bn');
  x = relu(x, 'conv1_relu');
  x = g.call(new ZeroPadding2D([[1, 1], [1, 1]], 'pool1_pad'), x);
  x = g.call(new MaxPooling2D({ poolSize: 3, strides: 2, name: old ? 'max_pooling2d_1' : 'pool1_pool' }), x);

  RESNET50_STAGES.forEach(([filters, blocks], si) => {
    const stage = si + 2;
    for (let b = 1; b <= blocks; b++) {
      const stride = b === 1 && stage > 2 ? 2 : 1;
      const name = (k: number, kind: 'conv' | 'bn') => {
        const keras = `conv${stage}_block${b}_${k}_${kind}`;
        return old ? to2016(keras)! : keras;
      };
      const pre = `conv${stage}_block${b}`;
      const inp = x;
      // resnet_common builds the shortcut first and adds [shortcut, x]; resnet50.py builds it
      // last and adds [x, shortcut]. The sum is the same; the order is Keras' layer order.
      let shortcut = inp;
      if (b === 1 && !old) shortcut = bn(conv(inp, 4 * filters, 1, name(0, 'conv'), stride), name(0, 'bn'));
      let y = relu(bn(conv(inp, filters, 1, name(1, 'conv'), stride), name(1, 'bn')), `${pre}_1_relu`);
      y = relu(bn(conv(y, filters, 3, name(2, 'conv'), 1, 'same'), name(2, 'bn')), `${pre}_2_relu`);
      y = bn(conv(y, 4 * filters, 1, name(3, 'conv')), name(3, 'bn'));
      if (b === 1 && old) shortcut = bn(conv(inp, 4 * filters, 1, name(0, 'conv'), stride), name(0, 'bn'));
      x = g.call(new Add(old ? `add_${++adds}` : `${pre}_add`), ...(old ? [y, shortcut] : [shortcut, y]));
      x = relu(x, `${pre}_out`);
    }
  });

  return g.top(x, o, old ? { pool: 'avg_pool', avg: 'global_average_pooling2d_1', max: 'global_max_pooling2d_1', dense: 'fc1000' } : { avg: 'avg_pool', max: 'max_pool', dense: 'probs' });
}

/** keras.applications ResNet50 with random weights; load an official file with `loadResNet50Weights`. */
export function resnet50(o: ResNet50Options = {}): Model {
  return describeResNet50(o).build();
}

/**
 * The options an official ResNet50 file was made for (layout, top, classes, input channels),
 * from its layer names and shapes; null when it is not ResNet50 (ResNet101/152, ResNet50V2 and
 * other networks sharing some names are told apart by their last blocks).
 */
export function recogniseResNet50(file: KerasFile): ResNet50Options | null {
  const has = (n: string) => fileHas(file, n);
  for (const layout of ['keras', '2016'] as const) {
    const [first, last, conv4last, conv4next, top] =
      layout === 'keras'
        ? ['conv1_conv', 'conv5_block3_3_conv', 'conv4_block6_3_conv', 'conv4_block7_1_conv', ['probs', 'predictions']]
        : ['conv1', 'res5c_branch2c', 'res4f_branch2c', 'res4g_branch2a', ['fc1000']];
    const k = fileShape(file, first);
    if (!k || k.length !== 4 || k[0] !== 7 || k[1] !== 7 || k[3] !== 64) continue;
    if (!has(last) || !has(conv4last) || has(conv4next) || has('conv5_block4_1_conv') || has('res5d_branch2a') || has('post_bn')) continue;
    if (layout === 'keras' && !has('conv1_bn')) continue; // ResNet50V2 has no conv1_bn
    if (file.layers.find((l) => l.name === first)!.weights.length !== 2) continue; // ResNeXt's convolutions have no bias
    const inputShape: [number, number, number] = [224, 224, k[2]];
    const t = top.map((n) => fileShape(file, n)).find((s) => s && s.length === 2);
    if (t) return { layout, includeTop: true, classes: t[1], inputShape };
    return { layout, includeTop: false, inputShape };
  }
  return null;
}

/** Copies an official ResNet50 file (either layout) into `model`; one-line errors naming the file, layer and shapes. */
export function loadResNet50Weights(model: Model, file: KerasFile, path: string): void {
  loadAppWeights(model, file, path, MATCH);
}

export interface RandomResNet50Options extends ResNet50Options, RandomWeightsOptions {}

/**
 * Seeded random weights (heResidual; seed 12345 by default) for `resnet50(o)`, as the layout's
 * file lists them. For ResNet50: inputScale 64 ('caffe' pixels), γ and β of each branch's last
 * BatchNormalization (_3_bn, bn…_branch2c) × 0.2, classifier × 0.25: activations stay within a
 * few units and the softmax of random inputs is not one-hot.
 */
export function randomResNet50Layers(o: RandomResNet50Options = {}): KerasLayerWeights[] {
  const bnScale = (n: string) => (/_3_bn$|_branch2c$/.test(n) ? 0.2 : 1);
  const layers = seededAppLayers(describeResNet50(o), o.seed ?? 12345, heResidual({ inputScale: 64, classifierScale: 0.25, bnScale }));
  return (o.layout ?? 'keras') === '2016' ? keras1Layers(layers, o.includeTop ?? true) : layers;
}

/**
 * The 2016 file's layer list: the weighted layers (weights_file.ts 'keras1' writes their Keras 1
 * dataset names: conv1_W:0, conv1_b:0; bn_conv1_gamma:0, _beta:0, _running_mean:0,
 * _running_std:0), and the weightless layers with Keras 1's automatic names (zeropadding2d_1,
 * activation_N, merge_N, maxpooling2d_1, flatten_1; avg_pool, an AveragePooling2D, is in the no-top
 * file too). Those weightless names follow deep-learning-models' resnet50.py; loaders never read them.
 */
function keras1Layers(layers: KerasLayerWeights[], top: boolean): KerasLayerWeights[] {
  const out: KerasLayerWeights[] = [{ name: 'input_1', weights: [] }, { name: 'zeropadding2d_1', weights: [] }];
  let acts = 0;
  let merges = 0;
  for (const l of layers) {
    if (/^(input_1|conv1_pad|pool1_pad|avg_pool|fc1000|global_.*)$/.test(l.name)) continue;
    if (l.name === 'max_pooling2d_1') out.push({ name: 'maxpooling2d_1', weights: [] });
    else if (/^activation_\d+$/.test(l.name)) out.push({ name: `activation_${++acts}`, weights: [] });
    else if (/^add_\d+$/.test(l.name)) out.push({ name: `merge_${++merges}`, weights: [] });
    else out.push(l);
  }
  out.push({ name: 'avg_pool', weights: [] });
  if (top) out.push({ name: 'flatten_1', weights: [] }, layers.find((l) => l.name === 'fc1000')!);
  return out;
}

/**
 * Writes seeded random weights for `resnet50(o)` in the layout of the official file of
 * `o.layout`: 'keras' as keras-applications' release (Keras 2 save_weights), '2016' as
 * deep-learning-models v0.2 (Keras 1: root attribute layer_names only, datasets in the layer
 * groups). Deterministic: the same options give the same numbers.
 */
export async function writeRandomResNet50Weights(path: string, o: RandomResNet50Options = {}): Promise<void> {
  await writeAppWeights(path, randomResNet50Layers(o), (o.layout ?? 'keras') === '2016' ? { style: 'keras1' } : { style: 'keras2', kerasVersion: '2.2.4' });
}

registerApplication({
  name: 'resnet50',
  kerasName: 'ResNet50',
  pixels: 'caffe',
  size: 224,
  build: (o) => resnet50(o),
  recognise: recogniseResNet50,
  match: MATCH,
  gradCamLayers: RESNET50_CAM_LAYERS.keras,
  writeRandomWeights: writeRandomResNet50Weights,
});
