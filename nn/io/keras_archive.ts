// Writes a Keras 3 `.keras` archive as `model.save('x.keras')` does (keras/src/saving/
// saving_lib.py, Keras 3.14, checked against a real 3.14 archive):
//
//   zip, uncompressed, members in this order:
//     metadata.json      {"keras_version": "3.14.0", "date_saved": "2026-05-09@08:55:51"} (local time)
//     config.json        the model config, json.dumps'd
//     model.weights.h5   HDF5 (libver earliest..v110, as h5py), no root attributes:
//       /vars                              @name = the model's name; the model's own variables
//       /layers/<snake>[_n]/vars/<i>       each layer of model.layers, named by its CLASS in snake
//                                          case with a counter per class in model order (conv2d,
//                                          conv2d_1, …), @name = the layer's name, variables 0, 1, …
//                                          (trainable, then non-trainable); weightless layers too
//       /layers/<snake>/layers/…           a nested model's layers, the same way
//   A Sequential's model.layers leaves out its InputLayer; a Functional model's keeps it.
//
// Written atomically: HDF5 and zip are built in a private temporary folder, and the archive goes to
// `<path>.tmp-<pid>`, is fsynced and renamed onto `path`. On any error `path` is left as it was.

import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanternaError } from '../../engine/errors.ts';
import { kerasSnakeCase } from '../naming.ts';
import { ensureGroup, writeDatasetF32, writeH5Atomic, writeStringAttr, type H5Group } from './h5.ts';
import { configLayers, pythonJson, type ConfigLayer, type JsonObject } from './keras.ts';
import { zipStored } from './zip.ts';

export const KERAS3_VERSION = '3.14.0';

export interface KerasArchiveLayer {
  /** The layer's name in the config. */
  name: string;
  /** Its variables in Keras' order (trainable, then non-trainable), stored as vars/0, vars/1, … */
  weights: { shape: number[]; data: Float32Array; name?: string }[];
  /** A nested model's own layers, in its model order. */
  layers?: KerasArchiveLayer[];
}

export interface KerasArchiveToWrite {
  /** The Keras 3 config.json object ({module, class_name: 'Sequential' | 'Functional', config: {name, layers}, …}). */
  config: object;
  /**
   * The layers with weights, in model order (weightless ones may be left out: every config layer
   * gets its group), nested models with their layers as children.
   */
  layers: KerasArchiveLayer[];
  /** Default KERAS3_VERSION. */
  kerasVersion?: string;
  /** metadata.json's date_saved and model.weights.h5's time stamp; default now. */
  date?: Date;
}

const pad = (n: number) => String(n).padStart(2, '0');
/** Python's datetime.now().strftime("%Y-%m-%d@%H:%M:%S"). */
const kerasDate = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}@${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

export async function writeKerasArchive(path: string, m: KerasArchiveToWrite): Promise<void> {
  const fail = (msg: string) => new LanternaError(`${path}: ${msg}`);
  const cfg = m.config as JsonObject;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw fail('config must be the config.json object');
  const modelName = (cfg.config as JsonObject | undefined)?.name;
  if (typeof modelName !== 'string') throw fail('config.config.name (the model name) must be a string');
  let top: ConfigLayer[];
  try {
    top = configLayers(cfg, path);
  } catch (e) {
    throw fail((e as Error).message.replace(`${path}: `, ''));
  }
  const plan = planContainer(String(cfg.class_name), top, m.layers, path, 'layers');
  const configJson = pythonJson(cfg, `${path}: config`);
  const date = m.date ?? new Date();
  const metadataJson = pythonJson({ keras_version: m.kerasVersion ?? KERAS3_VERSION, date_saved: kerasDate(date) }, `${path}: metadata`);

  const dir = mkdtempSync(join(tmpdir(), 'lanterna-keras-archive-'));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const h5path = join(dir, 'model.weights.h5');
    await writeH5Atomic(h5path, (f) => {
      writeStringAttr(ensureGroup(f, 'vars', path), 'name', modelName, 'utf8', path);
      writePlan(f, plan, path);
    });
    const enc = new TextEncoder();
    const epoch = new Date(1980, 0, 1); // zipfile's default for members opened for writing
    const zip = zipStored([
      { name: 'metadata.json', data: enc.encode(metadataJson), mtime: epoch },
      { name: 'config.json', data: enc.encode(configJson), mtime: epoch },
      { name: 'model.weights.h5', data: readFileSync(h5path), mtime: date },
    ]);
    const fd = openSync(tmp, 'w');
    try {
      for (let at = 0; at < zip.length; ) at += writeSync(fd, zip, at, zip.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e instanceof LanternaError ? e : fail((e as Error).message.replace(`${path}: `, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PlannedLayer {
  /** Group path below the file root: layers/conv2d_1, layers/sequential/layers/dense. */
  group: string;
  name: string;
  weights: KerasArchiveLayer['weights'];
  children: PlannedLayer[];
}

/**
 * Matches the given layers to a (nested) model's config layers, in model order, and names their
 * groups. Everything is checked here, before any file is touched.
 */
function planContainer(className: string, cfgLayers: ConfigLayer[], given: KerasArchiveLayer[], file: string, prefix: string): PlannedLayer[] {
  const where = `${file}: ${prefix}`;
  if (!Array.isArray(given)) throw new LanternaError(`${where}: layers must be an array`);
  const index = new Map(cfgLayers.map((l, i) => [l.name, i]));
  let last = -1;
  const byName = new Map<string, KerasArchiveLayer>();
  for (const l of given) {
    const i = index.get(l?.name);
    if (i === undefined) throw new LanternaError(`${where}: layer ${JSON.stringify(l?.name)} is not in the config (config layers: ${cfgLayers.map((c) => c.name).join(', ')})`);
    if (i <= last) throw new LanternaError(`${where}: layer '${l.name}' is out of model order (or given twice); give the layers in the config's order`);
    last = i;
    byName.set(l.name, l);
  }
  const counters = new Map<string, number>();
  const out: PlannedLayer[] = [];
  cfgLayers.forEach((c, i) => {
    const l = byName.get(c.name);
    // Keras 3's Sequential.layers leaves out the InputLayer it starts with.
    if (className === 'Sequential' && i === 0 && c.className === 'InputLayer') {
      if (l && (l.weights.length || l.layers?.length)) throw new LanternaError(`${where}: the InputLayer '${c.name}' of a Sequential is not saved; it can have no weights`);
      return;
    }
    const base = kerasSnakeCase(c.className);
    const n = (counters.get(base) ?? -1) + 1;
    counters.set(base, n);
    const group = `${prefix}/${n === 0 ? base : `${base}_${n}`}`;
    const weights = l?.weights ?? [];
    if (!Array.isArray(weights)) throw new LanternaError(`${file}: layer '${c.name}': weights must be an array`);
    weights.forEach((w, k) => {
      if (!(w?.data instanceof Float32Array)) throw new LanternaError(`${file}: layer '${c.name}' weight ${k}: data must be a Float32Array`);
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw new LanternaError(`${file}: layer '${c.name}' weight ${k}: shape ${JSON.stringify(w.shape)} must be a list of non-negative integers`);
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (size !== w.data.length) throw new LanternaError(`${file}: layer '${c.name}' weight ${k}: shape [${w.shape}] needs ${size} values, data has ${w.data.length}`);
    });
    if (l?.layers && !c.children) throw new LanternaError(`${file}: layer '${c.name}' (${c.className}) is not a model in the config, but layers were given for it`);
    const children = c.children ? planContainer(c.className, c.children, l?.layers ?? [], file, `${group}/layers`) : [];
    out.push({ group, name: c.name, weights, children });
  });
  return out;
}

function writePlan(root: H5Group, plan: PlannedLayer[], file: string): void {
  for (const p of plan) {
    const where = `${file}: layer '${p.name}'`;
    const vars = ensureGroup(root, `${p.group}/vars`, where);
    writeStringAttr(vars, 'name', p.name, 'utf8', where);
    p.weights.forEach((w, i) => writeDatasetF32(vars, String(i), w.shape, w.data, where));
    writePlan(root, p.children, file);
  }
}
