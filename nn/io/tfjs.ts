// TensorFlow.js layers models: `model.json` + binary weight shards, as tfjs-converter and TF.js'
// `model.save` write them.
//
//   model.json   { format: 'layers-model' (newer files), modelTopology, weightsManifest,
//                  userDefinedMetadata? }
//   modelTopology   a Keras model config: { model_config: {class_name, config}, keras_version,
//                   backend } from the Python converter, or {class_name, config, …} itself
//   weightsManifest [{ paths: ['group1-shard1of2', …], weights: [{name, shape, dtype,
//                   quantization?}] }]: a group's shards, concatenated in `paths` order, hold its
//                   weights back to back in `weights` order (a weight may straddle two shards)
//
// Weights are named '<layer>/<weight>' ('conv1/kernel', 'conv1_bn/moving_mean'); they are matched
// to a built model's weights by that name, never by position. Quantized weights (uint8 / uint16
// with scale and min, or float16) are decoded as TF.js does: value = q·scale + min in float32.
// Every problem is a one-line LanternaError naming model.json or the shard at fault.

import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LanternaError } from '../../engine/errors.ts';
import { checkModelConfig, oneLine, parseJsonText } from './file_errors.ts';

export type TfjsDtype = 'float32' | 'int32';

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: TfjsDtype;
  quantization?: TfjsQuantization;
  /** 'optimizer' for optimizer state saved with the model (skipped when loading). */
  group?: string;
}

export interface TfjsWeight {
  name: string;
  shape: number[];
  data: Float32Array;
  group?: string;
}

export interface TfjsModelFile {
  format: 'tfjs-layers';
  /** The model.json read. */
  path: string;
  kerasVersion?: string;
  backend?: string;
  /** {class_name, config}: what nn/from_config.ts builds from. */
  modelConfig: Record<string, unknown>;
  trainingConfig?: Record<string, unknown>;
  userDefinedMetadata?: Record<string, unknown>;
  /** Every manifest weight, in manifest order, decoded to float32. */
  weights: TfjsWeight[];
}

/** A layer as the weight matcher sees it: its name and its weights' short names and shapes. */
export interface LayerWeightSlots {
  name: string;
  weights: { name: string; shape: readonly number[] }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** Every error here: one line (names from a corrupt file may hold line breaks). */
const fail = (msg: string) => new LanternaError(oneLine(msg));

function readBytes(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw fail(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
}

/** A model.json path for `path`: the file itself, or `<folder>/model.json`. */
export function modelJsonPath(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) return join(path, 'model.json');
  return path;
}

/** Whether loadModel should read `path` as a TF.js model: a .json file or a folder with model.json. */
export function isTfjsModelPath(path: string): boolean {
  if (/\.json$/i.test(path)) return true;
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'model.json'));
}

// ---------------------------------------------------------------------------------------------
// Reading

export function readTfjsModel(path: string): TfjsModelFile {
  const file = modelJsonPath(path);
  if (!existsSync(file)) throw fail(`${file}: no such file`);
  const json = parseJsonText(new TextDecoder().decode(readBytes(file, 'model.json')), file);
  if (!isObj(json)) throw fail(`${file}: not a TF.js model.json (the top level is not an object)`);
  if (json.format === 'graph-model' || (isObj(json.modelTopology) && 'node' in json.modelTopology))
    throw fail(`${file}: a TF.js graph model (a frozen TensorFlow graph); only layers models (format 'layers-model', a Keras config) can be read`);
  if (json.format !== undefined && json.format !== 'layers-model') throw fail(`${file}: format '${String(json.format)}' is not 'layers-model'`);
  const topo = json.modelTopology;
  if (!isObj(topo)) throw fail(`${file}: no modelTopology object: not a TF.js layers model`);
  const modelConfig = isObj(topo.model_config) ? topo.model_config : topo;
  if (typeof modelConfig.class_name !== 'string' || !isObj(modelConfig.config) && !Array.isArray(modelConfig.config))
    throw fail(`${file}: modelTopology holds no Keras model config ({class_name, config})`);
  checkModelConfig({ class_name: modelConfig.class_name, config: modelConfig.config }, file);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw fail(`${file}: no weightsManifest list`);
  const weights: TfjsWeight[] = [];
  manifest.forEach((g, i) => weights.push(...readGroup(g, i + 1, file)));
  const seen = new Set<string>();
  for (const w of weights) {
    if (seen.has(w.name)) throw fail(`${file}: weight '${w.name}' appears twice in weightsManifest`);
    seen.add(w.name);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const tc = topo.training_config ?? json.trainingConfig;
  return {
    format: 'tfjs-layers',
    path: file,
    kerasVersion: str(topo.keras_version) ?? str(modelConfig.keras_version),
    backend: str(topo.backend) ?? str(modelConfig.backend),
    modelConfig: { class_name: modelConfig.class_name, config: modelConfig.config },
    trainingConfig: isObj(tc) ? tc : undefined,
    userDefinedMetadata: isObj(json.userDefinedMetadata) ? json.userDefinedMetadata : undefined,
    weights,
  };
}

function checkSpec(w: unknown, where: string): TfjsWeightSpec {
  if (!isObj(w) || typeof w.name !== 'string' || w.name === '') throw fail(`${where}: a weight entry without a name`);
  const at = `${where}: weight '${w.name}'`;
  if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw fail(`${at}: shape ${JSON.stringify(w.shape)} is not a list of non-negative integers`);
  if (w.dtype !== 'float32' && w.dtype !== 'int32')
    throw fail(`${at}: dtype ${JSON.stringify(w.dtype)} is not supported (float32, int32, or those quantized to uint8/uint16/float16)`);
  const q = w.quantization;
  if (q !== undefined) {
    if (!isObj(q) || (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16'))
      throw fail(`${at}: quantization ${JSON.stringify(q)} is not uint8, uint16 or float16`);
    if (q.dtype !== 'float16' && !(Number.isFinite(q.scale) && Number.isFinite(q.min)))
      throw fail(`${at}: ${q.dtype} quantization needs numeric scale and min, got ${JSON.stringify(q)}`);
  }
  return w as unknown as TfjsWeightSpec;
}

const bytesPer = (w: TfjsWeightSpec) => (w.quantization ? (w.quantization.dtype === 'uint8' ? 1 : 2) : 4);

function readGroup(g: unknown, n: number, file: string): TfjsWeight[] {
  const where = `${file}: weightsManifest group ${n}`;
  if (!isObj(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) throw fail(`${where}: not {paths: [...], weights: [...]}`);
  const specs = g.weights.map((w) => checkSpec(w, where));
  const need = specs.reduce((s, w) => s + count(w.shape) * bytesPer(w), 0);
  const dir = dirname(file);
  const parts: Uint8Array[] = [];
  for (const p of g.paths) {
    if (typeof p !== 'string' || p === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(p))
      throw fail(`${where}: shard path ${JSON.stringify(p)} is not a file name relative to model.json`);
    const shard = resolve(dir, p);
    if (!existsSync(shard)) throw fail(`${shard}: weight shard missing (listed in ${where})`);
    parts.push(readBytes(shard, `weight shard (listed in ${where})`));
  }
  const have = parts.reduce((s, b) => s + b.length, 0);
  if (have !== need) {
    const names = g.paths.map((p) => resolve(dir, String(p))).join(', ');
    throw fail(`${names}: ${have} bytes, but ${where} needs ${need} for its ${specs.length} weight${specs.length === 1 ? '' : 's'} (truncated or not this model's shard)`);
  }
  // One aligned copy of the group's bytes, then views per weight.
  const buf = new Uint8Array(have);
  let o = 0;
  for (const b of parts) buf.set(b, o), (o += b.length);
  const view = new DataView(buf.buffer);
  o = 0;
  return specs.map((w) => {
    const data = decode(view, o, w);
    o += count(w.shape) * bytesPer(w);
    return { name: w.name, shape: w.shape.slice(), data, group: typeof (w as unknown as Obj).group === 'string' ? w.group : undefined };
  });
}

/** IEEE half → float (exact in float32). */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function decode(v: DataView, at: number, w: TfjsWeightSpec): Float32Array {
  const n = count(w.shape);
  const out = new Float32Array(n);
  const q = w.quantization;
  // TF.js computes q·scale + min in double and stores float32; int32 originals are truncated.
  const int = w.dtype === 'int32';
  if (!q) for (let i = 0; i < n; i++) out[i] = int ? v.getInt32(at + 4 * i, true) : v.getFloat32(at + 4 * i, true);
  else if (q.dtype === 'float16') for (let i = 0; i < n; i++) out[i] = half(v.getUint16(at + 2 * i, true));
  else {
    const { scale, min } = q as Required<TfjsQuantization>;
    for (let i = 0; i < n; i++) {
      const x = (q.dtype === 'uint8' ? v.getUint8(at + i) : v.getUint16(at + 2 * i, true)) * scale + min;
      out[i] = int ? Math.trunc(x) : x;
    }
  }
  return out;
}

/**
 * For each layer weight, the manifest weight '<layer>/<weight>' (a trailing ':0' and leading
 * scopes such as 'model/' forgiven), its shape checked against the layer's. Optimizer weights
 * are ignored; any other manifest weight left over is an error (the file is not this model's).
 */
export function matchTfjsWeights(file: TfjsModelFile, layers: LayerWeightSlots[]): Float32Array[][] {
  const key = (n: string) => n.replace(/:0$/, '');
  const modelWeights = file.weights.filter((w) => w.group !== 'optimizer');
  const exact = new Map(modelWeights.map((w) => [key(w.name), w]));
  const used = new Set<TfjsWeight>();
  const out = layers.map((l) =>
    l.weights.map((slot) => {
      const want = `${l.name}/${slot.name}`;
      let w = exact.get(want);
      if (!w) {
        const tail = modelWeights.filter((m) => key(m.name).endsWith(`/${want}`));
        if (tail.length === 1) w = tail[0];
      }
      if (!w) {
        const near = modelWeights.filter((m) => key(m.name).split('/').includes(l.name)).map((m) => m.name);
        throw fail(
          `${file.path}: layer '${l.name}' needs weight '${want}' ${fmt(slot.shape)}, which weightsManifest lacks` +
            (near.length ? ` (it has ${near.join(', ')})` : ''),
        );
      }
      if (fmt(w.shape) !== fmt(slot.shape))
        throw fail(`${file.path}: layer '${l.name}' weight '${slot.name}': the model config gives shape ${fmt(slot.shape)}, weightsManifest '${w.name}' has ${fmt(w.shape)}`);
      used.add(w);
      return w.data;
    }),
  );
  const extra = modelWeights.filter((w) => !used.has(w));
  if (extra.length)
    throw fail(`${file.path}: weightsManifest holds ${extra.length} weight${extra.length === 1 ? '' : 's'} no layer of the model config has: ${extra.slice(0, 5).map((w) => w.name).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

export const SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsModelToWrite {
  /** {class_name, config}. */
  modelConfig: object;
  /** Weights named '<layer>/<weight>', float32, in model order. */
  weights: { name: string; shape: number[]; data: Float32Array }[];
  userDefinedMetadata?: Record<string, unknown>;
  generatedBy?: string;
}

/**
 * Writes `dir/model.json` and `dir/group1-shard<i>of<n>.bin` (float32, ≤ 4 MB each) as TF.js'
 * loadLayersModel reads them. Atomic: everything goes to a temporary sibling folder, renamed to
 * `dir` at the end; an existing `dir` is replaced only if it holds a model.json (an earlier save).
 */
export function writeTfjsModel(dir: string, m: TfjsModelToWrite): void {
  dir = resolve(dir);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || !existsSync(join(dir, 'model.json'))))
    throw fail(`${dir}: exists and is not a TF.js model folder (no model.json); not overwriting it`);
  const total = m.weights.reduce((s, w) => s + w.data.length * 4, 0);
  const all = new Uint8Array(total);
  const specs: TfjsWeightSpec[] = [];
  let o = 0;
  for (const w of m.weights) {
    if (w.data.length !== count(w.shape)) throw fail(`${dir}: weight '${w.name}' has ${w.data.length} values for shape ${fmt(w.shape)}`);
    // Copy via a fresh Float32Array so the bytes are the values' own (little-endian on every host we run).
    all.set(new Uint8Array(Float32Array.from(w.data).buffer), o);
    o += w.data.length * 4;
    specs.push({ name: w.name, shape: w.shape.slice(), dtype: 'float32' });
  }
  const n = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
  const json = {
    format: 'layers-model',
    generatedBy: m.generatedBy ?? 'lanterna',
    convertedBy: null,
    modelTopology: m.modelConfig,
    weightsManifest: [{ paths, weights: specs }],
    ...(m.userDefinedMetadata ? { userDefinedMetadata: m.userDefinedMetadata } : {}),
  };
  const tmp = mkdtempSync(join(dirname(dir), `.${basename(dir)}.tmp-`));
  try {
    paths.forEach((p, i) => writeFileSync(join(tmp, p), all.subarray(i * SHARD_BYTES, Math.min(total, (i + 1) * SHARD_BYTES))));
    writeFileSync(join(tmp, 'model.json'), JSON.stringify(json));
    if (existsSync(dir)) {
      const old = `${tmp}.old`;
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
