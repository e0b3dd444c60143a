// A worker that reads Keras files off the page's main thread: the picked File is streamed into
// the worker's own h5wasm MEMFS (with progress), parsed by the library's readKerasWeights, and
// the layers come back with their weight buffers transferred (no copy). So a 528 MB VGG16 file
// never holds the page while HDF5 reads it. Messages: {file} in; {progress}, {parsing}, {done},
// {error} out.

import { readKerasWeights } from '../nn/io/keras.ts';
import { fileToMemfs, remove } from './memfs.ts';

const post = (m: unknown, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (e: MessageEvent<{ file: File }>) => {
  const { file } = e.data;
  let path = '';
  try {
    path = await fileToMemfs(file, (done, total) => post({ type: 'progress', done, total }));
    post({ type: 'parsing' });
    const kf = await readKerasWeights(path);
    const buffers = new Set<ArrayBuffer>();
    for (const l of kf.layers) for (const w of l.weights) buffers.add(w.data.buffer as ArrayBuffer);
    post({ type: 'done', file: kf }, [...buffers]);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    post({ type: 'error', message: path ? msg.split(path).join(file.name) : msg });
  } finally {
    if (path) remove(path);
  }
};
