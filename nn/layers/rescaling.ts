// Rescaling (y = x·scale + offset, per channel too) and Permute (reorders the non-batch axes).

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer } from '../layer.ts';

/**
 * y = x·scale + offset. scale and offset are numbers or, as Keras 3 (and tf.keras ≥ 2.10) allow,
 * lists broadcast against the last axis (EfficientNet's per-channel 1/sqrt(stddev) layer).
 */
export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  constructor(
    /** Multiplier: a number, or one per channel (last axis). */
    readonly scale: number | number[],
    /** Added after scaling: a number, or one per channel; default 0. */
    readonly offset: number | number[] = 0,
    name?: string,
  ) {
    super(name);
    const ok = (v: unknown) => typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'number'));
    if (!ok(scale) || !ok(offset))
      throw new Error(`Rescaling '${name ?? ''}': scale and offset must be numbers or non-empty lists of numbers, got ${JSON.stringify({ scale, offset })}`);
  }
  computeOutputShape(s: number[]): number[] {
    const c = s[s.length - 1];
    for (const v of [this.scale, this.offset])
      if (Array.isArray(v) && v.length !== 1 && v.length !== c)
        throw new Error(`Rescaling '${this.name}': a list of ${v.length} values does not broadcast against inputs [${s}] (last axis ${c})`);
    return s;
  }
  call(x: Tensor): Tensor {
    const { scale, offset } = this;
    if (typeof scale === 'number' && typeof offset === 'number') return E.affine(x, scale, offset);
    const vec = (v: number | number[]) => (typeof v === 'number' ? E.full([1], v) : E.tensor(Float32Array.from(v), [v.length]));
    return E.add(E.mul(x, vec(scale)), vec(offset));
  }
  protected kerasConfig() {
    return { scale: this.scale, offset: this.offset };
  }
}

/** Keras Permute: `dims` are 1-based and exclude the batch axis, e.g. [2, 1] swaps H and W of [N, H, W]. */
export class Permute extends Layer {
  readonly className = 'Permute';
  constructor(
    /** The new order of the non-batch axes, 1-based. */
    readonly dims: number[],
    name?: string,
  ) {
    super(name);
    const sorted = [...dims].sort((a, b) => a - b);
    if (!sorted.every((d, i) => d === i + 1)) throw new Error(`Permute '${name ?? ''}': dims ${JSON.stringify(dims)} must be a permutation of 1..${dims.length}`);
  }
  computeOutputShape(s: number[]): number[] {
    if (s.length !== this.dims.length) throw new Error(`Permute '${this.name}': dims ${JSON.stringify(this.dims)} do not fit an input of shape [${s}]`);
    return this.dims.map((d) => s[d - 1]);
  }
  call(x: Tensor): Tensor {
    return E.transpose(x, [0, ...this.dims]);
  }
  protected kerasConfig() {
    return { dims: this.dims };
  }
}
