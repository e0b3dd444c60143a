// What every pixel-attribution method shares: the request (target classes, which score, which
// output, batch size), the result (raw per-channel values and the [N, H, W] map), and the
// channel reductions that turn one into the other.

import type { ScoreOf } from '../cam_base.ts';

export type { ScoreOf };

/**
 * How an [N, H, W, C] attribution becomes an [N, H, W] map: `max-abs` max_c |a| (Simonyan et
 * al.'s saliency), `sum` Σ_c a (keeps additivity: the map of Integrated Gradients still sums to
 * f(x) − f(baseline)), `mean` Σ_c a / C, `max` max_c a (non-negative attributions), `abs-sum` Σ_c |a|.
 */
export type Reduction = 'max-abs' | 'sum' | 'mean' | 'max' | 'abs-sum';

/** What every pixel attribution takes: the classes, the score, and how rows are batched. */
export interface AttributionRequest {
  /** Target class per image, or null / absent for each image's top-1 (one extra forward pass). */
  classes?: number[] | null;
  /** Which score is differentiated (as Grad-CAM's): the softmax output (default) or its logit. */
  score?: ScoreOf;
  /** For a model with several outputs: which one is explained (index or output layer name). */
  output?: number | string;
  /** Rows (noisy samples, path points, occluded images) per forward/backward pass; default: what `memoryBytes` allows. */
  batchSize?: number;
  /** Memory the tape of one pass may take, for the default batch size (default 256 MiB). */
  memoryBytes?: number;
  /** Overrides the method's channel reduction. */
  reduce?: Reduction;
}

/** A pixel attribution of a batch of images: per channel, and reduced to one map per image. */
export interface Attribution {
  /** The method's name, as its paper calls it. */
  method: string;
  /** Images. */
  n: number;
  /** Rows of each map (the model input's height). */
  h: number;
  /** Columns (the input's width). */
  w: number;
  /** Channels of `raw`. */
  c: number;
  /** The target class of each image. */
  classes: number[];
  /** Per-channel attributions, [N, H, W, C] row-major (model input layout). */
  raw: Float32Array;
  /** The channel reduction of `raw`, [N, H, W]. */
  map: Float32Array;
  /** How `raw` was reduced over the channels into `map`. */
  reduction: Reduction;
  /** Forward/backward passes made (batches), for the record. */
  passes: number;
  /** Milliseconds the whole call took. */
  ms: number;
}

/** [N, H, W, C] → [N, H, W] by `how`. */
export function reduceChannels(raw: Float32Array, c: number, how: Reduction): Float32Array {
  const cells = raw.length / c;
  const out = new Float32Array(cells);
  for (let i = 0; i < cells; i++) {
    let acc = how === 'max' ? -Infinity : 0;
    for (let k = 0; k < c; k++) {
      const v = raw[i * c + k];
      if (how === 'max-abs') acc = Math.max(acc, Math.abs(v));
      else if (how === 'max') acc = Math.max(acc, v);
      else if (how === 'abs-sum') acc += Math.abs(v);
      else acc += v;
    }
    out[i] = how === 'mean' ? acc / c : acc;
  }
  return out;
}

/** The result record for `raw` of input shape [N, H, W, C]. */
export function attribution(method: string, shape: readonly number[], classes: number[], raw: Float32Array, reduction: Reduction, passes: number, t0: number): Attribution {
  const [n, h, w, c] = shape;
  return { method, n, h, w, c, classes, raw, map: reduceChannels(raw, c, reduction), reduction, passes, ms: performance.now() - t0 };
}

/** Checks that x is an image batch [N, H, W, C]; names the method at fault. */
export function checkImages(method: string, shape: readonly number[]): void {
  if (shape.length !== 4) throw new Error(`${method}: input must be an image batch [N, H, W, C], got [${shape.join(', ')}]`);
}

/** map / max |map|, for comparing maps whose scale does not matter. */
export function normalised(map: ArrayLike<number>): Float32Array {
  let m = 0;
  for (let i = 0; i < map.length; i++) m = Math.max(m, Math.abs(map[i]));
  return Float32Array.from(map, (v) => (m > 0 ? v / m : 0));
}
