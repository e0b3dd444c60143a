// Keras MaxPooling2D, AveragePooling2D (strides default to the pool size) and
// GlobalAveragePooling2D / GlobalMaxPooling2D on NHWC.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer, type CallContext } from '../layer.ts';
import { convOut } from './conv2d.ts';

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Arguments of `MaxPooling2D` and `AveragePooling2D` (Keras' names in camelCase). */
export interface Pool2DOptions {
  /** Window [ph, pw], or one number for both; default 2. */
  poolSize?: number | [number, number];
  /** Step [sh, sw], or one number; default (or null): the pool size. */
  strides?: number | [number, number] | null;
  /** 'valid' (default: no padding) or 'same' (output size ⌈input / stride⌉). */
  padding?: 'same' | 'valid';
  /** Layer name; default: Keras' automatic name. */
  name?: string;
}

abstract class Pool2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  constructor(o: Pool2DOptions = {}) {
    super(o.name);
    this.poolSize = pair(o.poolSize ?? 2);
    this.strides = pair(o.strides ?? this.poolSize);
    this.padding = o.padding ?? 'valid';
  }
  computeOutputShape([h, w, c]: number[]): number[] {
    return [convOut(h, this.poolSize[0], this.strides[0], this.padding), convOut(w, this.poolSize[1], this.strides[1], this.padding), c];
  }
  protected kerasConfig() {
    return { pool_size: this.poolSize, padding: this.padding, strides: this.strides, data_format: 'channels_last' };
  }
}

/** Keras' MaxPooling2D: the maximum of each window, [N, H, W, C] → [N, OH, OW, C]. */
export class MaxPooling2D extends Pool2D {
  /** 'MaxPooling2D'. */
  readonly className = 'MaxPooling2D';
  /** Max pooling of a batch [N, H, W, C]. */
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.maxPool2d(x, { pool: this.poolSize, strides: this.strides, padding: this.padding });
  }
}

/**
 * Keras' AveragePooling2D: the mean of each window (padding left out of the mean), [N, H, W, C] → [N, OH, OW,
 * C].
 */
export class AveragePooling2D extends Pool2D {
  /** 'AveragePooling2D'. */
  readonly className = 'AveragePooling2D';
  /** Average pooling of a batch [N, H, W, C]. */
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.avgPool2d(x, { pool: this.poolSize, strides: this.strides, padding: this.padding });
  }
}

/**
 * Keras' GlobalAveragePooling2D: the mean over H and W, [N, H, W, C] → [N, C] (or [N, 1, 1, C] with
 * keepdims).
 */
export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  /** keepdims: [1, 1, C] instead of [C] (Keras' keepdims=True). */
  readonly keepdims: boolean;
  constructor(o: { name?: string; keepdims?: boolean } = {}) {
    super(o.name);
    this.keepdims = o.keepdims ?? false;
  }
  computeOutputShape(s: number[]): number[] {
    return this.keepdims ? [1, 1, s[2]] : [s[2]];
  }
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.globalAvgPool(x, this.keepdims);
  }
  protected kerasConfig() {
    return { data_format: 'channels_last', keepdims: this.keepdims };
  }
}

/**
 * Keras' GlobalMaxPooling2D: the maximum over H and W, [N, H, W, C] → [N, C] (or [N, 1, 1, C] with keepdims).
 */
export class GlobalMaxPooling2D extends Layer {
  readonly className = 'GlobalMaxPooling2D';
  /** keepdims: [1, 1, C] instead of [C] (Keras' keepdims=True). */
  readonly keepdims: boolean;
  constructor(o: { name?: string; keepdims?: boolean } = {}) {
    super(o.name);
    this.keepdims = o.keepdims ?? false;
  }
  computeOutputShape(s: number[]): number[] {
    return this.keepdims ? [1, 1, s[2]] : [s[2]];
  }
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.max(x, [1, 2], this.keepdims);
  }
  protected kerasConfig() {
    return { data_format: 'channels_last', keepdims: this.keepdims };
  }
}
