// Sequential model: an ordered list of layers with Keras' naming, summary and config, a
// forward pass that can capture any layer's output (what CAM needs), and predict.
// Training lives in fit.ts, model files in model_file.ts.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import { Layer, hasPreActivation, type CallContext, type Weight } from './layer.ts';
import { finalSoftmax } from './head.ts';
import { InputLayer } from './layers/simple.ts';
import { Rng } from './random.ts';

export interface ForwardResult {
  output: Tensor;
  /** Outputs of the layers asked for, by name. */
  captured: Map<string, Tensor>;
  /**
   * The input of the model's final softmax, [N, C] like the output (see nn/head.ts: a Dense/Conv
   * softmax activation, or an Activation/Softmax layer, followed by Reshape/Flatten or not);
   * null for a model without one.
   */
  logits: Tensor | null;
}

export class Sequential {
  readonly layers: Layer[] = [];
  inputShape: number[] | null = null;
  readonly rng: Rng;
  private counters = new Map<string, number>();

  constructor(
    readonly name = 'sequential',
    seed = 1,
  ) {
    this.rng = new Rng(seed);
  }

  /** Adds a layer, naming it as Keras does (conv2d, conv2d_1, …) when it has no name. */
  add(layer: Layer): this {
    if (layer instanceof InputLayer) {
      this.inputShape = layer.shape;
      return this;
    }
    if (!layer.name) {
      const base = layer.baseName;
      const n = this.counters.get(base) ?? 0;
      this.counters.set(base, n + 1);
      layer.name = n === 0 ? base : `${base}_${n}`;
    }
    if (this.layers.some((l) => l.name === layer.name)) throw new Error(`model '${this.name}' already has a layer named '${layer.name}'`);
    this.layers.push(layer);
    return this;
  }

  /** Creates every weight for inputs of `inputShape` (batch excluded). */
  build(inputShape?: number[]): this {
    const shape = inputShape ?? this.inputShape;
    if (!shape) throw new Error(`model '${this.name}': build() needs an input shape`);
    this.inputShape = shape;
    let s = shape;
    for (const l of this.layers) {
      if (!l.built) l.build(s, this.rng);
      else if (l.inputShape && l.inputShape.join() !== s.join())
        throw new Error(`layer '${l.name}' was built for [${l.inputShape}] but receives [${s}]`);
      s = l.outputShape!;
    }
    return this;
  }

  get built(): boolean {
    return this.layers.every((l) => l.built) && this.inputShape !== null;
  }

  get outputShape(): number[] {
    return this.layers[this.layers.length - 1].outputShape!;
  }

  getLayer(name: string): Layer {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw new Error(`model '${this.name}' has no layer '${name}' (layers: ${this.layers.map((x) => x.name).join(', ')})`);
    return l;
  }

  get weights(): Weight[] {
    return this.layers.flatMap((l) => l.weights);
  }

  get trainableWeights(): Weight[] {
    return this.layers.flatMap((l) => l.trainableWeights);
  }

  countParams(): number {
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** Runs the layers; x is [N, ...inputShape]. */
  forward(x: Tensor, ctx: CallContext = { training: false }, capture: string[] = []): ForwardResult {
    if (!this.built) this.build(x.shape.slice(1));
    const want = new Set(capture);
    for (const name of want) this.getLayer(name);
    const expect = this.inputShape!;
    if (x.rank !== expect.length + 1 || expect.some((d, i) => d !== x.shape[i + 1]))
      throw new Error(`model '${this.name}' expects input [N, ${expect.join(', ')}], got [${x.shape.join(', ')}]`);
    const captured = new Map<string, Tensor>();
    let h = x;
    let pre: Tensor | null = null;
    const site = finalSoftmax(this.layers);
    for (const [i, l] of this.layers.entries()) {
      if (site?.index === i && site.kind === 'pre-activation' && hasPreActivation(l)) {
        pre = l.preActivation(h);
        h = E.softmax(pre, -1);
      } else {
        if (site?.index === i) pre = h;
        h = l.call(h, ctx);
      }
      if (want.has(l.name)) {
        if (ctx.watch && !h.requiresGrad) h.requiresGrad = true;
        captured.set(l.name, h);
      }
    }
    // Only shape-only layers follow the softmax: the logits in the output's [N, C] layout.
    const logits = pre === null ? null : E.reshape(pre, [x.shape[0], h.size / x.shape[0]]);
    return { output: h, captured, logits };
  }

  /**
   * The largest batch (≤ requested) whose biggest activation fits one storage binding of the
   * adapter (lavapipe allows 128 MiB: cam2 at batch 500 would need 200 MB in one tensor).
   */
  safeBatch(requested: number): number {
    if (!this.built) this.build();
    const per = Math.max(...this.layers.map((l) => l.outputShape!.reduce((a, b) => a * b, 1)), this.inputShape!.reduce((a, b) => a * b, 1));
    const limit = E.gpu().limits.maxStorageBufferBindingSize;
    return Math.max(1, Math.min(requested, Math.floor(limit / (per * 4))));
  }

  /** Class probabilities (or outputs) for host data, in batches; one readback per batch. */
  async predict(x: Float32Array, batchSize = 256): Promise<Float32Array> {
    batchSize = this.safeBatch(batchSize);
    const per = this.inputShape!.reduce((a, b) => a * b, 1);
    const n = x.length / per;
    const outPer = this.outputShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * outPer);
    for (let s = 0; s < n; s += batchSize) {
      const b = Math.min(batchSize, n - s);
      const y = await E.tidy(() => {
        const out = E.noGrad(() => this.forward(E.tensor(x.subarray(s * per, (s + b) * per), [b, ...this.inputShape!])).output);
        return out.data();
      });
      out.set(y as Float32Array, s * outPer);
    }
    return out;
  }

  /** Keras model_config for this model (class Sequential, tf.keras 2 layout). */
  toKerasConfig(): Record<string, unknown> {
    const layers: unknown[] = [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, ...this.inputShape!], dtype: 'float32', sparse: false, ragged: false, name: `${this.layers[0].name}_input` } },
      ...this.layers.map((l) => ({ class_name: l.className, config: l.getConfig() })),
    ];
    return { class_name: 'Sequential', config: { name: this.name, layers } };
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
