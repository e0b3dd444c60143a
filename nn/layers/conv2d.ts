// Keras Conv2D: NHWC input, HWIO kernel [kh, kw, cin/groups, filters] (Keras' own layout).
// dilation_rate and groups as Keras: output channel o belongs to group o / (filters/groups), and
// strides > 1 with dilation_rate > 1 is refused, as Keras refuses it.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { constant, glorotUniform } from '../initializers.ts';
import { Layer, Weight, type CallContext, type HasPreActivation } from '../layer.ts';
import type { Rng } from '../random.ts';

export interface Conv2DOptions {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'same' | 'valid';
  dilationRate?: number | [number, number];
  groups?: number;
  activation?: string;
  useBias?: boolean;
  name?: string;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Output size along one axis; a dilated window (d > 1) spans (k − 1)·d + 1. */
export function convOut(size: number, k: number, s: number, padding: 'same' | 'valid', d = 1): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - (k - 1) * d - 1) / s) + 1;
}

export class Conv2D extends Layer implements HasPreActivation {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly dilationRate: [number, number];
  readonly groups: number;
  readonly activation: string;
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
