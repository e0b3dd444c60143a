// Bytes in and out of the page: same-origin assets fetched with progress, picked files read with
// progress, and Keras model files through h5wasm's in-memory file system (web/shims/node_fs.ts):
// the library's own loadModel / saveModel / readKerasWeights run unchanged on MEMFS paths.

import { h5ready } from '../nn/io/h5.ts';
import { loadModel, saveModel, type LoadedModel, type SaveOptions } from '../nn/model_file.ts';
import type { Model } from '../nn/model.ts';
import { DIR, fileToMemfs, nextName, remove, type OnProgress } from './memfs.ts';
import { memfs, mkdirs } from './shims/node_fs.ts';

export type { OnProgress } from './memfs.ts';
export { fileToMemfs, remove } from './memfs.ts';

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

/** A whole Keras model file (as our saveModel writes, or Keras' model.save) from bytes. */
export async function modelFromBytes(bytes: Uint8Array, name: string): Promise<LoadedModel> {
  const path = await fileToMemfs(new File([bytes as BlobPart], name));
  try {
    return await loadModel(path);
  } finally {
    remove(path);
  }
}

/** saveModel into MEMFS, then the file's bytes. */
export async function modelToBytes(model: Model, o: SaveOptions): Promise<Uint8Array> {
  await h5ready();
  mkdirs(DIR);
  const path = `${DIR}/${nextName('save.h5')}`;
  try {
    await saveModel(model, path, o);
    return memfs().readFile(path).slice();
  } finally {
    remove(path);
  }
}
