// Sequential: the graph model (model.ts) whose nodes are a chain, built from an ordered list of
// layers with Keras' naming (conv2d, conv2d_1, …) and its own config layout. Everything else —
// forward with captures, logits, predict — is the graph's.

import type { Layer } from './layer.ts';
import { InputLayer } from './layers/simple.ts';
import { Model } from './model.ts';

export type { ForwardResult } from './model.ts';

/**
 * Keras' Sequential: a chain of layers added with `add`; named as Keras names them. Builds when the
 * input shape is known (an InputLayer first, or `build(shape)`); then it is a `Model` with the same
 * forward, predict and files.
 */
export class Sequential extends Model {
  /** 'Sequential'. */
  override readonly className: string = 'Sequential';
  private readonly list: Layer[] = [];
  private counters = new Map<string, number>();
  private inputName: string | null = null;

  constructor(name = 'sequential', seed = 1) {
    super({ name, seed });
    this.inputShape = null as unknown as number[];
  }

  /** Adds a layer, naming it as Keras does (conv2d, conv2d_1, …) when it has no name. */
  add(layer: Layer): this {
    if (layer instanceof InputLayer) {
      this.inputShape = layer.shape;
      this.inputName = layer.name || null;
      return this;
    }
    if (!layer.name) {
      const base = layer.baseName;
      const n = this.counters.get(base) ?? 0;
      this.counters.set(base, n + 1);
      layer.name = n === 0 ? base : `${base}_${n}`;
    }
    if (this.list.some((l) => l.name === layer.name)) throw new Error(`model '${this.name}' already has a layer named '${layer.name}'`);
    this.list.push(layer);
    this.nodes.length = 0;
    this.built = false;
    return this;
  }

  override get layers(): Layer[] {
    return this.list;
  }

  /** Creates every weight for inputs of `inputShape` (batch excluded): the chain's nodes. */
  override build(inputShape?: number[]): this {
    const shape = inputShape ?? this.inputShape;
    if (!shape) throw new Error(`model '${this.name}': build() needs an input shape`);
    if (this.built && shape.join() === this.inputShape.join()) return this;
    this.nodes.length = 0;
    this.inputNodes = [];
    const calls = new Map<Layer, number>();
    const input = new InputLayer(shape, this.inputName ?? `${this.list[0]?.name ?? this.name}_input`);
    this.inputNodes.push(this.addNode(input, [], calls, [shape]));
    for (const l of this.list) this.addNode(l, [{ node: this.nodes.length - 1, out: 0 }], calls, null);
    this.outputRefs = [{ node: this.nodes.length - 1, out: 0 }];
    this.finishBuild();
    return this;
  }

  /** Keras model_config for this model (class Sequential, tf.keras 2 layout). */
  override toKerasConfig(): Record<string, unknown> {
    if (!this.built) this.build();
    const layers: unknown[] = [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, ...this.inputShape], dtype: 'float32', sparse: false, ragged: false, name: this.inputLayers[0].name } },
      ...this.list.map((l) => ({ class_name: l.className, config: l instanceof Model ? l.toKerasConfig().config : l.getConfig() })),
    ];
    return { class_name: 'Sequential', config: { name: this.name, layers } };
  }
}
