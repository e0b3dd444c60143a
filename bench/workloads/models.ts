// Whole-model workloads: VGG16's forward pass (ImageNet shape, random weights: timing does not
// depend on their values). Grad-CAM on VGG16 joins here later (issue 5).

import * as E from '../../engine/index.ts';
import { Conv2D } from '../../nn/layers/conv2d.ts';
import { Dense } from '../../nn/layers/dense.ts';
import { MaxPooling2D } from '../../nn/layers/pooling.ts';
import { Flatten } from '../../nn/layers/simple.ts';
import { Sequential } from '../../nn/sequential.ts';
import type { Instance, Workload } from '../harness.ts';
import { prod, uniform } from './kernels.ts';
import { tfjsTwin } from './tfjs_model.ts';

const VGG16_BLOCKS = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

/** VGG16 (Keras applications layout, include_top): 13 convs, 5 pools, fc1, fc2, predictions. */
export function vgg16(size = 224, classes = 1000, seed = 1): Sequential {
  const m = new Sequential('vgg16', seed);
  VGG16_BLOCKS.forEach((block, b) => {
    block.forEach((f, i) => m.add(new Conv2D({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${i + 1}` })));
    m.add(new MaxPooling2D({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }));
  });
  m.add(new Flatten({ name: 'flatten' }));
  m.add(new Dense({ units: 4096, activation: 'relu', name: 'fc1' }));
  m.add(new Dense({ units: 4096, activation: 'relu', name: 'fc2' }));
  m.add(new Dense({ units: classes, activation: 'softmax', name: 'predictions' }));
  return m.build([size, size, 3]);
}

/** FLOPs of one image's forward pass (2·MACs of convs and denses). */
export function vgg16Flops(size = 224, classes = 1000): number {
  let macs = 0;
  let s = size;
  let c = 3;
  for (const block of VGG16_BLOCKS) {
    for (const f of block) {
      macs += s * s * 9 * c * f;
      c = f;
    }
    s = Math.floor(s / 2);
  }
  macs += s * s * c * 4096 + 4096 * 4096 + 4096 * classes;
  return 2 * macs;
}

export function vgg16ForwardWorkload(batch = 1, size = 224): Workload {
  const shape = [batch, size, size, 3];
  const x = () => uniform(10, prod(shape), 0, 1);
  // Built once: ours runs it, the TF.js twin copies its weights; freed when neither holds it.
  let shared: Sequential | null = null;
  let users = 0;
  const acquire = () => {
    users++;
    return (shared ??= vgg16(size));
  };
  const release = () => {
    if (--users > 0) return;
    shared?.weights.forEach((w) => w.value.dispose());
    shared = null;
  };
  return {
    id: `vgg16-forward-${size}-b${batch}`,
    family: 'model',
    title: `VGG16 forward ${size}×${size}, batch ${batch}`,
    flops: vgg16Flops(size) * batch,
    params: { batch, input: [size, size, 3], weights: 'random (Glorot uniform)', output: 'softmax probabilities' },
    tolerance: 1e-3,
    async ours(): Promise<Instance> {
      const m = acquire();
      const X = E.keep(E.tensor(x(), shape));
      const once = () => E.noGrad(() => E.tidy(() => m.forward(X).output));
      return {
        run() {
          const y = once();
          return () => y.dispose();
        },
        async probe() {
          const y = once();
          try {
            return Float32Array.from(await y.data());
          } finally {
            y.dispose();
          }
        },
        dispose() {
          X.dispose();
          release();
        },
      };
    },
    async tfjs(tf): Promise<Instance> {
      let twin;
      try {
        twin = await tfjsTwin(tf, acquire(), false);
      } finally {
        release();
      }
      const X = tf.tensor(x(), shape);
      const once = () => tf.tidy(() => twin.forward(X).output);
      return {
        run() {
          const y = once();
          return () => y.dispose();
        },
        async probe() {
          const y = once();
          try {
            return Float32Array.from(await y.data());
          } finally {
            y.dispose();
          }
        },
        dispose() {
          X.dispose();
          twin.dispose();
        },
      };
    },
  };
}
