// The lecture's two MNIST networks (Programs 1 and 3), layer for layer.
// cam1: four 3×3 'same' relu convs (16, 32, 64, 128) with 2×2 max-pooling after the first three,
// then global average pooling and Dense(10, softmax): the CAM is 3×3.
// cam2: the same without pooling: the CAM is 28×28.

import { Conv2D } from './layers/conv2d.ts';
import { Dense } from './layers/dense.ts';
import { GlobalAveragePooling2D, MaxPooling2D } from './layers/pooling.ts';
import { Sequential } from './sequential.ts';

/**
 * The built-in MNIST networks: 'cam1' (four 3×3 convs, 2×2 max-pooling after the first three, a 3×3
 * CAM) and 'cam2' (the same without pooling, a 28×28 CAM).
 */
export const PRESETS = ['cam1', 'cam2'] as const;
/** One of `PRESETS`. */
export type PresetName = (typeof PRESETS)[number];

/**
 * A new, built Sequential of the preset `name` for 28×28×1 MNIST inputs, weights initialised from
 * `seed`: four 'same' relu Conv2D (16, 32, 64, 128 filters), GlobalAveragePooling2D, Dense(10,
 * softmax). Throws on an unknown name.
 */
export function preset(name: string, seed = 1): Sequential {
  if (!(PRESETS as readonly string[]).includes(name)) throw new Error(`unknown preset '${name}' (known: ${PRESETS.join(', ')})`);
  const pool = name === 'cam1';
  const m = new Sequential('sequential', seed);
  const conv = (filters: number) => new Conv2D({ filters, kernelSize: 3, activation: 'relu', padding: 'same' });
  m.add(conv(16));
  if (pool) m.add(new MaxPooling2D({ poolSize: 2 }));
  m.add(conv(32));
  if (pool) m.add(new MaxPooling2D({ poolSize: 2 }));
  m.add(conv(64));
  if (pool) m.add(new MaxPooling2D());
  m.add(conv(128));
  m.add(new GlobalAveragePooling2D());
  m.add(new Dense({ units: 10, activation: 'softmax' }));
  return m.build([28, 28, 1]);
}
