// The part of `node:fs` that nn/io/h5.ts and nn/io/keras.ts use, over h5wasm's in-memory file
// system (Emscripten's MEMFS), for the browser bundle only: web/build.ts points `node:fs` here.
// So the Node sources read and write Keras files in the page unchanged: the app writes a picked
// file's bytes into MEMFS and hands its path to readKerasWeights / loadModel, and saveModel writes
// into MEMFS, from where the app reads the bytes back for a download. Call `await h5wasm.ready`
// (h5ready()) before any of these.

import * as h5 from 'h5wasm';

interface EmFs {
  analyzePath(p: string): { exists: boolean };
  stat(p: string): { size: number; mode: number };
  isDir(mode: number): boolean;
  open(p: string, flags: string): unknown;
  read(s: unknown, buf: Uint8Array, off: number, len: number, pos?: number): number;
  write(s: unknown, buf: Uint8Array, off: number, len: number, pos?: number): number;
  close(s: unknown): void;
  rename(a: string, b: string): void;
  unlink(p: string): void;
  rmdir(p: string): void;
  readdir(p: string): string[];
  mkdir(p: string): void;
  readFile(p: string): Uint8Array;
  writeFile(p: string, data: Uint8Array | string): void;
}

/** The Emscripten FS of h5wasm (set once h5wasm.ready has resolved). */
export function memfs(): EmFs {
  const fs = (h5 as unknown as { FS: EmFs | null }).FS;
  if (!fs) throw new Error('the in-memory file system is not ready yet (await h5wasm.ready first)');
  return fs;
}

const streams = new Map<number, unknown>();
let nextFd = 1000;

export function existsSync(p: string): boolean {
  return memfs().analyzePath(p).exists;
}

export function statSync(p: string): { size: number; isDirectory(): boolean } {
  const fs = memfs();
  const s = fs.stat(p);
  return { size: s.size, isDirectory: () => fs.isDir(s.mode) };
}

export function openSync(p: string, flags: string): number {
  const fd = nextFd++;
  streams.set(fd, memfs().open(p, flags));
  return fd;
}

function stream(fd: number): unknown {
  const s = streams.get(fd);
  if (!s) throw new Error(`bad file descriptor ${fd}`);
  return s;
}

export function readSync(fd: number, buf: Uint8Array, off: number, len: number, pos: number | null): number {
  return memfs().read(stream(fd), buf, off, len, pos ?? undefined);
}

export function writeSync(fd: number, buf: Uint8Array, off = 0, len = buf.length - off, pos: number | null = null): number {
  return memfs().write(stream(fd), buf, off, len, pos ?? undefined);
}

export function closeSync(fd: number): void {
  memfs().close(stream(fd));
  streams.delete(fd);
}

/** Memory has nothing to flush. */
export function fsyncSync(fd: number): void {
  stream(fd);
}

export function renameSync(a: string, b: string): void {
  const fs = memfs();
  if (fs.analyzePath(b).exists) fs.unlink(b);
  fs.rename(a, b);
}

export function rmSync(p: string, o: { force?: boolean; recursive?: boolean } = {}): void {
  const fs = memfs();
  if (!fs.analyzePath(p).exists) {
    if (o.force) return;
    throw new Error(`ENOENT: no such file or directory, rm '${p}'`);
  }
  if (fs.isDir(fs.stat(p).mode)) {
    if (!o.recursive) throw new Error(`rm '${p}': is a directory`);
    for (const e of fs.readdir(p)) if (e !== '.' && e !== '..') rmSync(`${p}/${e}`, o);
    fs.rmdir(p);
  } else fs.unlink(p);
}

export function readFileSync(p: string, enc?: string): Uint8Array | string {
  const data = memfs().readFile(p);
  return enc ? new TextDecoder().decode(data) : data;
}

export function writeFileSync(p: string, data: Uint8Array | string): void {
  memfs().writeFile(p, data);
}

let tmpCount = 0;
export function mkdtempSync(prefix: string): string {
  const dir = `${prefix}${Date.now().toString(36)}${tmpCount++}`;
  mkdirs(dir);
  return dir;
}

export function mkdirs(dir: string): void {
  const fs = memfs();
  let at = '';
  for (const part of dir.split('/').filter(Boolean)) {
    at += '/' + part;
    if (!fs.analyzePath(at).exists) fs.mkdir(at);
  }
}

const unavailable = (name: string) => () => {
  throw new Error(`fs.${name} is not available in the browser`);
};
export const readdirSync = unavailable('readdirSync');
export const promises = new Proxy({}, { get: (_t, k) => unavailable(`promises.${String(k)}`) });
export default { existsSync, statSync, openSync, readSync, writeSync, closeSync, fsyncSync, renameSync, rmSync, readFileSync, writeFileSync, mkdtempSync, readdirSync, promises };
