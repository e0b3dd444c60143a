// Keras Conv2D: NHWC input, HWIO kernel [kh, kw, cin/groups, filters] (Keras' own layout).
// dilation_rate and groups as Keras: output channel o belongs to group o / (filters/groups), and
// strides > 1 with dilation_rate > 1 is refused, as Keras refuses it.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { constant, glorotUniform } from '../initializers.ts';
import { Layer, Weight, type CallContext, type HasPreActivation } from '../layer.ts';
import type { Rng } from '../random.ts';

/** Arguments of `Conv2D` (Keras' names in camelCase). */
export interface Conv2DOptions {
  /** Output channels. */
  filters: number;
  /** Window [kh, kw], or one number for both. */
  kernelSize: number | [number, number];
  /** Step [sh, sw], or one number; default 1. */
  strides?: number | [number, number];
  /** 'valid' (default: no padding) or 'same' (output size ⌈input / stride⌉). */
  padding?: 'same' | 'valid';
  /**
   * Spacing between window taps [dh, dw], or one number; default 1. Strides and dilation cannot both exceed
   * 1.
   */
  dilationRate?: number | [number, number];
  /** Grouped convolution: input channels and filters split into this many groups; default 1. */
  groups?: number;
  /** Keras activation name applied after the convolution; default 'linear' (none). */
  activation?: string;
  /** Add a bias per filter; default true. */
  useBias?: boolean;
  /** Layer name; default: Keras' automatic name (conv2d, conv2d_1, …). */
  name?: string;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Output size along one axis; a dilated window (d > 1) spans (k − 1)·d + 1. */
export function convOut(size: number, k: number, s: number, padding: 'same' | 'valid', d = 1): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - (k - 1) * d - 1) / s) + 1;
}

/**
 * Keras' Conv2D on NHWC images: [N, H, W, C] → [N, OH, OW, filters], kernel [kh, kw, C / groups, filters]
 * (Keras' layout). Throws on bad arguments (groups not dividing filters, strides with dilation, unknown
 * activation), and at build on inputs that are not [H, W, C] or whose channels groups does not divide.
 */
export class Conv2D extends Layer implements HasPreActivation {
  readonly className = 'Conv2D';
  /** Output channels. */
  readonly filters: number;
  /** Window [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Step [sh, sw]. */
  readonly strides: [number, number];
  /** 'valid' or 'same'. */
  readonly padding: 'same' | 'valid';
  /** Spacing between window taps [dh, dw]. */
  readonly dilationRate: [number, number];
  /** Number of channel groups. */
  readonly groups: number;
  /** Keras activation name ('linear' for none). */
  readonly activation: string;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;

  constructor(o: Conv2DOptions) {
    super(o.name);
    this.filters = o.filters;
    this.kernelSize = pair(o.kernelSize);
    this.strides = pair(o.strides ?? 1);
    this.padding = o.padding ?? 'valid';
    this.dilationRate = pair(o.dilationRate ?? 1);
    this.groups = o.groups ?? 1;
    this.activation = o.activation ?? 'linear';
    this.useBias = o.useBias ?? true;
    const where = `Conv2D '${o.name ?? ''}'`;
    if (!Number.isInteger(this.groups) || this.groups < 1) throw new Error(`${where}: groups must be a positive integer, got ${o.groups}`);
    if (this.filters % this.groups !== 0) throw new Error(`${where}: filters ${this.filters} are not divisible by groups ${this.groups}`);
    if (this.dilationRate.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${where}: dilation_rate must be positive integers, got [${this.dilationRate}]`);
    if (Math.max(...this.strides) > 1 && Math.max(...this.dilationRate) > 1)
      throw new Error(`${where}: strides [${this.strides}] with dilation_rate [${this.dilationRate}]: one of them must be 1 (as in Keras)`);
    activation(this.activation, where);
  }

  override build(inputShape: number[], rng: Rng): void {
    if (inputShape.length !== 3) throw new Error(`Conv2D '${this.name}' expects inputs [H, W, C], got [${inputShape}]`);
    if (inputShape[2] % this.groups !== 0) throw new Error(`Conv2D '${this.name}': input channels ${inputShape[2]} are not divisible by groups ${this.groups} (input [${inputShape}])`);
    const kshape = [...this.kernelSize, inputShape[2] / this.groups, this.filters];
    this.weights = [new Weight('kernel', glorotUniform(kshape, rng), kshape)];
    if (this.useBias) this.weights.push(new Weight('bias', constant([this.filters], 0), [this.filters]));
    super.build(inputShape, rng);
  }

  computeOutputShape([h, w]: number[]): number[] {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.strides;
    const [dh, dw] = this.dilationRate;
    return [convOut(h, kh, sh, this.padding, dh), convOut(w, kw, sw, this.padding, dw), this.filters];
  }

  private convOptions() {
    return { strides: this.strides, padding: this.padding, dilations: this.dilationRate, groups: this.groups };
  }

  /** The convolution before the activation (CAM methods may want it). */
  preActivation(x: Tensor): Tensor {
    const b = this.useBias ? this.weights[1].value : undefined;
    return E.conv2d(x, this.weights[0].value, b, this.convOptions());
  }

  call(x: Tensor, _ctx: CallContext): Tensor {
    // relu, the usual case, runs inside the convolution's kernel: one dispatch and one pass fewer;
    // a pre-activation hook needs the tensor before relu, so the fusion steps aside for it.
    if (this.activation === 'relu' && this.preActivationHooks.length === 0) {
      const b = this.useBias ? this.weights[1].value : undefined;
      return E.conv2d(x, this.weights[0].value, b, { ...this.convOptions(), activation: 'relu' });
    }
    return activation(this.activation, this.name)(this.seenPreActivation(this.preActivation(x)));
  }

  protected kerasConfig() {
    return {
      filters: this.filters,
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: this.dilationRate,
      groups: this.groups,
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  }
}
