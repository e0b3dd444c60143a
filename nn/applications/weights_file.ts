// Writes weights in the layouts of keras.applications' official files (Keras `save_weights`), for
// test files that lie exactly as the real ones do (nn/io/keras.ts reads them all; its own writers
// add tf.keras' top_level_model_weights group and refuse '/' in names, which these files have not
// and may have):
//
// 'keras1'  Keras 1.x (Xception's v0.4 files, ResNet50's 2016 files): root attribute layer_names
//           only (no backend, no keras_version); one group per layer with attribute
//           weight_names; datasets directly in the group, named after the TensorFlow variables
//           Keras 1 made: <layer>_W:0, <layer>_b:0, <layer>_depthwise_kernel:0,
//           <layer>_pointwise_kernel:0, <layer>_gamma:0, <layer>_beta:0, <layer>_running_mean:0,
//           <layer>_running_std:0 (Keras 1's name for what holds the moving VARIANCE).
// 'keras2'  Keras 2.0–2.5 (InceptionV3, MobileNet(V2), EfficientNet, keras-applications'
//           ResNet50 and DenseNet121): root attributes layer_names, backend, keras_version;
//           datasets at <layer>/<layer>/<weight>:0 (a '/' in a layer name, DenseNet's
//           'conv1/conv', nests the groups as h5py does); `int64` weights (Normalization's count)
//           stored as int64.
//
// Every layer of model.layers is listed, the input and the weightless ones with weights [];
// weights come under Keras 2's short names (kernel, bias, depthwise_kernel, gamma, …).

import { ensureGroup, writeDatasetF32, writeFixedStringListAttr, writeH5Atomic, writeStringAttr } from '../io/h5.ts';
import type { KerasLayerWeights } from '../io/keras.ts';

export type WeightsStyle = 'keras1' | 'keras2';

export interface WeightsFileOptions {
  style: WeightsStyle;
  /** keras2: the keras_version attribute (the Keras that wrote the official file). */
  kerasVersion?: string;
  /** keras2: weights stored as int64, by short name. */
  int64?: readonly string[];
}

const KERAS1_NAMES: Record<string, string> = {
  kernel: 'W',
  bias: 'b',
  depthwise_kernel: 'depthwise_kernel',
  pointwise_kernel: 'pointwise_kernel',
  gamma: 'gamma',
  beta: 'beta',
  moving_mean: 'running_mean',
  moving_variance: 'running_std',
};

/** The stored weight name (the weight_names entry, a path relative to the layer's group). */
export function storedWeightName(layer: string, short: string, style: WeightsStyle): string {
  if (style === 'keras2') return `${layer}/${short}:0`;
  const k1 = KERAS1_NAMES[short];
  if (!k1) throw new Error(`layer '${layer}': weight '${short}' has no Keras 1 name`);
  return `${layer}_${k1}:0`;
}

/** Writes `layers` in the official layout `o.style`, atomically. */
export async function writeAppWeights(path: string, layers: KerasLayerWeights[], o: WeightsFileOptions): Promise<void> {
  const seen = new Set<string>();
  for (const l of layers) {
    const bad = !l.name || l.name.startsWith('/') || l.name.endsWith('/') || l.name.includes('//') || (o.style === 'keras1' && l.name.includes('/'));
    if (bad || seen.has(l.name)) throw new Error(`${path}: layer name '${l.name}' is ${bad ? `not usable in a ${o.style} file` : 'there twice'}`);
    seen.add(l.name);
    for (const w of l.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (n !== w.data.length) throw new Error(`${path}: layer '${l.name}' weight '${w.name}': shape [${w.shape}] needs ${n} values, data has ${w.data.length}`);
    }
  }
  await writeH5Atomic(path, (f) => {
    writeFixedStringListAttr(f, 'layer_names', layers.map((l) => l.name), path);
    if (o.style === 'keras2') {
      writeStringAttr(f, 'backend', 'tensorflow', 'ascii', path);
      writeStringAttr(f, 'keras_version', o.kerasVersion ?? '2.2.4', 'ascii', path);
    }
    for (const l of layers) {
      const where = `${path}: layer '${l.name}'`;
      const g = ensureGroup(f, l.name, where);
      const names = l.weights.map((w) => storedWeightName(l.name, w.name, o.style));
      writeFixedStringListAttr(g, 'weight_names', names, where);
      l.weights.forEach((w, i) => {
        if (!o.int64?.includes(w.name)) return writeDatasetF32(g, names[i], w.shape, w.data, where);
        const ds = ensureGroup(g, l.name, where).create_dataset({ name: `${w.name}:0`, data: BigInt64Array.from(w.data, (v) => BigInt(Math.round(v))), shape: w.shape, dtype: '<q' });
        if (!ds) throw new Error(`${where}: could not create ${names[i]}`);
      });
    }
  });
}
