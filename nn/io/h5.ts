// Thin helpers over h5wasm (HDF5 compiled to WebAssembly), Node build. Its file system is
// NODERAWFS: paths are the real disk's, and files are read piecewise, never loaded whole.
//
// h5wasm reports most failures by printing an HDF5 error stack and returning -1 or null rather
// than throwing; every helper here checks the result and throws an error naming the file and the
// object at fault.

import h5wasm, { type Dataset, type File as H5wasmFile, type Group } from 'h5wasm/node';
import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';

export type H5File = H5wasmFile;
export type H5Group = Group;
export type H5Dataset = Dataset;

/** Resolves once the WebAssembly module is loaded; every other helper needs it. */
export async function h5ready(): Promise<void> {
  await h5wasm.ready;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when the file carries the HDF5 signature at offset 0 or after a user block (512, 1024, …). */
export function hasHdf5Signature(path: string): boolean {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      if (readSync(fd, buf, 0, 8, off) === 8 && HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Opens an HDF5 file read-only. Call `h5ready()` first. */
export function openH5(path: string): H5File {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  if (!hasHdf5Signature(path)) throw new Error(`${path}: not an HDF5 file (no HDF5 signature)`);
  const f = new h5wasm.File(path, 'r');
  if (f.file_id < 0n) throw new Error(`${path}: HDF5 could not open the file (see the HDF5 error stack above)`);
  return f;
}

/** Opens read-only, runs `fn`, closes (also on error). */
export async function withH5<T>(path: string, fn: (f: H5File) => T): Promise<T> {
  await h5ready();
  const f = openH5(path);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

export function isGroup(e: unknown): e is H5Group {
  return e instanceof h5wasm.Group;
}

export function isDataset(e: unknown): e is H5Dataset {
  return e instanceof h5wasm.Dataset;
}

/** Child group `name` of `g`, or an error naming `where`. */
export function getGroup(g: H5Group, name: string, where: string): H5Group {
  const e = g.get(name);
  if (!isGroup(e)) throw new Error(`${where}: ${joinPath(g.path, name)} is ${e === null ? 'missing' : 'not a group'}`);
  return e;
}

export function joinPath(parent: string, name: string): string {
  return (parent.endsWith('/') ? parent : parent + '/') + name;
}

export function attrNames(obj: H5Group | H5Dataset): string[] {
  return Object.keys(obj.attrs);
}

export function hasAttr(obj: H5Group | H5Dataset, name: string): boolean {
  return attrNames(obj).includes(name);
}

/** A scalar (or one-element) string attribute, or undefined when absent. */
export function readStringAttr(obj: H5Group | H5Dataset, name: string, where: string): string | undefined {
  if (!hasAttr(obj, name)) return undefined;
  const v = obj.attrs[name].value;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  throw new Error(`${where}: attribute ${joinPath(obj.path, '@' + name)} is not a string (dtype ${JSON.stringify(obj.attrs[name].dtype)})`);
}

/**
 * A list-of-strings attribute, normalised to string[] whether stored as fixed-length byte strings
 * (Keras 2, `|S15`), variable-length strings (Keras 3), a scalar string, or an empty float64 array
 * (numpy's `np.asarray([])`, which Keras writes for weightless layers). Keras splits lists larger
 * than 64 KB into `name0`, `name1`, …; those are joined. Returns undefined when absent.
 */
export function readStringListAttr(obj: H5Group | H5Dataset, name: string, where: string): string[] | undefined {
  const names = attrNames(obj);
  if (names.includes(name)) return stringList(obj, name, where);
  if (!names.includes(name + '0')) return undefined;
  const out: string[] = [];
  for (let i = 0; names.includes(name + i); i++) out.push(...stringList(obj, name + i, where));
  return out;
}

function stringList(obj: H5Group | H5Dataset, name: string, where: string): string[] {
  const a = obj.attrs[name];
  const v = a.value;
  if (v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  if (ArrayBuffer.isView(v) && (v as Uint8Array).length === 0) return [];
  throw new Error(`${where}: attribute ${joinPath(obj.path, '@' + name)} is not a list of strings (dtype ${JSON.stringify(a.dtype)}, shape ${JSON.stringify(a.shape)})`);
}

export interface F32Array {
  shape: number[];
  data: Float32Array;
}

/** Reads a numeric dataset as float32 (float64 and integers are converted). */
export function readDatasetF32(ds: H5Dataset, where: string): F32Array {
  const meta = ds.metadata;
  const shape = meta.shape;
  if (shape === null) throw new Error(`${where}: dataset ${ds.path} has no dataspace (null shape)`);
  const FLOAT = 1, INTEGER = 0;
  if (meta.type !== FLOAT && meta.type !== INTEGER) {
    throw new Error(`${where}: dataset ${ds.path} has dtype ${JSON.stringify(ds.dtype)}, not a number type`);
  }
  if (meta.type === FLOAT && meta.size !== 4 && meta.size !== 8) {
    throw new Error(`${where}: dataset ${ds.path} is float${meta.size * 8}, which h5wasm cannot read (only float32/float64)`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return { shape, data: new Float32Array(0) };
  let v: unknown;
  try {
    v = ds.value;
  } catch (e) {
    throw new Error(`${where}: reading dataset ${ds.path} failed: ${(e as Error).message}`);
  }
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (typeof v === 'number') data = Float32Array.of(v);
  else if (typeof v === 'bigint') data = Float32Array.of(Number(v));
  else if (v instanceof BigInt64Array || v instanceof BigUint64Array) data = Float32Array.from(v, (x) => Number(x));
  else if (ArrayBuffer.isView(v)) data = Float32Array.from(v as unknown as ArrayLike<number>);
  else throw new Error(`${where}: dataset ${ds.path} did not read as numbers`);
  if (data.length !== n) throw new Error(`${where}: dataset ${ds.path} read ${data.length} values, shape [${shape}] needs ${n}`);
  return { shape, data };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Creates (or returns) the group at relative path `rel` below `g`, making intermediate groups. */
export function ensureGroup(g: H5Group, rel: string, where: string): H5Group {
  let cur = g;
  for (const part of rel.split('/')) {
    if (part === '') throw new Error(`${where}: empty component in group path '${rel}'`);
    const e = cur.get(part);
    if (e === null) {
      cur.create_group(part);
      const made = cur.get(part);
      if (!isGroup(made)) throw new Error(`${where}: could not create group ${joinPath(cur.path, part)}`);
      cur = made;
    } else if (isGroup(e)) {
      cur = e;
    } else {
      throw new Error(`${where}: ${joinPath(cur.path, part)} exists and is not a group`);
    }
  }
  return cur;
}

/** Writes a float32 dataset at relative path `rel` (intermediate groups are created). */
export function writeDatasetF32(g: H5Group, rel: string, shape: number[], data: Float32Array, where: string): H5Dataset {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`${where}: ${rel}: shape [${shape}] needs ${n} values, got ${data.length}`);
  const cut = rel.lastIndexOf('/');
  const parent = cut < 0 ? g : ensureGroup(g, rel.slice(0, cut), where);
  const name = rel.slice(cut + 1);
  if (name === '') throw new Error(`${where}: dataset path '${rel}' ends with '/'`);
  if (parent.get(name) !== null) throw new Error(`${where}: ${joinPath(parent.path, name)} already exists`);
  const ds = parent.create_dataset({ name, data, shape, dtype: '<f' });
  if (!isDataset(ds)) throw new Error(`${where}: could not create dataset ${joinPath(parent.path, name)}`);
  return ds;
}

export type StringCset = 'ascii' | 'utf8';

function checkCreated(obj: H5Group | H5Dataset, name: string, where: string): void {
  if (!hasAttr(obj, name)) throw new Error(`${where}: could not create attribute ${joinPath(obj.path, '@' + name)}`);
}

function refuseExisting(obj: H5Group | H5Dataset, name: string, where: string): void {
  if (hasAttr(obj, name)) throw new Error(`${where}: attribute ${joinPath(obj.path, '@' + name)} already exists`);
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

/**
 * A scalar variable-length string attribute, as h5py writes a Python `str` ('utf8', cset UTF-8)
 * or `bytes` ('ascii', cset ASCII).
 */
export function writeStringAttr(obj: H5Group | H5Dataset, name: string, value: string, cset: StringCset, where: string): void {
  refuseExisting(obj, name, where);
  if (cset === 'ascii' && !isAscii(value)) throw new Error(`${where}: attribute @${name} must be ASCII`);
  obj.create_attribute(name, value, null, cset === 'ascii' ? 'A' : 'S');
  checkCreated(obj, name, where);
}

/** h5py/Keras split attributes above this many bytes (HDF5's object header limit). */
export const HDF5_OBJECT_HEADER_LIMIT = 64512;

/**
 * A list-of-strings attribute in numpy's fixed-length byte-string form (`|S<n>`, n = longest
 * string), as Keras 2 writes `layer_names` and `weight_names`. An empty list becomes an empty
 * float64 array, which is what `np.asarray([])` gives. Lists over 64 512 bytes are split into
 * `name0`, `name1`, … exactly as Keras' `save_attributes_to_hdf5_group` does (np.array_split).
 */
export function writeFixedStringListAttr(obj: H5Group | H5Dataset, name: string, values: string[], where: string): void {
  refuseExisting(obj, name, where);
  if (values.length === 0) {
    obj.create_attribute(name, new Float64Array(0), [0], '<d');
    checkCreated(obj, name, where);
    return;
  }
  const enc = new TextEncoder();
  const lengths = values.map((s) => {
    if (!isAscii(s)) throw new Error(`${where}: attribute @${name}: '${s}' is not ASCII`);
    return enc.encode(s).length;
  });
  const width = Math.max(1, ...lengths);
  if (width > HDF5_OBJECT_HEADER_LIMIT) throw new Error(`${where}: attribute @${name}: a string of ${width} bytes exceeds HDF5's object header limit`);
  let chunks = 1;
  const split = (k: number) => arraySplit(values, k);
  while (split(chunks).some((c) => Math.max(1, ...c.map((s) => s.length)) * c.length > HDF5_OBJECT_HEADER_LIMIT)) chunks++;
  const parts = chunks === 1 ? [[name, values] as const] : split(chunks).map((c, i) => [name + i, c] as const);
  for (const [n, c] of parts) {
    const w = Math.max(1, ...c.map((s) => s.length));
    obj.create_attribute(n, c, [c.length], `A${w}`);
    checkCreated(obj, n, where);
  }
}

/** numpy.array_split: the first (len % k) parts get one extra element. */
function arraySplit<T>(xs: T[], k: number): T[][] {
  const base = Math.floor(xs.length / k), extra = xs.length % k;
  const out: T[][] = [];
  let at = 0;
  for (let i = 0; i < k; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push(xs.slice(at, at + len));
    at += len;
  }
  return out;
}

/**
 * Writes an HDF5 file atomically: `build` fills `<path>.tmp-<pid>`, which is flushed, fsynced and
 * renamed onto `path`. If `build` throws, the temporary file is removed and `path` is untouched.
 * Files use HDF5's oldest compatible format (libver 'earliest'..'v110'), as h5py does by default,
 * so HDF5 1.10 readers (h5py on Debian 12) open them.
 */
export async function writeH5Atomic(path: string, build: (f: H5File) => void): Promise<void> {
  await h5ready();
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  let f: H5File | undefined;
  try {
    f = new h5wasm.File(tmp, 'w', { libver: ['earliest', 'v110'] });
    if (f.file_id < 0n) {
      f = undefined;
      throw new Error(`${path}: cannot create the temporary file ${tmp} (does the folder exist and is it writable?)`);
    }
    build(f);
    const status = f.close();
    f = undefined;
    if (status < 0) throw new Error(`${path}: closing the temporary file ${tmp} failed`);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (f) {
      try {
        f.close();
      } catch {
        // already failing; the original error matters more
      }
    }
    rmSync(tmp, { force: true });
    throw e;
  }
}
