// Keras' activation layers with parameters: ReLU (max_value, negative_slope, threshold),
// LeakyReLU, ELU, Softmax, PReLU (learned slopes). Each is an elementwise op (or a short
// composition of them).

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { constant } from '../initializers.ts';
import { Layer, Weight } from '../layer.ts';
import type { Rng } from '../random.ts';

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
  /** 'ReLU'. */
  readonly className = 'ReLU';
  constructor(
    /** Upper clip (Keras max_value); null: none. */
    readonly maxValue: number | null = null,
    /** Slope below the threshold (Keras negative_slope). */
    readonly negativeSlope = 0,
    /** Values at or below it count as negative (Keras threshold). */
    readonly threshold = 0,
    name?: string,
  ) {
    super(name);
    if (maxValue !== null && maxValue < 0) throw new Error(`ReLU '${name ?? ''}': max_value must be ≥ 0, got ${maxValue}`);
    if (negativeSlope < 0) throw new Error(`ReLU '${name ?? ''}': negative_slope must be ≥ 0, got ${negativeSlope}`);
  }
  /** Keras' relu with max_value, negative_slope and threshold, elementwise. */
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

/** Keras' LeakyReLU: x for x > 0, alpha·x below, elementwise. */
export class LeakyReLU extends Elementwise {
  /** 'LeakyReLU'. */
  readonly className = 'LeakyReLU';
  constructor(
    /** Slope below 0 (Keras' default 0.3). */
    readonly alpha = 0.3,
    name?: string,
  ) {
    super(name);
  }
  /** leakyRelu(x, alpha), elementwise. */
  call(x: Tensor): Tensor {
    return E.leakyRelu(x, this.alpha);
  }
  protected kerasConfig() {
    // 'alpha' is what tf.keras 2 reads; Keras 3 reads it too (as a deprecated spelling of negative_slope).
    return { alpha: this.alpha };
  }
}

/** Keras' ELU: x for x > 0, alpha·(eˣ − 1) below, elementwise. */
export class ELU extends Elementwise {
  /** 'ELU'. */
  readonly className = 'ELU';
  constructor(
    /** Scale of the negative part; default 1. */
    readonly alpha = 1,
    name?: string,
  ) {
    super(name);
  }
  /** elu(x, alpha), elementwise. */
  call(x: Tensor): Tensor {
    return E.elu(x, this.alpha);
  }
  protected kerasConfig() {
    return { alpha: this.alpha };
  }
}

/** Softmax over the last axis (the only axis supported; from_config refuses others). */
export class Softmax extends Elementwise {
  /** 'Softmax'. */
  readonly className = 'Softmax';
  constructor(name?: string) {
    super(name);
  }
  /** softmax over the last axis. */
  call(x: Tensor): Tensor {
    return E.softmax(x, -1);
  }
  protected kerasConfig() {
    return { axis: -1 };
  }
}

/**
 * Keras PReLU: relu(x) − α·relu(−x), α learned per element of the input (batch excluded) except
 * along `shared_axes` (Keras counts the batch as axis 0, so [1, 2] shares α over H and W of
 * [N, H, W, C]), where α's size is 1 and it broadcasts.
 */
export class PReLU extends Elementwise {
  /** 'PReLU'. */
  readonly className = 'PReLU';
  /** Axes (Keras numbering: batch = 0) along which one α is shared; null: none. */
  readonly sharedAxes: number[] | null;
  constructor(
    sharedAxes: number | number[] | null = null,
    /** α's starting value: Keras' default Zeros, or a Constant (a file's weights replace it). */
    readonly alphaInit = 0,
    name?: string,
  ) {
    super(name);
    this.sharedAxes = sharedAxes === null ? null : typeof sharedAxes === 'number' ? [sharedAxes] : sharedAxes;
    if (this.sharedAxes && !this.sharedAxes.every((a) => Number.isInteger(a) && a >= 1))
      throw new Error(`PReLU '${name ?? ''}': shared_axes must be positive integers (the batch is axis 0), got ${JSON.stringify(sharedAxes)}`);
  }
  /**
   * Creates α with the input's shape, size 1 along the shared axes. Throws for a shared axis out of range.
   */
  override build(inputShape: number[], rng: Rng): void {
    const shape = inputShape.slice();
    for (const a of this.sharedAxes ?? []) {
      if (a > shape.length) throw new Error(`PReLU '${this.name}': shared axis ${a} is out of range for inputs [${inputShape}] (batch excluded; Keras counts the batch as axis 0)`);
      shape[a - 1] = 1;
    }
    this.weights = [new Weight('alpha', constant(shape, this.alphaInit), shape)];
    super.build(inputShape, rng);
  }
  /** relu(x) − α·relu(−x). Throws when `x` does not have the shape the layer was built for. */
  call(x: Tensor): Tensor {
    const s = x.shape.slice(1);
    if (s.length !== this.inputShape!.length || s.some((d, i) => d !== this.inputShape![i]))
      throw new Error(`PReLU '${this.name}': built for inputs [${this.inputShape}] (alpha [${this.weights[0].shape}]), called on [${x.shape}]`);
    return E.sub(E.relu(x), E.mul(this.weights[0].value, E.relu(E.neg(x))));
  }
  protected kerasConfig() {
    const init = this.alphaInit === 0 ? { class_name: 'Zeros', config: {} } : { class_name: 'Constant', config: { value: this.alphaInit } };
    return { alpha_initializer: init, alpha_regularizer: null, alpha_constraint: null, shared_axes: this.sharedAxes };
  }
}
