// SmoothGrad (Smilkov et al. 2017) and its second-moment variants, from one set of noisy
// gradients g_s = ∂S_c/∂x at x + ε_s, ε_s ~ N(0, σ²), s = 1 … n:
//   SmoothGrad    (1/n) Σ g_s               map max_c |·| (as the paper and tf-keras-vis)
//   SmoothGrad²   (1/n) Σ g_s²              map max_c (Hooker et al. 2019's SG-SQ)
//   VarGrad       (1/n) Σ g_s² − ((1/n) Σ g_s)²   map max_c (Adebayo et al. 2018; population variance)
// of the signed gradients (Captum's NoiseTunnel over Saliency averages |g| instead, its abs=True).
// σ = noiseLevel·(max − min) of each image in the model's input space (the paper's "noise level"
// σ/(x_max − x_min), 10–20 %), or of `range` when given. The noise is seeded (noise.ts); all
// n·N noisy copies go through the model in as few batched passes as memory allows.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { gaussian, imageRanges, Rng } from './noise.ts';
import { gradientPasses, rowsPerPass, targetClasses, targetOf } from './score.ts';
import { addByImage, ImageSums } from './sums.ts';

/** Which statistic of the noisy gradients: their mean, the mean of their squares, their variance. */
export type NoiseTunnelKind = 'smoothgrad' | 'smoothgrad-squared' | 'vargrad';

/** SmoothGrad's options, besides the common ones. */
export interface SmoothGradRequest extends AttributionRequest {
  /** Noisy samples per image (default 25). */
  samples?: number;
  /** σ as a fraction of the input's range (default 0.15). */
  noiseLevel?: number;
  /** The range σ is a fraction of, e.g. [−1, 1] for 'tf' pixels; default each image's own min … max. */
  range?: [number, number];
  /** Seed of the noise (default 1). Image i, sample s, value j uses normals number (i·n + s)·H·W·C + j of the stream. */
  seed?: number;
}

const NAMES: Record<NoiseTunnelKind, string> = { smoothgrad: 'SmoothGrad', 'smoothgrad-squared': 'SmoothGrad²', vargrad: 'VarGrad' };

/** One of SmoothGrad, SmoothGrad², VarGrad (see above). */
export async function noiseTunnel(kind: NoiseTunnelKind, model: Model, x: Tensor, req: SmoothGradRequest = {}): Promise<Attribution> {
  const t0 = performance.now();
  const name = NAMES[kind];
  checkImages(name, x.shape);
  const samples = req.samples ?? 25;
  if (!(Number.isInteger(samples) && samples >= 1)) throw new Error(`${name}: samples must be a positive integer, got ${samples}`);
  const level = req.noiseLevel ?? 0.15;
  if (!(level >= 0)) throw new Error(`${name}: noiseLevel must be ≥ 0, got ${level}`);
  const t = targetOf(name, model, req);
  const classes = await targetClasses(t, x, req);
  const [n, h, w, c] = x.shape;
  const per = h * w * c;
  const xs = (await x.data()) as Float32Array;
  const { lo, hi } = imageRanges(xs, n);
  const sigma = lo.map((l, i) => level * (req.range ? req.range[1] - req.range[0] : hi[i] - l));
  const rng = new Rng(req.seed ?? 1);
  const sums = new ImageSums(n);
  const squares = new ImageSums(n);
  try {
    const imageOf = (r: number) => Math.floor(r / samples);
    const make = (start: number, k: number) => {
      const v = new Float32Array(k * per);
      for (let r = 0; r < k; r++) {
        const i = imageOf(start + r);
        const eps = gaussian(rng, per, sigma[i]);
        for (let j = 0; j < per; j++) v[r * per + j] = xs[i * per + j] + eps[j];
      }
      return E.tensor(v, [k, h, w, c]);
    };
    const rows = { count: n * samples, make, classOf: (r: number) => classes[imageOf(r)] };
    const passes = gradientPasses(t, rows, rowsPerPass(model, req, rows.count), (s, k, g) => addByImage(g, s, k, imageOf, sums, kind === 'smoothgrad' ? undefined : squares));
    const m1 = await sums.read([h, w, c]);
    const m2 = kind === 'smoothgrad' ? null : await squares.read([h, w, c]);
    const raw = m1.map((s, j) => {
      const mean = s / samples;
      if (kind === 'smoothgrad') return mean;
      const sq = m2![j] / samples;
      return kind === 'smoothgrad-squared' ? sq : Math.max(0, sq - mean * mean);
    });
    return attribution(name, x.shape, classes, raw, req.reduce ?? (kind === 'smoothgrad' ? 'max-abs' : 'max'), passes, t0);
  } finally {
    sums.dispose();
    squares.dispose();
  }
}

/** SmoothGrad: the mean of the gradients at `samples` noisy copies of each image. */
export const smoothGrad = (model: Model, x: Tensor, req: SmoothGradRequest = {}) => noiseTunnel('smoothgrad', model, x, req);
/** SmoothGrad²: the mean of the squared gradients. */
export const smoothGradSquared = (model: Model, x: Tensor, req: SmoothGradRequest = {}) => noiseTunnel('smoothgrad-squared', model, x, req);
/** VarGrad: the variance of the gradients. */
export const varGrad = (model: Model, x: Tensor, req: SmoothGradRequest = {}) => noiseTunnel('vargrad', model, x, req);
