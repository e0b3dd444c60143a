// ROAD (Rong et al., "A Consistent and Efficient Evaluation Strategy for Attribution Methods",
// 2022): remove a share of the pixels — most relevant first (MoRF) or least relevant first
// (LeRF) — and fill them by noisy linear imputation, so that the model cannot read the removal
// from the shape of a mask. Each removed pixel becomes the weighted mean of its 8 neighbours
// (1/6 across, 1/12 diagonal; neighbours outside the image drop out), which is one sparse linear
// system per image, solved here by conjugate gradients, plus N(0, noise²). The scores are
// averaged over the percentages; a faithful map makes MoRF low and LeRF high.

import { Rng } from '../../nn/random.ts';
import { normals } from '../../nn/layers/noise.ts';
import type { Model } from '../../nn/model.ts';
import { checkMap, classScores, salientOrder, type InputImage } from './scores.ts';

const NEIGHBOURS: [number, number, number][] = [
  [-1, -1, 1 / 12], [-1, 0, 1 / 6], [-1, 1, 1 / 12],
  [0, -1, 1 / 6], [0, 1, 1 / 6],
  [1, -1, 1 / 12], [1, 0, 1 / 6], [1, 1, 1 / 12],
];

/**
 * Fills the pixels where `removed` is 1 with the weighted mean of their neighbours (a linear
 * system over all removed pixels at once), plus Gaussian noise of standard deviation `noise`.
 */
export function noisyLinearImpute(img: InputImage, removed: Uint8Array, noise = 0.01, rng = new Rng(0)): Float32Array {
  const { height: H, width: W, channels: C, x } = img;
  const vars = new Int32Array(H * W).fill(-1);
  const pix: number[] = [];
  for (let p = 0; p < H * W; p++) if (removed[p]) vars[p] = pix.push(p) - 1;
  const n = pix.length;
  const out = Float32Array.from(x);
  if (!n) return out;
  if (n === H * W) throw new Error('ROAD: every pixel removed: nothing to impute from');
  // M u = b with M = diag(Σ valid weights) − W(removed neighbours), b = Σ w·(known neighbours).
  const diag = new Float64Array(n);
  const nbr: number[][] = [];
  const nbw: number[][] = [];
  const b = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    const y = Math.floor(pix[i] / W);
    const xx = pix[i] % W;
    const js: number[] = [];
    const ws: number[] = [];
    for (const [dy, dx, w] of NEIGHBOURS) {
      const yy = y + dy;
      const xs = xx + dx;
      if (yy < 0 || yy >= H || xs < 0 || xs >= W) continue;
      diag[i] += w;
      const q = yy * W + xs;
      if (vars[q] >= 0) {
        js.push(vars[q]);
        ws.push(w);
      } else for (let c = 0; c < C; c++) b[i * C + c] += w * x[q * C + c];
    }
    nbr.push(js);
    nbw.push(ws);
  }
  const mul = (v: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = diag[i] * v[i];
      const js = nbr[i];
      const ws = nbw[i];
      for (let k = 0; k < js.length; k++) s -= ws[k] * v[js[k]];
      out[i] = s;
    }
  };
  const eps = normals(n * C, () => rng.next());
  for (let c = 0; c < C; c++) {
    const rhs = Float64Array.from({ length: n }, (_, i) => b[i * C + c]);
    const u = conjugateGradient(mul, rhs);
    for (let i = 0; i < n; i++) out[pix[i] * C + c] = u[i] + noise * eps[i * C + c];
  }
  return out;
}

/** Solves M u = rhs for the symmetric positive definite M given as a product, from u = 0. */
function conjugateGradient(mul: (v: Float64Array, out: Float64Array) => void, rhs: Float64Array): Float64Array {
  const n = rhs.length;
  const u = new Float64Array(n);
  const r = Float64Array.from(rhs);
  const p = Float64Array.from(rhs);
  const mp = new Float64Array(n);
  let rr = r.reduce((s, v) => s + v * v, 0);
  const stop = 1e-24 * Math.max(rr, 1e-300);
  for (let it = 0; it < 4 * n + 100 && rr > stop; it++) {
    mul(p, mp);
    let pmp = 0;
    for (let i = 0; i < n; i++) pmp += p[i] * mp[i];
    const a = rr / pmp;
    let next = 0;
    for (let i = 0; i < n; i++) {
      u[i] += a * p[i];
      r[i] -= a * mp[i];
      next += r[i] * r[i];
    }
    const beta = next / rr;
    rr = next;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
  }
  return u;
}

/** Options of `road`. */
export interface RoadOptions {
  /** Shares of pixels removed, in percent (default 10, 20, …, 90). */
  percentiles?: number[];
  /** Standard deviation of the imputation noise, in input units (default 0.01, as ROAD). */
  noise?: number;
  /** Seed of the imputation noise. */
  seed?: number;
  /** Imputed images per forward pass (default 64). */
  batch?: number;
}

/** ROAD's scores at each share of pixels removed, both orders. */
export interface RoadResult {
  /** The shares of pixels removed, in percent. */
  percentiles: number[];
  /** Score after removing the most relevant p% (MoRF), and the least relevant (LeRF). */
  morf: Float32Array;
  /** Score after removing the least relevant p% (LeRF). */
  lerf: Float32Array;
  /** The score of the untouched image. */
  original: number;
  /** Mean of the MoRF scores (lower is more faithful). */
  morfMean: number;
  /** Mean of the LeRF scores (higher is more faithful). */
  lerfMean: number;
  /** (mean LeRF − mean MoRF) / 2, as pytorch-grad-cam's ROADCombined: higher is more faithful. */
  combined: number;
}

/** ROAD of one image (HWC, the model's input space) for class `cls` and its saliency map. */
export async function road(model: Model, img: InputImage, cls: number, map: ArrayLike<number>, o: RoadOptions = {}): Promise<RoadResult> {
  checkMap(map, img, 'ROAD');
  const percentiles = o.percentiles ?? [10, 20, 30, 40, 50, 60, 70, 80, 90];
  const hw = img.height * img.width;
  const order = salientOrder(map);
  const rng = new Rng(o.seed ?? 0);
  const per = hw * img.channels;
  const stack = new Float32Array((2 * percentiles.length + 1) * per);
  stack.set(img.x, 0);
  percentiles.forEach((p, k) => {
    if (!(p > 0 && p < 100)) throw new Error(`ROAD: percentile ${p} must lie strictly between 0 and 100`);
    const count = Math.round((p / 100) * hw);
    for (const [slot, first] of [
      [1 + k, true],
      [1 + percentiles.length + k, false],
    ] as const) {
      const removed = new Uint8Array(hw);
      for (let i = 0; i < count; i++) removed[first ? order[i] : order[hw - 1 - i]] = 1;
      stack.set(noisyLinearImpute(img, removed, o.noise ?? 0.01, rng), slot * per);
    }
  });
  const s = await classScores(model, stack, new Int32Array(stack.length / per).fill(cls), o.batch);
  const morf = s.slice(1, 1 + percentiles.length);
  const lerf = s.slice(1 + percentiles.length);
  const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;
  return { percentiles, morf, lerf, original: s[0], morfMean: mean(morf), lerfMean: mean(lerf), combined: (mean(lerf) - mean(morf)) / 2 };
}
