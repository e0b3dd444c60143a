// Files in h5wasm's in-memory file system (Emscripten MEMFS, see shims/node_fs.ts), shared by the
// page and the Keras-reading worker.

import { h5ready } from '../nn/io/h5.ts';
import { memfs, mkdirs, rmSync } from './shims/node_fs.ts';

export type OnProgress = (done: number, total: number) => void;

export const DIR = '/lanterna';
let counter = 0;

export const nextName = (name: string) => `${counter++}-${name.replace(/[^\w.-]+/g, '_')}`;

/**
 * Streams a picked File into MEMFS chunk by chunk (no second full copy in the JS heap), with
 * progress; returns its path there (`at`, whose folder must exist, else a fresh name under DIR).
 * `remove(path)` when done.
 */
export async function fileToMemfs(file: Blob & { name?: string }, onProgress?: OnProgress, at?: string): Promise<string> {
  await h5ready();
  const fs = memfs();
  mkdirs(DIR);
  const path = at ?? `${DIR}/${nextName(file.name ?? 'file')}`;
  const s = fs.open(path, 'w');
  try {
    const reader = file.stream().getReader();
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      fs.write(s, value, 0, value.length, got);
      got += value.length;
      onProgress?.(got, file.size);
    }
  } finally {
    fs.close(s);
  }
  return path;
}

export function remove(path: string): void {
  rmSync(path, { force: true });
}

