// A Keras application described as data: each layer's Keras name, kind and options, and the layers
// it is called on, in the order keras.applications creates them (each layer called once). From
// that one description come the Model (built through nn/model.ts), the weight shapes without
// building anything (to recognise a weights file, and to write one), and Keras' model.layers order
// (functional._map_graph_network), which is the order of `layer_names` in Keras' weight files and
// the order `model.load_weights` matches layers by when the names differ (Xception's file).

import { BatchNormalization } from '../layers/regularization.ts';
import { Conv2D, convOut } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { Add, Concatenate } from '../layers/merge.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.ts';
import { SeparableConv2D } from '../layers/separable.ts';
import { Activation } from '../layers/simple.ts';
import type { Layer } from '../layer.ts';
import { apply, input, Model, type SymbolicTensor } from '../model.ts';
import type { AppOptions } from './registry.ts';

type Pad = 'same' | 'valid';

export type LayerKind =
  | { kind: 'input'; shape: [number, number, number] }
  | { kind: 'conv'; filters: number; kernel: [number, number]; strides: number; padding: Pad; useBias: boolean }
  | { kind: 'sepconv'; filters: number; kernel: [number, number]; padding: Pad; useBias: boolean }
  | { kind: 'bn'; scale: boolean; epsilon: number }
  | { kind: 'act'; fn: string }
  | { kind: 'maxpool' | 'avgpool'; pool: number; strides: number; padding: Pad }
  | { kind: 'add' }
  | { kind: 'concat' }
  | { kind: 'gap' | 'gmp' }
  | { kind: 'dense'; units: number; activation: string };

export type LayerSpec = LayerKind & {
  name: string;
  /** Names of the layers whose outputs it takes, in call order (none for the input). */
  inputs: string[];
};

/** The weights a spec layer holds, Keras' names and order (kernel, bias; gamma, beta, moving_mean, moving_variance). */
export interface SpecWeight {
  name: string;
  shape: number[];
}

export interface SpecShapes {
  /** Output shape of each layer (batch excluded). */
  out: Map<string, number[]>;
  weights: Map<string, SpecWeight[]>;
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Output and weight shapes of every layer, by Keras' rules, without creating anything. */
export function specShapes(spec: readonly LayerSpec[]): SpecShapes {
  const out = new Map<string, number[]>();
  const weights = new Map<string, SpecWeight[]>();
  for (const s of spec) {
    const ins = s.inputs.map((n) => {
      const v = out.get(n);
      if (!v) throw new Error(`layer '${s.name}' is called on '${n}', which is not defined before it`);
      return v;
    });
    const x = ins[0];
    let o: number[];
    let w: SpecWeight[] = [];
    switch (s.kind) {
      case 'input':
        o = [...s.shape];
        break;
      case 'conv':
        o = [convOut(x[0], s.kernel[0], s.strides, s.padding), convOut(x[1], s.kernel[1], s.strides, s.padding), s.filters];
        w = [{ name: 'kernel', shape: [...s.kernel, x[2], s.filters] }];
        if (s.useBias) w.push({ name: 'bias', shape: [s.filters] });
        break;
      case 'sepconv':
        o = [convOut(x[0], s.kernel[0], 1, s.padding), convOut(x[1], s.kernel[1], 1, s.padding), s.filters];
        w = [{ name: 'depthwise_kernel', shape: [...s.kernel, x[2], 1] }, { name: 'pointwise_kernel', shape: [1, 1, x[2], s.filters] }];
        if (s.useBias) w.push({ name: 'bias', shape: [s.filters] });
        break;
      case 'bn': {
        const c = [x[x.length - 1]];
        w = [...(s.scale ? [{ name: 'gamma', shape: c }] : []), { name: 'beta', shape: c }, { name: 'moving_mean', shape: c }, { name: 'moving_variance', shape: c }];
        o = x;
        break;
      }
      case 'act':
        o = x;
        break;
      case 'maxpool':
      case 'avgpool':
        o = [convOut(x[0], s.pool, s.strides, s.padding), convOut(x[1], s.pool, s.strides, s.padding), x[2]];
        break;
      case 'add':
        if (ins.some((v) => v.join() !== x.join())) throw new Error(`layer '${s.name}' adds ${ins.map(fmt).join(' + ')}`);
        o = x;
        break;
      case 'concat':
        if (ins.some((v) => v[0] !== x[0] || v[1] !== x[1])) throw new Error(`layer '${s.name}' concatenates ${ins.map(fmt).join(' + ')}`);
        o = [x[0], x[1], ins.reduce((a, v) => a + v[2], 0)];
        break;
      case 'gap':
      case 'gmp':
        o = [x[2]];
        break;
      case 'dense':
        o = [s.units];
        w = [{ name: 'kernel', shape: [x[0], s.units] }, { name: 'bias', shape: [s.units] }];
        break;
    }
    if (o.some((d) => !(d >= 1))) throw new Error(`layer '${s.name}' would output ${fmt(o)} from ${ins.map(fmt).join(' + ')}: the input is too small`);
    out.set(s.name, o);
    weights.set(s.name, w);
  }
  return { out, weights };
}

/** The Lanterna layer of a spec entry. */
function makeLayer(s: LayerSpec): Layer {
  switch (s.kind) {
    case 'conv':
      return new Conv2D({ name: s.name, filters: s.filters, kernelSize: s.kernel, strides: s.strides, padding: s.padding, useBias: s.useBias });
    case 'sepconv':
      return new SeparableConv2D({ name: s.name, filters: s.filters, kernelSize: s.kernel, padding: s.padding, useBias: s.useBias });
    case 'bn':
      return new BatchNormalization(0.99, s.epsilon, true, s.scale, s.name);
    case 'act':
      return new Activation(s.fn, s.name);
    case 'maxpool':
      return new MaxPooling2D({ name: s.name, poolSize: s.pool, strides: s.strides, padding: s.padding });
    case 'avgpool':
      return new AveragePooling2D({ name: s.name, poolSize: s.pool, strides: s.strides, padding: s.padding });
    case 'add':
      return new Add(s.name);
    case 'concat':
      return new Concatenate(-1, s.name);
    case 'gap':
      return new GlobalAveragePooling2D({ name: s.name });
    case 'gmp':
      return new GlobalMaxPooling2D({ name: s.name });
    case 'dense':
      return new Dense({ name: s.name, units: s.units, activation: s.activation });
    case 'input':
      throw new Error(`layer '${s.name}': the input is not a layer to make`);
  }
}

/** Builds the model (random weights); its output is the last layer of the spec. */
export function buildSpec(spec: readonly LayerSpec[], name: string): Model {
  const t = new Map<string, SymbolicTensor>();
  for (const s of spec) t.set(s.name, s.kind === 'input' ? input([...s.shape], s.name) : apply(makeLayer(s), ...s.inputs.map((n) => t.get(n)!)));
  return new Model({ inputs: t.get(spec[0].name)!, outputs: t.get(spec[spec.length - 1].name)!, name });
}

/**
 * Keras' model.layers order (input first): by depth — the longest path to the output — from the
 * deepest, ties in the order a depth-first walk from the output, visiting each layer's inputs in
 * call order, first meets them. nn/model.ts orders a built Model's nodes the same way.
 */
export function kerasLayerOrder(spec: readonly LayerSpec[]): string[] {
  const index = new Map(spec.map((s, i) => [s.name, i]));
  const depth = new Array<number>(spec.length).fill(0);
  // Creation order is topological, so walking it backwards settles each depth before its inputs.
  for (let i = spec.length - 1; i >= 0; i--) for (const n of spec[i].inputs) depth[index.get(n)!] = Math.max(depth[index.get(n)!], depth[i] + 1);
  const first = new Map<number, number>();
  const walk = (i: number): void => {
    if (first.has(i)) return;
    first.set(i, first.size);
    for (const n of spec[i].inputs) walk(index.get(n)!);
  };
  walk(spec.length - 1);
  return [...spec.keys()].sort((a, b) => depth[b] - depth[a] || first.get(a)! - first.get(b)!).map((i) => spec[i].name);
}

/** [H, W, C] checked as keras.applications' _obtain_input_shape checks it (no weights given). */
export function checkInputShape(app: string, shape: readonly number[], minSize: number): [number, number, number] {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d >= 1))
    throw new Error(`${app}: inputShape must be [height, width, channels] positive integers, got ${JSON.stringify(shape)}`);
  if (shape[0] < minSize || shape[1] < minSize) throw new Error(`${app}: input size must be at least ${minSize}×${minSize}; got inputShape ${fmt(shape)}`);
  return [shape[0], shape[1], shape[2]];
}

/** Checks the options as keras.applications does (without ImageNet weights) and fills the defaults. */
export function appOptions(app: string, o: AppOptions, minSize: number): Required<Pick<AppOptions, 'includeTop' | 'classes' | 'classifierActivation'>> & { pooling: 'avg' | 'max' | null; inputShape: [number, number, number] } {
  if (o.alpha !== undefined) throw new Error(`${app}: has no width multiplier (alpha ${o.alpha} given)`);
  const classes = o.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`${app}: classes must be a positive integer, got ${o.classes}`);
  const classifierActivation = o.classifierActivation ?? 'softmax';
  if (classifierActivation !== 'softmax' && classifierActivation !== 'linear') throw new Error(`${app}: classifierActivation must be 'softmax' or 'linear', got '${String(classifierActivation)}'`);
  const pooling = o.pooling ?? null;
  if (pooling !== null && pooling !== 'avg' && pooling !== 'max') throw new Error(`${app}: pooling must be 'avg', 'max' or null, got '${String(pooling)}'`);
  return { includeTop: o.includeTop ?? true, classes, classifierActivation, pooling, inputShape: checkInputShape(app, o.inputShape ?? [299, 299, 3], minSize) };
}

