// Dropout and BatchNormalization: the layers whose behaviour differs between training and
// inference.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { constant } from '../initializers.ts';
import { Layer, Weight, type CallContext } from '../layer.ts';
import type { Rng } from '../random.ts';

/**
 * Keras' Dropout: in training, zeroes each element with probability `rate` and scales the rest by 1 / (1 −
 * rate); the identity at inference.
 */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  constructor(
    /** Probability of dropping an element, in [0, 1). */
    readonly rate: number,
    name?: string,
  ) {
    super(name);
  }
  computeOutputShape(s: number[]): number[] {
    return s;
  }
  call(x: Tensor, ctx: CallContext): Tensor {
    if (!ctx.training || this.rate === 0) return x;
    return E.dropout(x, this.rate, ctx.rng ? ctx.rng.int() : (Math.random() * 2 ** 32) >>> 0);
  }
  protected kerasConfig() {
    return { rate: this.rate, noise_shape: null, seed: null };
  }
}

/**
 * Normalises over every axis but the last (channels). Training uses the batch statistics
 * (biased variance) and updates the moving averages: m ← m·momentum + stat·(1 − momentum).
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  constructor(
    /** Moving-average momentum; default 0.99. */
    readonly momentum = 0.99,
    /** Added to the variance before its square root; default 0.001. */
    readonly epsilon = 0.001,
    /** Whether the layer has the offset β; default true. */
    readonly center = true,
    /** Whether the layer has the scale γ (Keras' scale); default true. */
    readonly scaleOn = true,
    name?: string,
  ) {
    super(name);
  }

  override build(inputShape: number[], rng: Rng): void {
    const c = [inputShape[inputShape.length - 1]];
    this.weights = [];
    if (this.scaleOn) this.weights.push(new Weight('gamma', constant(c, 1), c));
    if (this.center) this.weights.push(new Weight('beta', constant(c, 0), c));
    this.weights.push(new Weight('moving_mean', constant(c, 0), c, false), new Weight('moving_variance', constant(c, 1), c, false));
    super.build(inputShape, rng);
  }

  private w(name: string): Tensor | null {
    return this.weights.find((w) => w.name === name)?.value ?? null;
  }

  computeOutputShape(s: number[]): number[] {
    return s;
  }

  call(x: Tensor, ctx: CallContext): Tensor {
    const axes = [...Array(x.rank - 1).keys()];
    let mean: Tensor;
    let variance: Tensor;
    if (ctx.training) {
      mean = E.mean(x, axes);
      variance = E.mean(E.square(E.sub(x, mean)), axes);
      E.noGrad(() => {
        const upd = (name: string, stat: Tensor) => {
          const m = this.weights.find((w) => w.name === name)!;
          const next = E.add(E.scale(m.value, this.momentum), E.scale(stat, 1 - this.momentum));
          m.value.storage.gpu.copy(next.buffer, 0, m.value.buffer, 0, next.size * 4);
          next.dispose();
        };
        upd('moving_mean', mean);
        upd('moving_variance', variance);
      });
    } else {
      mean = this.w('moving_mean')!;
      variance = this.w('moving_variance')!;
    }
    // One fused per-channel pass (engine/ops/batchnorm.ts) instead of four full-size ones.
    return E.batchNorm(x, mean, variance, this.w('gamma'), this.w('beta'), this.epsilon);
  }

  protected kerasConfig() {
    return {
      axis: -1,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scaleOn,
      beta_initializer: { class_name: 'Zeros', config: {} },
      gamma_initializer: { class_name: 'Ones', config: {} },
      moving_mean_initializer: { class_name: 'Zeros', config: {} },
      moving_variance_initializer: { class_name: 'Ones', config: {} },
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }
}
