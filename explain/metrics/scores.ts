// What every faithfulness metric asks of the model: its output for a target class, for many
// perturbed copies of an image, batched (Model.predict: one readback per batch, no gradients).

import type { Model } from '../../nn/model.ts';

/** An image in the model's input space (preprocessed), HWC, with its size. */
export interface InputImage {
  /** height·width·channels values, HWC. */
  x: Float32Array;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Channels (3 for RGB). */
  channels: number;
}

/** The image of `model`'s input shape at batch position `i` of `x` (NHWC). */
export function imageAt(model: Model, x: Float32Array, i: number): InputImage {
  const [height, width, channels] = model.inputShape!;
  const per = height * width * channels;
  if ((i + 1) * per > x.length) throw new Error(`metrics: image ${i} is outside the ${x.length / per} images given`);
  return { x: x.subarray(i * per, (i + 1) * per), height, width, channels };
}

/**
 * The model's output for class `classes[k]` of each of the k stacked inputs (NHWC, the model's
 * input shape): a probability for a softmax classifier, as RISE, ROAD and pytorch-grad-cam score.
 */
export async function classScores(model: Model, x: Float32Array, classes: ArrayLike<number>, batch = 64): Promise<Float32Array> {
  const out = await model.predict(x, batch);
  const n = classes.length;
  const c = out.length / n;
  if (!Number.isInteger(c)) throw new Error(`metrics: ${out.length} outputs for ${n} inputs`);
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!(classes[i] >= 0 && classes[i] < c)) throw new Error(`metrics: class ${classes[i]} is not among the model's ${c} outputs`);
    s[i] = out[i * c + classes[i]];
  }
  return s;
}

/** Pixel indices (row-major) ordered by saliency, highest first; ties keep the lower index first. */
export function salientOrder(map: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: map.length }, (_, i) => i);
  return idx.sort((a, b) => map[b] - map[a] || a - b);
}

/** The area under a curve sampled at evenly spaced fractions 0..1 (trapezoid rule), as RISE. */
export function auc(curve: ArrayLike<number>): number {
  const n = curve.length;
  if (n < 2) return n ? curve[0] : 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += curve[i];
  return (s - curve[0] / 2 - curve[n - 1] / 2) / (n - 1);
}

/** Checks that a saliency map covers the model's input (one value per pixel). */
export function checkMap(map: ArrayLike<number>, img: InputImage, what: string): void {
  if (map.length !== img.height * img.width)
    throw new Error(`${what}: the saliency map has ${map.length} values; the model's input is ${img.height}×${img.width} (upsample the map to the input first)`);
}
