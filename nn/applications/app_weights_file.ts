// What the ResNet50 and DenseNet121 applications share about official weights files: seeded random
// weights for a built model (for tests and goldens, where the real ImageNet files are not at
// hand), a writer for the keras-applications release layout, whose layer names may hold '/'
// (DenseNet's 'conv1/conv', which nn/io/keras.ts's writers refuse), and a loader that copies a
// file into a built model by layer name, with one-line errors naming the file, the layer and both
// shapes.
//
// The keras-applications layout is Keras 2's save_weights (keras/engine/saving.py,
// save_weights_to_hdf5_group): root attributes layer_names (every layer of model.layers, the
// input layer included, weightless ones too), backend and keras_version; one group per layer,
// whose weight_names attribute lists '<layer>/<weight>:0' and whose datasets sit at those
// relative paths. h5py makes a name with '/' nested groups, so 'conv1/conv' is the group
// /conv1/conv and its kernel the dataset /conv1/conv/conv1/conv/kernel:0.

import { createHash } from 'node:crypto';
import { ensureGroup, writeDatasetF32, writeFixedStringListAttr, writeH5Atomic, writeStringAttr } from '../io/h5.ts';
import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import { InputLayer } from '../layers/simple.ts';
import type { Model } from '../model.ts';

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export interface RandomAppWeightsOptions {
  seed?: number;
  /** Factor on the classifier's kernel and bias (default 1: the goldens compare logits). */
  classifierScale?: number;
  /**
   * The typical size (RMS) of the model's input: the first layer's kernel is divided by it, so
   * that activations stay near 1 after it (default 1; 64 suits 'caffe' pixels, which reach ±128).
   */
  inputScale?: number;
  /**
   * A factor on γ and β of some BatchNormalization layers (default none). Residual networks use
   * it on the last normalisation of each branch (as a zero-γ initialisation does): with fixed
   * statistics every block would otherwise add a branch as large as its input, and activations
   * would grow geometrically with depth.
   */
  bnScale?: (layer: string) => number;
}

/**
 * Seeded weights for every layer of `model`, in model order, with the input layer and the
 * weightless layers listed (as a saved file has them), under the model's short weight names
 * (kernel, bias, gamma, beta, moving_mean, moving_variance). Conv and dense kernels are
 * He-uniform (±sqrt(6 / fan_in)), biases 0.01·sin(i); BatchNormalization gets γ in [0.75, 1.25],
 * β and the moving mean in [−0.1, 0.1] and the moving variance in [0.5, 1.5], so that the
 * inference formula is exercised with statistics that are not the identity. With He-uniform
 * kernels and ReLUs each convolution keeps the size of its input, so a chain of them (DenseNet's
 * concatenations too) keeps activations within a few units of 1 and its softmax unsaturated once
 * `inputScale` brings the input to that size; residual sums need `bnScale` as well.
 */
export function randomAppLayers(model: Model, o: RandomAppWeightsOptions = {}): KerasLayerWeights[] {
  let s = (o.seed ?? 12345) >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: fast and identical on every runtime
    return (s / 4294967296) * 2 - 1;
  };
  const out: KerasLayerWeights[] = model.inputLayers.map((l) => ({ name: l.name, weights: [] }));
  const last = [...model.layers].reverse().find((l) => l.weights.length > 0);
  const first = model.layers.find((l) => l.weights.length > 0);
  for (const l of model.layers) {
    if (l instanceof InputLayer) continue;
    const f = l === last && l.weights[0]?.shape.length === 2 ? (o.classifierScale ?? 1) : l === first ? 1 / (o.inputScale ?? 1) : 1;
    const g = o.bnScale?.(l.name) ?? 1;
    const weights = l.weights.map((w) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (w.name === 'kernel') {
        const a = Math.sqrt(6 / w.shape.slice(0, -1).reduce((p, q) => p * q, 1)) * f;
        for (let i = 0; i < n; i++) data[i] = u() * a;
      } else if (w.name === 'bias') for (let i = 0; i < n; i++) data[i] = 0.01 * (l === last ? f : 1) * Math.sin(i);
      else if (w.name === 'gamma') for (let i = 0; i < n; i++) data[i] = g * (1 + 0.25 * u());
      else if (w.name === 'beta') for (let i = 0; i < n; i++) data[i] = g * 0.1 * u();
      else if (w.name === 'moving_mean') for (let i = 0; i < n; i++) data[i] = 0.1 * u();
      else if (w.name === 'moving_variance') for (let i = 0; i < n; i++) data[i] = 1 + 0.5 * u();
      else throw new Error(`randomAppLayers: layer '${l.name}' has a weight '${w.name}' this writer does not know`);
      return { name: w.name, shape: [...w.shape], data };
    });
    out.push({ name: l.name, weights });
  }
  return out;
}

/**
 * Writes `layers` in the keras-applications layout (see the top of this file). Short weight names
 * become '<layer>/<name>:0'; names already ending in ':0' are kept. Written atomically.
 */
export async function writeKerasAppWeights(path: string, layers: KerasLayerWeights[], o: { kerasVersion?: string; backend?: string } = {}): Promise<void> {
  const seen = new Set<string>();
  for (const l of layers) {
    if (!l.name || l.name.startsWith('/') || l.name.endsWith('/') || l.name.includes('//')) throw new Error(`${path}: layer name '${l.name}' is not a usable HDF5 path`);
    if (seen.has(l.name)) throw new Error(`${path}: layer name '${l.name}' appears twice`);
    seen.add(l.name);
  }
  await writeH5Atomic(path, (f) => {
    writeFixedStringListAttr(f, 'layer_names', layers.map((l) => l.name), path);
    writeStringAttr(f, 'backend', o.backend ?? 'tensorflow', 'ascii', path);
    writeStringAttr(f, 'keras_version', o.kerasVersion ?? '2.2.4', 'ascii', path);
    for (const l of layers) {
      const where = `${path}: layer '${l.name}'`;
      const g = ensureGroup(f, l.name, where);
      const stored = l.weights.map((w) => (w.name.endsWith(':0') ? w.name : `${l.name}/${w.name}:0`));
      writeFixedStringListAttr(g, 'weight_names', stored, where);
      l.weights.forEach((w, i) => writeDatasetF32(g, stored[i], w.shape, w.data, where));
    }
  });
}

/** sha256 of every weight's float32 bytes, in file order: the same numbers give the same digest, whatever the layout. */
export function weightsDigest(layers: readonly KerasLayerWeights[]): string {
  const h = createHash('sha256');
  for (const l of layers) for (const w of l.weights) h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return h.digest('hex');
}

/** Layer name → the file's layer with weights (or null), for `names` tried in order. */
function findStored(byName: Map<string, KerasLayerWeights>, names: readonly string[]): KerasLayerWeights | null {
  for (const n of names) {
    const l = byName.get(n);
    if (l && l.weights.length > 0) return l;
  }
  return null;
}

/**
 * Copies `file` into `model` (built with the options the file was made for), layer by layer by
 * name: `aliases(name)` gives the names a layer may have in the file (its own first). Every
 * weighted layer of the model must be found, with as many weights of the same shapes, in the
 * model's order (kernel, bias; gamma, beta, moving mean, moving variance). The first problem
 * is a one-line error naming the file, the layer and both shapes.
 */
export function loadAppWeights(model: Model, file: KerasFile, path: string, what: string, aliases: (name: string) => readonly string[] = (n) => [n]): void {
  const byName = new Map(file.layers.map((l) => [l.name, l]));
  const stored = file.layers.filter((l) => l.weights.length > 0).map((l) => l.name);
  const hint = stored.length ? `layers with weights in the file: ${stored.slice(0, 6).join(', ')}${stored.length > 6 ? `, … (${stored.length})` : ''}` : 'the file has no layer with weights';
  const plan: [KerasLayerWeights, (typeof model.layers)[number]][] = [];
  for (const l of model.layers) {
    if (l.weights.length === 0) continue;
    const names = aliases(l.name);
    const src = findStored(byName, names);
    const want = l.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ');
    if (!src) throw new Error(`${path}: not ${what} weights: layer '${l.name}'${names.length > 1 ? ` (or ${names.slice(1).map((n) => `'${n}'`).join(', ')})` : ''} (${want}) is missing; ${hint}`);
    const as = src.name === l.name ? `'${l.name}'` : `'${l.name}' (in the file '${src.name}')`;
    if (src.weights.length !== l.weights.length)
      throw new Error(`${path}: not ${what} weights: layer ${as} has ${src.weights.length} weights in the file (${src.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')}), ${what} needs ${l.weights.length} (${want})`);
    l.weights.forEach((w, k) => {
      const s = src.weights[k];
      if (s.shape.join() !== w.shape.join())
        throw new Error(`${path}: not ${what} weights: layer ${as} ${w.name} '${s.name}' is ${fmt(s.shape)} in the file, ${what} needs ${fmt(w.shape)}`);
    });
    plan.push([src, l]);
  }
  // Checked first, uploaded after: a bad file leaves the model as it was.
  for (const [src, l] of plan) l.weights.forEach((w, k) => w.assign(src.weights[k].data, `${path}: layer '${l.name}'`));
}

/** Kernel shape of layer `name` in `file` (its first weight), or undefined. */
export function storedKernel(file: KerasFile, name: string): number[] | undefined {
  const l = file.layers.find((x) => x.name === name);
  return l?.weights[0]?.shape;
}
