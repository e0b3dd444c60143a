// Keras SeparableConv2D: a depthwise convolution (each input channel with its own
// depth_multiplier filters, no bias) then a 1×1 pointwise convolution mixing the C·M channels,
// bias after the pointwise one, then the activation. Weights in Keras order and layouts:
// depthwise_kernel [kh, kw, C, M], pointwise_kernel [1, 1, C·M, filters], bias [filters].
// Two existing ops (E.depthwiseConv2d, E.conv2d), so the backward is theirs.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { constant, glorotUniform } from '../initializers.ts';
import { Layer, Weight, type CallContext, type HasPreActivation } from '../layer.ts';
import type { Rng } from '../random.ts';
import { convOut } from './conv2d.ts';

/** Arguments of `SeparableConv2D` (Keras' names in camelCase). */
export interface SeparableConv2DOptions {
  /** Output channels of the pointwise convolution. */
  filters: number;
  /** Depthwise window [kh, kw], or one number for both. */
  kernelSize: number | [number, number];
  /** Step [sh, sw], or one number; default 1. */
  strides?: number | [number, number];
  /** 'valid' (default: no padding) or 'same' (output size ⌈input / stride⌉). */
  padding?: 'same' | 'valid';
  /** Depthwise output channels per input channel; default 1. */
  depthMultiplier?: number;
  /**
   * Spacing between window taps [dh, dw], or one number; default 1. Strides and dilation cannot both exceed
   * 1.
   */
  dilationRate?: number | [number, number];
  /** Keras activation name applied last; default 'linear' (none). */
  activation?: string;
  /** Add a bias after the pointwise convolution; default true. */
  useBias?: boolean;
  /** Layer name; default: Keras' automatic name. */
  name?: string;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Keras' SeparableConv2D: a depthwise convolution (no bias), then a 1×1 pointwise convolution to `filters`
 * channels, bias, activation. [N, H, W, C] → [N, OH, OW, filters]; weights depthwise_kernel [kh, kw, C, M],
 * pointwise_kernel [1, 1, C·M, filters], bias [filters]. Throws on bad arguments, and at build on inputs that
 * are not [H, W, C].
 */
export class SeparableConv2D extends Layer implements HasPreActivation {
  readonly className = 'SeparableConv2D';
  /** Output channels. */
  readonly filters: number;
  /** Depthwise window [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Step [sh, sw]. */
  readonly strides: [number, number];
  /** 'valid' or 'same'. */
  readonly padding: 'same' | 'valid';
  /** Depthwise output channels per input channel. */
  readonly depthMultiplier: number;
  /** Spacing between window taps [dh, dw]. */
  readonly dilationRate: [number, number];
  /** Keras activation name ('linear' for none). */
  readonly activation: string;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;

  constructor(o: SeparableConv2DOptions) {
    super(o.name);
    this.filters = o.filters;
    this.kernelSize = pair(o.kernelSize);
    this.strides = pair(o.strides ?? 1);
    this.padding = o.padding ?? 'valid';
    this.depthMultiplier = o.depthMultiplier ?? 1;
    this.dilationRate = pair(o.dilationRate ?? 1);
    this.activation = o.activation ?? 'linear';
    this.useBias = o.useBias ?? true;
    const where = `SeparableConv2D '${o.name ?? ''}'`;
    if (!Number.isInteger(this.filters) || this.filters < 1) throw new Error(`${where}: filters must be a positive integer, got ${o.filters}`);
    if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) throw new Error(`${where}: depth_multiplier must be a positive integer, got ${o.depthMultiplier}`);
    if (this.dilationRate.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${where}: dilation_rate must be positive integers, got [${this.dilationRate}]`);
    if (Math.max(...this.strides) > 1 && Math.max(...this.dilationRate) > 1)
      throw new Error(`${where}: strides [${this.strides}] with dilation_rate [${this.dilationRate}]: one of them must be 1 (as in Keras)`);
    activation(this.activation, where);
  }

  override build(inputShape: number[], rng: Rng): void {
    if (inputShape.length !== 3) throw new Error(`SeparableConv2D '${this.name}' expects inputs [H, W, C], got [${inputShape}]`);
    const C = inputShape[2];
    const dshape = [...this.kernelSize, C, this.depthMultiplier];
    const pshape = [1, 1, C * this.depthMultiplier, this.filters];
    this.weights = [new Weight('depthwise_kernel', glorotUniform(dshape, rng), dshape), new Weight('pointwise_kernel', glorotUniform(pshape, rng), pshape)];
    if (this.useBias) this.weights.push(new Weight('bias', constant([this.filters], 0), [this.filters]));
    super.build(inputShape, rng);
  }

  computeOutputShape([h, w]: number[]): number[] {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.strides;
    const [dh, dw] = this.dilationRate;
    return [convOut(h, kh, sh, this.padding, dh), convOut(w, kw, sw, this.padding, dw), this.filters];
  }

  /** The depthwise step's output [N, HO, WO, C·M]. */
  private depthwise(x: Tensor): Tensor {
    return E.depthwiseConv2d(x, this.weights[0].value, null, { strides: this.strides, padding: this.padding, dilation: this.dilationRate });
  }

  private pointwise(d: Tensor, relu: boolean): Tensor {
    const b = this.useBias ? this.weights[2].value : null;
    return E.conv2d(d, this.weights[1].value, b, relu ? { activation: 'relu' } : {});
  }

  /** Depthwise then pointwise convolution plus bias, before the activation. */
  preActivation(x: Tensor): Tensor {
    return this.pointwise(this.depthwise(x), false);
  }

  call(x: Tensor, _ctx: CallContext): Tensor {
    // relu runs inside the pointwise convolution's kernel, as in Conv2D.
    if (this.activation === 'relu') return this.pointwise(this.depthwise(x), true);
    return activation(this.activation, this.name)(this.seenPreActivation(this.preActivation(x)));
  }

  /** Keras 2's config: its SeparableConv extends Conv, so Conv's keys (groups, kernel_*) are there too. */
  protected kerasConfig() {
    return {
      filters: this.filters,
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: this.dilationRate,
      groups: 1,
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      depth_multiplier: this.depthMultiplier,
      depthwise_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      pointwise_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      depthwise_regularizer: null,
      pointwise_regularizer: null,
      depthwise_constraint: null,
      pointwise_constraint: null,
    };
  }
}
