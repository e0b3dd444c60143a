// Integrated Gradients (Sundararajan, Taly & Yan 2017): along the straight path from a baseline
// x′ to x, IG_j = (x_j − x′_j) ∫₀¹ ∂S_c(x′ + α(x − x′))/∂x_j dα, with the integral taken by a
// quadrature (quadrature.ts). Default: the trapezoid rule, which evaluates both ends of the path
// and converges as 1/m² on each smooth piece of the integrand; a ReLU network's integrand is
// piecewise smooth with jumps, where every rule (Captum's default Gauss–Legendre included)
// falls to first order, so the simple rule loses nothing and keeps the points evenly spaced.
// All N·m path points go through the model in as few batched passes as memory allows.
//
// Completeness (the paper's axiom): Σ_j IG_j = S_c(x) − S_c(x′) exactly for the true integral;
// the result reports, per image, the error |Σ IG − (S_c(x) − S_c(x′))| of the quadrature and
// its ratio to |S_c(x) − S_c(x′)|. The map sums the channels, so it sums to the same total.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { makeBaseline, type Baseline, type BaselineOptions } from './baselines.ts';
import { quadrature, type Quadrature } from './quadrature.ts';
import { gradientPasses, rowsPerPass, scoresOf, targetClasses, targetOf } from './score.ts';
import { addByImage, ImageSums } from './sums.ts';

/** Integrated Gradients' options, besides the common ones. */
export interface IntegratedGradientsRequest extends AttributionRequest, BaselineOptions {
  /** Gradient evaluations along the path (default 64). */
  steps?: number;
  /** Default 'black' (see baselines.ts for what black means after preprocessing). */
  baseline?: Baseline;
  /** Default 'trapezoid'. */
  quadrature?: Quadrature;
}

/** The completeness check, per image. */
export interface Completeness {
  /** S_c(x) and S_c(x′) per image. */
  score: number[];
  /** S_c(x′) per image (the baseline's score). */
  baselineScore: number[];
  /** Σ of the attributions per image. */
  total: number[];
  /** |total − (S_c(x) − S_c(x′))|, and that over |S_c(x) − S_c(x′)|. */
  error: number[];
  /** The error over |S_c(x) − S_c(x′)|. */
  ratio: number[];
}

/** The attribution, with its baseline and completeness check. */
export interface IntegratedGradients extends Attribution {
  /** The baseline used, [N, H, W, C]. */
  baseline: Float32Array;
  /** How far Σ attributions is from S_c(x) − S_c(x′), per image. */
  completeness: Completeness;
}

/** raw (x − x′) ⊙ Σ_k w_k ∂S_c(x′ + α_k(x − x′))/∂x, map Σ_c raw; with the completeness check. */
export async function integratedGradients(model: Model, x: Tensor, req: IntegratedGradientsRequest = {}): Promise<IntegratedGradients> {
  const t0 = performance.now();
  const name = 'Integrated Gradients';
  checkImages(name, x.shape);
  const { alphas, weights } = quadrature(req.quadrature ?? 'trapezoid', req.steps ?? 64);
  const t = targetOf(name, model, req);
  const classes = await targetClasses(t, x, req);
  const [n, h, w, c] = x.shape;
  const per = h * w * c;
  const m = alphas.length;
  const xs = (await x.data()) as Float32Array;
  const base = await makeBaseline(req.baseline ?? 'black', x, xs, req);
  const diff = xs.map((v, j) => v - base[j]);
  const sums = new ImageSums(n);
  const [B, D] = [E.keep(E.tensor(base, x.shape)), E.keep(E.tensor(diff, x.shape))];
  try {
    const one = (t: Tensor, i: number) => E.slice(t, [i, 0, 0, 0], [1, h, w, c]);
    const imageOf = (r: number) => Math.floor(r / m);
    // Rows of image i at steps k … k + len − 1: x′_i + α_k·(x_i − x′_i).
    const make = (start: number, len: number) => {
      const parts: Tensor[] = [];
      for (let r = start; r < start + len; ) {
        const i = imageOf(r);
        const e = Math.min(start + len, (i + 1) * m);
        const a = E.tensor(Float32Array.from({ length: e - r }, (_, q) => alphas[(r + q) % m]), [e - r, 1, 1, 1]);
        parts.push(E.add(one(B, i), E.mul(a, one(D, i))));
        r = e;
      }
      return parts.length === 1 ? parts[0] : E.concat(parts, 0);
    };
    const rows = { count: n * m, make, classOf: (r: number) => classes[imageOf(r)] };
    const passes = gradientPasses(t, rows, rowsPerPass(model, req, rows.count), (s, k, g) => addByImage(g, s, k, imageOf, sums, undefined, (r) => weights[r % m]));
    const avg = await sums.read([h, w, c]);
    const raw = avg.map((g, j) => g * diff[j]);
    // S_c(x) and S_c(x′): rows x_0 … x_{N−1}, x′_0 … x′_{N−1}.
    const ends = { count: 2 * n, make: (s: number, k: number) => E.slice(E.concat([x, B], 0), [s, 0, 0, 0], [k, h, w, c]), classOf: (r: number) => classes[r % n] };
    const endBatch = rowsPerPass(model, req, 2 * n);
    const f = await scoresOf(t, ends, endBatch);
    const completeness: Completeness = { score: [], baselineScore: [], total: [], error: [], ratio: [] };
    for (let i = 0; i < n; i++) {
      let total = 0;
      for (let j = i * per; j < (i + 1) * per; j++) total += raw[j];
      const delta = f[i] - f[n + i];
      completeness.score.push(f[i]);
      completeness.baselineScore.push(f[n + i]);
      completeness.total.push(total);
      completeness.error.push(Math.abs(total - delta));
      completeness.ratio.push(Math.abs(total - delta) / Math.abs(delta));
    }
    return { ...attribution(name, x.shape, classes, raw, req.reduce ?? 'sum', passes + Math.ceil((2 * n) / endBatch), t0), baseline: base, completeness };
  } finally {
    sums.dispose();
    B.dispose();
    D.dispose();
  }
}
