// IDX files (the MNIST container format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
// `00 00 <type> <ndim>`, then `ndim` big-endian uint32 dimensions, then the row-major data.
// Only unsigned bytes (type 0x08) are read: MNIST images are 0x00000803, labels 0x00000801.
// Every error names the file.

import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';

export const IDX_UBYTE_IMAGES = 0x00000803;
export const IDX_UBYTE_LABELS = 0x00000801;

export interface IdxHeader {
  /** Dimensions as stored, e.g. [60000, 28, 28]. */
  dims: number[];
  /** 4 + 4·ndim. */
  headerBytes: number;
  /** Product of dims (one byte per element). */
  dataBytes: number;
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

const hex8 = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

function what(expectMagic: number | undefined): string {
  if (expectMagic === IDX_UBYTE_IMAGES) return 'pixels';
  if (expectMagic === IDX_UBYTE_LABELS) return 'labels';
  return 'data';
}

/**
 * Parses and checks an IDX header. `head` holds at least the file's first 4 + 4·ndim bytes (or all
 * of it when shorter); `fileSize` is the whole file's length, used to detect truncation.
 */
export function parseIdxHeader(head: Uint8Array, fileName: string, fileSize: number, expectMagic?: number): IdxHeader {
  if (fileSize < 4 || head.length < 4) {
    throw new Error(`${fileName}: truncated: an IDX file starts with a 4-byte magic number, file has ${fileSize} bytes`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, false);
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new Error(`${fileName}: wrong magic number ${hex8(magic)}, expected ${hex8(expectMagic)} ` +
      `(IDX ${TYPE_NAMES[expectMagic >> 8 & 0xff]}, ${expectMagic & 0xff} dimension(s)); is this the right file?`);
  }
  if (head[0] !== 0 || head[1] !== 0) {
    throw new Error(`${fileName}: not an IDX file: magic number ${hex8(magic)} must start with two zero bytes`);
  }
  const type = head[2];
  if (type !== 0x08) {
    const name = TYPE_NAMES[type] ?? 'unknown type';
    throw new Error(`${fileName}: IDX data type 0x${type.toString(16).padStart(2, '0')} (${name}) is not supported; only unsigned bytes (0x08) are`);
  }
  const ndim = head[3];
  if (ndim === 0) throw new Error(`${fileName}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (fileSize < headerBytes || head.length < headerBytes) {
    throw new Error(`${fileName}: truncated: header declares ${ndim} dimension(s) (${headerBytes} header bytes), file has ${fileSize} bytes`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  const have = fileSize - headerBytes;
  if (have < dataBytes) {
    throw new Error(`${fileName}: truncated: header says ${dims.join('×')} = ${dataBytes} bytes of ${what(expectMagic)}, ` +
      `file has ${have} (after its ${headerBytes}-byte header)`);
  }
  if (have > dataBytes) {
    throw new Error(`${fileName}: ${have - dataBytes} unexpected bytes after the ${dims.join('×')} = ${dataBytes} bytes of ${what(expectMagic)} the header declares`);
  }
  return { dims, headerBytes, dataBytes };
}

/** Parses a whole IDX file held in memory. */
export function parseIdx(bytes: Uint8Array, fileName: string, expectMagic?: number): IdxArray {
  const h = parseIdxHeader(bytes.subarray(0, 4 + 4 * 255), fileName, bytes.length, expectMagic);
  return { dims: h.dims, data: bytes.slice(h.headerBytes, h.headerBytes + h.dataBytes) };
}

/**
 * Reads an IDX file from disk. With `limit`, only the first `limit` items along the first axis are
 * read (the whole file's size is still checked against its header).
 */
export async function readIdx(path: string, opts: { expectMagic?: number; limit?: number } = {}): Promise<IdxArray> {
  const name = basename(path);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new Error(`${name}: cannot read ${path}: ${(e as Error).message}`);
  }
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(Math.min(size, 4 + 4 * 255));
    await fh.read(head, 0, head.length, 0);
    const h = parseIdxHeader(head, name, size, opts.expectMagic);
    const dims = h.dims.slice();
    if (opts.limit !== undefined) {
      if (!Number.isInteger(opts.limit) || opts.limit < 0) throw new Error(`${name}: limit must be a non-negative integer, got ${opts.limit}`);
      dims[0] = Math.min(dims[0], opts.limit);
    }
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const { bytesRead } = await fh.read(data, off, n - off, h.headerBytes + off);
      if (bytesRead === 0) throw new Error(`${name}: file shrank while being read (got ${off} of ${n} bytes)`);
      off += bytesRead;
    }
    return { dims, data };
  } finally {
    await fh.close();
  }
}
