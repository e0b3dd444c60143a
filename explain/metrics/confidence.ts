// Average Drop and Increase in Confidence (Chattopadhay et al., Grad-CAM++, 2018): the image
// multiplied by its map (min-max normalised to [0, 1], in the model's input space, as
// pytorch-grad-cam's CamMultImageConfidenceChange) keeps only what the map points at; a faithful
// map loses little confidence (Drop = Σ max(0, Y − O) / Y, in %) and often gains (Increase: the
// share with O > Y).

import type { Model } from '../../nn/model.ts';
import { checkMap, classScores, type InputImage } from './scores.ts';

/** Average Drop and Increase in Confidence over a set of images. */
export interface ConfidenceResult {
  /** Y: the score of each image; O: of the image times its map. */
  original: Float32Array;
  /** O: the score of each image multiplied by its map. */
  masked: Float32Array;
  /** Average Drop, in percent (lower is better). */
  averageDrop: number;
  /** Increase in Confidence, in percent of the images (higher is better). */
  increase: number;
}

/** The map rescaled to [0, 1] (a constant map becomes all zeros). */
export function minMaxUnit(map: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]);
    hi = Math.max(hi, map[i]);
  }
  return Float32Array.from(map, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

/** Average Drop and Increase in Confidence over images, each with its class and map. */
export async function confidenceChange(model: Model, imgs: InputImage[], classes: number[], maps: ArrayLike<number>[]): Promise<ConfidenceResult> {
  if (imgs.length !== classes.length || imgs.length !== maps.length) throw new Error(`confidence: ${imgs.length} images, ${classes.length} classes and ${maps.length} maps`);
  const per = imgs[0]?.x.length ?? 0;
  const xs = new Float32Array(2 * imgs.length * per);
  imgs.forEach((img, i) => {
    checkMap(maps[i], img, 'confidence');
    const m = minMaxUnit(maps[i]);
    xs.set(img.x, i * per);
    const off = (imgs.length + i) * per;
    for (let p = 0; p < m.length; p++) for (let c = 0; c < img.channels; c++) xs[off + p * img.channels + c] = img.x[p * img.channels + c] * m[p];
  });
  const s = await classScores(model, xs, [...classes, ...classes]);
  const original = s.slice(0, imgs.length);
  const masked = s.slice(imgs.length);
  let drop = 0;
  let up = 0;
  for (let i = 0; i < imgs.length; i++) {
    drop += Math.max(0, original[i] - masked[i]) / original[i];
    if (masked[i] > original[i]) up++;
  }
  return { original, masked, averageDrop: (100 * drop) / imgs.length, increase: (100 * up) / imgs.length };
}
