// EfficientNet B0 (Tan & Le 2019) as keras.applications.EfficientNetB0 builds it with
// weights='imagenet' in Keras ≥ 2.10 and Keras 3, layer for layer and name for name:
//
//   rescaling (1/255) normalization (axis 3: mean, variance, count from the file)
//   rescaling_1 (per channel 1/sqrt([0.229, 0.224, 0.225]); see below)
//   stem_conv_pad (correct_pad) stem_conv (3×3, stride 2, 'valid', no bias) stem_bn stem_activation
//   16 MBConv blocks block1a … block7a (kernel k, expansion t, output c, repeats n, first stride s):
//     k3 t1 c16 n1 s1 · k3 t6 c24 n2 s2 · k5 t6 c40 n2 s2 · k3 t6 c80 n3 s2 · k5 t6 c112 n3 s1 ·
//     k5 t6 c192 n4 s2 · k3 t6 c320 n1 s1
//     {name}expand_conv expand_bn expand_activation                   (t ≠ 1)
//     [{name}dwconv_pad: correct_pad, then 'valid', when stride 2]
//     {name}dwconv bn activation
//     {name}se_squeeze (global average) se_reshape (1×1×C) se_reduce (1×1, swish, bias)
//       se_expand (1×1, sigmoid, bias) se_excite (Multiply) — squeeze to max(1, int(c_in·0.25))
//     {name}project_conv project_bn [{name}drop (Dropout 0.2·b/16) {name}add, when the block keeps its shape]
//   top_conv (1×1, 1280) top_bn top_activation
//   top: avg_pool top_dropout (0.2) predictions (Dense, softmax)
// swish everywhere, BatchNormalization with Keras' defaults (epsilon 1e-3).
// 5 330 571 parameters with the top (7 of them Normalization's mean, variance and count),
// 4 049 571 without; any input from 32×32 up; raw 0–255 RGB in.
//
// Official weights: `efficientnetb0.h5` and `efficientnetb0_notop.h5`
// (storage.googleapis.com/keras-applications/, written by tf.keras 2.3, the first version with
// EfficientNet). That model had no rescaling_1: its Normalization stores mean [0.485, 0.456, 0.406]
// and as "variance" the ImageNet *standard deviations* [0.229, 0.224, 0.225], so tf.keras 2.3–2.9
// computed (x/255 − mean)/sqrt(std) (tensorflow/tensorflow#49930). Keras ≥ 2.10 keeps the file as
// it is and adds rescaling_1 = 1/sqrt(std) per channel when weights='imagenet', which makes it
// (x/255 − mean)/std, the normalisation the network was trained with; so does this builder
// (`imagenetRescaling: false` gives the model without it, as Keras builds it with weights=None).

import { Conv2D } from '../layers/conv2d.ts';
import { DepthwiseConv2D } from '../layers/depthwise.ts';
import { Add, Multiply } from '../layers/merge.ts';
import { Normalization } from '../layers/normalization.ts';
import { ZeroPadding2D } from '../layers/padding.ts';
import { GlobalAveragePooling2D } from '../layers/pooling.ts';
import { BatchNormalization, Dropout } from '../layers/regularization.ts';
import { Rescaling } from '../layers/rescaling.ts';
import { Activation, Reshape } from '../layers/simple.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { AppGraph, appOptions, type AppTensor } from './app_graph.ts';
import { fileFits, fileShape, type MatchOptions } from './app_weights.ts';
import { correctPad } from './mobilenet_v2.ts';
import { registerApplication, type AppOptions, type RandomWeightsOptions } from './registry.ts';
import { heSymmetric, seededAppLayers } from './seeded_weights.ts';
import { writeAppWeights } from './weights_file.ts';

export const IMAGENET_MEAN_RGB = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225] as const;

export interface EfficientNetOptions extends AppOptions {
  /** rescaling_1 (1/sqrt(std) per channel, what Keras ≥ 2.10 adds for the ImageNet weights); default true. */
  imagenetRescaling?: boolean;
}

/** Width and depth coefficients, default size, top dropout (Keras' EfficientNetB0 … B7). */
export const EFFICIENTNET_VARIANTS = {
  b0: [1.0, 1.0, 224, 0.2], b1: [1.0, 1.1, 240, 0.2], b2: [1.1, 1.2, 260, 0.3], b3: [1.2, 1.4, 300, 0.3],
  b4: [1.4, 1.8, 380, 0.4], b5: [1.6, 2.2, 456, 0.4], b6: [1.8, 2.6, 528, 0.5], b7: [2.0, 3.1, 600, 0.5],
} as const;
export type EfficientNetVariant = keyof typeof EFFICIENTNET_VARIANTS;

/** kernel, repeats, filters in, filters out, expansion, first stride (se_ratio 0.25, id_skip everywhere). */
const BLOCKS: readonly [number, number, number, number, number, number][] = [
  [3, 1, 32, 16, 1, 1], [3, 2, 16, 24, 6, 2], [5, 2, 24, 40, 6, 2], [3, 3, 40, 80, 6, 2],
  [5, 3, 80, 112, 6, 1], [5, 4, 112, 192, 6, 2], [3, 1, 192, 320, 6, 1],
];

const MATCH: MatchOptions = { what: 'EfficientNetB0', topLayers: ['predictions'], extraLayers: true };

export function efficientnetWeightsFile(variant: EfficientNetVariant, includeTop: boolean): string {
  return `efficientnet${variant}${includeTop ? '' : '_notop'}.h5`;
}

/** The architecture for these options, unbuilt (app_graph.ts). */
export function describeEfficientNet(options: EfficientNetOptions = {}, variant: EfficientNetVariant = 'b0'): AppGraph {
  const [width, depth, size, dropoutRate] = EFFICIENTNET_VARIANTS[variant];
  const o = appOptions(`EfficientNet${variant.toUpperCase()}`, options, { size });
  const roundFilters = (f: number) => {
    f *= width;
    let n = Math.max(8, Math.trunc(Math.trunc(f + 4) / 8) * 8);
    if (n < 0.9 * f) n += 8;
    return n;
  };
  const roundRepeats = (r: number) => Math.ceil(depth * r);
  const g = new AppGraph(`efficientnet${variant}`);
  let x = g.input([...o.inputShape]);
  const bn = (name: string, t: AppTensor) => g.call(new BatchNormalization(0.99, 1e-3, true, true, name), t);
  const swish = (name: string, t: AppTensor) => g.call(new Activation('swish', name), t);
  x = g.call(new Rescaling(1 / 255, 0, 'rescaling'), x);
  x = g.call(new Normalization({ axis: 3, name: 'normalization' }), x);
  if (options.imagenetRescaling ?? true) x = g.call(new Rescaling(IMAGENET_STDDEV_RGB.map((s) => 1 / Math.sqrt(s)), 0, 'rescaling_1'), x);
  x = g.call(new ZeroPadding2D(correctPad(x.shape, 3), 'stem_conv_pad'), x);
  x = g.call(new Conv2D({ name: 'stem_conv', filters: roundFilters(32), kernelSize: 3, strides: 2, padding: 'valid', useBias: false }), x);
  x = swish('stem_activation', bn('stem_bn', x));
  const total = BLOCKS.reduce((s, b) => s + roundRepeats(b[1]), 0);
  let b = 0;
  BLOCKS.forEach(([k, repeats, fIn0, fOut0, expand, s0], i) => {
    const fOut = roundFilters(fOut0);
    for (let j = 0; j < roundRepeats(repeats); j++, b++) {
      const fIn = j === 0 ? roundFilters(fIn0) : fOut;
      const stride = j === 0 ? s0 : 1;
      const dropRate = (0.2 * b) / total;
      const p = `block${i + 1}${String.fromCharCode(97 + j)}_`;
      const inputs = x;
      const filters = fIn * expand;
      if (expand !== 1) {
        x = g.call(new Conv2D({ name: `${p}expand_conv`, filters, kernelSize: 1, padding: 'same', useBias: false }), x);
        x = swish(`${p}expand_activation`, bn(`${p}expand_bn`, x));
      }
      if (stride === 2) x = g.call(new ZeroPadding2D(correctPad(x.shape, k), `${p}dwconv_pad`), x);
      x = g.call(new DepthwiseConv2D({ name: `${p}dwconv`, kernelSize: k, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false }), x);
      x = swish(`${p}activation`, bn(`${p}bn`, x));
      const fSe = Math.max(1, Math.trunc(fIn * 0.25));
      let se = g.call(new GlobalAveragePooling2D({ name: `${p}se_squeeze` }), x);
      se = g.call(new Reshape([1, 1, filters], `${p}se_reshape`), se);
      se = g.call(new Conv2D({ name: `${p}se_reduce`, filters: fSe, kernelSize: 1, padding: 'same', activation: 'swish' }), se);
      se = g.call(new Conv2D({ name: `${p}se_expand`, filters, kernelSize: 1, padding: 'same', activation: 'sigmoid' }), se);
      x = g.call(new Multiply(`${p}se_excite`), x, se);
      x = g.call(new Conv2D({ name: `${p}project_conv`, filters: fOut, kernelSize: 1, padding: 'same', useBias: false }), x);
      x = bn(`${p}project_bn`, x);
      if (stride === 1 && fIn === fOut) {
        if (dropRate > 0) x = g.call(new Dropout(dropRate, `${p}drop`), x);
        x = g.call(new Add(`${p}add`), x, inputs);
      }
    }
  });
  x = g.call(new Conv2D({ name: 'top_conv', filters: roundFilters(1280), kernelSize: 1, padding: 'same', useBias: false }), x);
  x = swish('top_activation', bn('top_bn', x));
  return g.top(x, o, { avg: 'avg_pool', max: 'max_pool', dropout: { rate: dropoutRate, name: 'top_dropout' } });
}

/** keras.applications.EfficientNetB0 … B7 (weights='imagenet' layout): built, with random weights. */
export function efficientnet(o: EfficientNetOptions = {}, variant: EfficientNetVariant = 'b0'): Model {
  return describeEfficientNet(o, variant).build();
}

export interface RandomEfficientNetOptions extends EfficientNetOptions, RandomWeightsOptions {}

/**
 * Seeded random weights (heSymmetric, the classifier × 0.5; seed 20190528 by default) for
 * `efficientnet(o)` in the official files' layout (tf.keras 2.3's layer list: no rescaling_1),
 * with the official Normalization values (ImageNet mean, and the standard deviations stored as
 * "variance"; count 0).
 */
export function randomEfficientNetLayers(o: RandomEfficientNetOptions = {}, variant: EfficientNetVariant = 'b0'): KerasLayerWeights[] {
  const rule = heSymmetric({ scale: { predictions: 0.5 }, fixed: { 'normalization/mean': IMAGENET_MEAN_RGB, 'normalization/variance': IMAGENET_STDDEV_RGB } });
  return seededAppLayers(describeEfficientNet(o, variant), o.seed ?? 20190528, rule).filter((l) => l.name !== 'rescaling_1');
}

/**
 * Writes randomEfficientNetLayers(o) as a save_weights file of tf.keras 2.3 (count as int64).
 * The keras_version attribute ('2.4.0', what tf 2.3's tf.keras reports) is an assumption.
 */
export async function writeRandomEfficientNetWeights(path: string, o: RandomEfficientNetOptions = {}, variant: EfficientNetVariant = 'b0'): Promise<void> {
  await writeAppWeights(path, randomEfficientNetLayers(o, variant), { style: 'keras2', kerasVersion: '2.4.0', int64: ['count'] });
}

/** The options of an official EfficientNetB0 file (top, classes) from its shapes; null otherwise. */
export function recogniseEfficientNetB0(file: KerasFile): EfficientNetOptions | null {
  const k = fileShape(file, 'stem_conv');
  if (!k || k.length !== 4 || k[3] !== 32 || !fileShape(file, 'block1a_se_reduce') || !fileShape(file, 'top_conv')) return null;
  const preds = fileShape(file, 'predictions');
  const o: EfficientNetOptions = preds ? { includeTop: true, classes: preds[1] } : { includeTop: false };
  return fileFits(file, describeEfficientNet(o).weightShapes(), MATCH) ? o : null;
}

registerApplication({
  name: 'efficientnetb0',
  kerasName: 'EfficientNetB0',
  pixels: 'raw',
  size: 224,
  build: (o) => efficientnet(o),
  recognise: recogniseEfficientNetB0,
  match: MATCH,
  gradCamLayers: ['top_activation', 'block6a_expand_activation'],
  writeRandomWeights: (path, o) => writeRandomEfficientNetWeights(path, o),
});
