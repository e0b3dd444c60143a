// Bytes in and out of the page: same-origin assets fetched with progress, picked files read with
// progress, and Keras model files through h5wasm's in-memory file system (web/shims/node_fs.ts):
// the library's own loadModel / saveModel / readKerasWeights run unchanged on MEMFS paths.

import { h5ready } from '../nn/io/h5.ts';
import { loadModel, saveModel, type LoadedModel, type SaveOptions } from '../nn/model_file.ts';
import { readKerasWeights, type KerasFile } from '../nn/io/keras.ts';
import type { Sequential } from '../nn/sequential.ts';
import { memfs, mkdirs, rmSync } from './shims/node_fs.ts';

export type OnProgress = (done: number, total: number) => void;

/** GET a same-origin asset as bytes, reporting progress when the size is known. */
export async function fetchBytes(url: string, onProgress?: OnProgress): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const out = total ? new Uint8Array(total) : null;
  const parts: Uint8Array[] = [];
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (out && got + value.length <= total) out.set(value, got);
    else parts.push(value);
    got += value.length;
    onProgress?.(got, total || got);
  }
  if (out && got === total) return out;
  const all = new Uint8Array(got);
  let at = 0;
  for (const p of out ? [out.subarray(0, Math.min(got, total)), ...parts] : parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

const DIR = '/lanterna';
let counter = 0;

/**
 * Streams a picked File into MEMFS chunk by chunk (no second full copy in the JS heap), with
 * progress; returns its path there. `remove(path)` when done.
 */
export async function fileToMemfs(file: Blob & { name?: string }, onProgress?: OnProgress): Promise<string> {
  await h5ready();
  const fs = memfs();
  mkdirs(DIR);
  const path = `${DIR}/${counter++}-${(file.name ?? 'file').replace(/[^\w.-]+/g, '_')}`;
  const s = (fs as any).open(path, 'w');
  try {
    const reader = file.stream().getReader();
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      fs.write(s, value, 0, value.length, at);
      at += value.length;
      onProgress?.(at, file.size);
    }
  } finally {
    fs.close(s);
  }
  return path;
}

export function remove(path: string): void {
  rmSync(path, { force: true });
}

/** A whole Keras model file (as our saveModel writes, or Keras' model.save) from bytes. */
export async function modelFromBytes(bytes: Uint8Array, name: string): Promise<LoadedModel> {
  const path = await fileToMemfs(new File([bytes as BlobPart], name));
  try {
    return await loadModel(path);
  } finally {
    remove(path);
  }
}

/** Reads any Keras file the library knows (full model, weights only, .keras) from MEMFS. */
export async function readKeras(path: string): Promise<KerasFile> {
  return readKerasWeights(path);
}

/** saveModel into MEMFS, then the file's bytes. */
export async function modelToBytes(model: Sequential, o: SaveOptions): Promise<Uint8Array> {
  await h5ready();
  mkdirs(DIR);
  const path = `${DIR}/save-${counter++}.h5`;
  try {
    await saveModel(model, path, o);
    return memfs().readFile(path).slice();
  } finally {
    remove(path);
  }
}
