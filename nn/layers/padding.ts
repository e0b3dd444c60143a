// ZeroPadding2D and Cropping2D on NHWC: the pad and slice ops along H and W.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer } from '../layer.ts';

export type Margins = [[number, number], [number, number]];

/** Keras' padding / cropping argument: n, [h, w], or [[top, bottom], [left, right]]. */
export function margins(v: number | number[] | number[][], what: string): Margins {
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    const [h, w] = v.map((d) => (Array.isArray(d) ? [d[0], d[1]] : [d, d])) as [number, number][];
    if ([...h, ...w].every((n) => Number.isInteger(n) && n >= 0)) return [h, w];
  }
  throw new Error(`${what}: expected n, [h, w] or [[top, bottom], [left, right]] of integers ≥ 0, got ${JSON.stringify(v)}`);
}

/**
 * Keras' ZeroPadding2D: zeros around H and W of [N, H, W, C]. `padding` is n, [h, w] or [[top, bottom],
 * [left, right]] (default 1).
 */
export class ZeroPadding2D extends Layer {
  readonly className = 'ZeroPadding2D';
  /** [[top, bottom], [left, right]]. */
  readonly padding: Margins;
  constructor(padding: number | number[] | number[][] = 1, name?: string) {
    super(name);
    this.padding = margins(padding, `ZeroPadding2D '${name ?? ''}'`);
  }
  computeOutputShape([h, w, c]: number[]): number[] {
    const [[t, b], [l, r]] = this.padding;
    return [h + t + b, w + l + r, c];
  }
  call(x: Tensor): Tensor {
    return E.pad(x, [[0, 0], this.padding[0], this.padding[1], [0, 0]]);
  }
  protected kerasConfig() {
    return { padding: this.padding, data_format: 'channels_last' };
  }
}

/**
 * Keras' Cropping2D: removes rows and columns at the edges of H and W of [N, H, W, C]. `cropping` is n, [h,
 * w] or [[top, bottom], [left, right]] (default 0); throws when nothing would be left.
 */
export class Cropping2D extends Layer {
  readonly className = 'Cropping2D';
  /** [[top, bottom], [left, right]]. */
  readonly cropping: Margins;
  constructor(cropping: number | number[] | number[][] = 0, name?: string) {
    super(name);
    this.cropping = margins(cropping, `Cropping2D '${name ?? ''}'`);
  }
  computeOutputShape([h, w, c]: number[]): number[] {
    const [[t, b], [l, r]] = this.cropping;
    if (t + b >= h || l + r >= w) throw new Error(`Cropping2D '${this.name}': cropping ${JSON.stringify(this.cropping)} leaves nothing of a ${h}×${w} input`);
    return [h - t - b, w - l - r, c];
  }
  call(x: Tensor): Tensor {
    const [N, H, W, C] = x.shape;
    const [[t, b], [l, r]] = this.cropping;
    return E.slice(x, [0, t, l, 0], [N, H - t - b, W - l - r, C]);
  }
  protected kerasConfig() {
    return { cropping: this.cropping, data_format: 'channels_last' };
  }
}
