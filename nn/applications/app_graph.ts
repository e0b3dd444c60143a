// A Keras application's architecture described once, before anything is built: unbuilt layers,
// the calls between them and the shapes. From one description come the Model (`build`), the
// weight shapes every layer needs (`weightShapes`: to recognise a weights file, check it and
// write one without touching the GPU), the order in which Keras lists the layers (`layers`: the
// order of a weights file's layer_names and of Keras' load_weights by order) and the order they
// were created in (`created`: Keras 1 and 2 number their automatic names in it). The graph model
// builds a layer at its first call (random weights on the GPU), which is why this comes first.
// Every family (VGG16 aside) is described here, and checks its options with `appOptions`.

import { Conv2D } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { DepthwiseConv2D } from '../layers/depthwise.ts';
import { Normalization } from '../layers/normalization.ts';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../layers/pooling.ts';
import { BatchNormalization, Dropout } from '../layers/regularization.ts';
import { SeparableConv2D } from '../layers/separable.ts';
import { isMergeLayer, type Layer } from '../layer.ts';
import { Model, apply, input, type SymbolicTensor } from '../model.ts';
import type { AppOptions } from './registry.ts';

/** A tensor of the description: the output of `layer` called on `inputs` (none for the input). */
export interface AppTensor {
  readonly layer: Layer | null;
  readonly inputs: AppTensor[];
  readonly shape: number[];
  readonly id: number;
}

export interface WeightShape {
  name: string;
  shape: number[];
}

/** A layer's weights as a file holds them: Keras' short names (kernel, bias; gamma, beta, …) and shapes. */
export interface LayerShapes {
  layer: string;
  weights: WeightShape[];
}

export class AppGraph {
  private readonly tensors: AppTensor[] = [];
  private out: AppTensor | null = null;
  private order: Layer[] | null = null;
  inputName = 'input_1';

  /** `name`: the Model's name (Keras' model.name: 'xception', 'mobilenet_1.00_224', …). */
  constructor(readonly name: string) {}

  input(shape: number[], name = 'input_1'): AppTensor {
    if (this.tensors.length) throw new Error(`AppGraph '${this.name}': one input per application (${this.inputName} exists)`);
    this.inputName = name;
    return this.add(null, [], shape);
  }

  /** Calls `layer` on `xs` (shapes from computeOutputShape; nothing is built). */
  call(layer: Layer, ...xs: AppTensor[]): AppTensor {
    if (this.out) throw new Error(`AppGraph '${this.name}': layer '${layer.name}' called after the output was set`);
    if (!layer.name) throw new Error(`AppGraph '${this.name}': every layer needs its Keras name (a ${layer.className} has none)`);
    const shapes = xs.map((x) => x.shape);
    const shape = isMergeLayer(layer) ? layer.computeOutputShapeMany(shapes) : layer.computeOutputShape(shapes[0]);
    if (shape.some((d) => !(d >= 1))) throw new Error(`AppGraph '${this.name}': layer '${layer.name}' would output [${shape}] from [${shapes.join('] + [')}]: the input is too small`);
    return this.add(layer, xs, shape);
  }

  /** Ends the description: `t` is the model's output. */
  output(t: AppTensor): this {
    this.out = t;
    return this;
  }

  /**
   * Ends the description with Keras' top on `x`: with includeTop, `top.custom(x)` or global average
   * pooling (`top.pool`, default `top.avg`), an optional Dropout and the Dense classifier
   * `top.dense`; without, the global pooling asked for (`top.avg`, `top.max`) or none.
   */
  top(x: AppTensor, o: CheckedAppOptions, top: AppTop): this {
    if (o.includeTop) {
      if (top.custom) x = top.custom(x);
      else {
        x = this.call(new GlobalAveragePooling2D({ name: top.pool ?? top.avg }), x);
        if (top.dropout && top.dropout.rate > 0) x = this.call(new Dropout(top.dropout.rate, top.dropout.name), x);
        x = this.call(new Dense({ name: top.dense ?? 'predictions', units: o.classes, activation: o.classifierActivation }), x);
      }
    } else if (o.pooling === 'avg') x = this.call(new GlobalAveragePooling2D({ name: top.avg }), x);
    else if (o.pooling === 'max') x = this.call(new GlobalMaxPooling2D({ name: top.max }), x);
    return this.output(x);
  }

  private add(layer: Layer | null, inputs: AppTensor[], shape: number[]): AppTensor {
    const t = { layer, inputs, shape, id: this.tensors.length };
    this.tensors.push(t);
    return t;
  }

  private get end(): AppTensor {
    if (!this.out) throw new Error(`AppGraph '${this.name}': no output set`);
    return this.out;
  }

  /** The layers in the order they were created (each is called once). */
  created(): Layer[] {
    return this.tensors.slice(1, this.end.id + 1).map((t) => t.layer!);
  }

  /**
   * The layers as Keras' model.layers lists them (and a weights file's layer_names), the input
   * aside: by depth (the longest path to the output) decreasing, ties in the order a depth-first
   * walk from the output first meets them; the same rule as Model's own ordering, so the two agree.
   */
  layers(): Layer[] {
    if (this.order) return this.order;
    const end = this.end;
    const depth = new Array<number>(end.id + 1).fill(0);
    for (let i = end.id; i >= 0; i--) for (const x of this.tensors[i].inputs) depth[x.id] = Math.max(depth[x.id], depth[i] + 1);
    const first = new Map<number, number>();
    const walk = (t: AppTensor): void => {
      if (first.has(t.id)) return;
      first.set(t.id, first.size);
      for (const x of t.inputs) walk(x);
    };
    walk(end);
    this.order = [...first.keys()]
      .filter((i) => this.tensors[i].layer)
      .sort((a, b) => depth[b] - depth[a] || first.get(a)! - first.get(b)!)
      .map((i) => this.tensors[i].layer!);
    return this.order;
  }

  layerNames(): string[] {
    return this.layers().map((l) => l.name);
  }

  /** The tensor a layer outputs. */
  private tensorOf(name: string): AppTensor {
    const t = this.tensors.find((x) => x.layer?.name === name);
    if (!t) throw new Error(`AppGraph '${this.name}': no layer '${name}'`);
    return t;
  }

  layer(name: string): Layer {
    return this.tensorOf(name).layer!;
  }

  /** The output shape (batch excluded) of layer `name`, or of the model. */
  outputShape(name?: string): number[] {
    return (name === undefined ? this.end : this.tensorOf(name)).shape;
  }

  /** The weights every layer will have, in Keras order (weightless layers give []). */
  weightShapes(): LayerShapes[] {
    return this.layers().map((l) => {
      const t = this.tensors.find((x) => x.layer === l)!;
      return { layer: l.name, weights: layerWeightShapes(l, t.inputs[0].shape) };
    });
  }

  /** Keras' parameter count (non-trainable ones included, as model.summary()). */
  countParams(): number {
    return this.weightShapes().reduce((s, l) => s + l.weights.reduce((t, w) => t + w.shape.reduce((a, b) => a * b, 1), 0), 0);
  }

  /** The Model, each layer applied in creation order (and built at that call: random weights). */
  build(): Model {
    const sym: SymbolicTensor[] = [];
    for (const t of this.tensors.slice(0, this.end.id + 1)) sym.push(t.layer ? apply(t.layer, ...t.inputs.map((x) => sym[x.id])) : input(t.shape, this.inputName));
    return new Model({ inputs: sym[0], outputs: sym[this.end.id], name: this.name });
  }
}

/** The weights (Keras names and order) `layer` creates for inputs of `inShape` (batch excluded). */
export function layerWeightShapes(l: Layer, inShape: number[]): WeightShape[] {
  const c = inShape[inShape.length - 1];
  const bias = (useBias: boolean, n: number) => (useBias ? [{ name: 'bias', shape: [n] }] : []);
  if (l instanceof Conv2D) return [{ name: 'kernel', shape: [...l.kernelSize, c / l.groups, l.filters] }, ...bias(l.useBias, l.filters)];
  if (l instanceof DepthwiseConv2D) return [{ name: 'depthwise_kernel', shape: [...l.kernelSize, c, l.depthMultiplier] }, ...bias(l.useBias, c * l.depthMultiplier)];
  if (l instanceof SeparableConv2D) {
    const m = c * l.depthMultiplier;
    return [{ name: 'depthwise_kernel', shape: [...l.kernelSize, c, l.depthMultiplier] }, { name: 'pointwise_kernel', shape: [1, 1, m, l.filters] }, ...bias(l.useBias, l.filters)];
  }
  if (l instanceof Dense) return [{ name: 'kernel', shape: [c, l.units] }, ...bias(l.useBias, l.units)];
  if (l instanceof BatchNormalization) {
    const w: WeightShape[] = [];
    if (l.scaleOn) w.push({ name: 'gamma', shape: [c] });
    if (l.center) w.push({ name: 'beta', shape: [c] });
    return [...w, { name: 'moving_mean', shape: [c] }, { name: 'moving_variance', shape: [c] }];
  }
  if (l instanceof Normalization) {
    if (l.mean !== null) return [];
    if (l.axis !== -1 && l.axis !== inShape.length) throw new Error(`layerWeightShapes: Normalization '${l.name}' on axis ${JSON.stringify(l.axis)}; only the last axis is described`);
    return [{ name: 'mean', shape: [c] }, { name: 'variance', shape: [c] }, { name: 'count', shape: [] }];
  }
  return [];
}

/** The layer names of a family's top (AppGraph.top). */
export interface AppTop {
  /** Global pooling without the top ('avg' / 'max'). */
  avg: string;
  max: string;
  /** With the top: the pooling (default `avg`), Dropout, the classifier (default 'predictions'). */
  pool?: string;
  dropout?: { rate: number; name: string };
  dense?: string;
  /** With the top, instead of pooling and Dense (MobileNet's 1×1 convolution classifier). */
  custom?: (x: AppTensor) => AppTensor;
}

export interface AppOptionRules {
  /** Default input side (224, 299). */
  size: number;
  /** Keras' minimum input side (obtain_input_shape's min_size); default 32. */
  minSize?: number;
  /** Whether the family has a width multiplier (alpha); the others refuse one. */
  alpha?: boolean;
}

export type CheckedAppOptions = Required<Pick<AppOptions, 'includeTop' | 'classes' | 'classifierActivation'>> & {
  pooling: 'avg' | 'max' | null;
  inputShape: [number, number, number];
};

/** The options checked as keras.applications checks them (without ImageNet weights), defaults filled. */
export function appOptions(app: string, o: AppOptions, r: AppOptionRules): CheckedAppOptions {
  if (o.alpha !== undefined && !r.alpha) throw new Error(`${app}: has no width multiplier (alpha ${o.alpha} given)`);
  const classes = o.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`${app}: classes must be a positive integer, got ${o.classes}`);
  const classifierActivation = o.classifierActivation ?? 'softmax';
  if (classifierActivation !== 'softmax' && classifierActivation !== 'linear') throw new Error(`${app}: classifierActivation must be 'softmax' or 'linear', got '${String(classifierActivation)}'`);
  const pooling = o.pooling ?? null;
  if (pooling !== null && pooling !== 'avg' && pooling !== 'max') throw new Error(`${app}: pooling must be 'avg', 'max' or null, got '${String(pooling)}'`);
  const s = o.inputShape ?? [r.size, r.size, 3];
  if (s.length !== 3 || !s.every((d) => Number.isInteger(d) && d >= 1))
    throw new Error(`${app}: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(s)}`);
  const min = r.minSize ?? 32;
  if (s[0] < min || s[1] < min) throw new Error(`${app}: input size must be at least ${min}×${min} (Keras' minimum), got ${s[0]}×${s[1]}`);
  return { includeTop: o.includeTop ?? true, classes, classifierActivation, pooling, inputShape: [s[0], s[1], s[2]] };
}
