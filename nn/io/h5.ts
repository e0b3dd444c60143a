// Thin helpers over h5wasm (HDF5 compiled to WebAssembly), Node build. Its file system is
// NODERAWFS: paths are the real disk's, and files are read piecewise, never loaded whole.
//
// h5wasm reports most failures by printing an HDF5 error stack and returning -1 or null rather
// than throwing; every helper here checks the result and throws an error naming the file and the
// object at fault. A corrupt file must give one line, never a crash, so:
// - HDF5's error stacks (printed to stderr on every failed call) are captured while a file is
//   open (`quietly`), and the innermost frame of the last one goes into our message instead
//   (a file shorter than its superblock says reads "FILE: truncated: N bytes expected, M found");
// - attributes and datasets are read into zeroed buffers and the read's status is checked:
//   h5wasm ignores it, and after a failed read of a variable-length string it frees whatever
//   pointers the buffer held, which aborts the WebAssembly module (or corrupts its heap);
// - a dataset larger than its file (a corrupt shape) is refused before any allocation;
// - anything h5wasm throws (its own one-word errors, a WebAssembly abort) becomes one line
//   starting with the file (`withH5`);
// - HDF5 itself loops forever on some corrupt files (a global heap object of size 0, found by
//   test/fuzz_model_files.test.ts; h5py hangs on it too), so in Node a read runs under V8's
//   script time limit (node:vm), which stops even WebAssembly, and past it fails as one line;
// - a file whose read failed may still be held open by HDF5 with stale metadata, so the next
//   read of it goes through a fresh copy (`h5.suspect`).

import h5wasm, { type Dataset, type File as H5wasmFile, type Group } from 'h5wasm/node';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanternaError } from '../../engine/errors.ts';
import { oneLine } from './file_errors.ts';

export type H5File = H5wasmFile;
export type H5Group = Group;
export type H5Dataset = Dataset;

type H5Module = Awaited<typeof h5wasm.ready>;
type FsWrite = (stream: { fd?: number }, buffer: Uint8Array, offset: number, length: number, position?: number, canOwn?: boolean) => number;

/** The loaded module, the sizes of the files open for reading (by file id), and the capture state. */
const h5 = {
  module: undefined as H5Module | undefined,
  fileSizes: new Map<bigint, number>(),
  depth: 0,
  captured: [] as string[],
  /**
   * Files (device:inode) whose last read failed. HDF5 may still hold such a file open: a call
   * stopped mid-way (time limit, abort) or failing inside h5wasm can leak object ids, which keep
   * the file open after H5Fclose, and HDF5 shares one open file's state (its metadata cache) with
   * every later open of the same inode, so a rewritten file would be read through stale metadata.
   */
  suspect: new Set<string>(),
};

/** node:vm where the runtime has it (Node; not a browser bundle, hence no import statement). */
const vm = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:vm') as typeof import('node:vm') | undefined;
const watchdog = vm ? { context: vm.createContext({ fn: undefined as undefined | (() => unknown) }), script: new vm.Script('fn()'), busy: false } : undefined;

/**
 * Runs the synchronous `fn`, stopped after `ms` (V8 terminates it, WebAssembly included, without
 * running its finally blocks: clean up outside). Without node:vm (a browser) there is no limit.
 */
function timeLimited<T>(fn: () => T, ms: number, late: () => Error): T {
  if (!watchdog || watchdog.busy) return fn();
  watchdog.busy = true;
  watchdog.context.fn = fn;
  try {
    return watchdog.script.runInContext(watchdog.context, { timeout: Math.ceil(ms) }) as T;
  } catch (e) {
    throw (e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? late() : e;
  } finally {
    watchdog.context.fn = undefined;
    watchdog.busy = false;
  }
}

/** How long reading a file may take: 3 s, plus 1 s per 2 MB (a slow disk; HDF5 itself reads far faster). */
export const readTimeLimitMs = (bytes: number) => 3000 + bytes / 2_000;

/** Resolves once the WebAssembly module is loaded; every other helper needs it. */
export async function h5ready(): Promise<void> {
  h5.module ??= await h5wasm.ready;
}

function mod(): H5Module {
  if (!h5.module) throw new Error('nn/io/h5.ts: h5ready() was not awaited');
  return h5.module;
}

/**
 * Runs `fn` (synchronous h5wasm calls) with what HDF5 and Emscripten print to stderr captured
 * rather than printed: HDF5 prints its whole error stack for every failed call (probes that find
 * nothing included), and Emscripten an "Aborted(...)" line. `hdf5Detail()` summarises it.
 */
export function quietly<T>(fn: () => T): T {
  const m = mod();
  const fs = m.FS as unknown as { write: FsWrite };
  const stderr = typeof process !== 'undefined' ? process.stderr : undefined;
  if (h5.depth > 0) {
    h5.depth++;
    try {
      return fn();
    } finally {
      h5.depth--;
    }
  }
  h5.depth = 1;
  h5.captured = [];
  const write = fs.write;
  const stderrWrite = stderr?.write;
  const decoder = new TextDecoder();
  fs.write = (stream, buffer, offset, length, position, canOwn) => {
    if (stream?.fd !== 2) return write.call(fs, stream, buffer, offset, length, position, canOwn);
    h5.captured.push(decoder.decode(buffer.subarray(offset, offset + length)));
    return length;
  };
  if (stderr) stderr.write = ((chunk: unknown) => (h5.captured.push(String(chunk)), true)) as typeof stderr.write;
  try {
    return fn();
  } finally {
    fs.write = write;
    if (stderr && stderrWrite) stderr.write = stderrWrite;
    // Set, not decremented: a nested call stopped by the time limit never ran its finally.
    h5.depth = 0;
  }
}

/**
 * The innermost frame of the last HDF5 error stack captured, as ' (HDF5: H5C__verify_len_eoa:
 * address of object past end of allocation)', or '' when there is none.
 */
export function hdf5Detail(): string {
  const frames = [...lastStack().matchAll(/#\d+: .* in (\w+)\(\): ([^\n]*)/g)];
  const last = frames[frames.length - 1];
  return last ? ` (HDF5: ${oneLine(`${last[1]}: ${last[2].trim()}`)})` : '';
}

/** The last HDF5 error stack captured ('' when none). */
function lastStack(): string {
  const stacks = h5.captured.join('').split(/HDF5-DIAG: Error detected in HDF5[^\n]*\n/);
  return stacks[stacks.length - 1] ?? '';
}

/** 423696 → '423 696'. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, ' ');

/**
 * When the last HDF5 error captured says the file ends before its superblock's end-of-file
 * address (H5F__super_read: "truncated file: eof = …, sblock->base_addr = …, stored_eof = …"),
 * ' truncated: 423 696 bytes expected, 100 000 found'; else undefined. HDF5 compares
 * eof + base_addr (the bytes there, a user block included) with stored_eof.
 */
function hdf5Truncation(): string | undefined {
  const m = /truncated file: eof = (\d+), sblock->base_addr = (\d+), stored_eof = (\d+)/.exec(lastStack());
  if (!m) return undefined;
  const found = Number(m[1]) + Number(m[2]), expected = Number(m[3]);
  return found < expected ? ` truncated: ${grouped(expected)} bytes expected, ${grouped(found)} found` : undefined;
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

/**
 * Opens an HDF5 file read-only. Call `h5ready()` first; `display` names the file in errors (an
 * archive member read through a temporary copy). Prefer `withH5`, which also closes the file and
 * turns whatever h5wasm throws into one line.
 */
export function openH5(path: string, display = path): H5File {
  if (!existsSync(path)) throw new LanternaError(`${display}: no such file`);
  if (!hasHdf5Signature(path)) throw new LanternaError(`${display}: not an HDF5 file (no HDF5 signature)`);
  const size = statSync(path).size;
  const f = quietly(() => new h5wasm.File(path, 'r'));
  if (f.file_id < 0n) throw new LanternaError(`${display}:${hdf5Truncation() ?? ` HDF5 cannot open the file (corrupt or truncated?)${hdf5Detail()}`}`);
  h5.fileSizes.set(f.file_id, size);
  return f;
}

/**
 * Opens read-only, runs `fn`, closes (also on error). Every error comes out as one line starting
 * with `display`: ours as they are, h5wasm's and HDF5's (a corrupt file) with what HDF5 said.
 */
export async function withH5<T>(path: string, fn: (f: H5File) => T, display = path): Promise<T> {
  await h5ready();
  const limit = readTimeLimitMs(existsSync(path) ? statSync(path).size : 0);
  // A file whose last read failed is read through a fresh copy (see `suspect`).
  const key = inodeKey(path);
  let open = path;
  let copyDir: string | undefined;
  if (key && h5.suspect.has(key)) {
    copyDir = mkdtempSync(join(tmpdir(), 'lanterna-h5-'));
    open = join(copyDir, 'copy.h5');
    writeFileSync(open, readFileSync(path));
  }
  return quietly(() => {
    let f: H5File | undefined;
    let failed = true;
    try {
      const late = () => new LanternaError(`${display}: HDF5 did not finish reading the file within ${(limit / 1000).toFixed(0)} s (a corrupt file can send it into an endless loop)${hdf5Detail()}`);
      const out = timeLimited(() => {
        f = openH5(open, display);
        return fn(f);
      }, limit, late);
      failed = false;
      return out;
    } catch (e) {
      throw fileError(e, display);
    } finally {
      if (f) {
        h5.fileSizes.delete(f.file_id);
        try {
          f.close();
        } catch {
          // a file HDF5 choked on may not close cleanly; the error at hand says more
        }
      }
      if (failed && key) h5.suspect.add(key);
      if (copyDir) rmSync(copyDir, { recursive: true, force: true });
    }
  });
}

/** device:inode of a file, where the file system says (not in a browser's MEMFS shim). */
function inodeKey(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const s = statSync(path) as { dev?: number; ino?: number };
  return s.ino ? `${s.dev}:${s.ino}` : undefined;
}

/** An error from reading `display` as one line starting with it. */
function fileError(e: unknown, display: string): LanternaError {
  const msg = oneLine(e instanceof Error ? e.message : String(e));
  if (e instanceof WebAssembly.RuntimeError) return new LanternaError(`${display}: HDF5 failed on this file (corrupt or truncated?): ${msg}${hdf5Detail()}`);
  if (msg.startsWith(display)) return e instanceof LanternaError && msg === e.message ? e : new LanternaError(msg);
  // h5wasm's own words add nothing when an object will not open; HDF5's reason says why.
  const theirs = msg === 'error - name not defined!' ? '' : `: ${msg}`;
  return new LanternaError(`${display}: HDF5 cannot read the file (corrupt or truncated?)${theirs}${hdf5Detail()}`);
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

/** Reads stay below this many bytes (a corrupt size must fail as one line, not exhaust memory). */
const MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * Reads into a zeroed buffer of `bytes` with `read` (an h5wasm data call), checks its status and
 * hands the bytes to `use`. A failed read throws `what` with HDF5's reason; its buffer is freed
 * without reclaiming variable-length data (the pointers are zero or HDF5's own: a leak at worst).
 */
function checkedRead<T>(bytes: number, what: string, read: (ptr: bigint) => number, use: (raw: Uint8Array, ptr: bigint) => T): T {
  const m = mod();
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_READ_BYTES) throw new Error(`${what}: ${bytes} bytes, more than can be read`);
  const ptr = m._malloc(Math.max(1, bytes));
  if (!ptr) throw new Error(`${what}: cannot allocate ${bytes} bytes in the WebAssembly heap`);
  try {
    m.HEAPU8.fill(0, ptr, ptr + bytes);
    const status = read(BigInt(ptr));
    if (status < 0) throw new Error(`${what}: HDF5 cannot read it (corrupt or truncated file?)${hdf5Detail()}`);
    return use(m.HEAPU8.slice(ptr, ptr + bytes), BigInt(ptr));
  } finally {
    m._free(ptr);
  }
}

/**
 * An attribute's value as h5wasm gives it, after a checked read of the same attribute: h5wasm's
 * own read ignores HDF5's status and, for variable-length data, then frees garbage pointers.
 */
export function readAttrValue(obj: H5Group | H5Dataset, name: string, where: string): unknown {
  const m = mod();
  const at = joinPath(obj.path, '@' + name);
  const meta = m.get_attribute_metadata(obj.file_id, obj.path, name);
  if (!meta.shape) return null;
  checkedRead(meta.size * meta.total_size, `${where}: attribute ${at}`, (ptr) => m.get_attribute_data(obj.file_id, obj.path, name, ptr) as number, (_raw, ptr) => {
    if (meta.vlen) m.reclaim_vlen_memory(obj.file_id, obj.path, name, ptr);
  });
  return obj.attrs[name].value;
}

/** A scalar (or one-element) string attribute, or undefined when absent. */
export function readStringAttr(obj: H5Group | H5Dataset, name: string, where: string): string | undefined {
  if (!hasAttr(obj, name)) return undefined;
  const v = readAttrValue(obj, name, where);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  throw new Error(`${where}: attribute ${joinPath(obj.path, '@' + name)} is not a string (dtype ${oneLine(JSON.stringify(obj.attrs[name].dtype))})`);
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
  const v = readAttrValue(obj, name, where);
  if (v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  if (ArrayBuffer.isView(v) && (v as Uint8Array).length === 0) return [];
  const a = obj.attrs[name];
  throw new Error(`${where}: attribute ${joinPath(obj.path, '@' + name)} is not a list of strings (dtype ${oneLine(JSON.stringify(a.dtype))}, shape ${JSON.stringify(a.shape)})`);
}

export interface F32Array {
  shape: number[];
  data: Float32Array;
}

const FLOAT = 1, INTEGER = 0;

/**
 * Reads a numeric dataset as float32 (float64 and integers are converted). The read is checked,
 * and a dataset stored unfiltered that would need more bytes than its whole file (a corrupt
 * shape) is refused before anything is allocated.
 */
export function readDatasetF32(ds: H5Dataset, where: string): F32Array {
  const meta = ds.metadata;
  const shape = meta.shape;
  if (shape === null) throw new Error(`${where}: dataset ${ds.path} has no dataspace (null shape)`);
  if (meta.type !== FLOAT && meta.type !== INTEGER) {
    throw new Error(`${where}: dataset ${ds.path} has dtype ${oneLine(JSON.stringify(ds.dtype))}, not a number type`);
  }
  if (meta.type === FLOAT && meta.size !== 4 && meta.size !== 8) {
    throw new Error(`${where}: dataset ${ds.path} is float${meta.size * 8}, which h5wasm cannot read (only float32/float64)`);
  }
  if (meta.type === INTEGER && ![1, 2, 4, 8].includes(meta.size)) throw new Error(`${where}: dataset ${ds.path} holds ${meta.size}-byte integers`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return { shape, data: new Float32Array(0) };
  const bytes = n * meta.size;
  const fileSize = h5.fileSizes.get(ds.file_id);
  if (fileSize !== undefined && bytes > fileSize && ds.filters.length === 0) {
    throw new Error(`${where}: dataset ${ds.path} has shape [${shape}], ${bytes} bytes, more than the whole file (${fileSize} bytes): corrupt or truncated`);
  }
  const m = mod();
  const data = checkedRead(bytes, `${where}: dataset ${ds.path}`, (ptr) => m.get_dataset_data(ds.file_id, ds.path, null, null, null, ptr), (raw) => toF32(raw.buffer as ArrayBuffer, meta.type, meta.size, meta.signed));
  return { shape, data };
}

/** Little-endian numbers (h5wasm reads in little-endian order whatever the file's) to float32. */
function toF32(buf: ArrayBuffer, type: number, size: number, signed: boolean): Float32Array {
  if (type === FLOAT) return size === 4 ? new Float32Array(buf) : Float32Array.from(new Float64Array(buf));
  if (size === 8) return Float32Array.from(signed ? new BigInt64Array(buf) : new BigUint64Array(buf), (x) => Number(x));
  const Ints = { 1: signed ? Int8Array : Uint8Array, 2: signed ? Int16Array : Uint16Array, 4: signed ? Int32Array : Uint32Array }[size as 1 | 2 | 4];
  return Float32Array.from(new Ints(buf));
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
  quietly(() => {
    let f: H5File | undefined;
    try {
      f = new h5wasm.File(tmp, 'w', { libver: ['earliest', 'v110'] });
      if (f.file_id < 0n) {
        f = undefined;
        throw new Error(`${path}: cannot create the temporary file ${tmp} (does the folder exist and is it writable?)${hdf5Detail()}`);
      }
      build(f);
      const status = f.close();
      f = undefined;
      if (status < 0) throw new Error(`${path}: closing the temporary file ${tmp} failed${hdf5Detail()}`);
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
  });
}
