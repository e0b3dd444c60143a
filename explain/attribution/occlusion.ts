// Occlusion (Zeiler & Fergus 2014), as Captum's Occlusion: a window of kh×kw pixels (all
// channels) slides with stride (sh, sw) from the top-left corner, ⌈(H − kh)/sh⌉ + 1 positions
// down and likewise across, the last ones cut at the border; each position replaces the window
// by the baseline, and every value's attribution is the drop in score S_c(x) − S_c(x_occluded)
// averaged over the windows covering it. The same for every channel of a pixel, so the map is
// the channel mean (that value). All occluded copies go through the model in batched passes.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { rowsPerPass, scoresOf, targetClasses, targetOf } from './score.ts';

/** Occlusion's options, besides the common ones. */
export interface OcclusionRequest extends AttributionRequest {
  /** Window [kh, kw] or one size for both (default 8). */
  window?: number | [number, number];
  /** Stride [sh, sw] or one for both (default half the window, at least 1); at most the window. */
  stride?: number | [number, number];
  /** What fills the window, in the model's input space: one value or one per channel (default 0). */
  baseline?: number | number[];
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** raw: the averaged score drop per value, [N, H, W, C]; map the channel mean. */
export async function occlusion(model: Model, x: Tensor, req: OcclusionRequest = {}): Promise<Attribution> {
  const t0 = performance.now();
  const name = 'Occlusion';
  checkImages(name, x.shape);
  const [n, h, w, c] = x.shape;
  const [kh, kw] = pair(req.window ?? 8);
  const [sh, sw] = pair(req.stride ?? [Math.max(1, kh >> 1), Math.max(1, kw >> 1)]);
  for (const [k, s, size, axis] of [[kh, sh, h, 'height'], [kw, sw, w, 'width']] as const) {
    if (!(Number.isInteger(k) && k >= 1 && k <= size)) throw new Error(`${name}: window ${axis} ${k} must be an integer in 1..${size}`);
    if (!(Number.isInteger(s) && s >= 1 && (s <= k || k === size))) throw new Error(`${name}: stride ${s} along ${axis} must be an integer in 1..${k} (the window), or some values are never occluded`);
  }
  const fill = typeof req.baseline === 'number' || req.baseline === undefined ? new Array<number>(c).fill(req.baseline ?? 0) : req.baseline;
  if (fill.length !== c) throw new Error(`${name}: baseline has ${fill.length} values, the input ${c} channels`);
  const t = targetOf(name, model, req);
  const classes = await targetClasses(t, x, req);
  const ph = Math.ceil((h - kh) / sh) + 1;
  const pw = Math.ceil((w - kw) / sw) + 1;
  const P = ph * pw;
  const per = h * w * c;
  const xs = (await x.data()) as Float32Array;
  const box = (p: number) => ({ y0: Math.floor(p / pw) * sh, x0: (p % pw) * sw, y1: Math.min(h, Math.floor(p / pw) * sh + kh), x1: Math.min(w, (p % pw) * sw + kw) });
  const make = (start: number, len: number) => {
    const v = new Float32Array(len * per);
    for (let q = 0; q < len; q++) {
      const r = start + q;
      const i = Math.floor(r / P);
      v.set(xs.subarray(i * per, (i + 1) * per), q * per);
      const { y0, x0, y1, x1 } = box(r % P);
      for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) for (let k = 0; k < c; k++) v[q * per + (y * w + xx) * c + k] = fill[k];
    }
    return E.tensor(v, [len, h, w, c]);
  };
  const batch = rowsPerPass(model, req, n * P);
  const f = await scoresOf(t, { count: n, make: (s, k) => E.slice(x, [s, 0, 0, 0], [k, h, w, c]), classOf: (r) => classes[r] }, batch);
  const fo = await scoresOf(t, { count: n * P, make, classOf: (r) => classes[Math.floor(r / P)] }, batch);
  const total = new Float64Array(n * h * w);
  const count = new Float64Array(n * h * w);
  for (let r = 0; r < n * P; r++) {
    const i = Math.floor(r / P);
    const drop = f[i] - fo[r];
    const { y0, x0, y1, x1 } = box(r % P);
    for (let y = y0; y < y1; y++)
      for (let xx = x0; xx < x1; xx++) {
        total[(i * h + y) * w + xx] += drop;
        count[(i * h + y) * w + xx] += 1;
      }
  }
  const raw = new Float32Array(n * per);
  for (let j = 0; j < n * h * w; j++) raw.fill(total[j] / count[j], j * c, (j + 1) * c);
  return attribution(name, x.shape, classes, raw, req.reduce ?? 'mean', Math.ceil(n / batch) + Math.ceil((n * P) / batch), t0);
}
