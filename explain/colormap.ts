// Colour maps (matplotlib's tables) and blending of a heatmap over an image.

import { GRAY, INFERNO, JET, VIRIDIS } from './colormap_data.ts';

/** The colour maps by name: 256-entry RGB tables (256·3 bytes) from matplotlib's maps. */
export const COLORMAPS = { inferno: INFERNO, jet: JET, viridis: VIRIDIS, gray: GRAY } as const;
/** A name in `COLORMAPS`: 'inferno', 'jet', 'viridis' or 'gray'. */
export type ColormapName = keyof typeof COLORMAPS;

/**
 * The table of colour map `name` (see `COLORMAPS`). Throws on an unknown name, listing the known
 * ones.
 */
export function colormapByName(name: string): Uint8Array {
  const lut = (COLORMAPS as Record<string, Uint8Array>)[name];
  if (!lut) throw new Error(`unknown colormap '${name}' (known: ${Object.keys(COLORMAPS).join(', ')})`);
  return lut;
}

/** Min–max normalisation to [0, 1] (cv2.NORM_MINMAX); a constant map becomes all zeros. */
export function minMax(v: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  const span = hi - lo;
  return Float32Array.from(v, (x) => (span > 0 ? (x - lo) / span : 0));
}

/** Values in [0, 1] → RGB bytes through a 256-entry table. */
export function colorize(v: ArrayLike<number>, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(v.length * 3);
  for (let i = 0; i < v.length; i++) {
    const k = Math.max(0, Math.min(255, Math.round(v[i] * 255))) * 3;
    out[3 * i] = lut[k];
    out[3 * i + 1] = lut[k + 1];
    out[3 * i + 2] = lut[k + 2];
  }
  return out;
}

/** Alpha-blends RGB `heat` over RGB `base` (same size): (1 − α)·base + α·heat. */
export function blend(base: Uint8Array, heat: Uint8Array, alpha: number): Uint8Array {
  const out = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = Math.round((1 - alpha) * base[i] + alpha * heat[i]);
  return out;
}

/**
 * The Keras Grad-CAM example's overlay: heat·α + image, then rescaled so that the brightest
 * value is 255 (keras.utils.array_to_img with scale=True).
 */
export function kerasOverlay(base: Uint8Array, heat: Uint8Array, alpha: number): Uint8Array {
  const sum = new Float32Array(base.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < base.length; i++) {
    sum[i] = heat[i] * alpha + base[i];
    lo = Math.min(lo, sum[i]);
    hi = Math.max(hi, sum[i]);
  }
  const span = hi - lo || 1;
  return Uint8Array.from(sum, (x) => Math.round(((x - lo) / span) * 255));
}
