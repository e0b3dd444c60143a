// Image operations with no I/O, shared by the CLI (through image_io.ts) and the browser app:
// PIL's NEAREST resize, PIL's RGB → L, bilinear map resize, the Keras Grad-CAM example's overlay,
// and side-by-side layout.

import { colormapByName } from './colormap.ts';
import type { RgbImage } from './grid.ts';

export type { RgbImage } from './grid.ts';

/** Source index of each destination index under PIL's NEAREST resize (ImagingScaleAffine). */
export function pilNearestIndex(src: number, dst: number): Int32Array {
  const out = new Int32Array(dst);
  const a = src / dst;
  let xo = a * 0.5;
  for (let d = 0; d < dst; d++) {
    const xi = xo < 0 ? -1 : Math.trunc(xo);
    out[d] = xi >= 0 && xi < src ? xi : -1; // -1: outside the source, filled with 0 by PIL
    xo += a;
  }
  return out;
}

/** PIL's Image.resize((w, h), NEAREST) of interleaved pixels with `channels` values each. */
export function resizeNearestPil<T extends Uint8Array | Uint16Array | Float32Array>(data: T, width: number, height: number, channels: number, w: number, h: number): T {
  if (width === w && height === h) return data.slice() as T;
  const xs = pilNearestIndex(width, w);
  const ys = pilNearestIndex(height, h);
  const out = new (data.constructor as { new (n: number): T })(w * h * channels);
  for (let y = 0; y < h; y++) {
    if (ys[y] < 0) continue;
    for (let x = 0; x < w; x++) {
      if (xs[x] < 0) continue;
      const s = (ys[y] * width + xs[x]) * channels;
      const d = (y * w + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
    }
  }
  return out;
}

/** PIL's convert('L') from RGB: ITU-R 601-2 luma, L = (19595·R + 38470·G + 7471·B + 32768) >> 16. */
export function rgbToGray(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 32768) >> 16;
  return out;
}

/**
 * Bilinear resize of a single-channel map with half-pixel centres (cv2.INTER_LINEAR when
 * enlarging, tf.image.resize 'bilinear'): edge samples are clamped.
 */
export function resizeBilinear(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const sy = h / H;
  const sx = w / W;
  const x0 = new Int32Array(W), x1 = new Int32Array(W), fx = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const s = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    x0[x] = Math.floor(s);
    x1[x] = Math.min(x0[x] + 1, w - 1);
    fx[x] = s - x0[x];
  }
  for (let y = 0; y < H; y++) {
    const s = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(s);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = s - y0;
    for (let x = 0; x < W; x++) {
      const top = map[y0 * w + x0[x]] * (1 - fx[x]) + map[y0 * w + x1[x]] * fx[x];
      const bot = map[y1 * w + x0[x]] * (1 - fx[x]) + map[y1 * w + x1[x]] * fx[x];
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** Options of `overlayHeatmap`. */
export interface OverlayOptions {
  /** Default 'jet', as the Keras Grad-CAM example. */
  colormap?: string;
  /** Default 0.4, as the Keras Grad-CAM example. */
  alpha?: number;
}

/**
 * The Keras Grad-CAM example's picture at the image's own size: the map divided by its maximum,
 * resized bilinearly to the image, through the colour map (np.uint8(255·v) indexing), then
 * heat·alpha + image rescaled so that the brightest value is 255 (array_to_img).
 */
export function overlayHeatmap(base: RgbImage, map: ArrayLike<number>, mh: number, mw: number, o: OverlayOptions = {}): RgbImage {
  const lut = colormapByName(o.colormap ?? 'jet');
  const alpha = o.alpha ?? 0.4;
  let hi = 0;
  for (let i = 0; i < map.length; i++) hi = Math.max(hi, map[i]);
  const norm = Float32Array.from(map, (v) => (hi > 0 ? Math.max(v, 0) / hi : 0));
  const big = resizeBilinear(norm, mh, mw, base.height, base.width);
  const n = base.width * base.height;
  const sum = new Float32Array(n * 3);
  let lo = Infinity;
  let top = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = Math.min(255, Math.max(0, Math.floor(255 * big[i]))) * 3;
    for (let c = 0; c < 3; c++) {
      const v = lut[k + c] * alpha + base.rgb[3 * i + c];
      sum[3 * i + c] = v;
      lo = Math.min(lo, v);
      top = Math.max(top, v);
    }
  }
  const span = top - lo || 1;
  return { width: base.width, height: base.height, rgb: Uint8Array.from(sum, (v) => Math.round(((v - lo) / span) * 255)) };
}

/** Places images side by side (tops aligned) on white, `gap` pixels apart. */
export function sideBySide(images: RgbImage[], gap = 8): RgbImage {
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const rgb = new Uint8Array(width * height * 3).fill(255);
  let ox = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) rgb.set(im.rgb.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + ox) * 3);
    ox += im.width + gap;
  }
  return { width, height, rgb };
}
