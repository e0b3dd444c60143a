// Lays out heatmap overlays as one image: tiles in rows, a caption under each.

import { drawText, GLYPH_H, GLYPH_W } from './font.ts';

export interface Tile {
  rgb: Uint8Array;
  width: number;
  height: number;
  caption: string;
}

/** An 8-bit RGB image on the host. */
export interface RgbImage {
  /** width·height·3 bytes, row after row, R G B per pixel. */
  rgb: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Nearest-neighbour enlargement of an RGB image by an integer factor (for tiny tiles). */
export function enlarge(img: RgbImage, f: number): RgbImage {
  const w = img.width * f;
  const h = img.height * f;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / f) * img.width + Math.floor(x / f)) * 3;
      out.set(img.rgb.subarray(s, s + 3), (y * w + x) * 3);
    }
  return { rgb: out, width: w, height: h };
}

export function grid(tiles: Tile[], columns: number, gap = 4, captionScale = 2): RgbImage {
  const tw = Math.max(...tiles.map((t) => t.width));
  const th = Math.max(...tiles.map((t) => t.height));
  const cap = GLYPH_H * captionScale + 6;
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * tw + (cols + 1) * gap;
  const height = rows * (th + cap) + (rows + 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  tiles.forEach((t, i) => {
    const ox = gap + (i % cols) * (tw + gap);
    const oy = gap + Math.floor(i / cols) * (th + cap + gap);
    for (let y = 0; y < t.height; y++) rgb.set(t.rgb.subarray(y * t.width * 3, (y + 1) * t.width * 3), ((oy + y) * width + ox) * 3);
    const textW = t.caption.length * GLYPH_W * captionScale;
    drawText(rgb, width, height, t.caption, ox + Math.max(0, Math.floor((tw - textW) / 2)), oy + th + 3, [0, 0, 0], captionScale);
  });
  return { rgb, width, height };
}
