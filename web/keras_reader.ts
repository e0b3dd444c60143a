// Reads a picked Keras file in a worker (keras_worker.ts), one file at a time; falls back to the
// main thread where module workers are unavailable.

import type { KerasFile } from '../nn/io/keras.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { fileToMemfs, remove, type OnProgress } from './memfs.ts';

type Msg = { type: 'progress'; done: number; total: number } | { type: 'parsing' } | { type: 'done'; file: KerasFile } | { type: 'error'; message: string };

export async function readKerasFile(file: File, onProgress: OnProgress, onParsing: () => void): Promise<KerasFile> {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./keras_worker.js', location.href), { type: 'module' });
  } catch {
    return mainThread(file, onProgress, onParsing);
  }
  try {
    return await new Promise<KerasFile>((ok, fail) => {
      worker.onmessage = (e: MessageEvent<Msg>) => {
        const m = e.data;
        if (m.type === 'progress') onProgress(m.done, m.total);
        else if (m.type === 'parsing') onParsing();
        else if (m.type === 'done') ok(m.file);
        else fail(new Error(m.message));
      };
      worker.onerror = (e) => fail(new Error(`the file-reading worker failed: ${e.message || 'unknown error'}`));
      worker.postMessage({ file });
    });
  } finally {
    worker.terminate(); // frees its copy of the file and the wasm heap at once
  }
}

async function mainThread(file: File, onProgress: OnProgress, onParsing: () => void): Promise<KerasFile> {
  const path = await fileToMemfs(file, onProgress);
  try {
    onParsing();
    await new Promise((r) => setTimeout(r, 0));
    return await readKerasWeights(path);
  } catch (e) {
    throw e instanceof Error ? new Error(e.message.split(path).join(file.name)) : e;
  } finally {
    remove(path);
  }
}
