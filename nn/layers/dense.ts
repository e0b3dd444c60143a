// Keras Dense: kernel [in, units] (Keras' own layout), bias [units]. Inputs of rank > 2 are
// not flattened (as Keras, a Dense applies to the last axis only); we support rank-2 inputs.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { activation } from '../activations.ts';
import { constant, glorotUniform } from '../initializers.ts';
import { Layer, Weight, type CallContext, type HasPreActivation } from '../layer.ts';
import type { Rng } from '../random.ts';

/** Arguments of `Dense` (Keras' names in camelCase). */
export interface DenseOptions {
  /** Output features. */
  units: number;
  /** Keras activation name applied to x·W + b; default 'linear' (none). */
  activation?: string;
  /** Add a bias; default true. */
  useBias?: boolean;
  /** Layer name; default: Keras' automatic name (dense, dense_1, …). */
  name?: string;
}

/**
 * Keras' Dense: activation(x·W + b) on inputs [N, features] → [N, units]. The kernel is [features, units]
 * (Keras' layout). Throws on an unknown activation, and at build on inputs that are not flat (add Flatten or
 * GlobalAveragePooling2D first).
 */
export class Dense extends Layer implements HasPreActivation {
  readonly className = 'Dense';
  /** Output features. */
  readonly units: number;
  /** Keras activation name ('linear' for none). */
  readonly activation: string;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;

  constructor(o: DenseOptions) {
    super(o.name);
    this.units = o.units;
    this.activation = o.activation ?? 'linear';
    this.useBias = o.useBias ?? true;
    activation(this.activation, `Dense '${o.name ?? ''}'`);
  }

  override build(inputShape: number[], rng: Rng): void {
    if (inputShape.length !== 1) throw new Error(`Dense '${this.name}' expects flat inputs [features], got [${inputShape}] (add Flatten or GlobalAveragePooling2D first)`);
    const kshape = [inputShape[0], this.units];
    this.weights = [new Weight('kernel', glorotUniform(kshape, rng), kshape)];
    if (this.useBias) this.weights.push(new Weight('bias', constant([this.units], 0), [this.units]));
    super.build(inputShape, rng);
  }

  computeOutputShape(): number[] {
    return [this.units];
  }

  /** x·W + b, before the activation: the logits when the activation is softmax. */
  preActivation(x: Tensor): Tensor {
    return E.dense(x, this.weights[0].value, this.useBias ? this.weights[1].value : undefined);
  }

  call(x: Tensor, _ctx: CallContext): Tensor {
    return activation(this.activation, this.name)(this.seenPreActivation(this.preActivation(x)));
  }

  protected kerasConfig() {
    return {
      units: this.units,
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
