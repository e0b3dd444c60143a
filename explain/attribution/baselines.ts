// Integrated Gradients' baselines x′, each in the model's input space [N, H, W, C]:
//
//   'black'        a black image. Black is pixel value 0 *before* preprocessing: with
//                  `preprocess` (the caller's image → model-input function, e.g.
//                  preprocessInput for VGG16's 'caffe' pixels, where black is −mean per BGR
//                  channel; x/127.5 − 1 for 'tf' pixels, where it is −1) the baseline is
//                  preprocess(zeros). Without it, zeros of the model input, which is black only
//                  when the preprocessing maps 0 to 0 (pixels/255, or none).
//   { blur: σ }    the input blurred by a Gaussian of σ pixels (radius ⌈3σ⌉, normalised
//                  weights, edge values repeated beyond the border), separably, on the GPU.
//   { uniform }    uniform noise (seeded, noise.ts): pixel values in `pixelRange` (default
//                  0 … 255) mapped through `preprocess`, or without it, in each image's own
//                  min … max of the model input.
//   a Tensor       given: [N, H, W, C] or [1, H, W, C] (broadcast), in the model's input space.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import { imageRanges, Rng, uniform } from './noise.ts';

/** A baseline x′ (see above). */
export type Baseline = 'black' | { blur: number } | { uniform: true; seed?: number } | Tensor;

/** How image values become model input, for the black and uniform baselines. */
export interface BaselineOptions {
  /** Image pixels [H·W·C] (RGB, 0 … 255) → model input, as for the model's own inputs. */
  preprocess?: (pixels: Float32Array) => Float32Array;
  /** Range of image pixels for the uniform baseline (default [0, 255]). */
  pixelRange?: [number, number];
}

/** The Gaussian kernel of `sigma` pixels: weights over offsets −r … r, r = ⌈3σ⌉, summing to 1. */
export function gaussianKernel(sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return Float32Array.from(k, (v) => v / s);
}

/** x [N, H, W, C] blurred along H, then W, with edge padding (no gradient is needed). */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  if (!(sigma >= 0)) throw new Error(`blur: σ must be ≥ 0, got ${sigma}`);
  if (sigma === 0) return E.view(x, x.shape);
  const c = x.shape[3];
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const taps = new Float32Array(k.length * c);
  k.forEach((v, i) => taps.fill(v, i * c, (i + 1) * c));
  return E.noGrad(() => {
    const along = (t: Tensor, axis: 1 | 2) => {
      const pads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
      pads[axis] = [r, r];
      const w = E.tensor(taps, axis === 1 ? [k.length, 1, c, 1] : [1, k.length, c, 1]);
      return E.depthwiseConv2d(E.pad(t, pads, 0, 'edge'), w, null, { padding: 'valid' });
    };
    return along(along(x, 1), 2);
  });
}

/** The baseline for x [N, H, W, C] and its image values on the host (see above). */
export async function makeBaseline(b: Baseline, x: Tensor, xs: Float32Array, o: BaselineOptions = {}): Promise<Float32Array> {
  const [n, h, w, c] = x.shape;
  const per = h * w * c;
  const image = (pixels: Float32Array) => {
    const v = o.preprocess ? o.preprocess(pixels) : pixels;
    if (v.length !== per) throw new Error(`baseline: preprocess gave ${v.length} values for an image of ${h}×${w}×${c} (${per})`);
    return v;
  };
  const tile = (one: (i: number) => Float32Array) => {
    const out = new Float32Array(n * per);
    for (let i = 0; i < n; i++) out.set(one(i), i * per);
    return out;
  };
  if (b === 'black') return tile(() => (o.preprocess ? image(new Float32Array(per)) : new Float32Array(per)));
  if (b instanceof E.Tensor) {
    const ok = b.rank === 4 && (b.shape[0] === n || b.shape[0] === 1) && b.shape.slice(1).every((d, i) => d === x.shape[i + 1]);
    if (!ok) throw new Error(`baseline tensor [${b.shape.join(', ')}] must be [${n}, ${h}, ${w}, ${c}] or [1, ${h}, ${w}, ${c}]`);
    const v = (await b.data()) as Float32Array;
    return b.shape[0] === n ? v : tile(() => v);
  }
  if ('blur' in b) {
    const blurred = E.tidy(() => gaussianBlur(x, b.blur));
    try {
      return (await blurred.data()) as Float32Array;
    } finally {
      blurred.dispose();
    }
  }
  if ('uniform' in b) {
    const rng = new Rng(b.seed ?? 1);
    if (o.preprocess) {
      const [lo, hi] = o.pixelRange ?? [0, 255];
      return tile(() => image(uniform(rng, per, lo, hi)));
    }
    const { lo, hi } = imageRanges(xs, n);
    return tile((i) => uniform(rng, per, lo[i], hi[i]));
  }
  throw new Error(`unknown baseline ${JSON.stringify(b)} ('black', { blur: σ }, { uniform: true }, or a tensor)`);
}
