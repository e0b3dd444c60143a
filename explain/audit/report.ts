// The audit's picture: a heading (the verdict and the figures), then one row per example, worst
// first: the image with the cue region outlined, each method's map over it, and the image with the
// cue changed with the prediction it got. Pure pixels: no GPU, no file system.

import { colorize, colormapByName, minMax } from '../colormap.ts';
import { drawText, GLYPH_H, GLYPH_W } from '../font.ts';
import { enlarge, grid, type RgbImage, type Tile } from '../grid.ts';
import { resizeNearestPil } from '../image_ops.ts';

/** One row of the report. */
export interface ReportRow {
  /** The image as shown (the cue in place), at the model's input size. */
  image: RgbImage;
  /** Caption under it ('LABEL 3 PRED 3'). */
  caption: string;
  /** The cue region to outline (H·W, 1 inside), or null to outline nothing (a global cue). */
  cue: ArrayLike<number> | null;
  /** Each method's map at the image's size, with its caption. */
  maps: { map: ArrayLike<number>; caption: string }[];
  /** The image with the cue changed, and its caption ('SWAP 7: PRED 7'), when there is one. */
  counterfactual?: { image: RgbImage; caption: string };
}

/** Options of `auditReport`. */
export interface ReportOptions {
  /** Width of each tile in pixels; default 112 (a 28×28 digit enlarged 4 times). */
  tile?: number;
  /** Colour map of the maps; default 'jet'. */
  colormap?: string;
  /** Opacity of the map over the image; default 0.5. */
  alpha?: number;
}

/**
 * The report: `heading` lines (wrapped to the width) over a grid of `rows`, one example per row.
 * Throws when `rows` is empty or the images and maps of a row differ in size.
 */
export function auditReport(heading: string[], rows: ReportRow[], o: ReportOptions = {}): RgbImage {
  if (!rows.length) throw new Error('audit report: no example to show');
  const lut = colormapByName(o.colormap ?? 'jet');
  const alpha = o.alpha ?? 0.5;
  const side = o.tile ?? 112;
  const tiles: Tile[] = [];
  for (const r of rows) {
    const { width: w, height: h } = r.image;
    const shown = toTile(r.image, side);
    tiles.push({ ...(r.cue ? outline(shown, r.cue, w, h) : shown), caption: r.caption });
    for (const m of r.maps) {
      if (m.map.length !== w * h) throw new Error(`audit report: a map has ${m.map.length} values, the image ${w}×${h}`);
      const heat = colorize(minMax(m.map), lut);
      const rgb = Uint8Array.from(r.image.rgb, (v, i) => Math.round((1 - alpha) * v + alpha * heat[i]));
      tiles.push({ ...toTile({ rgb, width: w, height: h }, side), caption: m.caption });
    }
    if (r.counterfactual) tiles.push({ ...toTile(r.counterfactual.image, side), caption: r.counterfactual.caption });
  }
  const columns = 1 + rows[0].maps.length + (rows[0].counterfactual ? 1 : 0);
  const body = grid(tiles, columns, 6, 1);
  const scale = 2;
  const perLine = Math.max(8, Math.floor((body.width - 12) / (GLYPH_W * scale)));
  const lines = heading.flatMap((l) => wrap(l.toUpperCase(), perLine));
  const lineH = GLYPH_H * scale + 6;
  const top = lines.length * lineH + 8;
  const width = body.width;
  const height = top + body.height;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  lines.forEach((l, k) => drawText(rgb, width, height, l, 6, 6 + k * lineH, [0, 0, 0], scale));
  rgb.set(body.rgb, top * width * 3);
  return { rgb, width, height };
}

/** The image scaled to `side` pixels wide: enlarged by a whole factor when small, else resized (nearest). */
function toTile(img: RgbImage, side: number): RgbImage {
  const f = Math.floor(side / img.width);
  if (f >= 1 && img.width * f === side) return enlarge(img, f);
  const h = Math.max(1, Math.round((img.height * side) / img.width));
  return { rgb: resizeNearestPil(img.rgb, img.width, img.height, 3, side, h), width: side, height: h };
}

/** The tile with the edge of `mask` (w×h, the image's size) drawn in red, one tile pixel wide. */
function outline(tile: RgbImage, mask: ArrayLike<number>, w: number, h: number): RgbImage {
  const { width: W, height: H } = tile;
  const rgb = tile.rgb.slice();
  const inside = (X: number, Y: number) => X >= 0 && Y >= 0 && X < W && Y < H && mask[Math.floor((Y * h) / H) * w + Math.floor((X * w) / W)] !== 0;
  for (let Y = 0; Y < H; Y++)
    for (let X = 0; X < W; X++)
      if (inside(X, Y) && !(inside(X - 1, Y) && inside(X + 1, Y) && inside(X, Y - 1) && inside(X, Y + 1))) rgb.set([230, 20, 20], (Y * W + X) * 3);
  return { rgb, width: W, height: H };
}

/** Splits `s` at spaces into lines of at most `n` characters (a longer word is cut). */
export function wrap(s: string, n: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (next.length <= n) line = next;
    else {
      if (line) out.push(line);
      line = word;
      while (line.length > n) {
        out.push(line.slice(0, n));
        line = line.slice(n);
      }
    }
  }
  if (line) out.push(line);
  return out;
}
