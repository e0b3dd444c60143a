// A model's config in Keras 3's layout (the config.json of a `.keras` archive, as
// keras.saving.serialize_keras_object writes it): every object carries module, class_name,
// config and registered_name; dtypes are DTypePolicy objects; layers carry build_config; a
// Functional model's inbound nodes are {args, kwargs} with __keras_tensor__ references.

import type { Layer } from './layer.ts';
import { InputLayer } from './layers/simple.ts';
import { Model } from './model.ts';
import { Sequential } from './sequential.ts';

type Json = Record<string, unknown>;

const DTYPE = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

/** Keras 2 nested objects ({class_name, config}, e.g. initializers) in Keras 3's form. */
function objects3(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => objects3(x));
  if (!v || typeof v !== 'object') return v;
  const o = v as Json;
  if (typeof o.class_name === 'string' && 'config' in o && !('module' in o)) {
    const module = key.endsWith('_initializer') ? 'keras.initializers' : key.endsWith('_regularizer') ? 'keras.regularizers' : key.endsWith('_constraint') ? 'keras.constraints' : 'keras';
    return { module, class_name: o.class_name, config: objects3(o.config), registered_name: null };
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, objects3(x, k)]));
}

function layerConfig3(l: Layer): Json {
  const c = objects3(l.getConfig()) as Json;
  return { ...c, dtype: DTYPE };
}

const batch = (s: number[]) => [null, ...s];

function inputLayer3(l: InputLayer, name = l.name): Json {
  return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: batch(l.shape), dtype: 'float32', sparse: false, name }, registered_name: null };
}

/** `layer` as an entry of a Keras 3 layer list (without inbound_nodes). */
function entry3(l: Layer, inputShapes: number[][]): Json {
  if (l instanceof Model) return model3(l);
  return {
    module: 'keras.layers',
    class_name: l.className,
    config: layerConfig3(l),
    registered_name: null,
    build_config: { input_shape: inputShapes.length === 1 ? batch(inputShapes[0]) : inputShapes.map(batch) },
  };
}

/** The Keras 3 config of `model` (what config.json holds). */
export function model3(model: Model): Json {
  if (!model.built) model.build();
  if (model instanceof Sequential) {
    const layers = [inputLayer3(model.inputLayers[0]), ...model.layers.map((l) => entry3(l, [l.inputShape!]))];
    return {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: { name: model.name, trainable: true, dtype: DTYPE, layers },
      build_config: { input_shape: batch(model.inputShape) },
    };
  }
  const tensor = (node: number, out: number) => {
    const n = model.nodes[node];
    return { class_name: '__keras_tensor__', config: { shape: batch(n.shapes[out]), dtype: 'float32', keras_history: [n.layer.name, n.call, out] } };
  };
  const layers = [...new Set(model.nodes.map((n) => n.layer))].map((l) => {
    const calls = model.nodes.filter((n) => n.layer === l && !(l instanceof InputLayer));
    const base = l instanceof InputLayer ? inputLayer3(l) : entry3(l, calls[0].inputs.map((r) => model.nodes[r.node].shapes[r.out]));
    const inbound = calls.map((n) => {
      const ts = n.inputs.map((r) => tensor(r.node, r.out));
      return { args: ts.length === 1 ? ts : [ts], kwargs: {} };
    });
    return { ...base, name: l.name, inbound_nodes: inbound };
  });
  const ref = (node: number, out: number) => [model.nodes[node].layer.name, model.nodes[node].call, out];
  const ins = model.inputNodes.map((i) => ref(i, 0));
  const outs = model.outputRefs.map((r) => ref(r.node, r.out));
  return {
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: { name: model.name, trainable: true, layers, input_layers: ins.length === 1 ? ins[0] : ins, output_layers: outs.length === 1 ? outs[0] : outs },
    build_config: { input_shape: null },
  };
}
