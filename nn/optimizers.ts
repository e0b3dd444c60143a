// Optimisers with Keras' defaults. State (Adam's m and v, SGD's velocity) lives on the GPU per
// weight; each update is one in-place kernel per weight, recorded into the step's batch.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import type { Weight } from './layer.ts';

/** An optimiser: updates weights in place from their gradients (`Adam`, `SGD`, or your own). */
export interface Optimizer {
  /** The Keras class name ('Adam', 'SGD'). */
  readonly name: string;
  /** Updates applied so far (Keras' iterations). */
  iterations: number;
  /**
   * One update. `grads` from E.grad(); without them, each weight's `.grad` from backward()
   * (PyTorch's optimizer.step()), which then still holds it: call zeroGrad before the next backward.
   */
  apply(weights: Weight[], grads?: Tensor[]): void;
  /** Drops the weights' accumulated `.grad` (PyTorch's optimizer.zero_grad()). */
  zeroGrad?(weights: Weight[]): void;
  /** The Keras optimizer config (snake_case), as a model file's training_config stores it. */
  getConfig(): Record<string, unknown>;
  /** Frees the optimiser's GPU state (moments, velocities). */
  dispose(): void;
}

/** The gradients an update uses: given, or each weight's accumulated `.grad`. */
function gradsFor(opt: string, weights: Weight[], grads?: Tensor[]): Tensor[] {
  if (grads) {
    if (grads.length !== weights.length) throw new Error(`${opt}.apply: ${grads.length} gradients for ${weights.length} weights`);
    return grads;
  }
  return weights.map((w) => {
    if (!w.value.grad) throw new Error(`${opt}.apply: weight '${w.value.name ?? w.name}' has no .grad: call backward(loss) first, or pass the gradients`);
    return w.value.grad;
  });
}

/** Drops each weight's accumulated `.grad` (PyTorch's zero_grad). */
export function zeroGrad(weights: Weight[]): void {
  for (const w of weights) w.value.zeroGrad();
}

/**
 * Keras' Adam (defaults: learning rate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7). Keeps two
 * moment tensors per weight on the GPU; `dispose()` frees them.
 */
export class Adam implements Optimizer {
  readonly name = 'Adam';
  iterations = 0;
  private state = new Map<Weight, { m: Tensor; v: Tensor }>();
  constructor(
    /** Step size; default 1e-3. */
    public learningRate = 1e-3,
    /** Decay of the first-moment average; default 0.9. */
    public beta1 = 0.9,
    /** Decay of the second-moment average; default 0.999. */
    public beta2 = 0.999,
    /** Added to the denominator's square root; default 1e-7. */
    public epsilon = 1e-7,
  ) {}

  apply(weights: Weight[], given?: Tensor[]): void {
    const grads = gradsFor(this.name, weights, given);
    this.iterations++;
    E.noGrad(() =>
      weights.forEach((w, i) => {
        let s = this.state.get(w);
        if (!s) {
          s = { m: E.keep(E.zeros(w.shape)), v: E.keep(E.zeros(w.shape)) };
          this.state.set(w, s);
        }
        E.adamStep(w.value, grads[i], s.m, s.v, {
          lr: this.learningRate,
          beta1: this.beta1,
          beta2: this.beta2,
          epsilon: this.epsilon,
          step: this.iterations,
        });
      }),
    );
  }

  zeroGrad(weights: Weight[]): void {
    zeroGrad(weights);
  }

  getConfig() {
    return { name: 'Adam', learning_rate: this.learningRate, decay: 0, beta_1: this.beta1, beta_2: this.beta2, epsilon: this.epsilon, amsgrad: false };
  }

  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }
}

/**
 * Keras' SGD (defaults: learning rate 0.01, no momentum). Keeps a velocity per weight on the GPU
 * when momentum > 0; `dispose()` frees it.
 */
export class SGD implements Optimizer {
  readonly name = 'SGD';
  iterations = 0;
  private velocity = new Map<Weight, Tensor>();
  constructor(
    /** Step size; default 0.01. */
    public learningRate = 0.01,
    /** Momentum; default 0 (plain SGD). */
    public momentum = 0,
    /** Nesterov momentum; default false. */
    public nesterov = false,
  ) {}

  apply(weights: Weight[], given?: Tensor[]): void {
    const grads = gradsFor(this.name, weights, given);
    this.iterations++;
    E.noGrad(() =>
      weights.forEach((w, i) => {
        let v = this.velocity.get(w);
        if (!v && this.momentum > 0) {
          v = E.keep(E.zeros(w.shape));
          this.velocity.set(w, v);
        }
        E.sgdStep(w.value, grads[i], v ?? null, { lr: this.learningRate, momentum: this.momentum, nesterov: this.nesterov });
      }),
    );
  }

  zeroGrad(weights: Weight[]): void {
    zeroGrad(weights);
  }

  getConfig() {
    return { name: 'SGD', learning_rate: this.learningRate, decay: 0, momentum: this.momentum, nesterov: this.nesterov };
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}

export function optimizerFrom(spec: string | Optimizer): Optimizer {
  if (typeof spec !== 'string') return spec;
  switch (spec.toLowerCase()) {
    case 'adam':
      return new Adam();
    case 'sgd':
      return new SGD();
    default:
      throw new Error(`unknown optimizer '${spec}' (known: adam, sgd)`);
  }
}
