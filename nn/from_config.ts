// Builds a Sequential model from a Keras model_config (tf.keras 2 and Keras 3; Sequential, or a
// Functional model that is a plain chain). Unsupported layers are reported by name and class.

import { Conv2D } from './layers/conv2d.ts';
import { Dense } from './layers/dense.ts';
import { DepthwiseConv2D } from './layers/depthwise.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from './layers/pooling.ts';
import { BatchNormalization, Dropout } from './layers/regularization.ts';
import { Activation, Flatten, InputLayer, Reshape } from './layers/simple.ts';
import type { Layer } from './layer.ts';
import { Sequential } from './sequential.ts';

type Cfg = Record<string, any>;
const pair = (v: any): [number, number] => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v]);
const act = (v: any): string => (typeof v === 'string' ? v : (v?.config?.name ?? v?.class_name ?? 'linear'));

function inputShapeOf(c: Cfg): number[] | null {
  const s = c.batch_input_shape ?? c.batch_shape ?? (c.input_shape ? [null, ...c.input_shape] : null);
  return s ? s.slice(1).map(Number) : null;
}

export function layerFromConfig(className: string, c: Cfg, where: string): Layer {
  const name = c.name as string;
  const dataFormat = c.data_format ?? 'channels_last';
  if (dataFormat !== 'channels_last') throw new Error(`${where}: layer '${name}' (${className}) uses ${dataFormat}; only channels_last is supported`);
  switch (className) {
    case 'Conv2D': {
      const dil = pair(c.dilation_rate ?? 1);
      if (dil[0] !== 1 || dil[1] !== 1 || (c.groups ?? 1) !== 1)
        throw new Error(`${where}: layer '${name}' (Conv2D) uses dilation ${dil} / groups ${c.groups}; not supported`);
      return new Conv2D({ name, filters: c.filters, kernelSize: pair(c.kernel_size), strides: pair(c.strides ?? 1), padding: c.padding, activation: act(c.activation), useBias: c.use_bias ?? true });
    }
    case 'DepthwiseConv2D':
      return new DepthwiseConv2D({
        name, kernelSize: pair(c.kernel_size), strides: pair(c.strides ?? 1), padding: c.padding ?? 'valid', depthMultiplier: c.depth_multiplier ?? 1,
        dilationRate: pair(c.dilation_rate ?? 1), activation: act(c.activation), useBias: c.use_bias ?? true,
      });
    case 'Dense':
      return new Dense({ name, units: c.units, activation: act(c.activation), useBias: c.use_bias ?? true });
    case 'MaxPooling2D':
      return new MaxPooling2D({ name, poolSize: pair(c.pool_size ?? 2), strides: c.strides ? pair(c.strides) : null, padding: c.padding ?? 'valid' });
    case 'AveragePooling2D':
      return new AveragePooling2D({ name, poolSize: pair(c.pool_size ?? 2), strides: c.strides ? pair(c.strides) : null, padding: c.padding ?? 'valid' });
    case 'GlobalAveragePooling2D':
      if (c.keepdims) throw new Error(`${where}: layer '${name}' (GlobalAveragePooling2D) with keepdims is not supported`);
      return new GlobalAveragePooling2D({ name });
    case 'GlobalMaxPooling2D':
      return new GlobalMaxPooling2D({ name });
    case 'Flatten':
      return new Flatten({ name });
    case 'Activation':
      return new Activation(act(c.activation), name);
    case 'Dropout':
      return new Dropout(c.rate, name);
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== 3 && axis !== 1) throw new Error(`${where}: layer '${name}' (BatchNormalization) on axis ${axis} is not supported`);
      return new BatchNormalization(c.momentum ?? 0.99, c.epsilon ?? 1e-3, c.center ?? true, c.scale ?? true, name);
    }
    case 'Reshape':
      return new Reshape(c.target_shape, name);
    default:
      throw new Error(`${where}: layer '${name}' has class ${className}, which Lanterna does not support yet`);
  }
}

/** Layers of a Functional config that form a single chain, in order. */
function chainOf(cfg: Cfg, where: string): Cfg[] {
  const layers: Cfg[] = cfg.layers;
  for (let i = 1; i < layers.length; i++) {
    const nodes = layers[i].inbound_nodes ?? [];
    const flat = JSON.stringify(nodes);
    if (!flat.includes(`"${layers[i - 1].config?.name ?? layers[i - 1].name}"`))
      throw new Error(`${where}: layer '${layers[i].config?.name}' does not follow '${layers[i - 1].config?.name}': only chain-shaped models are supported`);
  }
  return layers;
}

/** model_config (parsed JSON) → an unbuilt Sequential with the input shape set. */
export function modelFromConfig(modelConfig: Cfg, where = 'model_config'): Sequential {
  const cls = modelConfig.class_name;
  const cfg = modelConfig.config;
  let layers: Cfg[];
  if (cls === 'Sequential') layers = Array.isArray(cfg) ? cfg : cfg.layers;
  else if (cls === 'Functional' || cls === 'Model') layers = chainOf(cfg, where);
  else throw new Error(`${where}: model class '${cls}' is not supported (Sequential or a chain-shaped Functional model)`);
  const model = new Sequential(Array.isArray(cfg) ? 'sequential' : (cfg.name ?? 'sequential'));
  for (const l of layers) {
    const c = l.config ?? {};
    const shape = inputShapeOf(c);
    if (l.class_name === 'InputLayer') {
      if (!shape) throw new Error(`${where}: InputLayer '${c.name}' has no shape`);
      model.add(new InputLayer(shape, c.name));
      continue;
    }
    if (shape && !model.inputShape) model.inputShape = shape;
    model.add(layerFromConfig(l.class_name, c, where));
  }
  if (!model.inputShape) throw new Error(`${where}: no input shape (no InputLayer and no batch_input_shape)`);
  return model;
}
