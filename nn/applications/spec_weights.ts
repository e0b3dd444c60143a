// Weights for an application described by a spec (graph_spec.ts): seeded random values for test
// files, the match between a weights file and the spec (to recognise a file by its shapes), and
// the copy into a built model. A file is matched as Keras' model.load_weights matches it: by layer
// name when its weighted layers carry exactly the model's names, else by the order of the weighted layers
// (Keras' topological order, which is the order of the file's layer_names): the official Xception
// file, written by Keras 1 with automatic names, only loads that way.

import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { kerasLayerOrder, specShapes, type LayerSpec, type SpecWeight } from './graph_spec.ts';

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export interface WeightedLayer {
  name: string;
  weights: SpecWeight[];
}

/** The layers holding weights, in Keras' model.layers order. */
export function weightedLayers(spec: readonly LayerSpec[]): WeightedLayer[] {
  const { weights } = specShapes(spec);
  return kerasLayerOrder(spec)
    .map((name) => ({ name, weights: weights.get(name)! }))
    .filter((l) => l.weights.length > 0);
}

/**
 * Seeded values for every weight (an LCG, deterministic across runs and platforms), scaled so that
 * a deep stack keeps activations of order one: He-uniform kernels (a depthwise kernel as a
 * per-channel 1-input conv), BatchNormalization γ ∈ [0.8, 1.2], β and moving mean ∈ [−0.1, 0.1],
 * moving variance ∈ [0.8, 1.25]; the classifier kernel ±√(3/in), biases ±0.1.
 */
export function seededWeights(layers: readonly WeightedLayer[], seed: number): Map<string, Float32Array[]> {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const uniform = (n: number, lo: number, hi: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * next();
    return a;
  };
  const out = new Map<string, Float32Array[]>();
  for (const l of layers) {
    out.set(
      l.name,
      l.weights.map((w) => {
        const n = w.shape.reduce((a, b) => a * b, 1);
        const fanIn = w.shape.length === 4 ? w.shape[0] * w.shape[1] * (w.name === 'depthwise_kernel' ? 1 : w.shape[2]) : w.shape[0];
        switch (w.name) {
          case 'kernel':
            if (w.shape.length === 2) return uniform(n, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn));
            return uniform(n, -Math.sqrt(6 / fanIn), Math.sqrt(6 / fanIn));
          case 'pointwise_kernel':
            return uniform(n, -Math.sqrt(6 / fanIn), Math.sqrt(6 / fanIn));
          case 'depthwise_kernel':
            return uniform(n, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn));
          case 'gamma':
            return uniform(n, 0.8, 1.2);
          case 'moving_variance':
            return uniform(n, 0.8, 1.25);
          default: // bias, beta, moving_mean
            return uniform(n, -0.1, 0.1);
        }
      }),
    );
  }
  return out;
}

/**
 * The first weighted layer's kernel shape: in file order, which is Keras' layer order (whatever the
 * names: Keras 1's, tf.keras' conv2d, …), or, for a file in stored-name order, the layer called `name`.
 */
export function firstKernel(file: KerasFile, name: string): number[] | undefined {
  const stored = file.layers.filter((l) => l.weights.length > 0);
  return (file.layerOrder === 'model' ? stored[0] : stored.find((l) => l.name === name))?.weights[0]?.shape;
}

/** The classifier's kernel shape, if the last weighted layer (or, in stored-name order, 'predictions') is a Dense. */
export function classifierKernel(file: KerasFile): number[] | undefined {
  const stored = file.layers.filter((l) => l.weights.length > 0);
  const k = (file.layerOrder === 'model' ? stored[stored.length - 1] : stored.find((l) => l.name === 'predictions'))?.weights[0]?.shape;
  return k && k.length === 2 ? k : undefined;
}

/**
 * For each weighted layer of the spec, the file's layer holding its weights (by name if the file's
 * weighted layers are exactly those names, else by order), or a one-line reason why the file does not fit.
 */
export function matchFile(file: KerasFile, layers: readonly WeightedLayer[]): { ok: true; src: KerasLayerWeights[] } | { ok: false; why: string } {
  const stored = file.layers.filter((l) => l.weights.length > 0);
  const byName = new Map(stored.map((l) => [l.name, l]));
  let src: KerasLayerWeights[];
  // By name only when the names are exactly the model's: a top file never half-loads into a no-top model.
  if (stored.length === layers.length && layers.every((l) => byName.has(l.name))) src = layers.map((l) => byName.get(l.name)!);
  else if (file.layerOrder === 'file')
    return { ok: false, why: `its layers are named ${stored.slice(0, 3).map((l) => `'${l.name}'`).join(', ')}, … in stored-name order (a Keras 3 .weights.h5 read without its config), so neither names nor order can be matched` };
  else if (stored.length !== layers.length)
    return { ok: false, why: `${stored.length} layers hold weights in the file, ${layers.length} are needed (the first: '${layers[0].name}' ${fmt(layers[0].weights[0].shape)})` };
  else src = stored;
  for (const [i, l] of layers.entries()) {
    const f = src[i];
    const from = f.name === l.name ? '' : ` (the file's '${f.name}')`;
    if (f.weights.length !== l.weights.length)
      return { ok: false, why: `layer '${l.name}'${from} has ${f.weights.length} weights (${f.weights.map((w) => `'${w.name}' ${fmt(w.shape)}`).join(', ')}), needs ${l.weights.length} (${l.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')})` };
    for (const [k, w] of l.weights.entries())
      if (f.weights[k].shape.join() !== w.shape.join())
        return { ok: false, why: `layer '${l.name}'${from} ${w.name} '${f.weights[k].name}' is ${fmt(f.weights[k].shape)} in the file, needs ${fmt(w.shape)}` };
  }
  return { ok: true, src };
}

/** A built model's layers holding weights, in its (Keras') layer order, with their shapes. */
export function modelWeightedLayers(model: Model): WeightedLayer[] {
  return model.layers.filter((l) => l.weights.length > 0).map((l) => ({ name: l.name, weights: l.weights.map((w) => ({ name: w.name, shape: w.shape })) }));
}

/**
 * Copies the file's weights into `model` after checking every layer; nothing is copied if any
 * layer does not fit. One-line errors name the file, the layer and both shapes.
 */
export function loadSpecWeights(model: Model, file: KerasFile, path: string, what: string): void {
  const layers = modelWeightedLayers(model);
  const m = matchFile(file, layers);
  if (!m.ok) throw new Error(`${path}: not ${what} weights for this model: ${m.why}`);
  for (const [i, l] of layers.entries()) {
    const target = model.getLayer(l.name);
    target.weights.forEach((w, k) => w.assign(m.src[i].weights[k].data, `${path}: layer '${l.name}'`));
  }
}
