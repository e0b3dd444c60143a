// SpatialDropout2D and GaussianNoise: identity at inference. In training SpatialDropout2D drops
// whole channels per image (mask [N, 1, 1, C], kept ones scaled by 1/(1 − rate)), GaussianNoise
// adds N(0, stddev²) noise. Masks and noise are drawn on the host from the training Rng, so a
// seeded run is reproducible.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer, type CallContext } from '../layer.ts';

const uniform = (ctx: CallContext) => (ctx.rng ? () => ctx.rng!.next() : Math.random);

/**
 * Keras' SpatialDropout2D: in training, drops whole channels per image (each with probability
 * `rate`; the kept ones are scaled by 1 / (1 − rate)); the identity at inference. Input
 * [N, H, W, C]. Throws unless `0 <= rate < 1`.
 */
export class SpatialDropout2D extends Layer {
  readonly className = 'SpatialDropout2D';
  constructor(
    /** Probability of dropping a channel, in [0, 1). */
    readonly rate: number,
    name?: string,
  ) {
    super(name);
    if (!(rate >= 0 && rate < 1)) throw new Error(`SpatialDropout2D '${name ?? ''}': rate must be in [0, 1), got ${rate}`);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor, ctx: CallContext): Tensor {
    if (!ctx.training || this.rate === 0) return x;
    if (x.rank !== 4) throw new Error(`SpatialDropout2D '${this.name}': expects NHWC input, got [${x.shape}]`);
    const [N, , , C] = x.shape;
    const next = uniform(ctx);
    const keep = 1 / (1 - this.rate);
    const mask = Float32Array.from({ length: N * C }, () => (next() < this.rate ? 0 : keep));
    return E.mul(x, E.tensor(mask, [N, 1, 1, C]));
  }
  protected kerasConfig() {
    return { rate: this.rate, noise_shape: null, seed: null, data_format: 'channels_last' };
  }
}

/** Box–Muller normals from a uniform source. */
export function normals(n: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Keras' GaussianNoise: in training, adds normal noise of standard deviation `stddev` (drawn from the
 * training `Rng`); the identity at inference.
 */
export class GaussianNoise extends Layer {
  readonly className = 'GaussianNoise';
  constructor(
    /** Standard deviation of the noise. */
    readonly stddev: number,
    name?: string,
  ) {
    super(name);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor, ctx: CallContext): Tensor {
    if (!ctx.training || this.stddev === 0) return x;
    const noise = normals(x.size, uniform(ctx)).map((v) => v * this.stddev);
    return E.add(x, E.tensor(noise, x.shape));
  }
  protected kerasConfig() {
    return { stddev: this.stddev, seed: null };
  }
}

