// Images in and out (Node), matching what Keras feeds a network:
//
//   keras.utils.load_img(path, target_size=(224, 224))
//     = PIL.Image.open(path).convert('RGB').resize((224, 224), PIL.Image.NEAREST)
//
// (load_img applies no EXIF orientation: neither do we; the orientation is reported.)
//
// JPEG (baseline and progressive) is entropy-decoded by jpeg-js. PIL decodes with libjpeg(-turbo),
// whose defaults differ from jpeg-js in two places we can reproduce exactly: chroma is upsampled
// with libjpeg's "fancy" triangle filter (h2v1, h1v2, h2v2; jpeg-js repeats samples), and YCbCr →
// RGB uses libjpeg's 16-bit fixed-point tables (jdcolor.c). The inverse DCT stays jpeg-js's,
// which differs from libjpeg's ISLOW by ±1 on a few per cent of samples (measured in
// test/image_io.test.ts against PIL 9.4 + libjpeg-turbo 2.1.5).
//
// PNG is decoded by pngjs, with PIL's conversions to RGB: 16-bit RGB(A) and LA keep the high byte,
// 16-bit grey (PIL mode 'I') is clipped to 0..255, alpha is dropped (not composited), a tRNS
// colour key is ignored.
//
// Resizing is PIL's NEAREST exactly (ImagingScaleAffine: source x = floor(s/2 + d·s) with
// s = src/dst summed in double precision).

import { existsSync, readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbImage } from './grid.ts';
import { encodePng, writeFileAtomic } from './png.ts';
import { resizeNearestPil, rgbToGray } from './image_ops.ts';

export type { RgbImage } from './grid.ts';
// The I/O-free operations live in image_ops.ts (the browser app uses them too).
export { overlayHeatmap, pilNearestIndex, resizeBilinear, resizeNearestPil, rgbToGray, sideBySide, type OverlayOptions } from './image_ops.ts';

/** PIL's mode names for what the file holds. */
export type SourceMode = 'RGB' | 'RGBA' | 'L' | 'LA' | 'P' | 'I' | '1' | 'CMYK';

/**
 * A decoded JPEG or PNG as RGB bytes (as PIL's convert('RGB')), with what the file said about
 * itself.
 */
export interface DecodedImage extends RgbImage {
  /** The file's format. */
  format: 'jpeg' | 'png';
  /** The mode PIL would open the file in. */
  mode: SourceMode;
  /** Bits per sample in the file (8, or 16 for some PNGs; 1, 2, 4 for palette and grey PNGs). */
  bitDepth: number;
  /** JPEG: whether the file is progressive. */
  progressive?: boolean;
  /** JPEG chroma subsampling as h×v factors per component, e.g. [[2,2],[1,1],[1,1]]. */
  sampling?: [number, number][];
  /** EXIF orientation (1..8) when the file has one; it is NOT applied (as Keras' load_img). */
  exifOrientation?: number;
  /** 16-bit grey PNGs: the raw values (PIL mode 'I'), which Keras keeps in grayscale mode. */
  gray16?: Uint16Array;
}

/**
 * A file that is not a JPEG or PNG, or cannot be decoded; the message starts with the file's name.
 */
export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

const isJpeg = (b: Uint8Array) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const isPng = (b: Uint8Array) => b.length > 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v);

/** Decodes a JPEG or PNG to RGB as PIL's Image.open(...).convert('RGB') does. `name` appears in errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): DecodedImage {
  try {
    if (isJpeg(bytes)) return decodeJpeg(bytes);
    if (isPng(bytes)) return decodePng(bytes);
  } catch (e) {
    const kind = isJpeg(bytes) ? 'JPEG' : 'PNG';
    throw new ImageDecodeError(`${name}: cannot decode the ${kind} image (truncated or corrupt?): ${(e as Error).message}`);
  }
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageDecodeError(`${name}: not a JPEG or PNG image (first bytes: ${head || 'empty file'})`);
}

/**
 * Reads and decodes a JPEG or PNG file (Node only), as PIL opens it. Throws an `ImageDecodeError`
 * naming the file when it is missing or cannot be decoded.
 */
export function readImage(path: string): DecodedImage {
  if (!existsSync(path)) throw new ImageDecodeError(`${path}: no such image file`);
  return decodeImage(readFileSync(path), path);
}

// ---------------------------------------------------------------------------------------------
// JPEG

interface JpegHeader {
  width: number;
  height: number;
  progressive: boolean;
  components: { id: number; h: number; v: number }[];
  /** Adobe APP14 transform flag (0: no colour transform, 1: YCbCr, 2: YCCK), if present. */
  adobeTransform?: number;
  jfif: boolean;
  exifOrientation?: number;
}

function readJpegHeader(b: Uint8Array): JpegHeader {
  let p = 2;
  let jfif = false;
  let adobeTransform: number | undefined;
  let exifOrientation: number | undefined;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) throw new Error(`no JPEG marker at byte ${p}`);
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    const len = (b[p + 2] << 8) | b[p + 3];
    const seg = b.subarray(p + 4, p + 2 + len);
    if (marker === 0xe0 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46) jfif = true;
    if (marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobeTransform = seg[11];
    if (marker === 0xe1 && seg.length > 14 && String.fromCharCode(...seg.subarray(0, 4)) === 'Exif') exifOrientation = exifOrientationOf(seg.subarray(6));
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2)
        throw new Error(`JPEG process SOF${marker - 0xc0} (lossless or arithmetic coding) is not supported; baseline and progressive are`);
      const height = (seg[1] << 8) | seg[2];
      const width = (seg[3] << 8) | seg[4];
      const n = seg[5];
      const components = Array.from({ length: n }, (_, i) => ({ id: seg[6 + 3 * i], h: seg[7 + 3 * i] >> 4, v: seg[7 + 3 * i] & 15 }));
      return { width, height, progressive: marker === 0xc2, components, adobeTransform, jfif, exifOrientation };
    }
    if (marker === 0xda || marker === 0xd9) break;
    p += 2 + len;
  }
  throw new Error('no frame header (SOF) before the image data: truncated or not a JPEG');
}

/** Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block, if present. */
function exifOrientationOf(t: Uint8Array): number | undefined {
  if (t.length < 8) return undefined;
  const le = t[0] === 0x49;
  const u16 = (o: number) => (o + 2 <= t.length ? (le ? t[o] | (t[o + 1] << 8) : (t[o] << 8) | t[o + 1]) : -1);
  const u32 = (o: number) => (o + 4 <= t.length ? (le ? u16(o) + u16(o + 2) * 65536 : u16(o) * 65536 + u16(o + 2)) : -1);
  const ifd = u32(4);
  const n = u16(ifd);
  for (let i = 0; i >= 0 && i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : undefined;
    }
  }
  return undefined;
}

/** Removes APP14 'Adobe' segments so that jpeg-js hands back the stored components untransformed. */
function withoutAdobe(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [b.subarray(0, 2)];
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    if (marker === 0xda) break;
    const len = (b[p + 2] << 8) | b[p + 3];
    const seg = b.subarray(p, p + 2 + len);
    const isAdobe = marker === 0xee && String.fromCharCode(...seg.subarray(4, 9)) === 'Adobe';
    if (!isAdobe) parts.push(seg);
    p += 2 + len;
  }
  parts.push(b.subarray(p));
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

// libjpeg's jdcolor.c tables: SCALEBITS 16, FIX(x) = (int)(x·65536 + 0.5).
const FIX = (x: number) => Math.floor(x * 65536 + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + 32768) >> 16;
  CB_B[i] = (FIX(1.772) * x + 32768) >> 16;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + 32768;
}
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** libjpeg's ycc_rgb_convert on interleaved planes. */
export function yccToRgb(y: Uint8Array, cb: Uint8Array, cr: Uint8Array): Uint8Array {
  const out = new Uint8Array(y.length * 3);
  for (let i = 0; i < y.length; i++) {
    const Y = y[i];
    out[3 * i] = clamp8(Y + CR_R[cr[i]]);
    out[3 * i + 1] = clamp8(Y + ((CB_G[cb[i]] + CR_G[cr[i]]) >> 16));
    out[3 * i + 2] = clamp8(Y + CB_B[cb[i]]);
  }
  return out;
}

/**
 * libjpeg-turbo's fancy upsampling (jdsample.c) of one downsampled plane [dh, dw] by (fx, fy) ∈
 * {(2,1), (1,2), (2,2)} to [H, W]. Rows above the top and below the bottom repeat the edge row
 * (jdmainct.c's context pointers), as do columns.
 */
export function fancyUpsample(p: Uint8Array, dw: number, dh: number, fx: number, fy: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const at = (x: number, y: number) => p[Math.min(Math.max(y, 0), dh - 1) * dw + x];
  for (let oy = 0; oy < H; oy++) {
    const y = fy === 2 ? oy >> 1 : oy;
    const ny = fy === 2 ? (oy & 1 ? y + 1 : y - 1) : y; // the next-nearest row
    const row = oy * W;
    if (fx === 1) {
      // h1v2: (3·nearer + further + bias) >> 2, bias 1 for the upper output row, 2 for the lower.
      const bias = oy & 1 ? 2 : 1;
      for (let x = 0; x < W; x++) out[row + x] = (3 * at(x, y) + at(x, ny) + bias) >> 2;
      continue;
    }
    if (fy === 1) {
      // h2v1: first and last columns copy; else (3·nearer + further + 1 or 2) >> 2.
      for (let x = 0; x < dw; x++) {
        const c = 3 * at(x, y);
        const l = x === 0 ? -1 : at(x - 1, y);
        const r = x === dw - 1 ? -1 : at(x + 1, y);
        const o = row + 2 * x;
        if (o < row + W) out[o] = x === 0 ? at(x, y) : (c + l + 1) >> 2;
        if (o + 1 < row + W) out[o + 1] = x === dw - 1 ? at(x, y) : (c + r + 2) >> 2;
      }
      continue;
    }
    // h2v2: column sums 3·nearer row + further row, then (3·this + neighbour + 8 or 7) >> 4.
    const sum = (x: number) => 3 * at(x, y) + at(x, ny);
    for (let x = 0; x < dw; x++) {
      const t = sum(x);
      const o = row + 2 * x;
      const left = x === 0 ? (t * 4 + 8) >> 4 : (t * 3 + sum(x - 1) + 8) >> 4;
      const right = x === dw - 1 ? (t * 4 + 7) >> 4 : (t * 3 + sum(x + 1) + 7) >> 4;
      if (o < row + W) out[o] = left;
      if (o + 1 < row + W) out[o + 1] = right;
    }
  }
  return out;
}

function decodeJpeg(bytes: Uint8Array): DecodedImage {
  const h = readJpegHeader(bytes);
  const n = h.components.length;
  const base = { format: 'jpeg' as const, bitDepth: 8, progressive: h.progressive, sampling: h.components.map((c) => [c.h, c.v] as [number, number]), exifOrientation: h.exifOrientation };
  const opts = { useTArray: true as const, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 200, maxMemoryUsageInMB: 2048 };
  if (n === 1) {
    const g = jpeg.decode(bytes, opts);
    return { ...base, mode: 'L', width: g.width, height: g.height, rgb: g.data };
  }
  if (n !== 3) {
    // CMYK / YCCK (Adobe): jpeg-js's own conversion (not bit-exact with PIL's).
    const g = jpeg.decode(bytes, opts);
    return { ...base, mode: 'CMYK', width: g.width, height: g.height, rgb: g.data };
  }
  const ids = h.components.map((c) => c.id);
  const isRgb = h.adobeTransform === 0 || (h.adobeTransform === undefined && !h.jfif && ids[0] === 82 && ids[1] === 71 && ids[2] === 66);
  const raw = jpeg.decode(h.adobeTransform === undefined ? bytes : withoutAdobe(bytes), { ...opts, colorTransform: false });
  const { width: W, height: H } = raw;
  if (W !== h.width || H !== h.height) throw new Error(`frame header says ${h.width}×${h.height}, decoder gave ${W}×${H}`);
  const maxH = Math.max(...h.components.map((c) => c.h));
  const maxV = Math.max(...h.components.map((c) => c.v));
  const planes = h.components.map((c, k) => {
    const full = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) full[i] = raw.data[3 * i + k];
    const fx = maxH / c.h;
    const fy = maxV / c.v;
    const dw = Math.ceil((W * c.h) / maxH);
    const dh = Math.ceil((H * c.v) / maxV);
    const fancy = (fx === 2 && fy === 1 && dw > 2) || (fx === 1 && fy === 2) || (fx === 2 && fy === 2 && dw > 2);
    if (!fancy) return full; // no subsampling, or libjpeg's plain replication (which jpeg-js does too)
    // jpeg-js repeated each sample fx×fy times: take one per block back.
    const p = new Uint8Array(dw * dh);
    for (let y = 0; y < dh; y++) for (let x = 0; x < dw; x++) p[y * dw + x] = full[y * fy * W + x * fx];
    return fancyUpsample(p, dw, dh, fx, fy, W, H);
  });
  let rgb: Uint8Array;
  if (isRgb) {
    rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) for (let k = 0; k < 3; k++) rgb[3 * i + k] = planes[k][i];
  } else rgb = yccToRgb(planes[0], planes[1], planes[2]);
  return { ...base, mode: 'RGB', width: W, height: H, rgb };
}

// ---------------------------------------------------------------------------------------------
// PNG

/** The PNG without tRNS chunks (pngjs would zero the colour of keyed pixels; PIL keeps it). */
function withoutTrns(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [b.subarray(0, 8)];
  let p = 8;
  while (p + 12 <= b.length) {
    const len = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    const end = Math.min(b.length, p + 12 + len);
    if (type !== 'tRNS') parts.push(b.subarray(p, end));
    p = end;
  }
  if (p < b.length) parts.push(b.subarray(p));
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

// pngjs reads through Buffer methods. A page has no global Buffer, but pngjs' browserified build
// carries its own, reachable as the class of what it writes.
let pngjsBuffer: { from(b: Uint8Array): Buffer } | undefined;
function toPngjsBuffer(bytes: Uint8Array): Buffer {
  pngjsBuffer ??= (globalThis as unknown as { Buffer?: typeof pngjsBuffer }).Buffer ?? (PNG.sync.write(new PNG({ width: 1, height: 1 })).constructor as unknown as typeof pngjsBuffer);
  return pngjsBuffer!.from(bytes);
}

function decodePng(bytes: Uint8Array): DecodedImage {
  if (bytes.length < 33) throw new Error('truncated PNG (no complete IHDR chunk)');
  const depth = bytes[24];
  const colorType = bytes[25];
  const png = PNG.sync.read(toPngjsBuffer(colorType === 3 ? bytes : withoutTrns(bytes)), { skipRescale: true });
  const { width: W, height: H } = png;
  const src = png.data as unknown as ArrayLike<number>; // RGBA; Uint16Array for 16-bit
  const rgb = new Uint8Array(W * H * 3);
  const mode: SourceMode = colorType === 0 ? (depth === 16 ? 'I' : depth === 1 ? '1' : 'L') : colorType === 2 ? 'RGB' : colorType === 3 ? 'P' : colorType === 4 ? 'LA' : 'RGBA';
  let gray16: Uint16Array | undefined;
  if (mode === 'I') gray16 = new Uint16Array(W * H);
  // Low-depth grey is kept unscaled by skipRescale: PIL scales 1/2/4-bit grey to 0..255.
  const lowGrey = colorType === 0 && depth < 8 ? 255 / (2 ** depth - 1) : 0;
  for (let i = 0; i < W * H; i++) {
    for (let k = 0; k < 3; k++) {
      const v = src[4 * i + k];
      let out: number;
      if (colorType === 3) out = v;
      else if (lowGrey) out = Math.round(v * lowGrey);
      else if (depth === 16) out = mode === 'I' ? Math.min(v, 255) : v >> 8;
      else out = v;
      rgb[3 * i + k] = out;
    }
    if (gray16) gray16[i] = src[4 * i];
  }
  return { format: 'png', mode, bitDepth: depth, width: W, height: H, rgb, gray16 };
}

// ---------------------------------------------------------------------------------------------
// Geometry and colour

/** Options of `loadImg` (keras.utils.load_img's arguments). */
export interface LoadImgOptions {
  /** [height, width], as Keras' target_size. */
  targetSize?: [number, number];
  /** 'rgb' (default) or 'grayscale'. */
  colorMode?: 'rgb' | 'grayscale';
}

/** What `loadImg` returns: Keras' img_to_array of the loaded image. */
export interface LoadedImg {
  /** The decoded file at its own size. */
  source: DecodedImage;
  /** Width after `targetSize`. */
  width: number;
  /** Height after `targetSize`. */
  height: number;
  /** 3 for 'rgb', 1 for 'grayscale'. */
  channels: 1 | 3;
  /** HWC pixel values as Keras' img_to_array gives them (0..255; 16-bit grey keeps 0..65535). */
  pixels: Float32Array;
}

/** keras.utils.load_img(path, color_mode, target_size) followed by img_to_array. */
export function loadImg(pathOrImage: string | DecodedImage, o: LoadImgOptions = {}): LoadedImg {
  const src = typeof pathOrImage === 'string' ? readImage(pathOrImage) : pathOrImage;
  const [h, w] = o.targetSize ?? [src.height, src.width];
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`loadImg: target size [${h}, ${w}] must be positive integers`);
  if ((o.colorMode ?? 'rgb') === 'rgb') {
    const px = resizeNearestPil(src.rgb, src.width, src.height, 3, w, h);
    return { source: src, width: w, height: h, channels: 3, pixels: Float32Array.from(px) };
  }
  // grayscale: PIL modes L, I;16 and I are kept as they are; anything else is convert('L').
  const grey = src.gray16 ?? rgbToGray(src.rgb);
  const px = resizeNearestPil(grey, src.width, src.height, 1, w, h);
  return { source: src, width: w, height: h, channels: 1, pixels: Float32Array.from(px) };
}

/** PNG or JPEG bytes, chosen by the file name's extension (.png, .jpg, .jpeg). */
export function encodeImage(path: string, img: RgbImage, quality = 90): Uint8Array {
  if (/\.png$/i.test(path)) return encodePng(img);
  if (/\.jpe?g$/i.test(path)) {
    const rgba = new Uint8Array(img.width * img.height * 4);
    for (let i = 0; i < img.width * img.height; i++) {
      rgba[4 * i] = img.rgb[3 * i];
      rgba[4 * i + 1] = img.rgb[3 * i + 1];
      rgba[4 * i + 2] = img.rgb[3 * i + 2];
      rgba[4 * i + 3] = 255;
    }
    return jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
  }
  throw new Error(`${path}: the output is written as PNG or JPEG; name a .png, .jpg or .jpeg file`);
}

/** Writes PNG or JPEG (by extension) atomically: a temp file renamed into place. */
export async function writeImage(path: string, img: RgbImage, quality = 90): Promise<void> {
  await writeFileAtomic(path, encodeImage(path, img, quality));
}
