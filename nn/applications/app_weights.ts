// Weights files of the Keras applications built in code (MobileNet, MobileNetV2, EfficientNet):
// checking a file against a model's layers and copying it in (by layer name, or in order as Keras'
// load_weights does when the names differ), seeded random weights in a family's official layout,
// and the writer of that layout: `save_weights` of Keras 2.0–2.3 (root attributes layer_names,
// backend, keras_version; one group per layer with attribute weight_names; datasets at
// <layer>/<layer>/<weight>:0; integer weights such as Normalization's count stored as int64).

import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import { ensureGroup, writeDatasetF32, writeFixedStringListAttr, writeH5Atomic, writeStringAttr } from '../io/h5.ts';
import type { Layer } from '../layer.ts';
import type { Model } from '../model.ts';
import type { WeightShape } from './app_graph.ts';

const fmt = (s: number[]) => `[${s.join(', ')}]`;
/** 'conv1/kernel:0' or 'vars/0' → 'kernel:0' / the last part, for messages. */
const short = (n: string) => n.split('/').pop()!;

/** The weighted layers of a file (Keras 3's model-level variables aside). */
function fileWeighted(file: KerasFile) {
  return file.layers.filter((l) => l.weights.length > 0 && l.name !== 'top_level_model_weights');
}

export interface MatchOptions {
  /** 'MobileNet', 'MobileNetV2', … for messages. */
  what: string;
  /** A hint added when a layer of the top is missing (e.g. "a _no_top file: use includeTop false"). */
  topLayers?: readonly string[];
  /** Other names a layer has in official files (MobileNetV2's classifier: predictions ← Logits). */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Pairs every weighted layer of `model` with a layer of `file`: by name when the file has them
 * all, else in order when the file has as many weighted layers (what Keras' load_weights does with
 * a weights-only file), checking each weight's shape. Nothing is copied; the first problem is a
 * one-line error naming the file, the layer and both shapes.
 */
export function matchWeights(model: Model, file: KerasFile, path: string, o: MatchOptions): [Layer, KerasLayerWeights][] {
  const mine = model.layers.filter((l) => l.weights.length > 0);
  const theirs = fileWeighted(file);
  const byName = new Map(theirs.map((l) => [l.name, l]));
  const find = (name: string) => byName.get(name) ?? (o.aliases?.[name] ? byName.get(o.aliases[name]) : undefined);
  const missing = mine.filter((l) => !find(l.name));
  let pairs: [Layer, KerasLayerWeights][];
  let how = '';
  if (missing.length === 0) pairs = mine.map((l) => [l, find(l.name)!]);
  else if (theirs.length === mine.length) {
    pairs = mine.map((l, i) => [l, theirs[i]]);
    how = ' (layers matched in order, as Keras does when the names differ)';
  } else {
    const l = missing[0];
    const top = o.topLayers?.includes(l.name) ? ' (a file without the top, such as the _no_top weights: use includeTop false / --no-top)' : '';
    const listed = theirs.map((x) => x.name);
    throw new Error(`${path}: not ${o.what} weights for this model: layer '${l.name}' (${l.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')}) is missing${top}; ` +
      `the file has ${theirs.length} layers with weights (${listed.slice(0, 6).join(', ')}${listed.length > 6 ? ', …' : ''}), the model ${mine.length}`);
  }
  for (const [l, src] of pairs) {
    const at = src.name === l.name ? `layer '${l.name}'` : `layer '${l.name}' (file layer '${src.name}')`;
    if (src.weights.length !== l.weights.length)
      throw new Error(`${path}: not ${o.what} weights for this model: ${at} has ${src.weights.length} weights in the file (${src.weights.map((w) => `${short(w.name)} ${fmt(w.shape)}`).join(', ')}), the model needs ${l.weights.length} (${l.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')})${how}`);
    l.weights.forEach((w, k) => {
      const f = src.weights[k];
      if (f.shape.join() !== w.shape.join())
        throw new Error(`${path}: not ${o.what} weights for this model: ${at} ${w.name} is ${fmt(f.shape)} in the file ('${short(f.name)}'), the model needs ${fmt(w.shape)}${how}`);
    });
  }
  return pairs;
}

/** Checks (matchWeights) then copies every weight of `file` into `model`. */
export function loadAppWeights(model: Model, file: KerasFile, path: string, o: MatchOptions): void {
  for (const [l, src] of matchWeights(model, file, path, o)) l.weights.forEach((w, k) => w.assign(src.weights[k].data, `${path}: layer '${l.name}'`));
}

/**
 * Whether a file's weighted layers have exactly the shapes of a description (by name when the
 * file has every name, else in order): how `recognise` tells the family and its options.
 */
export function fileHasShapes(file: KerasFile, want: { layer: string; weights: WeightShape[] }[], aliases: Readonly<Record<string, string>> = {}): boolean {
  const mine = want.filter((l) => l.weights.length > 0);
  const theirs = fileWeighted(file);
  const byName = new Map(theirs.map((l) => [l.name, l]));
  const find = (name: string) => byName.get(name) ?? (aliases[name] ? byName.get(aliases[name]) : undefined);
  const named = mine.every((l) => find(l.layer));
  if (!named && theirs.length !== mine.length) return false;
  return mine.every((l, i) => {
    const f = named ? find(l.layer)! : theirs[i];
    return f.weights.length === l.weights.length && f.weights.every((w, k) => w.shape.join() === l.weights[k].shape.join());
  });
}

/** The shape of a file layer's k-th weight, if there is one. */
export function fileShape(file: KerasFile, layer: string, k = 0): number[] | undefined {
  return file.layers.find((l) => l.name === layer)?.weights[k]?.shape;
}

export interface RandomOptions {
  seed?: number;
  /** Factor on a layer's kernel and bias, by layer name (e.g. the classifier). */
  scale?: Record<string, number>;
  /** Fixed values for some weights, by 'layer/weight' (e.g. Normalization's ImageNet mean). */
  fixed?: Record<string, ArrayLike<number>>;
}

/**
 * Seeded weights for a description, in the file's layer order, that keep activations of order
 * one through a deep network: kernels uniform with variance 2/fan-in (He; fan-in kh·kw for a
 * depthwise kernel), biases ±0.05, BatchNormalization gamma in [0.8, 1.2], beta and moving mean
 * in ±0.1, moving variance in [0.5, 1.5]. Deterministic across runs and machines (an LCG).
 */
export function randomLayerWeights(layers: { layer: string; weights: WeightShape[] }[], o: RandomOptions = {}): KerasLayerWeights[] {
  let s = (o.seed ?? 1) >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1; // [-1, 1)
  };
  const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + ((next() + 1) / 2) * (hi - lo));
  return layers.map(({ layer, weights }) => ({
    name: layer,
    weights: weights.map((w) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const f = o.scale?.[layer] ?? 1;
      const fixed = o.fixed?.[`${layer}/${w.name}`];
      let data: Float32Array;
      if (fixed) {
        if (fixed.length !== n) throw new Error(`randomLayerWeights: fixed ${layer}/${w.name} has ${fixed.length} values, the shape ${fmt(w.shape)} needs ${n}`);
        data = Float32Array.from(fixed);
      } else if (w.name === 'kernel' || w.name === 'depthwise_kernel') {
        const fanIn = w.name === 'kernel' ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : w.shape[0] * w.shape[1];
        const a = Math.sqrt(6 / fanIn) * f;
        data = Float32Array.from({ length: n }, () => next() * a);
      } else if (w.name === 'bias') data = Float32Array.from({ length: n }, () => 0.05 * f * next());
      else if (w.name === 'gamma') data = uniform(n, 0.8, 1.2);
      else if (w.name === 'moving_variance') data = uniform(n, 0.5, 1.5);
      else if (w.name === 'beta' || w.name === 'moving_mean') data = uniform(n, -0.1, 0.1);
      else if (w.name === 'variance') data = uniform(n, 0.5, 1.5);
      else if (w.name === 'mean') data = uniform(n, -0.1, 0.1);
      else if (w.name === 'count') data = new Float32Array(n);
      else throw new Error(`randomLayerWeights: no rule for weight '${w.name}' of layer '${layer}'`);
      return { name: w.name, shape: w.shape, data };
    }),
  }));
}

export interface WriteOptions {
  kerasVersion: string;
  /** Weights stored as int64 (Keras' integer state: Normalization's count), by short name. */
  int64?: readonly string[];
}

/**
 * Writes `layers` in the weights-only layout of Keras 2.0–2.3 `save_weights` (no
 * top_level_model_weights group, which tf.keras ≥ 2.6 adds). Weight names are short ('kernel').
 */
export async function writeKerasWeightsFile(path: string, layers: KerasLayerWeights[], o: WriteOptions): Promise<void> {
  await writeH5Atomic(path, (f) => {
    writeFixedStringListAttr(f, 'layer_names', layers.map((l) => l.name), path);
    writeStringAttr(f, 'backend', 'tensorflow', 'utf8', path);
    writeStringAttr(f, 'keras_version', o.kerasVersion, 'utf8', path);
    for (const l of [...layers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const where = `${path}: layer '${l.name}'`;
      const g = ensureGroup(f, l.name, where);
      const names = l.weights.map((w) => `${l.name}/${w.name}:0`);
      writeFixedStringListAttr(g, 'weight_names', names, where);
      l.weights.forEach((w, i) => {
        if (o.int64?.includes(w.name)) {
          const sub = ensureGroup(g, l.name, where);
          const ds = sub.create_dataset({ name: `${w.name}:0`, data: BigInt64Array.from(w.data, (v) => BigInt(Math.round(v))), shape: w.shape, dtype: '<q' });
          if (!ds) throw new Error(`${where}: could not create ${names[i]}`);
        } else writeDatasetF32(g, names[i], w.shape, w.data, where);
      });
    }
  });
}

/** Short names of a description's layers that carry weights, for messages and tests. */
export function weightedLayerNames(layers: { layer: string; weights: WeightShape[] }[]): string[] {
  return layers.filter((l) => l.weights.length > 0).map((l) => l.layer);
}
