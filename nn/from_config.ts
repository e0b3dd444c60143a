// A layer from its Keras config (tf.keras 2 and Keras 3 spellings). Models (Sequential and
// Functional graphs) are assembled from these by model_config.ts.

import { Conv2D } from './layers/conv2d.ts';
import { Dense } from './layers/dense.ts';
import { DepthwiseConv2D } from './layers/depthwise.ts';
import { SeparableConv2D } from './layers/separable.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from './layers/pooling.ts';
import { BatchNormalization, Dropout } from './layers/regularization.ts';
import { Activation, Flatten, Reshape } from './layers/simple.ts';
import { ELU, LeakyReLU, PReLU, ReLU, Softmax } from './layers/activation_layers.ts';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from './layers/merge.ts';
import { LayerNormalization, Normalization } from './layers/normalization.ts';
import { GaussianNoise, SpatialDropout2D } from './layers/noise.ts';
import { Cropping2D, ZeroPadding2D } from './layers/padding.ts';
import { Permute, Rescaling } from './layers/rescaling.ts';
import { UpSampling2D } from './layers/upsampling.ts';
import type { Layer } from './layer.ts';

type Cfg = Record<string, any>;
const pair = (v: any): [number, number] => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v]);
/** Which Keras wrote the config: the two define 'hard_sigmoid' differently. */
export interface ConfigOptions {
  /** e.g. '2.1.4', '3.3.3'. Without it, a config whose layers carry Keras 3's `module` key is Keras 3, else Keras 2. */
  kerasVersion?: string;
}
const actName = (v: any): string =>
  typeof v === 'string' ? v : typeof v?.config === 'string' ? v.config : (v?.config?.name ?? v?.class_name ?? 'linear');
const act = (v: any, keras2: boolean): string => {
  const n = actName(v);
  return keras2 && n === 'hard_sigmoid' ? 'hard_sigmoid_keras2' : n;
};
/** A Zeros / Ones / Constant initializer's value; others give 0 (a file's weights replace it). */
const initValue = (v: any): number => {
  const cls = String(typeof v === 'string' ? v : (v?.class_name ?? 'zeros')).toLowerCase();
  return cls === 'ones' ? 1 : cls === 'constant' ? Number(v?.config?.value ?? 0) : 0;
};
const isKeras2 = (o: ConfigOptions): boolean => !!o.kerasVersion && Number(o.kerasVersion.split('.')[0]) < 3;

export function inputShapeOf(c: Cfg): number[] | null {
  const s = c.batch_input_shape ?? c.batch_shape ?? (c.input_shape ? [null, ...c.input_shape] : null);
  return s ? s.slice(1).map(Number) : null;
}

export function layerFromConfig(className: string, c: Cfg, where: string, opts: ConfigOptions = {}): Layer {
  const keras2 = isKeras2(opts);
  const name = c.name as string;
  const dataFormat = c.data_format ?? 'channels_last';
  if (dataFormat !== 'channels_last') throw new Error(`${where}: layer '${name}' (${className}) uses ${dataFormat}; only channels_last is supported`);
  switch (className) {
    case 'Conv2D':
      return new Conv2D({
        name, filters: c.filters, kernelSize: pair(c.kernel_size), strides: pair(c.strides ?? 1), padding: c.padding, dilationRate: pair(c.dilation_rate ?? 1),
        groups: c.groups ?? 1, activation: act(c.activation, keras2), useBias: c.use_bias ?? true,
      });
    case 'SeparableConv2D':
      return new SeparableConv2D({
        name, filters: c.filters, kernelSize: pair(c.kernel_size), strides: pair(c.strides ?? 1), padding: c.padding ?? 'valid', depthMultiplier: c.depth_multiplier ?? 1,
        dilationRate: pair(c.dilation_rate ?? 1), activation: act(c.activation, keras2), useBias: c.use_bias ?? true,
      });
    case 'DepthwiseConv2D':
      return new DepthwiseConv2D({
        name, kernelSize: pair(c.kernel_size), strides: pair(c.strides ?? 1), padding: c.padding ?? 'valid', depthMultiplier: c.depth_multiplier ?? 1,
        dilationRate: pair(c.dilation_rate ?? 1), activation: act(c.activation, keras2), useBias: c.use_bias ?? true,
      });
    case 'Dense':
      return new Dense({ name, units: c.units, activation: act(c.activation, keras2), useBias: c.use_bias ?? true });
    case 'MaxPooling2D':
      return new MaxPooling2D({ name, poolSize: pair(c.pool_size ?? 2), strides: c.strides ? pair(c.strides) : null, padding: c.padding ?? 'valid' });
    case 'AveragePooling2D':
      return new AveragePooling2D({ name, poolSize: pair(c.pool_size ?? 2), strides: c.strides ? pair(c.strides) : null, padding: c.padding ?? 'valid' });
    case 'GlobalAveragePooling2D':
      return new GlobalAveragePooling2D({ name, keepdims: c.keepdims ?? false });
    case 'GlobalMaxPooling2D':
      return new GlobalMaxPooling2D({ name, keepdims: c.keepdims ?? false });
    case 'ReLU':
      return new ReLU(c.max_value ?? null, c.negative_slope ?? 0, c.threshold ?? 0, name);
    case 'LeakyReLU':
      return new LeakyReLU(c.negative_slope ?? c.alpha ?? 0.3, name);
    case 'ELU':
      return new ELU(c.alpha ?? 1, name);
    case 'Softmax': {
      const axis = Array.isArray(c.axis) ? (c.axis.length === 1 ? c.axis[0] : NaN) : (c.axis ?? -1);
      if (axis !== -1) throw new Error(`${where}: layer '${name}' (Softmax) on axis ${JSON.stringify(c.axis)}; only the last axis (-1) is supported`);
      return new Softmax(name);
    }
    case 'ZeroPadding2D':
      return new ZeroPadding2D(c.padding ?? 1, name);
    case 'Cropping2D':
      return new Cropping2D(c.cropping ?? 0, name);
    case 'UpSampling2D':
      return new UpSampling2D(pair(c.size ?? 2), c.interpolation ?? 'nearest', name);
    case 'Rescaling':
      return new Rescaling(c.scale, c.offset ?? 0, name);
    case 'Permute':
      return new Permute(c.dims, name);
    case 'SpatialDropout2D':
      return new SpatialDropout2D(c.rate, name);
    case 'GaussianNoise':
      return new GaussianNoise(c.stddev, name);
    case 'Lambda':
      throw new Error(`${where}: layer '${name}' has class Lambda (Python code), which Lanterna cannot run`);
    case 'Flatten':
      return new Flatten({ name });
    case 'Activation':
      return new Activation(act(c.activation, keras2), name);
    case 'Dropout':
      return new Dropout(c.rate, name);
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== 3 && axis !== 1) throw new Error(`${where}: layer '${name}' (BatchNormalization) on axis ${axis} is not supported`);
      return new BatchNormalization(c.momentum ?? 0.99, c.epsilon ?? 1e-3, c.center ?? true, c.scale ?? true, name);
    }
    case 'Reshape':
      return new Reshape(c.target_shape, name);
    case 'PReLU':
      return new PReLU(c.shared_axes ?? null, initValue(c.alpha_initializer), name);
    case 'LayerNormalization':
      if (c.rms_scaling) throw new Error(`${where}: layer '${name}' (LayerNormalization) uses rms_scaling; not supported`);
      return new LayerNormalization({ name, axis: c.axis ?? -1, epsilon: c.epsilon ?? 1e-3, center: c.center ?? true, scale: c.scale ?? true });
    case 'Normalization':
      return new Normalization({ name, axis: 'axis' in c ? c.axis : -1, mean: c.mean ?? null, variance: c.variance ?? null, invert: c.invert ?? false });
    case 'Add':
      return new Add(name);
    case 'Subtract':
      return new Subtract(name);
    case 'Multiply':
      return new Multiply(name);
    case 'Average':
      return new Average(name);
    case 'Maximum':
      return new Maximum(name);
    case 'Minimum':
      return new Minimum(name);
    case 'Concatenate':
      return new Concatenate(c.axis ?? -1, name);
    default:
      throw new Error(`${where}: layer '${name}' has class ${className}, which Lanterna does not support yet`);
  }
}

export { modelFromConfig } from './model_config.ts';
