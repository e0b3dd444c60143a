// Layer base class. A layer owns named weights in Keras order (kernel, bias; gamma, beta,
// moving_mean, moving_variance), knows its Keras class name and config, and maps a batch
// tensor to a batch tensor. Shapes here exclude the batch dimension, as Keras prints them.

import { type Tensor, tensor, keep, fmtShapeOf } from './engine.ts';
import type { Rng } from './random.ts';
import { kerasSnakeCase } from './naming.ts';

/** What a layer's `call` is told besides its input. */
export interface CallContext {
  /** True in a training step: Dropout, GaussianNoise and BatchNormalization behave as in training. */
  training: boolean;
  /** The random source of dropout and noise masks in training (a seeded `Rng` makes them reproducible). */
  rng?: Rng;
  /** Captured layer outputs become gradient targets even when no weight requires a gradient. */
  watch?: boolean;
}

/**
 * A forward pre-hook (`layer.addForwardPreHook`): called with the layer and its inputs (one tensor,
 * several for a merge layer) before the layer runs; may return replacement inputs.
 */
export type ForwardPreHook = (layer: Layer, inputs: Tensor[]) => Tensor[] | void;
/**
 * A forward hook (`layer.addForwardHook`): called with the layer, its inputs and its output after
 * the layer runs; may return a replacement output (which the rest of the model then sees).
 */
export type ForwardHook = (layer: Layer, inputs: Tensor[], output: Tensor) => Tensor | void;

/** A named weight. `value` keeps its GPU buffer for life; optimisers update it in place. */
export class Weight {
  /** The weight's tensor (kept out of every scope); gradients land in `value.grad`. */
  value: Tensor;
  constructor(
    /** The Keras weight name ('kernel', 'bias', 'gamma', 'moving_mean', …). */
    readonly name: string,
    data: Float32Array,
    /** The weight's shape (Keras' layout: a conv kernel is [KH, KW, C, O]). */
    readonly shape: number[],
    /** False for statistics (BatchNormalization's moving mean and variance): optimisers leave them alone. */
    readonly trainable = true,
  ) {
    this.value = keep(tensor(data, shape));
    this.value.name = name;
    this.value.requiresGrad = trainable;
  }
  /** Replaces the values (same shape), e.g. when loading a file. */
  assign(data: Float32Array, source = 'assign'): void {
    const n = this.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`${source}: weight '${this.name}' expects ${fmtShapeOf(this.shape)} (${n} values), got ${data.length}`);
    this.value.storage.gpu.upload(this.value.buffer, data);
  }
  /** The current values, copied to the host. */
  async read(): Promise<Float32Array> {
    return (await this.value.data()) as Float32Array;
  }
  /** Frees the weight's GPU buffer. */
  dispose(): void {
    this.value.dispose();
  }
}

/**
 * A Keras layer: named weights in Keras' order, a Keras class name and config, and `call` from a batch tensor
 * to a batch tensor. Shapes given to and returned by a layer exclude the batch dimension, as Keras prints
 * them. Layers are used inside a `Sequential` or functional `Model`, which builds and calls them.
 */
export abstract class Layer {
  /** The Keras class name ('Conv2D', 'Dense', …), as in a model file's config. */
  abstract readonly className: string;
  /** The layer's name, unique in its model ('conv2d_1'); a model names unnamed layers as Keras does. */
  name: string;
  /**
   * The weights in Keras' order (kernel, bias; gamma, beta, moving_mean, moving_variance); empty until built.
   */
  weights: Weight[] = [];
  /** True once `build` has created the weights. */
  built = false;
  /** The input shape without the batch dimension; null until built. */
  inputShape: number[] | null = null;
  /** The output shape without the batch dimension; null until built. */
  outputShape: number[] | null = null;

  constructor(name?: string) {
    this.name = name ?? '';
  }

  /** Keras' automatic name base: Conv2D → conv2d, MaxPooling2D → max_pooling2d. */
  get baseName(): string {
    return kerasSnakeCase(this.className);
  }

  /** Creates weights for `inputShape` (batch excluded). */
  build(inputShape: number[], _rng: Rng): void {
    this.inputShape = inputShape;
    this.outputShape = this.computeOutputShape(inputShape);
    this.built = true;
  }

  /**
   * The output shape for `inputShape` (both without the batch dimension). Throws when the layer cannot take
   * that input.
   */
  abstract computeOutputShape(inputShape: number[]): number[];
  /**
   * The layer's forward pass on a batch `x` (batch first, NHWC for images), recorded for autograd. Call it
   * inside a scope (`tidy`) or the tensors it makes stay alive.
   */
  abstract call(x: Tensor, ctx: CallContext): Tensor;
  /** The layer-specific part of its Keras config (name, trainable and dtype are added by getConfig). */
  protected abstract kerasConfig(): Record<string, unknown>;

  /**
   * The layer's Keras config (name, trainable, dtype and the layer's own arguments, in Keras' snake_case), as
   * written to a model file.
   */
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: true, dtype: 'float32', ...this.kerasConfig() };
  }

  /** The weights optimisers update (all but statistics such as moving averages). */
  get trainableWeights(): Weight[] {
    return this.weights.filter((w) => w.trainable);
  }

  /** Drops the `.grad` that backward() accumulated on each weight (a model: all of its layers'). */
  zeroGrad(): void {
    for (const w of this.weights) w.value.zeroGrad();
  }

  /**
   * Called with the layer's pre-activation on every call (Dense, Conv2D): `pre.retainGrad()` or
   * `pre.onGrad(fn)` there gives its gradient. A fused conv2d+relu steps aside while hooks are set.
   * Returns a function that removes the hook.
   */
  onPreActivation(fn: (pre: Tensor) => void): () => void {
    this.preActivationHooks.push(fn);
    return () => {
      this.preActivationHooks = this.preActivationHooks.filter((f) => f !== fn);
    };
  }
  /** @internal The hooks added by onPreActivation. */
  preActivationHooks: ((pre: Tensor) => void)[] = [];

  /** Runs the pre-activation hooks on `pre` and returns it (for layers that apply an activation). */
  protected seenPreActivation(pre: Tensor): Tensor {
    for (const fn of this.preActivationHooks) fn(pre);
    return pre;
  }

  /**
   * Adds a hook called before the layer runs inside a model's forward (PyTorch's
   * register_forward_pre_hook), in the order added; it may return replacement inputs. A direct
   * `layer.call(x)` does not run hooks. Returns a function that removes the hook.
   */
  addForwardPreHook(fn: ForwardPreHook): () => void {
    this.forwardPreHooks.push(fn);
    return () => {
      this.forwardPreHooks = this.forwardPreHooks.filter((f) => f !== fn);
    };
  }
  /**
   * Adds a hook called after the layer runs inside a model's forward (PyTorch's
   * register_forward_hook), in the order added; it may return a replacement output. On the layer
   * whose pre-activation gives the model's logits, the logits stay those of the unreplaced output.
   * Returns a function that removes the hook.
   */
  addForwardHook(fn: ForwardHook): () => void {
    this.forwardHooks.push(fn);
    return () => {
      this.forwardHooks = this.forwardHooks.filter((f) => f !== fn);
    };
  }
  /**
   * Adds a hook called, during backward, with the gradient reaching this layer's output (each
   * forward's output within a model, once its gradient is complete); it may return a replacement,
   * which is what flows on into the layer (PyTorch's register_full_backward_pre_hook). It is a
   * forward hook putting `output.onGrad` on each output. Returns a function that removes it.
   */
  addBackwardHook(fn: (layer: Layer, gradOutput: Tensor) => Tensor | void): () => void {
    return this.addForwardHook((layer, _inputs, out) => void out.onGrad((g) => fn(layer, g)));
  }
  /** @internal The hooks added by addForwardPreHook. */
  forwardPreHooks: ForwardPreHook[] = [];
  /** @internal The hooks added by addForwardHook. */
  forwardHooks: ForwardHook[] = [];

  /** @internal Runs the pre-hooks: the inputs the layer is then called with. */
  runForwardPreHooks(inputs: Tensor[]): Tensor[] {
    for (const fn of this.forwardPreHooks) {
      const r = fn(this, inputs);
      if (r) {
        if (!Array.isArray(r) || r.length !== inputs.length)
          throw new Error(`forward pre-hook of layer '${this.name}' must return an array of ${inputs.length} tensor(s) or nothing`);
        inputs = r;
      }
    }
    return inputs;
  }
  /** @internal Runs the forward hooks: the output the model then sees. */
  runForwardHooks(inputs: Tensor[], output: Tensor): Tensor {
    for (const fn of this.forwardHooks) output = fn(this, inputs, output) ?? output;
    return output;
  }

  /** Number of weight values, trainable or not (Keras' count_params). */
  countParams(): number {
    return this.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Frees the layer's weights. */
  dispose(): void {
    for (const w of this.weights) w.dispose();
  }
}

/**
 * A layer whose output is `activation(preActivation(x))` (Dense, Conv2D). `Sequential.forward`
 * asks the layer applying the final softmax (nn/head.ts) for its pre-activation: the logits, from
 * which losses and Grad-CAM's 'logit' score are computed.
 */
export interface HasPreActivation {
  /** The Keras activation name applied after `preActivation` ('linear', 'relu', 'softmax', …). */
  readonly activation: string;
  /** The layer's output before its activation. */
  preActivation(x: Tensor): Tensor;
}

/** Whether `layer` implements HasPreActivation. */
export function hasPreActivation(layer: Layer): layer is Layer & HasPreActivation {
  const l = layer as Layer & Partial<HasPreActivation>;
  return typeof l.preActivation === 'function' && typeof l.activation === 'string';
}

/**
 * A layer called on several tensors at once (Add, Concatenate, …). The graph model (nn/model.ts)
 * builds it with `buildMany` and calls `callMany`; `inputShape` is the first input's shape.
 */
export abstract class MergeLayer extends Layer {
  /** Every input's shape (batch excluded); null until built. */
  inputShapes: number[][] | null = null;

  /** Creates weights (if any) for the inputs' shapes (batch excluded), checking they can merge. */
  buildMany(inputShapes: number[][], rng: Rng): void {
    if (inputShapes.length < 2) throw new Error(`${this.className} '${this.name}' needs at least 2 inputs, got ${inputShapes.length}`);
    this.inputShapes = inputShapes.map((s) => s.slice());
    this.inputShape = inputShapes[0];
    this.outputShape = this.computeOutputShapeMany(inputShapes);
    this.built = true;
  }

  /** The output shape for the inputs' shapes (batch excluded). Throws when they cannot merge. */
  abstract computeOutputShapeMany(inputShapes: number[][]): number[];
  /** The forward pass on several batch tensors at once. */
  abstract callMany(xs: Tensor[], ctx: CallContext): Tensor;

  /** Throws: a merge layer takes several inputs (use `computeOutputShapeMany`). */
  computeOutputShape(inputShape: number[]): number[] {
    throw new Error(`${this.className} '${this.name}' merges several inputs; it was given one ([${inputShape}])`);
  }
  /** A merge layer given one tensor: `callMany([x])`. */
  call(x: Tensor, ctx: CallContext): Tensor {
    return this.callMany([x], ctx);
  }
  override build(inputShape: number[], _rng: Rng): void {
    this.computeOutputShape(inputShape);
  }
}

export function isMergeLayer(l: Layer): l is MergeLayer {
  return l instanceof MergeLayer;
}
