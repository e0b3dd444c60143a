// A Keras application's architecture described once, before anything is built: unbuilt layers,
// the calls between them and the shapes. From one description come the Model (`build`), the
// weight shapes every layer needs (`weightShapes`: to recognise a weights file and check it
// without touching the GPU) and the order in which Keras lists the layers (`kerasOrder`: the
// order of a weights file's layer_names). The graph model builds a layer at its first call
// (random weights on the GPU), which is why this comes first.

import { Conv2D } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { DepthwiseConv2D } from '../layers/depthwise.ts';
import { Normalization } from '../layers/normalization.ts';
import { BatchNormalization } from '../layers/regularization.ts';
import { isMergeLayer, type Layer } from '../layer.ts';
import { Model, apply, input, type SymbolicTensor } from '../model.ts';

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

export class AppGraph {
  private readonly tensors: AppTensor[] = [];
  private inputName = 'input_1';

  input(shape: number[], name = 'input_1'): AppTensor {
    if (this.tensors.length) throw new Error(`AppGraph: one input per application (${this.inputName} exists)`);
    this.inputName = name;
    return this.add(null, [], shape);
  }

  /** Calls `layer` on `xs` (shapes from computeOutputShape; nothing is built). */
  call(layer: Layer, ...xs: AppTensor[]): AppTensor {
    if (!layer.name) throw new Error(`AppGraph: every layer needs its Keras name (a ${layer.className} has none)`);
    const shapes = xs.map((x) => x.shape);
    const shape = isMergeLayer(layer) ? layer.computeOutputShapeMany(shapes) : layer.computeOutputShape(shapes[0]);
    return this.add(layer, xs, shape);
  }

  private add(layer: Layer | null, inputs: AppTensor[], shape: number[]): AppTensor {
    const t = { layer, inputs, shape, id: this.tensors.length };
    this.tensors.push(t);
    return t;
  }

  /**
   * The layers as Keras' model.layers lists them (and a weights file's layer_names): by depth (the
   * longest path to the output) decreasing, ties in the order a depth-first walk from the output
   * first meets them; the same rule as Model's own ordering, so the two agree.
   */
  kerasOrder(output: AppTensor): Layer[] {
    const n = this.tensors.length;
    const depth = new Array<number>(n).fill(0);
    for (let i = output.id; i >= 0; i--) for (const x of this.tensors[i].inputs) depth[x.id] = Math.max(depth[x.id], depth[i] + 1);
    const first = new Map<number, number>();
    const walk = (t: AppTensor): void => {
      if (first.has(t.id)) return;
      first.set(t.id, first.size);
      for (const x of t.inputs) walk(x);
    };
    walk(output);
    return [...first.keys()]
      .filter((i) => this.tensors[i].layer)
      .sort((a, b) => depth[b] - depth[a] || first.get(a)! - first.get(b)!)
      .map((i) => this.tensors[i].layer!);
  }

  /** Each layer's input shape (its first input's), by layer. */
  private inputShapes(output: AppTensor): Map<Layer, number[]> {
    const m = new Map<Layer, number[]>();
    for (const t of this.tensors.slice(0, output.id + 1)) if (t.layer && !m.has(t.layer)) m.set(t.layer, t.inputs[0].shape);
    return m;
  }

  /** The weights every layer will have, in Keras order (weightless layers give []). */
  weightShapes(output: AppTensor): { layer: string; weights: WeightShape[] }[] {
    const ins = this.inputShapes(output);
    return this.kerasOrder(output).map((l) => ({ layer: l.name, weights: layerWeightShapes(l, ins.get(l)!) }));
  }

  /** The Model (built: each layer gets random weights at its first call). */
  build(output: AppTensor, name: string): Model {
    const sym = new Map<number, SymbolicTensor>();
    const get = (t: AppTensor): SymbolicTensor => {
      let s = sym.get(t.id);
      if (!s) {
        s = t.layer ? apply(t.layer, ...t.inputs.map(get)) : input(t.shape, this.inputName);
        sym.set(t.id, s);
      }
      return s;
    };
    const out = get(output);
    return new Model({ inputs: get(this.tensors[0]), outputs: out, name });
  }
}

/** The weights (Keras names and order) `layer` creates for inputs of `inShape` (batch excluded). */
export function layerWeightShapes(l: Layer, inShape: number[]): WeightShape[] {
  const c = inShape[inShape.length - 1];
  if (l instanceof Conv2D) {
    const out = [{ name: 'kernel', shape: [...l.kernelSize, c / l.groups, l.filters] }];
    return l.useBias ? [...out, { name: 'bias', shape: [l.filters] }] : out;
  }
  if (l instanceof DepthwiseConv2D) {
    const out = [{ name: 'depthwise_kernel', shape: [...l.kernelSize, c, l.depthMultiplier] }];
    return l.useBias ? [...out, { name: 'bias', shape: [c * l.depthMultiplier] }] : out;
  }
  if (l instanceof Dense) {
    const out = [{ name: 'kernel', shape: [c, l.units] }];
    return l.useBias ? [...out, { name: 'bias', shape: [l.units] }] : out;
  }
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

/** Keras' parameter count of a description (non-trainable ones included, as model.summary()). */
export function countParams(shapes: { weights: WeightShape[] }[]): number {
  return shapes.reduce((s, l) => s + l.weights.reduce((t, w) => t + w.shape.reduce((a, b) => a * b, 1), 0), 0);
}
