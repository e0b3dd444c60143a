// An official weights file against an application: which file layer holds each weighted layer's
// weights, checked shape by shape, for `recognise` (does the file fit a description of some
// options?) and `loadWeights` (copy it into a built model). One matcher serves every family; the
// options say how its official files are matched:
//   by name   the file's layers carry the model's names, or names `aliases` gives (ResNet50's 2016
//             names, MobileNetV2's 'Logits'); `extraLayers` lets the file hold more weighted
//             layers than the model (else a top file never half-loads into a no-top model);
//   by order  what Keras' load_weights does with a weights-only file: the weighted layers in
//             layer_names order, when the names do not match and the counts do (Xception's
//             Keras 1 file, tf.keras' renumbered automatic names); `byOrder: false` refuses it.
// Failing both, the first layer that is missing or does not fit by name is the one-line reason.

import type { KerasFile, KerasLayerWeights } from '../io/keras.ts';
import type { Model } from '../model.ts';
import type { AppGraph, LayerShapes } from './app_graph.ts';
import type { AppOptions } from './registry.ts';

export interface MatchOptions {
  /** 'MobileNet', 'ResNet50', … for messages. */
  what: string;
  /** The other names a layer may have in official files, tried after its own. */
  aliases?: (layer: string) => readonly string[];
  /** By name, the file may hold weighted layers the model lacks (default false). */
  extraLayers?: boolean;
  /** Match in order when the names do not (default true). */
  byOrder?: boolean;
  /** Layers of the top: a hint when one is missing ("a _no_top file: use includeTop false"). */
  topLayers?: readonly string[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
/** 'conv1/kernel:0' → 'kernel:0', for messages. */
const short = (n: string) => n.split('/').pop()!;
const listWeights = (ws: readonly { name: string; shape: number[] }[], name = (n: string) => n) => ws.map((w) => `${name(w.name)} ${fmt(w.shape)}`).join(', ');

/** The layers of a file that hold weights (Keras 3's model-level variables aside), in its order. */
export function weightedFileLayers(file: KerasFile): KerasLayerWeights[] {
  return file.layers.filter((l) => l.weights.length > 0 && l.name !== 'top_level_model_weights');
}

/** Why `src` cannot hold the weights of `l`, or null if it can. */
function misfit(l: LayerShapes, src: KerasLayerWeights, how: string): string | null {
  const at = src.name === l.layer ? `layer '${l.layer}'` : `layer '${l.layer}' (file layer '${src.name}')`;
  if (src.weights.length !== l.weights.length)
    return `${at} has ${src.weights.length} weights in the file (${listWeights(src.weights, short)}), the model needs ${l.weights.length} (${listWeights(l.weights)})${how}`;
  const k = l.weights.findIndex((w, i) => src.weights[i].shape.join() !== w.shape.join());
  if (k < 0) return null;
  const f = src.weights[k];
  return `${at} ${l.weights[k].name} is ${fmt(f.shape)} in the file ('${short(f.name)}'), the model needs ${fmt(l.weights[k].shape)}${how}`;
}

/**
 * For each weighted layer of `want` (Keras order), the file layer holding its weights, or the
 * one-line reason why the file does not fit.
 */
export function matchWeights(file: KerasFile, want: readonly LayerShapes[], o: MatchOptions): { ok: true; src: KerasLayerWeights[] } | { ok: false; why: string } {
  const mine = want.filter((l) => l.weights.length > 0);
  const theirs = weightedFileLayers(file);
  const byName = new Map(theirs.map((l) => [l.name, l]));
  const names = (l: LayerShapes) => [l.layer, ...(o.aliases?.(l.layer) ?? [])];
  const found = mine.map((l) => names(l).map((n) => byName.get(n)).find((x) => x !== undefined));
  let src: KerasLayerWeights[];
  let how = '';
  if (found.every((x) => x !== undefined) && (o.extraLayers || theirs.length === mine.length)) src = found as KerasLayerWeights[];
  else if ((o.byOrder ?? true) && theirs.length === mine.length && file.layerOrder === 'model') {
    src = theirs;
    how = ' (layers matched in order, as Keras does when the names differ)';
  } else {
    const listed = theirs.map((x) => x.name);
    const counts = `the file has ${theirs.length} layers with weights (${listed.slice(0, 6).join(', ')}${listed.length > 6 ? ', …' : ''}), the model ${mine.length}`;
    const stored = file.layerOrder === 'file' ? ' (in stored-name order, a Keras 3 .weights.h5 read without its config: not matchable in order)' : '';
    for (const [i, l] of mine.entries()) {
      const f = found[i];
      if (f) {
        const why = misfit(l, f, '');
        if (why) return { ok: false, why };
        continue;
      }
      const aka = names(l).slice(1);
      const top = o.topLayers?.includes(l.layer) ? ' (a file without the top, such as the _no_top weights: use includeTop false / --no-top)' : '';
      return { ok: false, why: `layer '${l.layer}'${aka.length ? ` (or ${aka.map((n) => `'${n}'`).join(', ')})` : ''} (${listWeights(l.weights)}) is missing${top}; ${counts}${stored}` };
    }
    const used = new Set(found);
    const extra = theirs.filter((x) => !used.has(x)).map((x) => x.name);
    const top = extra.some((n) => o.topLayers?.includes(n)) ? ' (a file with the top: use includeTop true)' : '';
    return { ok: false, why: `${counts}: ${extra.slice(0, 3).map((n) => `'${n}'`).join(', ')}${extra.length > 3 ? ', …' : ''} ${extra.length > 1 ? 'are' : 'is'} not in this model${top}` };
  }
  for (const [i, l] of mine.entries()) {
    const why = misfit(l, src[i], how);
    if (why) return { ok: false, why };
  }
  return { ok: true, src };
}

/** Whether the file fits a description exactly (how `recognise` confirms a family's options). */
export function fileFits(file: KerasFile, want: readonly LayerShapes[], o: MatchOptions): boolean {
  return matchWeights(file, want, o).ok;
}

/**
 * Copies `file` into `model` (built with the options the file was made for) after checking every
 * layer: a file that does not fit leaves the model as it was, with a one-line error naming the
 * file, the layer and both shapes.
 */
export function loadAppWeights(model: Model, file: KerasFile, path: string, o: MatchOptions): void {
  const layers = model.layers.filter((l) => l.weights.length > 0);
  const m = matchWeights(file, layers.map((l) => ({ layer: l.name, weights: l.weights })), o);
  if (!m.ok) throw new Error(`${path}: not ${o.what} weights for this model: ${m.why}`);
  layers.forEach((l, i) => l.weights.forEach((w, k) => w.assign(m.src[i].weights[k].data, `${path}: layer '${l.name}'`)));
}

/** The shape of the k-th weight of the file's layer `name`, if there is one. */
export function fileShape(file: KerasFile, name: string, k = 0): number[] | undefined {
  return file.layers.find((l) => l.name === name)?.weights[k]?.shape;
}

/** Whether the file has a layer `name` holding weights. */
export function fileHas(file: KerasFile, name: string): boolean {
  return file.layers.some((l) => l.name === name && l.weights.length > 0);
}

/**
 * The first weighted layer's kernel shape, whatever its name: in file order when that is Keras'
 * layer order (Keras 1's names, tf.keras' conv2d, …), else (stored-name order) the layer `name`'s.
 */
export function firstKernel(file: KerasFile, name: string): number[] | undefined {
  const stored = weightedFileLayers(file);
  return (file.layerOrder === 'model' ? stored[0] : stored.find((l) => l.name === name))?.weights[0]?.shape;
}

/** The classifier's kernel shape, if the last weighted layer (in stored-name order, the layer `name`) is a Dense. */
export function classifierKernel(file: KerasFile, name = 'predictions'): number[] | undefined {
  const stored = weightedFileLayers(file);
  const k = (file.layerOrder === 'model' ? stored[stored.length - 1] : stored.find((l) => l.name === name))?.weights[0]?.shape;
  return k && k.length === 2 ? k : undefined;
}

/**
 * The options of a file whose first weighted layer is a 3×3 convolution to 32 channels (Xception,
 * InceptionV3; in stored-name order the layer `first`): with the top when its last weighted layer
 * is a Dense (`classes` from it), the input channels from the stem, every layer's shapes confirmed
 * against `describe(options)`; null otherwise.
 */
export function recogniseByStem(file: KerasFile, first: string, size: number, describe: (o: AppOptions) => AppGraph, o: MatchOptions): AppOptions | null {
  const k0 = firstKernel(file, first);
  if (!k0 || k0.length !== 4 || k0[0] !== 3 || k0[1] !== 3 || k0[3] !== 32) return null;
  const top = classifierKernel(file);
  const opts: AppOptions = top ? { includeTop: true, classes: top[1], inputShape: [size, size, k0[2]] } : { includeTop: false, inputShape: [size, size, k0[2]] };
  return fileFits(file, describe(opts).weightShapes(), o) ? opts : null;
}
