// Keras model files, at the level of {layer name → ordered weights (name, shape, float32)} plus the
// model config JSON. Weights keep Keras' own layouts: conv kernels HWIO, dense kernels [in, out].
//
// Read: four layouts (the formats in /work/shared/data/README.md show all four in real files):
//   'legacy-model'   tf.keras / Keras 3 `model.save('x.h5')`: root attrs keras_version, backend,
//                    model_config (JSON), training_config; group model_weights with attr
//                    layer_names; each layer group has attr weight_names, paths relative to the
//                    layer group ('conv2d/kernel:0', Keras 3: 'sequential/conv2d/kernel').
//   'legacy-weights' `save_weights('x.h5')`: the same layer groups directly under the root, with
//                    layer_names on the root (VGG16's 'block1_conv1/block1_conv1_W_1:0' too).
//   'keras3-weights' Keras 3 `.weights.h5`: layers/<type>_<n>/vars/<i>, groups named by layer TYPE
//                    and counter in model order (conv2d, conv2d_1, …), not by config names.
//   'keras3-archive' Keras 3 `.keras` zip: config.json + metadata.json + model.weights.h5
//                    (read by zip.ts, every size and CRC checked; written by keras_archive.ts).
// Legacy layouts always follow weight_names. Keras 3 weights are put in model order and given
// their config names when a model config is at hand (the archive's own, or opts.modelConfig).
// A corrupt or truncated file fails as one line starting with its path (h5.ts, file_errors.ts):
// names with control characters and malformed model configs are refused here.
//
// Write: the legacy full-model layout exactly as tf.keras 2.x `model.save('x.h5')` lays it out,
// and the two weights-only layouts (Keras 2 save_weights, and the old VGG16 file's), atomically.

import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanternaError } from '../../engine/errors.ts';
import { checkModelConfig, hasControl, oneLine, parseJsonText } from './file_errors.ts';
import {
  attrNames, ensureGroup, getGroup, hasHdf5Signature, isDataset, isGroup, joinPath, readAttrValue, readDatasetF32,
  readStringAttr, readStringListAttr, withH5, writeDatasetF32, writeFixedStringListAttr, writeH5Atomic, writeStringAttr,
  type H5File, type H5Group,
} from './h5.ts';
import { readZip } from './zip.ts';
import { kerasSnakeCase } from '../naming.ts';

export type KerasFormat = 'legacy-model' | 'legacy-weights' | 'keras3-weights' | 'keras3-archive';

export interface KerasWeight {
  /** As stored: the weight_names entry for legacy files ('conv2d/kernel:0'), 'vars/<i>' for Keras 3. */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface KerasLayerWeights {
  name: string;
  /** In Keras' order (kernel before bias; BatchNorm gamma, beta, moving_mean, moving_variance). */
  weights: KerasWeight[];
}

export type JsonObject = { [key: string]: unknown };

export interface KerasFile {
  format: KerasFormat;
  kerasVersion?: string;
  backend?: string;
  /** Parsed model_config ({class_name, config}), or the .keras archive's config.json. */
  modelConfig?: JsonObject;
  trainingConfig?: JsonObject;
  /** Other string attributes on the root (e.g. lanterna_preprocessing). */
  extraAttrs: Record<string, string>;
  /**
   * 'model': layers come in model order. 'file': a Keras 3 .weights.h5 read without a config,
   * whose layers come in stored-name order (conv2d, conv2d_1, …, dense, …) under their stored names.
   */
  layerOrder: 'model' | 'file';
  /** Every layer, weightless ones (pooling, flatten, …) included with weights []. */
  layers: KerasLayerWeights[];
}

export interface ReadKerasOptions {
  /**
   * The architecture ({class_name, config: {layers}}) for files that carry none (a .weights.h5, a
   * save_weights file). Keras 3 weights are ordered and named by it; it is returned as
   * modelConfig when the file has none.
   */
  modelConfig?: object;
}

const ROOT_ATTRS = new Set(['keras_version', 'backend', 'model_config', 'training_config']);
const TOP_LEVEL = 'top_level_model_weights';

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads any of the four layouts. Every error, a corrupt or truncated file's included, is a
 * LanternaError of one line starting with `path` (or `path!member` inside a .keras archive).
 */
export async function readKerasWeights(path: string, opts: ReadKerasOptions = {}): Promise<KerasFile> {
  try {
    if (!existsSync(path)) throw new Error(`${path}: no such file`);
    if (statSync(path).isDirectory()) throw new Error(`${path}: a folder, not a Keras file`);
    const given = opts.modelConfig === undefined ? undefined : asObject(opts.modelConfig, `${path}: opts.modelConfig`);
    if (startsWithZip(path)) return await readArchive(path, given);
    if (!hasHdf5Signature(path)) {
      throw new Error(`${path}: neither an HDF5 file nor a .keras zip archive (first bytes: ${firstBytes(path)})`);
    }
    return await withH5(path, (f) => readH5(f, path, given));
  } catch (e) {
    const msg = oneLine(e instanceof Error ? e.message : String(e));
    if (e instanceof LanternaError && msg === e.message && msg.startsWith(path)) throw e;
    throw new LanternaError(msg.startsWith(path) ? msg : `${path}: ${msg}`);
  }
}

function readH5(f: H5File, file: string, given: JsonObject | undefined): KerasFile {
  const kerasVersion = readStringAttr(f, 'keras_version', file);
  const backend = readStringAttr(f, 'backend', file);
  const modelConfig = parseJsonAttr(f, 'model_config', file);
  const trainingConfig = parseJsonAttr(f, 'training_config', file);
  const extraAttrs: Record<string, string> = {};
  for (const name of attrNames(f)) {
    if (ROOT_ATTRS.has(name) || /^layer_names\d*$/.test(name)) continue;
    const v = readAttrValue(f, name, file);
    if (typeof v === 'string') extraAttrs[name] = v;
  }
  const base = { kerasVersion, backend, modelConfig: modelConfig ?? given, trainingConfig, extraAttrs };

  const mw = f.get('model_weights');
  if (isGroup(mw)) {
    if (readStringListAttr(mw, 'layer_names', file) === undefined) {
      throw new Error(`${file}: group /model_weights has no layer_names attribute`);
    }
    return { format: 'legacy-model', ...base, layerOrder: 'model', layers: readLegacyLayers(mw, file) };
  }
  if (readStringListAttr(f, 'layer_names', file) !== undefined) {
    return { format: 'legacy-weights', ...base, layerOrder: 'model', layers: readLegacyLayers(f, file) };
  }
  if (isGroup(f.get('layers'))) {
    const { layers, ordered } = readKeras3Layers(f, file, given);
    return { format: 'keras3-weights', ...base, layerOrder: ordered ? 'model' : 'file', layers };
  }
  throw new Error(`${file}: no Keras weights found: no /model_weights group, no layer_names attribute on the root, ` +
    `no /layers group (root holds: ${f.keys().join(', ') || 'nothing'}; attributes: ${attrNames(f).join(', ') || 'none'})`);
}

function readLegacyLayers(root: H5Group, file: string): KerasLayerWeights[] {
  const names = readStringListAttr(root, 'layer_names', file) ?? [];
  return names.map((name) => {
    checkName(name, `${file}: ${joinPath(root.path, '@layer_names')}`, 'a layer name');
    const where = `${file}: layer '${name}'`;
    const g = root.get(name);
    if (!isGroup(g)) {
      throw new Error(`${where}: listed in ${joinPath(root.path, '@layer_names')} but ${joinPath(root.path, name)} is ${g === null ? 'missing' : 'not a group'}`);
    }
    const weightNames = readStringListAttr(g, 'weight_names', where);
    if (weightNames === undefined) throw new Error(`${where}: group ${g.path} has no weight_names attribute`);
    const weights = weightNames.map((w) => {
      checkName(w, `${where}: ${joinPath(g.path, '@weight_names')}`, 'a weight name');
      const d = g.get(w);
      if (!isDataset(d)) {
        throw new Error(`${where}: weight '${w}' is listed in weight_names but ${joinPath(g.path, w)} is ${d === null ? 'missing' : 'not a dataset'}`);
      }
      return { name: w, ...readDatasetF32(d, `${where}: weight '${w}'`) };
    });
    return { name, weights };
  });
}

export interface ConfigLayer {
  className: string;
  name: string;
  /** The layers of a nested model (a Sequential or Functional used as a layer). */
  children?: ConfigLayer[];
}

/** The layer list of a model config: {config: {layers: [...]}} or, before Keras 2.2.3, {config: [...]}. */
export function configLayers(cfg: JsonObject, where: string): ConfigLayer[] {
  const inner = cfg.config;
  const list = Array.isArray(inner) ? inner : Array.isArray(asRecord(inner)?.layers) ? (asRecord(inner)!.layers as unknown[]) : undefined;
  if (!list) throw new Error(`${where}: the model config has no layer list (config.layers)`);
  return list.map((entry, i) => {
    const l = asRecord(entry);
    const lc = asRecord(l?.config);
    const className = l?.class_name;
    const name = lc?.name ?? l?.name;
    if (typeof className !== 'string' || typeof name !== 'string') {
      throw new Error(`${where}: model config layer #${i} has no class_name or name`);
    }
    const nested = lc !== undefined && Array.isArray(lc.layers);
    return { className, name, children: nested ? configLayers(l as JsonObject, where) : undefined };
  });
}

export { kerasSnakeCase };

function readKeras3Layers(f: H5File, file: string, cfg: JsonObject | undefined): { layers: KerasLayerWeights[]; ordered: boolean } {
  const out: KerasLayerWeights[] = [];
  const cfgLayers = cfg ? configLayers(cfg, file) : undefined;
  walkKeras3(getGroup(f, 'layers', file), cfgLayers, file, out);
  const own = f.get('vars');
  if (isGroup(own)) {
    const weights = readTrackable(own, 'vars/', `${file}: model variables`, true);
    if (weights.length > 0) out.push({ name: TOP_LEVEL, weights });
  }
  return { layers: out, ordered: cfgLayers !== undefined };
}

function walkKeras3(layersGroup: H5Group, cfgLayers: ConfigLayer[] | undefined, file: string, out: KerasLayerWeights[]): void {
  const keys = layersGroup.keys();
  for (const k of keys) checkName(k, `${file}: group ${layersGroup.path}`, 'a member name');
  if (!cfgLayers) {
    for (const key of naturalSort(keys)) emitKeras3Layer(getGroup(layersGroup, key, file), key, undefined, file, out);
    return;
  }
  // Keras 3 names each saved layer by its class in snake case, with a counter per class in model
  // order (saving_lib._save_container_state): conv2d, conv2d_1, …
  const counters = new Map<string, number>();
  const used = new Set<string>();
  for (const l of cfgLayers) {
    const base = kerasSnakeCase(l.className);
    const count = (counters.get(base) ?? -1) + 1;
    counters.set(base, count);
    const key = count === 0 ? base : `${base}_${count}`;
    if (!keys.includes(key)) {
      if (l.className === 'InputLayer') continue; // Sequential does not save its input layer
      throw new Error(`${file}: layer '${l.name}' (${l.className}) of the model config should be stored at ` +
        `${joinPath(layersGroup.path, key)}, which is missing; are these weights of that model?`);
    }
    used.add(key);
    emitKeras3Layer(getGroup(layersGroup, key, file), l.name, l.children, file, out);
  }
  const extra = keys.filter((k) => !used.has(k));
  if (extra.length > 0) {
    throw new Error(`${file}: ${extra.map((k) => joinPath(layersGroup.path, k)).join(', ')} match no layer of the model config ` +
      `(config layers: ${cfgLayers.map((l) => l.name).join(', ')})`);
  }
}

function emitKeras3Layer(g: H5Group, name: string, children: ConfigLayer[] | undefined, file: string, out: KerasLayerWeights[]): void {
  const weights = readTrackable(g, '', `${file}: layer '${name}'`, false);
  const nested = g.get('layers');
  if (isGroup(nested)) {
    if (weights.length > 0) out.push({ name, weights });
    walkKeras3(nested, children, file, out);
  } else {
    out.push({ name, weights });
  }
}

/** A Keras 3 object's variables: `vars/0`, `vars/1`, … then those of its sub-objects, by name. */
function readTrackable(g: H5Group, prefix: string, where: string, varsOnly: boolean): KerasWeight[] {
  const out: KerasWeight[] = [];
  const vars = varsOnly ? g : g.get('vars');
  const varsPrefix = varsOnly ? prefix : `${prefix}vars/`;
  if (isGroup(vars)) {
    for (const k of vars.keys()) checkName(k, `${where}: group ${vars.path}`, 'a member name');
    const idx = vars.keys().map(Number).sort((a, b) => a - b);
    idx.forEach((v, i) => {
      if (v !== i) throw new Error(`${where}: ${vars.path} holds ${vars.keys().join(', ')}; expected datasets 0..${idx.length - 1}`);
      const d = vars.get(String(v));
      if (!isDataset(d)) throw new Error(`${where}: ${joinPath(vars.path, String(v))} is not a dataset`);
      out.push({ name: `${varsPrefix}${v}`, ...readDatasetF32(d, `${where}: variable ${varsPrefix}${v}`) });
    });
  }
  if (varsOnly) return out;
  for (const child of g.keys().sort()) {
    checkName(child, `${where}: group ${g.path}`, 'a member name');
    if (child === 'vars' || child === 'layers') continue;
    const c = g.get(child);
    if (isGroup(c)) out.push(...readTrackable(c, `${prefix}${child}/`, where, false));
  }
  return out;
}

const WANTED = new Set(['config.json', 'metadata.json', 'model.weights.h5']);

async function readArchive(path: string, given: JsonObject | undefined): Promise<KerasFile> {
  const { names, files } = readZip(readFileSync(path), `${path}: not a readable .keras zip archive`, WANTED);
  const listing = names.slice(0, 10).join(', ') + (names.length > 10 ? ', …' : '') || 'none';
  if (!files['config.json']) throw new Error(`${path}: the .keras archive has no config.json (entries: ${listing})`);
  if (!files['model.weights.h5']) {
    throw new Error(`${path}: the .keras archive has no model.weights.h5 (entries: ${listing}); only HDF5-stored weights are supported`);
  }
  const modelConfig = parseConfig(files['config.json'], `${path}!config.json`);
  const meta = files['metadata.json'] ? parseJson(files['metadata.json'], `${path}!metadata.json`) : undefined;
  const display = `${path}!model.weights.h5`;
  // h5wasm's Node build reads through the real file system (NODERAWFS), so the inner file goes to
  // a private temporary folder, removed afterwards.
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-keras-'));
  try {
    const inner = join(dir, 'model.weights.h5');
    writeFileSync(inner, files['model.weights.h5']);
    if (!hasHdf5Signature(inner)) throw new Error(`${display}: not an HDF5 file`);
    const { layers, ordered } = await withH5(inner, (f) => readKeras3Layers(f, display, given ?? modelConfig), display);
    const kv = meta?.keras_version;
    return {
      format: 'keras3-archive',
      kerasVersion: typeof kv === 'string' ? kv : undefined,
      modelConfig,
      extraAttrs: {},
      layerOrder: ordered ? 'model' : 'file',
      layers,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface KerasModelToWrite {
  /** {class_name, config: {name, layers: [...]}}, as Keras' model.get_config() wrapped by to_json(). */
  modelConfig: object;
  /**
   * Every layer as Keras' model.layers lists them (weightless ones included with weights []; a
   * Sequential's InputLayer is not in model.layers, a Functional model's is). Weight names are
   * short ('kernel', 'bias'), written as '<layer>/kernel:0', or full names containing '/', kept.
   */
  layers: KerasLayerWeights[];
  trainingConfig?: object;
  /** More string attributes on the root, e.g. {lanterna_preprocessing: '{"scale": "unit"}'}. */
  extraAttrs?: Record<string, string>;
  /** Default '2.15.0'. */
  kerasVersion?: string;
  /** Default 'tensorflow'. */
  backend?: string;
}

export const DEFAULT_KERAS_VERSION = '2.15.0';

/**
 * Writes the legacy HDF5 full-model layout of tf.keras 2.x (hdf5_format.save_model_to_hdf5):
 *   /@keras_version, /@backend          vlen UTF-8 strings (h5py writes a Python str so)
 *   /@model_config, /@training_config   vlen ASCII JSON (json.dumps(...).encode('utf8'))
 *   /model_weights@layer_names          fixed-length ASCII strings (|S<n>), in model order
 *   /model_weights@backend, @keras_version   vlen ASCII
 *   /model_weights/<layer>@weight_names fixed-length ASCII, or an empty float64 array
 *   /model_weights/<layer>/<layer>/kernel:0   float32 datasets, contiguous
 *   /model_weights/top_level_model_weights@weight_names   empty (tf.keras ≥ 2.6 writes it)
 * No optimizer state is written. Written to `<path>.tmp-<pid>`, then renamed.
 */
export async function writeKerasModel(path: string, model: KerasModelToWrite): Promise<void> {
  const modelConfig = asObject(model.modelConfig, `${path}: modelConfig`);
  checkLayers(model.layers, path, 'keras2');
  const inConfig = new Set(configLayers(modelConfig, path).map((l) => l.name));
  for (const l of model.layers) {
    if (!inConfig.has(l.name)) throw new Error(`${path}: layer '${l.name}' is not in modelConfig (config layers: ${[...inConfig].join(', ')})`);
  }
  const extra = model.extraAttrs ?? {};
  for (const [k, v] of Object.entries(extra)) {
    if (ROOT_ATTRS.has(k) || /^layer_names\d*$/.test(k)) throw new Error(`${path}: extraAttrs may not set the Keras attribute '${k}'`);
    if (typeof v !== 'string') throw new Error(`${path}: extraAttrs.${k} must be a string (JSON-encode objects)`);
  }
  const kerasVersion = model.kerasVersion ?? DEFAULT_KERAS_VERSION;
  const backend = model.backend ?? 'tensorflow';
  const modelJson = pythonJson(modelConfig, `${path}: modelConfig`);
  const trainingJson = model.trainingConfig === undefined ? undefined : pythonJson(asObject(model.trainingConfig, `${path}: trainingConfig`), `${path}: trainingConfig`);

  await writeH5Atomic(path, (f) => {
    writeStringAttr(f, 'keras_version', kerasVersion, 'utf8', path);
    writeStringAttr(f, 'backend', backend, 'utf8', path);
    writeStringAttr(f, 'model_config', modelJson, 'ascii', path);
    if (trainingJson !== undefined) writeStringAttr(f, 'training_config', trainingJson, 'ascii', path);
    for (const [k, v] of Object.entries(extra)) writeStringAttr(f, k, v, 'utf8', path);
    const mw = ensureGroup(f, 'model_weights', path);
    writeLayerGroups(mw, model.layers, path, 'keras2', { kerasVersion, backend });
  });
}

export type WeightsOnlyStyle = 'vgg16-legacy' | 'keras2';

/**
 * Writes a weights-only file (Keras `save_weights` layout: root attr layer_names, one group per
 * layer with attr weight_names). Mostly for test fixtures.
 * - 'keras2': as tf.keras 2.x writes it: root attrs layer_names, backend, keras_version;
 *   datasets at <layer>/<layer>/<short>:0; an empty top_level_model_weights group.
 * - 'vgg16-legacy': as vgg16_weights_tf_dim_ordering_tf_kernels.h5 stores it: root attr
 *   layer_names only; datasets directly in the layer group, named <layer>_W_1:0 / <layer>_b_1:0
 *   (short names 'kernel' → W, 'bias' → b; names already ending in ':0' are kept).
 */
export async function writeKerasWeightsOnly(
  path: string,
  layers: KerasLayerWeights[],
  opts: { style: WeightsOnlyStyle; kerasVersion?: string; backend?: string },
): Promise<void> {
  if (opts.style !== 'keras2' && opts.style !== 'vgg16-legacy') throw new Error(`${path}: unknown style '${String(opts.style)}'`);
  checkLayers(layers, path, opts.style);
  const kerasVersion = opts.kerasVersion ?? DEFAULT_KERAS_VERSION;
  const backend = opts.backend ?? 'tensorflow';
  await writeH5Atomic(path, (f) => writeLayerGroups(f, layers, path, opts.style, { kerasVersion, backend }));
}

function storedWeightName(layer: string, name: string, style: WeightsOnlyStyle): string {
  if (style === 'keras2') return name.includes('/') ? name : `${layer}/${name}${name.includes(':') ? '' : ':0'}`;
  if (name.endsWith(':0')) return name;
  const short = name === 'kernel' ? 'W' : name === 'bias' ? 'b' : name;
  return `${layer}_${short}_1:0`;
}

function writeLayerGroups(
  parent: H5Group, layers: KerasLayerWeights[], file: string, style: WeightsOnlyStyle,
  meta: { kerasVersion: string; backend: string },
): void {
  writeFixedStringListAttr(parent, 'layer_names', layers.map((l) => l.name), file);
  if (style === 'keras2') {
    writeStringAttr(parent, 'backend', meta.backend, 'ascii', file);
    writeStringAttr(parent, 'keras_version', meta.kerasVersion, 'ascii', file);
  }
  // tf.keras creates the groups sorted by name ("to avoid prefix issues"); HDF5 indexes them by
  // name anyway, and layer_names keeps the model order.
  for (const layer of [...layers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const where = `${file}: layer '${layer.name}'`;
    const g = ensureGroup(parent, layer.name, where);
    const stored = layer.weights.map((w) => storedWeightName(layer.name, w.name, style));
    writeFixedStringListAttr(g, 'weight_names', stored, where);
    layer.weights.forEach((w, i) => writeDatasetF32(g, stored[i], w.shape, w.data, where));
  }
  if (style === 'keras2') writeFixedStringListAttr(ensureGroup(parent, TOP_LEVEL, file), 'weight_names', [], file);
}

function checkLayers(layers: KerasLayerWeights[], file: string, style: WeightsOnlyStyle): void {
  if (!Array.isArray(layers)) throw new Error(`${file}: layers must be an array`);
  const seen = new Set<string>();
  for (const l of layers) {
    if (typeof l?.name !== 'string' || l.name === '' || l.name.includes('/')) {
      throw new Error(`${file}: layer name ${JSON.stringify(l?.name)} must be a non-empty string without '/'`);
    }
    if (seen.has(l.name)) throw new Error(`${file}: layer name '${l.name}' appears twice`);
    if (l.name === TOP_LEVEL) throw new Error(`${file}: '${TOP_LEVEL}' is reserved by Keras`);
    seen.add(l.name);
    const where = `${file}: layer '${l.name}'`;
    if (!Array.isArray(l.weights)) throw new Error(`${where}: weights must be an array`);
    const stored = new Set<string>();
    for (const w of l.weights) {
      if (typeof w?.name !== 'string' || w.name === '' || w.name.startsWith('/') || w.name.endsWith('/') || w.name.includes('//')) {
        throw new Error(`${where}: weight name ${JSON.stringify(w?.name)} is not a usable HDF5 path`);
      }
      if (style === 'vgg16-legacy' && w.name.includes('/')) throw new Error(`${where}: weight '${w.name}': the vgg16-legacy layout has no sub-groups`);
      const s = storedWeightName(l.name, w.name, style);
      if (stored.has(s)) throw new Error(`${where}: two weights would be stored as '${s}'`);
      stored.add(s);
      if (!(w.data instanceof Float32Array)) throw new Error(`${where}: weight '${w.name}': data must be a Float32Array`);
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new Error(`${where}: weight '${w.name}': shape ${JSON.stringify(w.shape)} must be a list of non-negative integers`);
      }
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (n !== w.data.length) throw new Error(`${where}: weight '${w.name}': shape [${w.shape}] needs ${n} values, data has ${w.data.length}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/**
 * JSON as Python's json.dumps writes it by default (', ' and ': ' separators, non-ASCII escaped),
 * which is how Keras stores model_config. Non-finite numbers are refused (JSON has none). Numbers
 * are written as Python writes them (`pythonNumber`): '1e-07', not JavaScript's '1e-7'.
 */
export function pythonJson(value: unknown, where = 'pythonJson'): string {
  const str = (s: string) => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  const go = (v: unknown, at: string): string => {
    if (v === null) return 'null';
    if (typeof v === 'string') return str(v);
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`${where}: ${at} is ${v}, which JSON cannot hold`);
      return pythonNumber(v);
    }
    if (Array.isArray(v)) return '[' + v.map((x, i) => go(x === undefined ? null : x, `${at}[${i}]`)).join(', ') + ']';
    if (typeof v === 'object') {
      const parts: string[] = [];
      for (const [k, x] of Object.entries(v as object)) if (x !== undefined) parts.push(`${str(k)}: ${go(x, `${at}.${k}`)}`);
      return '{' + parts.join(', ') + '}';
    }
    throw new Error(`${where}: ${at} is a ${typeof v}, which JSON cannot hold`);
  };
  return go(value, '$');
}

/**
 * A number as Python's json.dumps writes it: a safe integer as an int (JavaScript cannot tell 1.0
 * from 1; configs hold ints there), anything else as repr(float).
 */
export function pythonNumber(v: number): string {
  if (Number.isSafeInteger(v)) return Object.is(v, -0) ? '-0.0' : String(v);
  // toExponential() gives the shortest digits that round-trip, as repr does.
  const [mant, e] = v.toExponential().split('e');
  const exp = Number(e);
  if (exp >= -4 && exp < 16) return String(v);
  return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function asObject(v: unknown, where: string): JsonObject {
  const r = asRecord(v);
  if (!r) throw new Error(`${where} must be a JSON object`);
  return r;
}

function parseJson(bytes: Uint8Array, where: string): JsonObject {
  return asObject(parseJsonText(new TextDecoder().decode(bytes), where), where);
}

/** A model config (a model_config attribute, a config.json): JSON, a well-formed outline, no control characters. */
function parseConfig(bytes: Uint8Array, where: string): JsonObject {
  const cfg = parseJson(bytes, where);
  checkModelConfig(cfg, where);
  return cfg;
}

/** Names read from a file go into messages and layer names: no control characters. */
function checkName(name: string, where: string, what: string): void {
  if (hasControl(name)) throw new Error(`${where}: ${what} holds a control character: "${oneLine(name.slice(0, 60))}" (corrupt file?)`);
}

function parseJsonAttr(f: H5File, name: string, file: string): JsonObject | undefined {
  const s = readStringAttr(f, name, file);
  if (s === undefined) return undefined;
  const bytes = new TextEncoder().encode(s);
  return name === 'model_config' ? parseConfig(bytes, `${file}: attribute @${name}`) : parseJson(bytes, `${file}: attribute @${name}`);
}

function naturalSort(keys: string[]): string[] {
  const split = (k: string) => {
    const m = /^(.*?)(?:_(\d+))?$/.exec(k)!;
    return [m[1], m[2] === undefined ? -1 : Number(m[2])] as const;
  };
  return [...keys].sort((a, b) => {
    const [pa, na] = split(a), [pb, nb] = split(b);
    return pa < pb ? -1 : pa > pb ? 1 : na - nb;
  });
}

function readHead(path: string, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

function startsWithZip(path: string): boolean {
  const h = readHead(path, 4);
  return h.length === 4 && h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04;
}

function firstBytes(path: string): string {
  return [...readHead(path, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || 'empty file';
}
