// Rescaling (y = x·scale + offset) and Permute (reorders the non-batch axes).

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer } from '../layer.ts';

export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  constructor(
    readonly scale: number,
    readonly offset = 0,
    name?: string,
  ) {
    super(name);
    // Keras 3 also takes per-channel lists; one number each is what we run.
    if (typeof scale !== 'number' || typeof offset !== 'number')
      throw new Error(`Rescaling '${name ?? ''}': scale and offset must be numbers (per-channel lists are not supported), got ${JSON.stringify({ scale, offset })}`);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor): Tensor {
    return E.affine(x, this.scale, this.offset);
  }
  protected kerasConfig() {
    return { scale: this.scale, offset: this.offset };
  }
}

/** Keras Permute: `dims` are 1-based and exclude the batch axis, e.g. [2, 1] swaps H and W of [N, H, W]. */
export class Permute extends Layer {
  readonly className = 'Permute';
  constructor(
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
