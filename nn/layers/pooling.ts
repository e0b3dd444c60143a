// Keras MaxPooling2D, AveragePooling2D (strides default to the pool size) and
// GlobalAveragePooling2D / GlobalMaxPooling2D on NHWC.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer, type CallContext } from '../layer.ts';
import { convOut } from './conv2d.ts';

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Pool2DOptions {
  poolSize?: number | [number, number];
  strides?: number | [number, number] | null;
  padding?: 'same' | 'valid';
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

export class MaxPooling2D extends Pool2D {
  readonly className = 'MaxPooling2D';
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.maxPool2d(x, { pool: this.poolSize, strides: this.strides, padding: this.padding });
  }
}

export class AveragePooling2D extends Pool2D {
  readonly className = 'AveragePooling2D';
  call(x: Tensor, _ctx: CallContext): Tensor {
    return E.avgPool2d(x, { pool: this.poolSize, strides: this.strides, padding: this.padding });
  }
}

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
