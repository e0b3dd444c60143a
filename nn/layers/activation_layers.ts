// Keras' activation layers with parameters: ReLU (max_value, negative_slope, threshold),
// LeakyReLU, ELU, Softmax. Each is an elementwise op (or a short composition of them).

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer } from '../layer.ts';

abstract class Elementwise extends Layer {
  computeOutputShape(s: number[]): number[] {
    return s;
  }
}

/**
 * Keras ReLU: x ≥ max_value → max_value; threshold ≤ x < max_value → x (x > threshold when a
 * threshold is set, as Keras masks with a strict greater); below → negative_slope·(x − threshold).
 * Follows keras.activations.relu step by step so that edge cases (threshold < 0) agree.
 */
export class ReLU extends Elementwise {
  readonly className = 'ReLU';
  constructor(
    readonly maxValue: number | null = null,
    readonly negativeSlope = 0,
    readonly threshold = 0,
    name?: string,
  ) {
    super(name);
    if (maxValue !== null && maxValue < 0) throw new Error(`ReLU '${name ?? ''}': max_value must be ≥ 0, got ${maxValue}`);
    if (negativeSlope < 0) throw new Error(`ReLU '${name ?? ''}': negative_slope must be ≥ 0, got ${negativeSlope}`);
  }
  call(x: Tensor): Tensor {
    const { maxValue: m, negativeSlope: a, threshold: t } = this;
    if (a !== 0 && m === null && t === 0) return E.leakyRelu(x, a);
    let clip = m !== null;
    let y: Tensor;
    if (t !== 0) y = E.mul(x, E.less(E.full([1], t), x));
    else if (m === 6) {
      y = E.relu6(x);
      clip = false;
    } else y = E.relu(x);
    if (clip) y = E.minimum(E.relu(y), E.full([1], m!));
    // − a·relu(t − x): the negative part
    if (a !== 0) y = E.sub(y, E.scale(E.relu(E.affine(x, -1, t)), a));
    return y;
  }
  protected kerasConfig() {
    return { max_value: this.maxValue, negative_slope: this.negativeSlope, threshold: this.threshold };
  }
}

export class LeakyReLU extends Elementwise {
  readonly className = 'LeakyReLU';
  constructor(
    readonly alpha = 0.3,
    name?: string,
  ) {
    super(name);
  }
  call(x: Tensor): Tensor {
    return E.leakyRelu(x, this.alpha);
  }
  protected kerasConfig() {
    // 'alpha' is what tf.keras 2 reads; Keras 3 reads it too (as a deprecated spelling of negative_slope).
    return { alpha: this.alpha };
  }
}

export class ELU extends Elementwise {
  readonly className = 'ELU';
  constructor(
    readonly alpha = 1,
    name?: string,
  ) {
    super(name);
  }
  call(x: Tensor): Tensor {
    return E.elu(x, this.alpha);
  }
  protected kerasConfig() {
    return { alpha: this.alpha };
  }
}

/** Softmax over the last axis (the only axis supported; from_config refuses others). */
export class Softmax extends Elementwise {
  readonly className = 'Softmax';
  constructor(name?: string) {
    super(name);
  }
  call(x: Tensor): Tensor {
    return E.softmax(x, -1);
  }
  protected kerasConfig() {
    return { axis: -1 };
  }
}
