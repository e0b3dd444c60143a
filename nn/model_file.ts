// Model files: Keras-compatible HDF5 save (the model.save layout, written atomically) and load of
// any Keras file we can read (architecture from its config, weights by layer). Our files also
// record their input preprocessing in the root attribute `lanterna_preprocessing`, so that
// evaluate, cam and the app need no flag for them.

import { LanternaError } from '../engine/errors.ts';
import { modelFromConfig } from './from_config.ts';
import { readKerasWeights, writeKerasModel, type KerasFile, type KerasLayerWeights, type KerasWeight } from './io/keras.ts';
import { isTfjsModelPath, matchTfjsWeights, readTfjsModel, writeTfjsModel, type TfjsModelFile } from './io/tfjs.ts';
import type { PixelMode } from './data/mnist.ts';
import { Model } from './model.ts';
import { model3 } from './keras3_config.ts';
import { writeKerasArchive, type KerasArchiveLayer } from './io/keras_archive.ts';
import { Sequential } from './sequential.ts';
import type { Layer, Weight } from './layer.ts';
import { h5ready } from './io/h5.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How a model's inputs are made from 0..255 pixels; our model files record it (root attribute
 * lanterna_preprocessing).
 */
export interface Preprocessing {
  /** How 0..255 pixels become inputs: 'inverted' 1 − x/255 (the lecture), 'unit' x/255, 'raw'. */
  pixels: PixelMode;
}

export const PREPROCESSING_ATTR = 'lanterna_preprocessing';

/** Options of `saveModel` and `saveModelToBytes`. */
export interface SaveOptions {
  /** The input preprocessing to record in the file. */
  preprocessing?: Preprocessing;
  /** Keras' training_config (optimizer, loss) to store, as Keras' model.save does. */
  trainingConfig?: object;
  /** More root attributes (strings), e.g. how the model was trained. */
  attrs?: Record<string, string>;
}

/**
 * Writes `model` to `path`: a Keras 3 archive when the path ends in `.keras`, else a Keras HDF5
 * file (model.save's layout, written atomically). Both are readable by Keras and by `loadModel`.
 */
export async function saveModel(model: Model, path: string, o: SaveOptions = {}): Promise<void> {
  if (!model.built) model.build();
  if (path.toLowerCase().endsWith('.keras')) return saveKerasArchive(model, path, o);
  const extraAttrs: Record<string, string> = { ...(o.attrs ?? {}) };
  if (o.preprocessing) extraAttrs[PREPROCESSING_ATTR] = JSON.stringify(o.preprocessing);
  await writeKerasModel(path, { modelConfig: model.toKerasConfig(), layers: await kerasLayerGroups(model), trainingConfig: o.trainingConfig, extraAttrs });
}

/**
 * One weight group per layer in Keras' model.layers order (a Functional model lists its inputs
 * there). A nested model's group holds all its weights as tf.keras saves them: trainable first,
 * then non-trainable, named '<inner layer>/<weight>:0'.
 */
async function kerasLayerGroups(model: Model): Promise<KerasLayerWeights[]> {
  const top: Layer[] = model instanceof Sequential ? model.layers : [...new Set(model.nodes.map((n) => n.layer))];
  return Promise.all(
    top.map(async (l) => {
      if (!(l instanceof Model)) return { name: l.name, weights: await Promise.all(l.weights.map(async (w) => ({ name: w.name, shape: w.shape, data: await w.read() }))) };
      const owned = leafLayers(l).flatMap((leaf) => leaf.weights.map((w) => ({ leaf, w })));
      const ordered = trainableFirst(owned, (x) => x.w);
      return { name: l.name, weights: await Promise.all(ordered.map(async ({ leaf, w }) => ({ name: `${leaf.name}/${w.name}:0`, shape: w.shape, data: await w.read() }))) };
    }),
  );
}

/**
 * Keras 3's `.keras` archive (config.json in Keras 3's layout, model.weights.h5 by layer class and
 * counter). The preprocessing goes to config.json's top level, which Keras ignores.
 */
async function saveKerasArchive(model: Model, path: string, o: SaveOptions): Promise<void> {
  const config = model3(model);
  if (o.preprocessing) config[PREPROCESSING_ATTR] = o.preprocessing;
  const group = async (l: Layer): Promise<KerasArchiveLayer> => {
    if (l instanceof Model) return { name: l.name, weights: [], layers: await Promise.all(l.layers.map(group)) };
    const ordered = trainableFirst(l.weights, (w) => w);
    return { name: l.name, weights: await Promise.all(ordered.map(async (w) => ({ name: w.name, shape: w.shape, data: await w.read() }))) };
  };
  await writeKerasArchive(path, { config, layers: await Promise.all(model.layers.map(group)) });
}

/** Keras' saved order of a container's variables: the trainable ones, then the others (BatchNorm statistics). */
function trainableFirst<T>(xs: T[], weight: (x: T) => Weight): T[] {
  return [...xs.filter((x) => weight(x).trainable), ...xs.filter((x) => !weight(x).trainable)];
}

/** The layers of `model` and of the models nested in it, that are not models themselves. */
export function leafLayers(model: Model): Layer[] {
  return model.allLayers().filter((l) => !(l instanceof Model));
}

/** What `loadModel` and `loadModelFromBytes` return. */
export interface LoadedModel {
  /** The built model, weights loaded. */
  model: Model;
  /** The preprocessing the file records; null for files not written by Lanterna. */
  preprocessing: Preprocessing | null;
  /** The file read: a Keras file, or a TF.js model.json with its shards (format 'tfjs-layers'). */
  file: KerasFile | TfjsModelFile;
}

/**
 * Loads a Keras file (.h5, .keras) or a TF.js model.json into a built model (Sequential or
 * functional), with the preprocessing our files record. Weights-only files need `config` (a
 * model_config object). Throws a `LanternaError` naming the file when it cannot be read or built.
 */
export async function loadModel(path: string, config?: object): Promise<LoadedModel> {
  if (isTfjsModelPath(path)) return loadTfjs(path);
  const file = await readKerasWeights(path, config ? { modelConfig: config } : {});
  const cfg = (file.modelConfig ?? config) as Record<string, unknown> | undefined;
  if (!cfg) throw new LanternaError(`${path}: holds weights only (no model_config); give the architecture as well`);
  const model = named(path, () => modelFromConfig(cfg as any, path, { kerasVersion: file.kerasVersion }).build());
  named(path, () => loadWeightsInto(model, file, path));
  let preprocessing: Preprocessing | null = null;
  // HDF5 files keep it in a root attribute; a .keras archive at config.json's top level.
  const inConfig = (cfg as Record<string, unknown>)[PREPROCESSING_ATTR];
  const p = file.extraAttrs[PREPROCESSING_ATTR] ?? (inConfig === undefined ? undefined : JSON.stringify(inConfig));
  if (p) {
    try {
      preprocessing = JSON.parse(p) as Preprocessing;
    } catch {
      throw new LanternaError(`${path}: attribute ${PREPROCESSING_ATTR} is not JSON: ${p.slice(0, 80)}`);
    }
  }
  return { model, preprocessing, file };
}

/**
 * Copies weights from a read file into a built model, matching layers by name (else by order). A
 * nested model is matched as one group of the file (tf.keras 2 files: weights named
 * '<inner layer>/<weight>', else trainable-then-non-trainable order) or layer by layer (Keras 3).
 */
export function loadWeightsInto(model: Model, file: KerasFile, path: string): void {
  const stored = file.layers.filter((l) => l.weights.length > 0);
  const byName = new Map(stored.map((l) => [l.name, l]));
  type Owner = { layer: Layer; nested?: Model };
  const owners = (m: Model): Owner[] =>
    m.layers.flatMap((l): Owner[] => (l instanceof Model ? (byName.has(l.name) ? [{ layer: l, nested: l }] : owners(l)) : l.weights.length ? [{ layer: l }] : []));
  let wanted = owners(model).filter((o) => o.layer.weights.length > 0);
  const useNames = wanted.every((o) => byName.has(o.layer.name));
  if (!useNames) {
    wanted = leafLayers(model).filter((l) => l.weights.length > 0).map((layer) => ({ layer }));
    if (stored.length !== wanted.length)
      throw new LanternaError(`${path}: ${stored.length} layers with weights in the file, the model has ${wanted.length} (${wanted.map((o) => o.layer.name).join(', ')})`);
  }
  wanted.forEach((o, i) => {
    const src = useNames ? byName.get(o.layer.name)! : stored[i];
    if (o.nested) return loadNested(o.nested, src, path);
    const layer = o.layer;
    if (src.weights.length !== layer.weights.length)
      throw new LanternaError(`${path}: layer '${layer.name}' expects ${layer.weights.length} weights (${layer.weights.map((w) => w.name).join(', ')}), the file has ${src.weights.length} in '${src.name}'`);
    layer.weights.forEach((w, k) => assignChecked(w, src.weights[k], layer.name, path));
  });
}

function assignChecked(w: Weight, s: KerasWeight, layer: string, path: string): void {
  if (s.shape.join() !== w.shape.join())
    throw new LanternaError(`${path}: layer '${layer}' weight '${w.name}' has shape [${w.shape}] in the model, [${s.shape}] in the file ('${s.name}')`);
  w.assign(s.data, `${path}: layer '${layer}'`);
}

/** A nested model's weights from its one group: by '<inner layer>/<weight>' names, else in tf.keras' order. */
function loadNested(m: Model, src: KerasLayerWeights, path: string): void {
  const owned = leafLayers(m).flatMap((leaf) => leaf.weights.map((w) => ({ leaf, w })));
  const key = (n: string) => n.replace(/:0$/, '');
  const found = owned.map(({ leaf, w }) => src.weights.filter((s) => `/${key(s.name)}`.endsWith(`/${leaf.name}/${w.name}`)));
  if (found.every((f) => f.length === 1)) return owned.forEach(({ leaf, w }, i) => assignChecked(w, found[i][0], leaf.name, path));
  const ordered = trainableFirst(owned, (x) => x.w);
  if (ordered.length !== src.weights.length)
    throw new LanternaError(`${path}: nested model '${m.name}' has ${ordered.length} weights, the file's group '${src.name}' has ${src.weights.length}`);
  ordered.forEach(({ leaf, w }, i) => assignChecked(w, src.weights[i], leaf.name, path));
}

/** Runs `fn`; an error is a LanternaError whose one line starts with the file's path. */
function named<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    if (e instanceof LanternaError && msg.startsWith(path)) throw e;
    throw new LanternaError(msg.startsWith(path) ? msg : `${path}: ${msg}`);
  }
}

/** A TF.js layers model (model.json, or the folder holding it): built from its config, weights by name. */
function loadTfjs(path: string): LoadedModel {
  const file = readTfjsModel(path);
  const model = named(file.path, () => modelFromConfig(file.modelConfig, file.path, { kerasVersion: file.kerasVersion }).build());
  const withWeights = leafLayers(model).filter((l) => l.weights.length > 0);
  const data = matchTfjsWeights(file, withWeights);
  withWeights.forEach((l, i) => l.weights.forEach((w, k) => w.assign(data[i][k], `${file.path}: layer '${l.name}'`)));
  const p = file.userDefinedMetadata?.[PREPROCESSING_ATTR];
  const preprocessing = p && typeof p === 'object' && typeof (p as Preprocessing).pixels === 'string' ? (p as Preprocessing) : null;
  return { model, preprocessing, file };
}

/**
 * Saves `model` as a TF.js layers model in the folder `dir` (model.json + float32 shards ≤ 4 MB),
 * loadable by tf.loadLayersModel and by loadModel; preprocessing goes to userDefinedMetadata.
 */
export async function saveTfjsModel(model: Model, dir: string, o: { preprocessing?: Preprocessing } = {}): Promise<void> {
  const weights: { name: string; shape: number[]; data: Float32Array }[] = [];
  if (!model.built) model.build();
  for (const l of leafLayers(model)) for (const w of l.weights) weights.push({ name: `${l.name}/${w.name}`, shape: w.shape.slice(), data: await w.read() });
  writeTfjsModel(dir, {
    modelConfig: model.toKerasConfig(),
    weights,
    userDefinedMetadata: o.preprocessing ? { [PREPROCESSING_ATTR]: o.preprocessing } : undefined,
  });
}

/**
 * Loads a model from bytes instead of a path: one Keras file (`.h5` or `.keras`; `name` says which,
 * default `model.h5`), or a TF.js model as `{ 'model.json': …, 'group1-shard1of1.bin': … }`. Works
 * the same in Node, Deno and the browser (where the bytes come from `fetch` or a file input).
 */
export async function loadModelFromBytes(bytes: Uint8Array | Record<string, Uint8Array>, name = 'model.h5'): Promise<LoadedModel> {
  const files = bytes instanceof Uint8Array ? { [name]: bytes } : bytes;
  const names = Object.keys(files);
  const main = bytes instanceof Uint8Array ? name : (names.find((n) => n.endsWith('.json')) ?? (names.length === 1 ? names[0] : undefined));
  if (!main) throw new LanternaError(`loadModelFromBytes: ${names.length} files (${names.join(', ')}) but no model.json among them`);
  for (const n of names) if (!/^[\w.-]+$/.test(n) || n === '.' || n === '..') throw new LanternaError(`loadModelFromBytes: '${n}' is not a plain file name`);
  await h5ready();
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bytes-'));
  try {
    for (const n of names) writeFileSync(join(dir, n), files[n]);
    return await loadModel(join(dir, main));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** saveModel into bytes: a Keras file whose format follows `name` (`.h5`, default, or `.keras`). */
export async function saveModelToBytes(model: Model, o: SaveOptions = {}, name = 'model.h5'): Promise<Uint8Array> {
  if (!/^[\w.-]+\.(h5|keras)$/.test(name)) throw new LanternaError(`saveModelToBytes: '${name}' must be a file name ending in .h5 or .keras`);
  await h5ready();
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bytes-'));
  try {
    await saveModel(model, join(dir, name), o);
    return new Uint8Array(readFileSync(join(dir, name)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
