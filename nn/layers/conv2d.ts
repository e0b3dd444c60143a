// Keras Conv2D: NHWC input, HWIO kernel [kh, kw, cin, filters] (Keras' own layout).

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
  activation?: string;
  useBias?: boolean;
  name?: string;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export function convOut(size: number, k: number, s: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
}

export class Conv2D extends Layer implements HasPreActivation {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly activation: string;
  readonly useBias: boolean;

  constructor(o: Conv2DOptions) {
    super(o.name);
    this.filters = o.filters;
    this.kernelSize = pair(o.kernelSize);
    this.strides = pair(o.strides ?? 1);
    this.padding = o.padding ?? 'valid';
    this.activation = o.activation ?? 'linear';
    this.useBias = o.useBias ?? true;
    activation(this.activation, `Conv2D '${o.name ?? ''}'`);
  }

  override build(inputShape: number[], rng: Rng): void {
    if (inputShape.length !== 3) throw new Error(`Conv2D '${this.name}' expects inputs [H, W, C], got [${inputShape}]`);
    const kshape = [...this.kernelSize, inputShape[2], this.filters];
    this.weights = [new Weight('kernel', glorotUniform(kshape, rng), kshape)];
    if (this.useBias) this.weights.push(new Weight('bias', constant([this.filters], 0), [this.filters]));
    super.build(inputShape, rng);
  }

  computeOutputShape([h, w]: number[]): number[] {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.strides;
    return [convOut(h, kh, sh, this.padding), convOut(w, kw, sw, this.padding), this.filters];
  }

  /** The convolution before the activation (CAM methods may want it). */
  preActivation(x: Tensor): Tensor {
    const b = this.useBias ? this.weights[1].value : undefined;
    return E.conv2d(x, this.weights[0].value, b, { strides: this.strides, padding: this.padding });
  }

  call(x: Tensor, _ctx: CallContext): Tensor {
    // relu, the usual case, runs inside the convolution's kernel: one dispatch and one pass fewer.
    if (this.activation === 'relu') {
      const b = this.useBias ? this.weights[1].value : undefined;
      return E.conv2d(x, this.weights[0].value, b, { strides: this.strides, padding: this.padding, activation: 'relu' });
    }
    return activation(this.activation, this.name)(this.preActivation(x));
  }

  protected kerasConfig() {
    return {
      filters: this.filters,
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
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
    };
  }
}
