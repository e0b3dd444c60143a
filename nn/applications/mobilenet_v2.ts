// MobileNetV2 (Sandler et al. 2018) as keras.applications.MobileNetV2 builds it in tf.keras 2.x
// and Keras 3, layer for layer and name for name:
//
//   Conv1 (3×3 'same', stride 2, no bias; make_divisible(32α, 8) filters) bn_Conv1 Conv1_relu
//   17 inverted residual blocks (expansion t, output c, repeats n, stride s of the first):
//     t 1 c 16 n 1 s 1 · t 6: c 24 n 2 s 2, c 32 n 3 s 2, c 64 n 4 s 2, c 96 n 3 s 1,
//     c 160 n 3 s 2, c 320 n 1 s 1
//     block_N_expand (1×1) block_N_expand_BN block_N_expand_relu       (not in block 0)
//     [block_N_pad: correct_pad, then 'valid', when stride 2]
//     block_N_depthwise (3×3) _depthwise_BN _depthwise_relu block_N_project (1×1) _project_BN
//     [block_N_add: the block's input + its output, when stride 1 and the widths agree]
//     (block 0 is named expanded_conv_…)
//   Conv_1 (1×1, 1280 filters, make_divisible(1280α, 8) for α > 1) Conv_1_bn out_relu
//   top: global_average_pooling2d predictions (Dense, softmax)
//
// Every BatchNormalization: epsilon 1e-3, momentum 0.999. 3 538 984 parameters at α = 1 with the
// top, 2 257 984 without; any input from 32×32 up.
//
// Official weights: `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{α}_{rows}.h5` and
// `…_no_top.h5`, α in 0.35 0.5 0.75 1.0 1.3 1.4 (as Python prints them), rows in 96 128 160 192 224
// (JonathanCMitchell/mobilenet_v2_keras release v1.1, converted from the TF-slim checkpoints for
// Keras 2.2.0's MobileNetV2). That model had no padding layers (its convolutions were 'same'),
// Activation(relu6) layers under the ReLU names, and its classifier was the Dense 'Logits' after
// 'global_average_pooling2d_1'; its no_top file is a whole-model save (model.save), the other a
// save_weights file. The layers are matched by name ('Logits' for predictions), else in order as
// Keras' load_weights does.

import { Conv2D } from '../layers/conv2d.ts';
import { DepthwiseConv2D } from '../layers/depthwise.ts';
import { Add } from '../layers/merge.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { ReLU } from '../layers/activation_layers.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { fileFits, fileShape, weightedFileLayers, type MatchOptions } from './app_weights.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { heSymmetric, seededAppLayers } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

/** The widths of the official weights files. */
export const MOBILENET_V2_ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4] as const;
/** Official files' names for layers named otherwise now. */
export const MOBILENET_V2_ALIASES: Readonly<Record<string, string>> = { predictions: 'Logits' };
const MATCH: MatchOptions = {
  what: 'MobileNetV2',
  topLayers: ['predictions'],
  aliases: (n) => (MOBILENET_V2_ALIASES[n] ? [MOBILENET_V2_ALIASES[n]] : []),
  extraLayers: true,
};

/** Expansion, output filters, repeats, first stride. */
const STAGES: readonly [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** Keras' _make_divisible: v rounded to a multiple of `divisor`, never below 90 % of v. */
export function makeDivisible(v: number, divisor = 8, min = divisor): number {
  let n = Math.max(min, Math.trunc(Math.trunc(v + divisor / 2) / divisor) * divisor); // Python: int(v + d/2) // d * d
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** imagenet_utils.correct_pad: the zero padding before a strided 'valid' convolution. */
export function correctPad(shape: readonly number[], k: number): [[number, number], [number, number]] {
  const c = Math.floor(k / 2);
  return [[c - (1 - (shape[0] % 2)), c], [c - (1 - (shape[1] % 2)), c]];
}

/** The official file name for these options. */
export function mobilenetV2WeightsFile(alpha: number, rows: number, includeTop: boolean): string {
  const a = Number.isInteger(alpha) ? alpha.toFixed(1) : String(alpha); // Python's str(float): 1.0, 0.35
  return `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${rows}${includeTop ? '' : '_no_top'}.h5`;
}

/** The architecture for these options, unbuilt (app_graph.ts). */
export function describeMobileNetV2(options: AppOptions = {}): AppGraph {
  const o = appOptions('MobileNetV2', options, { size: 224, alpha: true });
  const alpha = options.alpha ?? 1;
  if (!(alpha > 0)) throw new Error(`MobileNetV2: alpha must be positive, got ${alpha}`);
  const g = new AppGraph(`mobilenetv2_${alpha.toFixed(2)}_${o.inputShape[0]}`);
  let x = g.input([...o.inputShape]);
  const bn = (name: string, t: AppTensor) => g.call(new BatchNormalization(0.999, 1e-3, true, true, name), t);
  const relu6 = (name: string, t: AppTensor) => g.call(new ReLU(6, 0, 0, name), t);
  x = g.call(new Conv2D({ name: 'Conv1', filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x);
  x = relu6('Conv1_relu', bn('bn_Conv1', x));
  let id = 0;
  for (const [t, c, n, s] of STAGES) {
    for (let r = 0; r < n; r++, id++) {
      const stride = r === 0 ? s : 1;
      const inC = x.shape[2];
      const out = makeDivisible(Math.trunc(c * alpha));
      const inputs = x;
      let p = `block_${id}_`;
      if (id) {
        x = g.call(new Conv2D({ name: `${p}expand`, filters: t * inC, kernelSize: 1, padding: 'same', useBias: false }), x);
        x = relu6(`${p}expand_relu`, bn(`${p}expand_BN`, x));
      } else p = 'expanded_conv_';
      if (stride === 2) x = g.call(new ZeroPadding2D(correctPad(x.shape, 3), `${p}pad`), x);
      x = g.call(new DepthwiseConv2D({ name: `${p}depthwise`, kernelSize: 3, strides: stride, padding: stride === 1 ? 'same' : 'valid', useBias: false }), x);
      x = relu6(`${p}depthwise_relu`, bn(`${p}depthwise_BN`, x));
      x = g.call(new Conv2D({ name: `${p}project`, filters: out, kernelSize: 1, padding: 'same', useBias: false }), x);
      x = bn(`${p}project_BN`, x);
      if (inC === out && stride === 1) x = g.call(new Add(`${p}add`), inputs, x);
    }
  }
  x = g.call(new Conv2D({ name: 'Conv_1', filters: alpha > 1 ? makeDivisible(1280 * alpha) : 1280, kernelSize: 1, useBias: false }), x);
  x = relu6('out_relu', bn('Conv_1_bn', x));
  return g.top(x, o, { avg: 'global_average_pooling2d', max: 'global_max_pooling2d' });
}

/** keras.applications.MobileNetV2(weights=None, …): built, with random (Glorot) weights. */
export function mobilenetV2(o: AppOptions = {}): Model {
  return describeMobileNetV2(o).build();
}

const EXPAND_GAIN = 0.5;
const PROJECT_GAIN = 0.7;

/**
 * Seeded random weights (heSymmetric; seed 20180113 by default) for `mobilenetV2(o)` in the layout
 * of the official files: the Keras 2.2.0 model's layer list (input_1, no padding layers,
 * global_average_pooling2d_1 and Logits).
 */
export function randomMobileNetV2Layers(o: RandomWeightsOptions = {}): KerasLayerWeights[] {
  const g = describeMobileNetV2(o);
  // Smaller expand and project kernels than He's: their inputs are linear (bottlenecks and sums of
  // them). With He's the activations grow through the residual sums until ReLU6 clips a tenth of
  // them, and gradients hinge on values a float32 rounding error from 6 (a Grad-CAM golden then
  // tests the rounding, not the network); with these, the standard deviation stays below 1.
  const scale: Record<string, number> = { predictions: 0.5 };
  for (const n of g.layerNames()) if (/_(expand|project)$/.test(n)) scale[n] = n.endsWith('expand') ? EXPAND_GAIN : PROJECT_GAIN;
  const rename: Record<string, string> = { global_average_pooling2d: 'global_average_pooling2d_1', ...MOBILENET_V2_ALIASES };
  return seededAppLayers(g, o.seed ?? 20180113, heSymmetric({ scale }))
    .filter((l) => !l.name.endsWith('_pad'))
    .map((l) => ({ ...l, name: rename[l.name] ?? l.name }));
}

/**
 * Writes randomMobileNetV2Layers(o) as a save_weights file (the with-top official layout; the
 * official no_top files are whole-model saves, which the reader takes alike).
 * The keras_version attribute ('2.1.6') is an assumption: the release does not say which it was.
 */
export async function writeRandomMobileNetV2Weights(path: string, o: RandomWeightsOptions = {}): Promise<void> {
  await writeAppWeights(path, randomMobileNetV2Layers(o), { style: 'keras2', kerasVersion: '2.1.6' });
}

/**
 * The options of an official MobileNetV2 file (alpha, top, classes) from its shapes; null
 * otherwise. Layer names are used when the file has ours; a file whose layers are named
 * otherwise (an older conversion) is recognised by its weighted layers' shapes in order.
 */
export function recogniseMobileNetV2(file: KerasFile): AppOptions | null {
  const weighted = weightedFileLayers(file);
  const first = (fileShape(file, 'Conv1') ?? weighted[0]?.weights[0]?.shape) as number[] | undefined;
  const last = fileShape(file, 'Logits') ?? fileShape(file, 'predictions') ?? weighted[weighted.length - 1]?.weights[0]?.shape;
  if (!first || first.length !== 4 || first[0] !== 3 || first[1] !== 3 || !last) return null;
  const top = last.length === 2;
  for (const alpha of MOBILENET_V2_ALPHAS) {
    if (makeDivisible(32 * alpha) !== first[3]) continue;
    const o: AppOptions = top ? { alpha, includeTop: true, classes: last[1] } : { alpha, includeTop: false };
    if (fileFits(file, describeMobileNetV2(o).weightShapes(), MATCH)) return o;
  }
  return null;
}

registerApplication({
  name: 'mobilenet_v2',
  kerasName: 'MobileNetV2',
  pixels: 'tf',
  size: 224,
  build: (o) => mobilenetV2(o),
  recognise: recogniseMobileNetV2,
  match: MATCH,
  gradCamLayers: ['out_relu', 'block_13_expand_relu'],
  writeRandomWeights: writeRandomMobileNetV2Weights,
});
