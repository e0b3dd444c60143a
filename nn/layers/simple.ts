// Layers without weights that only reshape or map: InputLayer, Flatten, Reshape, Activation.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { Layer, type CallContext } from '../layer.ts';

/** Keras' InputLayer: declares the model's input shape (batch excluded) and passes its input through. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  constructor(
    /** The input shape without the batch dimension, e.g. [28, 28, 1]. */
    readonly shape: number[],
    name?: string,
  ) {
    super(name);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor): Tensor {
    return x;
  }
  protected kerasConfig() {
    return { batch_input_shape: [null, ...this.shape], sparse: false, ragged: false };
  }
}

/** Keras' Flatten: [N, d1, d2, …] → [N, d1·d2·…]. */
export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(o: { name?: string } = {}) {
    super(o.name);
  }
  computeOutputShape(s: number[]): number[] {
    return [s.reduce((a, b) => a * b, 1)];
  }
  call(x: Tensor): Tensor {
    return E.reshape(x, [x.shape[0], -1]);
  }
  protected kerasConfig() {
    return { data_format: 'channels_last' };
  }
}

/** Keras' Reshape: each example to `targetShape` (batch kept). Throws when the sizes differ. */
export class Reshape extends Layer {
  readonly className = 'Reshape';
  constructor(
    /** The output shape without the batch dimension; one entry may be -1 (inferred). */
    readonly targetShape: number[],
    name?: string,
  ) {
    super(name);
  }
  computeOutputShape(s: number[]): number[] {
    const n = s.reduce((a, b) => a * b, 1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.targetShape.map((d) => (d === -1 ? n / known : d));
    if (out.reduce((a, b) => a * b, 1) !== n) throw new Error(`Reshape '${this.name}': cannot reshape [${s}] to [${this.targetShape}]`);
    return out;
  }
  call(x: Tensor): Tensor {
    return E.reshape(x, [x.shape[0], ...this.targetShape]);
  }
  protected kerasConfig() {
    return { target_shape: this.targetShape };
  }
}

/**
 * Keras' Activation: applies the activation `fn` by Keras name ('relu', 'softmax', 'gelu', …). Throws on an
 * unknown name.
 */
export class Activation extends Layer {
  readonly className = 'Activation';
  constructor(
    /** The Keras activation name. */
    readonly fn: string,
    name?: string,
  ) {
    super(name);
    activation(fn, `Activation '${name ?? ''}'`);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor, _ctx: CallContext): Tensor {
    return activation(this.fn, `Activation '${this.name}'`)(x);
  }
  protected kerasConfig() {
    return { activation: this.fn };
  }
}
