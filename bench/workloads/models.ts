// Whole-model workloads: VGG16's forward pass (ImageNet shape, random weights: timing does not
// depend on their values). Grad-CAM on VGG16 joins here later (issue 5).

import * as E from '../../engine/index.ts';
import { vgg16 as vgg16Model, VGG16_BLOCKS, VGG16_WIDTHS } from '../../nn/applications/vgg16.ts';
import type { Sequential } from '../../nn/sequential.ts';
import type { Instance, Workload } from '../harness.ts';
import { prod, uniform } from './kernels.ts';
import { tfjsTwin } from './tfjs_model.ts';

/** nn/applications' VGG16 (Keras layout, with the top) with random Glorot weights. */
export function vgg16(size = 224): Sequential {
  return vgg16Model({ inputShape: [size, size, 3] }).build();
}

/** FLOPs of one image's forward pass (2·MACs of convs and denses). */
export function vgg16Flops(size = 224, classes = 1000): number {
  let macs = 0;
  let s = size;
  let c = 3;
  VGG16_BLOCKS.forEach((convs, b) => {
    for (let i = 0; i < convs; i++) {
      macs += s * s * 9 * c * VGG16_WIDTHS[b];
      c = VGG16_WIDTHS[b];
    }
    s = Math.floor(s / 2);
  });
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
    params: { batch, input: [size, size, 3], weights: 'random (Glorot uniform)', output: 'softmax probabilities (timed); logits compared' },
    tolerance: 1e-3,
    async ours(): Promise<Instance> {
      const m = acquire();
      const X = E.keep(E.tensor(x(), shape));
      const once = (logits = false) => E.noGrad(() => E.tidy(() => (f => (logits ? f.logits! : f.output))(m.forward(X))));
      return {
        run() {
          const y = once();
          return () => y.dispose();
        },
        async probe() {
          const y = once(true);
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
      const once = (logits = false) => tf.tidy(() => (f => (logits ? f.logits : f.output))(twin.forward(X)));
      return {
        run() {
          const y = once();
          return () => y.dispose();
        },
        async probe() {
          // The logits: with random weights the softmax is nearly uniform and would hide errors.
          const y = once(true);
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
