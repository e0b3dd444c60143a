// The two oldest weights-only layouts of keras.applications' files (Keras `save_weights`), for
// writing test files exactly as the official ones lie (nn/io/keras.ts reads both):
//
// 'keras1'   Keras 1.x, e.g. xception_weights_tf_dim_ordering_tf_kernels(_notop).h5: root attribute
//            layer_names only (no backend, no keras_version); one group per layer with attribute
//            weight_names; datasets directly in the group, named after the TensorFlow variables
//            Keras 1 made: <layer>_W:0, <layer>_b:0, <layer>_depthwise_kernel:0,
//            <layer>_pointwise_kernel:0, <layer>_gamma:0, <layer>_beta:0, <layer>_running_mean:0,
//            <layer>_running_std:0 (Keras 1's name for what holds the moving VARIANCE).
// 'keras2.0' Keras 2.0, e.g. inception_v3_weights_tf_dim_ordering_tf_kernels(_notop).h5: root
//            attributes layer_names, backend, keras_version; datasets one group deeper, named after
//            Keras 2's variables: <layer>/<layer>/kernel:0, …/moving_variance:0; no
//            top_level_model_weights group (tf.keras added that later).
//
// Weights are given under Keras 2's short names (kernel, bias, depthwise_kernel, gamma, …).

import { ensureGroup, writeDatasetF32, writeFixedStringListAttr, writeH5Atomic, writeStringAttr } from '../io/h5.ts';
import type { KerasLayerWeights } from '../io/keras.ts';

export type LegacyStyle = 'keras1' | 'keras2.0';

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
export function legacyWeightName(layer: string, short: string, style: LegacyStyle): string {
  if (style === 'keras2.0') return `${layer}/${short}:0`;
  const k1 = KERAS1_NAMES[short];
  if (!k1) throw new Error(`layer '${layer}': weight '${short}' has no Keras 1 name`);
  return `${layer}_${k1}:0`;
}

/**
 * Writes `layers` (every layer in model.layers order, the input and weightless ones included with
 * weights []) in the given layout, atomically.
 */
export async function writeLegacyKerasWeights(path: string, layers: KerasLayerWeights[], o: { style: LegacyStyle; kerasVersion?: string }): Promise<void> {
  const seen = new Set<string>();
  for (const l of layers) {
    if (!l.name || l.name.includes('/') || seen.has(l.name)) throw new Error(`${path}: layer name '${l.name}' is empty, has '/' or appears twice`);
    seen.add(l.name);
    for (const w of l.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (n !== w.data.length) throw new Error(`${path}: layer '${l.name}' weight '${w.name}': shape [${w.shape}] needs ${n} values, data has ${w.data.length}`);
    }
  }
  await writeH5Atomic(path, (f) => {
    writeFixedStringListAttr(f, 'layer_names', layers.map((l) => l.name), path);
    if (o.style === 'keras2.0') {
      writeStringAttr(f, 'backend', 'tensorflow', 'ascii', path);
      writeStringAttr(f, 'keras_version', o.kerasVersion ?? '2.0.2', 'ascii', path);
    }
    for (const l of layers) {
      const where = `${path}: layer '${l.name}'`;
      const g = ensureGroup(f, l.name, where);
      const names = l.weights.map((w) => legacyWeightName(l.name, w.name, o.style));
      writeFixedStringListAttr(g, 'weight_names', names, where);
      l.weights.forEach((w, i) => writeDatasetF32(g, names[i], w.shape, w.data, where));
    }
  });
}
