// Deletion and insertion (Petsiuk et al., RISE, 2018): pixels are removed from the image (set to
// a baseline, zeros in the model's input space) or inserted into a blurred copy, most salient
// first, `step` pixels at a time; the class score after each step makes a curve whose area is
// the metric. A faithful map makes deletion fall fast (low AUC) and insertion rise fast (high AUC).

import type { Model } from '../../nn/model.ts';
import { gaussianBlur } from './blur.ts';
import { auc, checkMap, classScores, salientOrder, type InputImage } from './scores.ts';

/** Options of `deletion` and `insertion`. */
export interface CurveOptions {
  /** Pixels changed per step (default: one image row, as RISE's 224 for 224×224). */
  step?: number;
  /** Deletion's end point, HWC in the model's input space (default: zeros). */
  baseline?: Float32Array;
  /** Insertion's start: the image blurred with this Gaussian (default 11×11, σ = 5, as RISE). */
  blur?: { size: number; sigma: number };
  /** Perturbed images per forward pass (default 64, at most what a storage binding holds). */
  batch?: number;
}

/** A deletion or insertion curve and its area. */
export interface Curve {
  /** Score after 0, step, 2·step, … pixels changed (the last point: all of them). */
  curve: Float32Array;
  /** The area under the curve (trapezoid rule over the share of pixels changed, 0..1). */
  auc: number;
}

async function walk(model: Model, img: InputImage, cls: number, map: ArrayLike<number>, from: Float32Array, to: Float32Array, o: CurveOptions): Promise<Curve> {
  const { height: H, width: W, channels: C } = img;
  const hw = H * W;
  const step = Math.max(1, Math.floor(o.step ?? W));
  const steps = Math.ceil(hw / step);
  const order = salientOrder(map);
  const stack = new Float32Array((steps + 1) * hw * C);
  const cur = Float32Array.from(from);
  for (let i = 0; i <= steps; i++) {
    stack.set(cur, i * hw * C);
    for (let k = i * step; k < Math.min(hw, (i + 1) * step); k++) {
      const p = order[k] * C;
      for (let c = 0; c < C; c++) cur[p + c] = to[p + c];
    }
  }
  const curve = await classScores(model, stack, new Int32Array(steps + 1).fill(cls), o.batch);
  return { curve, auc: auc(curve) };
}

/** RISE's deletion curve of one image (HWC, the model's input space) for class `cls`. */
export async function deletion(model: Model, img: InputImage, cls: number, map: ArrayLike<number>, o: CurveOptions = {}): Promise<Curve> {
  checkMap(map, img, 'deletion');
  return walk(model, img, cls, map, img.x, o.baseline ?? new Float32Array(img.x.length), o);
}

/** RISE's insertion curve: from the blurred image back to the image, most salient pixels first. */
export async function insertion(model: Model, img: InputImage, cls: number, map: ArrayLike<number>, o: CurveOptions = {}): Promise<Curve> {
  checkMap(map, img, 'insertion');
  const blurred = gaussianBlur(img.x, img.height, img.width, img.channels, o.blur?.size ?? 11, o.blur?.sigma ?? 5);
  return walk(model, img, cls, map, blurred, img.x, o);
}
