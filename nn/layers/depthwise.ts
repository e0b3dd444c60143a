// Keras DepthwiseConv2D: NHWC input, kernel [kh, kw, C, depth_multiplier] (Keras'
// depthwise_kernel, as stored in its files), bias [C·depth_multiplier]; output channel c·M + m.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { constant, glorotUniform } from '../initializers.ts';
import { Layer, Weight, type CallContext, type HasPreActivation } from '../layer.ts';
import type { Rng } from '../random.ts';

/** Arguments of `DepthwiseConv2D` (Keras' names in camelCase). */
export interface DepthwiseConv2DOptions {
  /** Window [kh, kw], or one number for both. */
  kernelSize: number | [number, number];
  /** Step [sh, sw], or one number; default 1. */
  strides?: number | [number, number];
  /** 'valid' (default: no padding) or 'same' (output size ⌈input / stride⌉). */
  padding?: 'same' | 'valid';
  /** Output channels per input channel; default 1. */
  depthMultiplier?: number;
  /** Spacing between window taps [dh, dw], or one number; default 1. */
  dilationRate?: number | [number, number];
  /** Keras activation name applied after the convolution; default 'linear' (none). */
  activation?: string;
  /** Add a bias per output channel; default true. */
  useBias?: boolean;
  /** Layer name; default: Keras' automatic name. */
  name?: string;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Output size along one axis: the dilated window spans (k − 1)·d + 1. */
function outSize(size: number, k: number, s: number, d: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - (k - 1) * d - 1) / s) + 1;
}

/**
 * Keras' DepthwiseConv2D: each input channel convolved with its own `depthMultiplier` filters, [N, H, W, C] →
 * [N, OH, OW, C·depthMultiplier] (output channel c·M + m). Kernel [kh, kw, C, depthMultiplier] (Keras'
 * depthwise_kernel). Throws on a bad multiplier or activation, and at build on inputs that are not [H, W, C].
 */
export class DepthwiseConv2D extends Layer implements HasPreActivation {
  readonly className = 'DepthwiseConv2D';
  /** Window [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Step [sh, sw]. */
  readonly strides: [number, number];
  /** 'valid' or 'same'. */
  readonly padding: 'same' | 'valid';
  /** Output channels per input channel. */
  readonly depthMultiplier: number;
  /** Spacing between window taps [dh, dw]. */
  readonly dilationRate: [number, number];
  /** Keras activation name ('linear' for none). */
  readonly activation: string;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;

  constructor(o: DepthwiseConv2DOptions) {
    super(o.name);
    this.kernelSize = pair(o.kernelSize);
    this.strides = pair(o.strides ?? 1);
    this.padding = o.padding ?? 'valid';
    this.depthMultiplier = o.depthMultiplier ?? 1;
    this.dilationRate = pair(o.dilationRate ?? 1);
    this.activation = o.activation ?? 'linear';
    this.useBias = o.useBias ?? true;
    const where = `DepthwiseConv2D '${o.name ?? ''}'`;
    if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) throw new Error(`${where}: depth_multiplier must be a positive integer, got ${o.depthMultiplier}`);
    activation(this.activation, where);
  }

  override build(inputShape: number[], rng: Rng): void {
    if (inputShape.length !== 3) throw new Error(`DepthwiseConv2D '${this.name}' expects inputs [H, W, C], got [${inputShape}]`);
    const kshape = [...this.kernelSize, inputShape[2], this.depthMultiplier];
    const out = inputShape[2] * this.depthMultiplier;
    this.weights = [new Weight('depthwise_kernel', glorotUniform(kshape, rng), kshape)];
    if (this.useBias) this.weights.push(new Weight('bias', constant([out], 0), [out]));
    super.build(inputShape, rng);
  }

  computeOutputShape([h, w, c]: number[]): number[] {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.strides;
    const [dh, dw] = this.dilationRate;
    return [outSize(h, kh, sh, dh, this.padding), outSize(w, kw, sw, dw, this.padding), c * this.depthMultiplier];
  }

  /** The depthwise convolution plus bias, before the activation. */
  preActivation(x: Tensor): Tensor {
    const b = this.useBias ? this.weights[1].value : null;
    return E.depthwiseConv2d(x, this.weights[0].value, b, { strides: this.strides, padding: this.padding, dilation: this.dilationRate });
  }

  call(x: Tensor, _ctx: CallContext): Tensor {
    return activation(this.activation, this.name)(this.seenPreActivation(this.preActivation(x)));
  }

  protected kerasConfig() {
    return {
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: this.dilationRate,
      depth_multiplier: this.depthMultiplier,
      activation: this.activation,
      use_bias: this.useBias,
      depthwise_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      depthwise_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      depthwise_constraint: null,
      bias_constraint: null,
    };
  }
}
