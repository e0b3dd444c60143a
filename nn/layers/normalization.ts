// LayerNormalization (per-example statistics over chosen axes, learned gamma and beta) and the
// preprocessing Normalization (fixed mean and variance, adapted in Keras and stored in the file).
// Both are compositions of engine ops, so their gradients come from the ops' rules.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { constant } from '../initializers.ts';
import { Layer, Weight, type CallContext } from '../layer.ts';
import type { Rng } from '../random.ts';

/**
 * Keras axes (batch = axis 0, negatives from the end) → axes of a batch tensor of rank
 * `inputShape.length + 1`, in the order given. The batch axis itself is refused.
 */
function tensorAxes(where: string, axes: readonly number[], inputShape: readonly number[]): number[] {
  const rank = inputShape.length + 1;
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  for (const [k, a] of out.entries())
    if (!Number.isInteger(a) || a < 1 || a >= rank)
      throw new Error(`${where}: axis ${axes[k]} ${a === 0 ? 'is the batch axis' : 'is out of range'} for inputs [${inputShape}] (batch excluded; Keras counts the batch as axis 0)`);
  if (new Set(out).size !== out.length) throw new Error(`${where}: repeated axis in ${JSON.stringify(axes)} for inputs [${inputShape}]`);
  return out;
}

/** Throws unless `x` (a batch) has the rank and, along `axes`, the sizes the layer was built for. */
function checkBuilt(where: string, x: Tensor, axes: readonly number[], inputShape: readonly number[]): void {
  if (x.rank !== inputShape.length + 1 || axes.some((a) => x.shape[a] !== inputShape[a - 1]))
    throw new Error(`${where}: built for inputs [${inputShape}] (axes ${JSON.stringify(axes)}), called on [${x.shape}]`);
}

/** Shape [1, …] of a batch tensor with the sizes of `axes` kept and every other axis 1. */
function broadcastShape(axes: readonly number[], inputShape: readonly number[]): number[] {
  return [1, ...inputShape.map((d, i) => (axes.includes(i + 1) ? d : 1))];
}

/** Arguments of `LayerNormalization` (Keras' names in camelCase). */
export interface LayerNormalizationOptions {
  /** Keras' axis: one integer or a list (batch = 0, −1 = last). */
  axis?: number | number[];
  /** Added to the variance before its square root; default 0.001. */
  epsilon?: number;
  /** Learn an offset β; default true. */
  center?: boolean;
  /** Learn a scale γ; default true. */
  scale?: boolean;
  /** Layer name; default: Keras' automatic name. */
  name?: string;
}

/**
 * y = (x − mean)/sqrt(var + ε)·γ + β, mean and (biased) variance of each example over `axis`.
 * γ and β have the sizes of the normalised axes in the order `axis` lists them, as Keras builds
 * them; Keras then reshapes (not transposes) them onto the input, and so do we.
 */
export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  /** The normalised axes, Keras' numbering (batch = 0, −1 = last). */
  readonly axis: number | number[];
  /** Added to the variance before its square root. */
  readonly epsilon: number;
  /** Whether the layer has the offset β. */
  readonly center: boolean;
  /** Whether the layer has the scale γ (Keras' scale). */
  readonly scaleOn: boolean;
  private axes: number[] = [];

  constructor(o: LayerNormalizationOptions = {}) {
    super(o.name);
    this.axis = o.axis ?? -1;
    this.epsilon = o.epsilon ?? 1e-3;
    this.center = o.center ?? true;
    this.scaleOn = o.scale ?? true;
    const list = typeof this.axis === 'number' ? [this.axis] : this.axis;
    if (!Array.isArray(list) || list.length === 0 || !list.every(Number.isInteger))
      throw new Error(`LayerNormalization '${this.name}': axis must be an integer or a non-empty list of integers, got ${JSON.stringify(o.axis)}`);
    if (!(this.epsilon >= 0)) throw new Error(`LayerNormalization '${this.name}': epsilon must be ≥ 0, got ${o.epsilon}`);
  }

  override build(inputShape: number[], rng: Rng): void {
    const where = `LayerNormalization '${this.name}'`;
    this.axes = tensorAxes(where, typeof this.axis === 'number' ? [this.axis] : this.axis, inputShape);
    const shape = this.axes.map((a) => inputShape[a - 1]);
    this.weights = [];
    if (this.scaleOn) this.weights.push(new Weight('gamma', constant(shape, 1), shape));
    if (this.center) this.weights.push(new Weight('beta', constant(shape, 0), shape));
    super.build(inputShape, rng);
  }

  /** The input shape: normalising keeps it. */
  computeOutputShape(s: number[]): number[] {
    return s;
  }

  private w(name: string): Tensor | null {
    return this.weights.find((w) => w.name === name)?.value ?? null;
  }

  /** Normalises each example over the axes. Throws when `x` does not have the built shape along them. */
  call(x: Tensor, _ctx: CallContext): Tensor {
    const axes = this.axes;
    checkBuilt(`LayerNormalization '${this.name}'`, x, axes, this.inputShape!);
    const mean = E.mean(x, axes, true);
    const d = E.sub(x, mean);
    const variance = E.mean(E.square(d), axes, true);
    let y = E.div(d, E.sqrt(E.affine(variance, 1, this.epsilon)));
    const bshape = broadcastShape(axes, x.shape.slice(1));
    const gamma = this.w('gamma');
    const beta = this.w('beta');
    if (gamma) y = E.mul(y, E.reshape(gamma, bshape));
    if (beta) y = E.add(y, E.reshape(beta, bshape));
    return y;
  }

  protected kerasConfig() {
    return {
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scaleOn,
      beta_initializer: { class_name: 'Zeros', config: {} },
      gamma_initializer: { class_name: 'Ones', config: {} },
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }
}

/** Keras' backend.epsilon(): the floor of the standard deviation Normalization divides by. */
const KERAS_EPSILON = 1e-7;

/** A mean or variance given in the config: a number or a nested list (NumPy-like). */
export type NormalizationValue = number | NormalizationValue[];

/** Arguments of `Normalization` (Keras' names in camelCase). */
export interface NormalizationOptions {
  /** Keras' axis: the axes that keep a separate mean and variance (null or [] → one scalar). */
  axis?: number | number[] | null;
  /** Given together in the config; otherwise the layer has weights mean, variance, count. */
  mean?: NormalizationValue | null;
  /** The variance, given together with `mean`. */
  variance?: NormalizationValue | null;
  /** Undo the normalisation instead: mean + x·sqrt(variance); default false. */
  invert?: boolean;
  /** Layer name; default: Keras' automatic name. */
  name?: string;
}

/** Shape and flat values of a nested list (row-major), or null when it is ragged. */
function nested(v: NormalizationValue): { shape: number[]; data: number[] } | null {
  if (typeof v === 'number') return { shape: [], data: [v] };
  if (!Array.isArray(v) || v.length === 0) return null;
  const parts = v.map(nested);
  if (parts.some((p) => !p || p.shape.join() !== parts[0]!.shape.join())) return null;
  return { shape: [v.length, ...parts[0]!.shape], data: parts.flatMap((p) => p!.data) };
}

/**
 * Keras' preprocessing Normalization: (x − mean)/max(sqrt(variance), 1e-7), or with invert
 * mean + x·max(sqrt(variance), 1e-7). Mean and variance have the sizes of the kept `axis`
 * (sorted, as Keras sorts them) and are non-trainable weights, with the `count` Keras stores
 * beside them, unless the config gives them.
 */
export class Normalization extends Layer {
  readonly className = 'Normalization';
  /** The axes with their own mean and variance, Keras' numbering; null: one scalar for all. */
  readonly axis: number | number[] | null;
  /** Whether the layer undoes the normalisation. */
  readonly invert: boolean;
  /** The mean given in the config; null when the layer holds it as a weight. */
  readonly mean: NormalizationValue | null;
  /** The variance given in the config; null when the layer holds it as a weight. */
  readonly variance: NormalizationValue | null;
  private keep: number[] = [];
  /** mean and variance given in the config, shaped to broadcast against the batch. */
  private fixed: { mean: Float32Array; variance: Float32Array; shape: number[] } | null = null;

  constructor(o: NormalizationOptions = {}) {
    super(o.name);
    this.axis = o.axis === undefined ? -1 : o.axis;
    this.invert = o.invert ?? false;
    this.mean = o.mean ?? null;
    this.variance = o.variance ?? null;
    const where = `Normalization '${this.name}'`;
    const list = this.axisList();
    if (!list.every(Number.isInteger)) throw new Error(`${where}: axis must be an integer, a list of integers or null, got ${JSON.stringify(o.axis)}`);
    if ((this.mean === null) !== (this.variance === null)) throw new Error(`${where}: mean and variance must be given together, got mean ${JSON.stringify(this.mean)} and variance ${JSON.stringify(this.variance)}`);
  }

  private axisList(): number[] {
    return this.axis === null ? [] : typeof this.axis === 'number' ? [this.axis] : this.axis;
  }

  override build(inputShape: number[], rng: Rng): void {
    const where = `Normalization '${this.name}'`;
    this.keep = tensorAxes(where, this.axisList(), inputShape).sort((a, b) => a - b);
    const shape = this.keep.map((a) => inputShape[a - 1]);
    this.weights = [];
    this.fixed = null;
    if (this.mean === null) {
      this.weights.push(
        new Weight('mean', constant(shape, 0), shape, false),
        new Weight('variance', constant(shape, 1), shape, false),
        new Weight('count', constant([], 0), [], false),
      );
    } else this.fixed = this.fixedValues(where, inputShape, shape);
    super.build(inputShape, rng);
  }

  /** As Keras: a config mean's axes align from the right with the kept axes, and broadcast. */
  private fixedValues(where: string, inputShape: number[], keptShape: number[]) {
    const m = nested(this.mean!);
    const v = nested(this.variance!);
    if (!m || !v || m.shape.join() !== v.shape.join())
      throw new Error(`${where}: mean ${JSON.stringify(this.mean)} and variance ${JSON.stringify(this.variance)} must be numbers or equal-shaped lists`);
    if (m.shape.length > keptShape.length || m.shape.some((d, i) => d !== 1 && d !== keptShape[keptShape.length - m.shape.length + i]))
      throw new Error(`${where}: mean of shape [${m.shape}] does not broadcast to the kept axes' shape [${keptShape}] (inputs [${inputShape}])`);
    const shape = [1, ...inputShape.map(() => 1)];
    m.shape.forEach((d, i) => (shape[this.keep[this.keep.length - m.shape.length + i]] = d));
    return { mean: Float32Array.from(m.data), variance: Float32Array.from(v.data), shape };
  }

  /** The input shape: normalising keeps it. */
  computeOutputShape(s: number[]): number[] {
    return s;
  }

  /**
   * Normalises `x` (or undoes it with `invert`). Throws when `x` does not have the built shape along the
   * axes.
   */
  call(x: Tensor, _ctx: CallContext): Tensor {
    checkBuilt(`Normalization '${this.name}'`, x, this.keep, this.inputShape!);
    const bshape = this.fixed?.shape ?? broadcastShape(this.keep, x.shape.slice(1));
    const mean = this.fixed ? E.tensor(this.fixed.mean, bshape) : E.reshape(this.weights[0].value, bshape);
    const variance = this.fixed ? E.tensor(this.fixed.variance, bshape) : E.reshape(this.weights[1].value, bshape);
    const std = E.maximum(E.sqrt(variance), E.full([1], KERAS_EPSILON));
    return this.invert ? E.add(mean, E.mul(x, std)) : E.div(E.sub(x, mean), std);
  }

  protected kerasConfig() {
    return { axis: this.axis, mean: this.mean, variance: this.variance, invert: this.invert };
  }
}
