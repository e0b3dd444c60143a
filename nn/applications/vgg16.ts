// VGG16 (Simonyan & Zisserman 2014) as keras.applications.VGG16 builds it, layer for layer and
// name for name, so that Keras' weight files load by name:
//
//   block1_conv1 block1_conv2 block1_pool            64 filters   (3×3 'same' relu convs,
//   block2_conv1 block2_conv2 block2_pool           128            2×2 max-pooling, stride 2)
//   block3_conv1 … block3_conv3 block3_pool         256
//   block4_conv1 … block4_conv3 block4_pool         512
//   block5_conv1 … block5_conv3 block5_pool         512
//   flatten fc1 (4096 relu) fc2 (4096 relu) predictions (1000 softmax)     — include_top only
//
// 138 357 544 parameters with the top (553 MB of float32), 14 714 688 without. The weights come
// from Keras' `vgg16_weights_tf_dim_ordering_tf_kernels.h5` (or `…_notop.h5`), given by path or
// by the environment variable LANTERNA_VGG16_WEIGHTS; it cannot be downloaded here. Keras'
// layouts are ours (HWIO conv kernels, [in, out] dense kernels), so nothing is converted, and
// each weight is uploaded to the GPU once, straight from the file, without a random
// initialisation first. fc1's kernel (411 MB) is larger than lavapipe's 128 MiB binding limit:
// the dense op binds it in pieces (engine/ops/matmul.ts).
//
// `widths`, `units` and `inputShape` make smaller networks with the same layer names, for tests.

import { Conv2D } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.ts';
import { Flatten } from '../layers/simple.ts';
import { Weight, type Layer } from '../layer.ts';
import { readKerasWeights, writeKerasWeightsOnly, type KerasFile, type KerasLayerWeights } from '../io/keras.ts';
import { Sequential } from '../sequential.ts';
import type { Model } from '../model.ts';
import { registerApplication } from './registry.ts';

export const VGG16_WEIGHTS_ENV = 'LANTERNA_VGG16_WEIGHTS';
export const VGG16_WEIGHTS_FILE = 'vgg16_weights_tf_dim_ordering_tf_kernels.h5';

/** Convolutions per block and Keras' filter counts. */
export const VGG16_BLOCKS = [2, 2, 3, 3, 3] as const;
export const VGG16_WIDTHS = [64, 128, 256, 512, 512] as const;

export interface Vgg16Options {
  /** The three Dense layers at the end (Keras' include_top); default true. */
  includeTop?: boolean;
  /** Without the top: 'avg' or 'max' global pooling after block5_pool (Keras' pooling). */
  pooling?: 'avg' | 'max' | null;
  /** [H, W, C]; default [224, 224, 3] (required with the top, as in Keras, unless widths are changed). */
  inputShape?: [number, number, number];
  classes?: number;
  /** Filters per block; default Keras' [64, 128, 256, 512, 512]. */
  widths?: readonly number[];
  /** Units of fc1 and fc2; default 4096. */
  units?: number;
  classifierActivation?: 'softmax' | 'linear';
}

/** The layer names in model order (Keras' model.layers without the input layer). */
export function vgg16LayerNames(includeTop = true): string[] {
  const names: string[] = [];
  VGG16_BLOCKS.forEach((n, b) => {
    for (let i = 1; i <= n; i++) names.push(`block${b + 1}_conv${i}`);
    names.push(`block${b + 1}_pool`);
  });
  if (includeTop) names.push('flatten', 'fc1', 'fc2', 'predictions');
  return names;
}

/**
 * An unbuilt VGG16: no weights yet. Use `loadVgg16Weights` to fill it from a Keras file, or
 * `model.build()` for random (Glorot) weights.
 */
export function vgg16(o: Vgg16Options = {}): Sequential {
  const includeTop = o.includeTop ?? true;
  const widths = o.widths ?? VGG16_WIDTHS;
  if (widths.length !== 5) throw new Error(`vgg16: widths must give 5 filter counts, got [${widths}]`);
  const inputShape = o.inputShape ?? [224, 224, 3];
  const m = new Sequential('vgg16');
  VGG16_BLOCKS.forEach((n, b) => {
    for (let i = 1; i <= n; i++)
      m.add(new Conv2D({ name: `block${b + 1}_conv${i}`, filters: widths[b], kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(new MaxPooling2D({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2 }));
  });
  if (includeTop) {
    const units = o.units ?? 4096;
    m.add(new Flatten({ name: 'flatten' }));
    m.add(new Dense({ name: 'fc1', units, activation: 'relu' }));
    m.add(new Dense({ name: 'fc2', units, activation: 'relu' }));
    m.add(new Dense({ name: 'predictions', units: o.classes ?? 1000, activation: o.classifierActivation ?? 'softmax' }));
  } else if (o.pooling === 'avg') m.add(new GlobalAveragePooling2D({ name: 'global_average_pooling2d' }));
  else if (o.pooling === 'max') m.add(new GlobalMaxPooling2D({ name: 'global_max_pooling2d' }));
  m.inputShape = [...inputShape];
  return m;
}

/** The shapes each layer's weights must have, for inputs of `inputShape` (batch excluded). */
export function expectedWeightShapes(model: Model): Map<string, number[][]> {
  const out = new Map<string, number[][]>();
  let s = model.inputShape!;
  for (const l of model.layers) {
    if (l instanceof Conv2D) out.set(l.name, [[...l.kernelSize, s[2], l.filters], [l.filters]]);
    else if (l instanceof Dense) {
      if (s.length !== 1) throw new Error(`layer '${l.name}' receives [${s}], not a flat vector`);
      out.set(l.name, [[s[0], l.units], [l.units]]);
    }
    s = l.computeOutputShape(s);
  }
  return out;
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

/**
 * Checks that `file` holds every weighted layer of `model` with the right shapes; the first
 * problem is an error naming the file, the layer and both shapes.
 */
export function checkWeightsFor(model: Model, file: KerasFile, path: string, what = 'VGG16'): Map<string, KerasLayerWeights> {
  const byName = new Map(file.layers.map((l) => [l.name, l]));
  const stored = file.layers.filter((l) => l.weights.length > 0).map((l) => l.name);
  const hint = stored.length ? `layers with weights in the file: ${stored.slice(0, 8).join(', ')}${stored.length > 8 ? `, … (${stored.length})` : ''}` : 'the file has no layer with weights';
  for (const [name, shapes] of expectedWeightShapes(model)) {
    const src = byName.get(name);
    if (!src || src.weights.length === 0) {
      const notop = name === 'fc1' && byName.has('block5_conv3') ? ' (a file without the top, such as the _notop weights: use includeTop false / --no-top)' : '';
      throw new Error(`${path}: not ${what} weights: layer '${name}' (kernel ${fmt(shapes[0])}) is missing${notop}; ${hint}`);
    }
    if (src.weights.length !== shapes.length)
      throw new Error(`${path}: not ${what} weights: layer '${name}' has ${src.weights.length} weights in the file (${src.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')}), ${what} needs kernel ${fmt(shapes[0])} and bias ${fmt(shapes[1])}`);
    src.weights.forEach((w, k) => {
      if (w.shape.join() !== shapes[k].join())
        throw new Error(`${path}: not ${what} weights: layer '${name}' ${k === 0 ? 'kernel' : 'bias'} '${w.name}' is ${fmt(w.shape)} in the file, ${what} needs ${fmt(shapes[k])}`);
    });
  }
  return byName;
}

/**
 * Builds `model` from already read weights: one upload per weight, no random initialisation.
 * Layers without weights (pooling, flatten) are built from the shapes alone.
 */
export function buildFromWeights(model: Model, byName: Map<string, KerasLayerWeights>): void {
  let s = model.inputShape!;
  for (const l of model.layers as Layer[]) {
    const src = byName.get(l.name);
    if (l instanceof Conv2D || l instanceof Dense) {
      l.dispose();
      l.weights = src!.weights.map((w, k) => new Weight(k === 0 ? 'kernel' : 'bias', w.data, w.shape));
    }
    l.inputShape = s;
    l.outputShape = l.computeOutputShape(s);
    l.built = true;
    s = l.outputShape;
  }
  // The graph's nodes over the layers just built (nothing is initialised again).
  model.build();
}

/**
 * The options of `vgg16()` that fit a file in the VGG16 layer layout (Keras' own weights, or a
 * narrower one with the same names such as test/golden/tiny_vgg16.h5), read from its shapes:
 * widths from each block's first kernel, fc units and classes from the top, and the square input
 * size from fc1's input (S/32 · S/32 · widths[4]). Null when the file is not in that layout.
 */
export function vgg16OptionsFromWeights(file: KerasFile): Vgg16Options | null {
  const byName = new Map(file.layers.map((l) => [l.name, l]));
  const kernel = (name: string) => byName.get(name)?.weights[0]?.shape;
  const widths: number[] = [];
  for (let b = 1; b <= 5; b++) {
    const k = kernel(`block${b}_conv1`);
    if (!k || k.length !== 4) return null;
    widths.push(k[3]);
  }
  const first = kernel('block1_conv1')!;
  const fc1 = kernel('fc1');
  const pred = kernel('predictions');
  if (!fc1 || !pred) return { includeTop: false, widths, inputShape: [224, 224, first[2]] };
  const side = 32 * Math.sqrt(fc1[0] / widths[4]);
  if (!Number.isInteger(side) || fc1.length !== 2 || pred.length !== 2) return null;
  return { includeTop: true, widths, units: fc1[1], classes: pred[1], inputShape: [side, side, first[2]] };
}

/** The weights file to use: `path`, else $LANTERNA_VGG16_WEIGHTS; an error says how to get one. */
export function vgg16WeightsPath(path?: string): string {
  const p = path ?? process.env[VGG16_WEIGHTS_ENV];
  if (!p)
    throw new Error(
      `no VGG16 weights: give --weights FILE or set ${VGG16_WEIGHTS_ENV} to Keras' ${VGG16_WEIGHTS_FILE} ` +
        '(from the Keras applications release; it cannot be downloaded here)',
    );
  return p;
}

export interface LoadedVgg16 {
  model: Model;
  file: KerasFile;
  path: string;
  /** Seconds spent reading the file and uploading the weights. */
  readSeconds: number;
  uploadSeconds: number;
}

/**
 * Reads a Keras VGG16 weights file (any layout readKerasWeights knows: the old
 * `block1_conv1/block1_conv1_W_1:0` one of Keras' file, tf.keras 2 save_weights, full models) into
 * `model` (default: `vgg16(opts)`), after checking every layer's shapes.
 */
export async function loadVgg16Weights(path?: string, opts: Vgg16Options & { model?: Model } = {}): Promise<LoadedVgg16> {
  const p = vgg16WeightsPath(path);
  const model = opts.model ?? vgg16(opts);
  const t0 = performance.now();
  const file = await readKerasWeights(p);
  const t1 = performance.now();
  const byName = checkWeightsFor(model, file, p);
  buildFromWeights(model, byName);
  // Drop the host copies now that they are on the GPU (553 MB for the full model).
  for (const l of file.layers) for (const w of l.weights) w.data = new Float32Array(0);
  const t2 = performance.now();
  return { model, file, path: p, readSeconds: (t1 - t0) / 1000, uploadSeconds: (t2 - t1) / 1000 };
}

export interface RandomWeightsOptions extends Vgg16Options {
  seed?: number;
  /** Factor on the predictions kernel and bias (default 1/32: keeps the softmax of caffe-range inputs from saturating). */
  predictionsScale?: number;
}

/**
 * Seeded He-uniform weights (biases 0.01·sin(i)) for `vgg16(opts)`, in Keras' file order with
 * `input_1` and the weightless layers listed, as the real weights file has them. For tests,
 * benchmarks and pictures where the real ImageNet weights are not at hand.
 */
export function randomVgg16Layers(o: RandomWeightsOptions = {}): KerasLayerWeights[] {
  const m = vgg16(o);
  const shapes = expectedWeightShapes(m);
  let s = (o.seed ?? 12345) >>> 0;
  const layers: KerasLayerWeights[] = [{ name: 'input_1', weights: [] }];
  for (const l of m.layers) {
    const sh = shapes.get(l.name);
    if (!sh) {
      layers.push({ name: l.name, weights: [] });
      continue;
    }
    const f = l.name === 'predictions' ? (o.predictionsScale ?? 1 / 32) : 1;
    const a = Math.sqrt(6 / sh[0].slice(0, -1).reduce((p, q) => p * q, 1)) * f;
    const k = new Float32Array(sh[0].reduce((p, q) => p * q, 1));
    for (let i = 0; i < k.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: fast enough for 138 M values
      k[i] = ((s / 4294967296) * 2 - 1) * a;
    }
    const b = Float32Array.from({ length: sh[1][0] }, (_, i) => 0.01 * f * Math.sin(i));
    layers.push({ name: l.name, weights: [{ name: 'kernel', shape: sh[0], data: k }, { name: 'bias', shape: sh[1], data: b }] });
  }
  return layers;
}

/** Writes `randomVgg16Layers(o)` in the layout of Keras' vgg16_weights_tf_dim_ordering_tf_kernels.h5. */
export async function writeRandomVgg16Weights(path: string, o: RandomWeightsOptions = {}): Promise<void> {
  await writeKerasWeightsOnly(path, randomVgg16Layers(o), { style: 'vgg16-legacy' });
}

registerApplication({
  name: 'vgg16',
  kerasName: 'VGG16',
  pixels: 'caffe',
  size: 224,
  build: (o = {}) => vgg16(o as Vgg16Options).build(),
  // Keras' own widths and input size: a file in VGG16's layout with other shapes is then refused
  // layer by layer (checkWeightsFor), naming the first shape that differs.
  recognise: (file) => {
    const o = vgg16OptionsFromWeights(file);
    return o ? { includeTop: o.includeTop, classes: o.includeTop ? 1000 : undefined } : null;
  },
  loadWeights: (model, file, path) => {
    const byName = checkWeightsFor(model, file, path);
    for (const l of model.layers) l.weights.forEach((w, k) => w.assign(byName.get(l.name)!.weights[k].data, `${path}: layer '${l.name}'`));
  },
  fromWeights: (file, path, o) => {
    const model = vgg16(o as Vgg16Options);
    buildFromWeights(model, checkWeightsFor(model, file, path));
    return model;
  },
  gradCamLayers: ['block5_conv3', 'block4_conv3'],
});
