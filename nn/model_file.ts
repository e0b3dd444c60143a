// Model files: Keras-compatible HDF5 save (the model.save layout, written atomically) and load of
// any Keras file we can read (architecture from its config, weights by layer). Our files also
// record their input preprocessing in the root attribute `lanterna_preprocessing`, so that
// evaluate, cam and the app need no flag for them.

import { LanternaError } from '../engine/errors.ts';
import { modelFromConfig } from './from_config.ts';
import { readKerasWeights, writeKerasModel, type KerasFile } from './io/keras.ts';
import { isTfjsModelPath, matchTfjsWeights, readTfjsModel, writeTfjsModel, type TfjsModelFile } from './io/tfjs.ts';
import type { PixelMode } from './data/mnist.ts';
import type { Sequential } from './sequential.ts';

export interface Preprocessing {
  /** How 0..255 pixels become inputs: 'inverted' 1 − x/255 (the lecture), 'unit' x/255, 'raw'. */
  pixels: PixelMode;
}

export const PREPROCESSING_ATTR = 'lanterna_preprocessing';

export interface SaveOptions {
  preprocessing?: Preprocessing;
  trainingConfig?: object;
  /** More root attributes (strings), e.g. how the model was trained. */
  attrs?: Record<string, string>;
}

export async function saveModel(model: Sequential, path: string, o: SaveOptions = {}): Promise<void> {
  const layers = await Promise.all(
    model.layers.map(async (l) => ({
      name: l.name,
      weights: await Promise.all(l.weights.map(async (w) => ({ name: w.name, shape: w.shape, data: await w.read() }))),
    })),
  );
  const extraAttrs: Record<string, string> = { ...(o.attrs ?? {}) };
  if (o.preprocessing) extraAttrs[PREPROCESSING_ATTR] = JSON.stringify(o.preprocessing);
  await writeKerasModel(path, { modelConfig: model.toKerasConfig(), layers, trainingConfig: o.trainingConfig, extraAttrs });
}

export interface LoadedModel {
  model: Sequential;
  preprocessing: Preprocessing | null;
  /** The file read: a Keras file, or a TF.js model.json with its shards (format 'tfjs-layers'). */
  file: KerasFile | TfjsModelFile;
}

/**
 * Loads a Keras file into a built Sequential. Weights-only files need `config` (a model_config
 * object) unless the caller builds the model itself and uses `loadWeightsInto`.
 */
export async function loadModel(path: string, config?: object): Promise<LoadedModel> {
  if (isTfjsModelPath(path)) return loadTfjs(path);
  const file = await readKerasWeights(path, config ? { modelConfig: config } : {});
  const cfg = (file.modelConfig ?? config) as Record<string, unknown> | undefined;
  if (!cfg) throw new LanternaError(`${path}: holds weights only (no model_config); give the architecture as well`);
  const model = modelFromConfig(cfg as any, path, { kerasVersion: file.kerasVersion }).build();
  loadWeightsInto(model, file, path);
  let preprocessing: Preprocessing | null = null;
  const p = file.extraAttrs[PREPROCESSING_ATTR];
  if (p) {
    try {
      preprocessing = JSON.parse(p) as Preprocessing;
    } catch {
      throw new LanternaError(`${path}: attribute ${PREPROCESSING_ATTR} is not JSON: ${p.slice(0, 80)}`);
    }
  }
  return { model, preprocessing, file };
}

/** Copies weights from a read file into a built model, matching layers by name (else by order). */
export function loadWeightsInto(model: Sequential, file: KerasFile, path: string): void {
  const stored = file.layers.filter((l) => l.weights.length > 0);
  const wanted = model.layers.filter((l) => l.weights.length > 0);
  const byName = new Map(stored.map((l) => [l.name, l]));
  const useNames = wanted.every((l) => byName.has(l.name));
  if (!useNames && stored.length !== wanted.length)
    throw new LanternaError(`${path}: ${stored.length} layers with weights in the file, the model has ${wanted.length} (${wanted.map((l) => l.name).join(', ')})`);
  wanted.forEach((layer, i) => {
    const src = useNames ? byName.get(layer.name)! : stored[i];
    if (src.weights.length !== layer.weights.length)
      throw new LanternaError(`${path}: layer '${layer.name}' expects ${layer.weights.length} weights (${layer.weights.map((w) => w.name).join(', ')}), the file has ${src.weights.length} in '${src.name}'`);
    layer.weights.forEach((w, k) => {
      const s = src.weights[k];
      if (s.shape.join() !== w.shape.join())
        throw new LanternaError(`${path}: layer '${layer.name}' weight '${w.name}' has shape [${w.shape}] in the model, [${s.shape}] in the file ('${s.name}')`);
      w.assign(s.data, `${path}: layer '${layer.name}'`);
    });
  });
}

/** A TF.js layers model (model.json, or the folder holding it): built from its config, weights by name. */
function loadTfjs(path: string): LoadedModel {
  const file = readTfjsModel(path);
  let model: Sequential;
  try {
    model = modelFromConfig(file.modelConfig, file.path, { kerasVersion: file.kerasVersion }).build();
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
  const withWeights = model.layers.filter((l) => l.weights.length > 0);
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
export async function saveTfjsModel(model: Sequential, dir: string, o: { preprocessing?: Preprocessing } = {}): Promise<void> {
  const weights: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const l of model.layers) for (const w of l.weights) weights.push({ name: `${l.name}/${w.name}`, shape: w.shape.slice(), data: await w.read() });
  writeTfjsModel(dir, {
    modelConfig: model.toKerasConfig(),
    weights,
    userDefinedMetadata: o.preprocessing ? { [PREPROCESSING_ATTR]: o.preprocessing } : undefined,
  });
}
