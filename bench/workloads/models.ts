// Whole-model workloads on VGG16 (ImageNet shape, random weights: timing does not depend on
// their values): the forward pass, and Grad-CAM at block5_conv3.

import * as E from '../../engine/index.ts';
import { vgg16 as vgg16Model, VGG16_BLOCKS, VGG16_WIDTHS } from '../../nn/applications/vgg16.ts';
import type { Model } from '../../nn/model.ts';
import { GradCam } from '../../explain/grad_cam.ts';
import type { Instance, Workload } from '../harness.ts';
import { outputInstance, prod, uniform } from './kernels.ts';
import { tfjsTwin } from './tfjs_model.ts';

/** A VGG16's shape: Keras' by default; smaller widths for the CI test. */
export interface Vgg16Spec {
  size: number;
  widths?: readonly number[];
  units?: number;
  classes?: number;
}

/** nn/applications' VGG16 (Keras layout, with the top) with random Glorot weights. */
export function vgg16(spec: number | Vgg16Spec = 224): Model {
  const s = typeof spec === 'number' ? { size: spec } : spec;
  return vgg16Model({ inputShape: [s.size, s.size, 3], widths: s.widths, units: s.units, classes: s.classes }).build();
}

/** One VGG16 shared by both sides of a workload: ours runs it, the TF.js twin copies its weights. */
function sharedVgg16(spec: Vgg16Spec) {
  let shared: Model | null = null;
  let users = 0;
  return {
    acquire: () => {
      users++;
      return (shared ??= vgg16(spec));
    },
    release: () => {
      if (--users > 0) return;
      shared?.weights.forEach((w) => w.value.dispose());
      shared = null;
    },
  };
}

/** FLOPs of one image's forward pass (2·MACs of convs and denses). */
export function vgg16Flops(size = 224, classes = 1000, widths: readonly number[] = VGG16_WIDTHS, units = 4096): number {
  let macs = 0;
  let s = size;
  let c = 3;
  VGG16_BLOCKS.forEach((convs, b) => {
    for (let i = 0; i < convs; i++) {
      macs += s * s * 9 * c * widths[b];
      c = widths[b];
    }
    s = Math.floor(s / 2);
  });
  macs += s * s * c * units + units * units + units * classes;
  return 2 * macs;
}

export function vgg16ForwardWorkload(batch = 1, size = 224): Workload {
  const shape = [batch, size, size, 3];
  const x = () => uniform(10, prod(shape), 0, 1);
  const { acquire, release } = sharedVgg16({ size });
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
      const once = (logits: boolean) => E.noGrad(() => E.tidy(() => (f => (logits ? f.logits! : f.output))(m.forward(X))));
      return outputInstance(once, () => {
        X.dispose();
        release();
      });
    },
    async tfjs(tf): Promise<Instance> {
      let twin;
      try {
        twin = await tfjsTwin(tf, acquire(), false);
      } finally {
        release();
      }
      const X = tf.tensor(x(), shape);
      // The probe reads the logits: with random weights the softmax is nearly uniform and would hide errors.
      const once = (logits: boolean) => tf.tidy(() => (f => (logits ? f.logits : f.output))(twin.forward(X)));
      return outputInstance(once, () => {
        X.dispose();
        twin.dispose();
      });
    },
  };
}

export const GRAD_CAM_LAYER = 'block5_conv3';

const argmax = (p: ArrayLike<number>) => {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[k]) k = i;
  return k;
};

/** Our side of a Grad-CAM workload: explain/grad_cam.ts at `layer`, the probe at a fixed class. */
export function oursGradCam(model: Model, X: E.Tensor, layer: string, probeClass: number, dispose: () => void): Instance {
  const cam = new GradCam(model);
  return {
    async run() {
      await cam.explain(X, { layer });
      return () => {};
    },
    async probe() {
      const [map] = await cam.explain(X, { layer, classes: [probeClass] });
      return Float32Array.from(map.raw);
    },
    dispose() {
      X.dispose();
      dispose();
    },
  };
}

/**
 * TF.js's side of a Grad-CAM workload, the same steps as ours: `head` gives the layer's
 * activation A, `tail(A)` the probabilities; the top-1 (or the probe's class) is read back, then
 * tf.grad of its score with respect to A gives the channel weights and the map, read back.
 */
export function tfjsGradCam(tf: any, head: () => any, tail: (a: any) => any, probeClass: number, dispose: () => void): Instance {
  const explain = async (cls?: number) => {
    const A = tf.tidy(head);
    const probs = tf.tidy(() => tail(A));
    const p = await probs.data();
    const k = cls ?? argmax(p);
    const map = tf.tidy(() => {
      const hot = tf.oneHot(tf.tensor1d([k], 'int32'), probs.shape[1]);
      const dA = tf.grad((a: any) => tf.sum(tf.mul(tail(a), hot)))(A);
      const alpha = tf.mean(dA, [1, 2], true);
      return tf.relu(tf.sum(tf.mul(A, alpha), 3));
    });
    const raw = await map.data();
    tf.dispose([A, probs, map]);
    return raw;
  };
  return {
    async run() {
      await explain();
      return () => {};
    },
    async probe() {
      return Float32Array.from(await explain(probeClass));
    },
    dispose,
  };
}

/**
 * Grad-CAM of one image at block5_conv3, for its top-1 class, on the softmax score (the
 * lecture's choice). Ours: explain/grad_cam.ts (one forward with the activation captured, the
 * probabilities read back to pick the class, the backward pass to the activation, the channel
 * weights, the map, which is read back). TF.js: the same steps, with tf.grad of the class score
 * with respect to the block5_conv3 activation. The probe uses a fixed class: with random
 * weights the softmax is nearly uniform and the two engines could pick different top-1s.
 */
export function gradCamWorkload(spec: Vgg16Spec = { size: 224 }): Workload {
  const shape = [1, spec.size, spec.size, 3];
  const x = () => uniform(14, prod(shape), 0, 1);
  const { acquire, release } = sharedVgg16(spec);
  const PROBE_CLASS = 1;
  const tiny = spec.widths !== undefined;
  return {
    id: `gradcam-vgg16-${spec.size}${tiny ? '-tiny' : ''}`,
    family: 'model',
    title: `VGG16 Grad-CAM ${spec.size}×${spec.size} at ${GRAD_CAM_LAYER}${tiny ? ' (tiny widths)' : ''}`,
    // A forward pass and a backward pass from the top to block5_conv3 through the dense layers
    // only (no conv gradient): nominally the forward's FLOPs, and priced as a forward.
    work: vgg16Flops(spec.size, spec.classes, spec.widths, spec.units),
    params: { ...spec, layer: GRAD_CAM_LAYER, score: 'softmax', class: 'top-1 (probe: class 1)', weights: 'random (Glorot uniform)', readbacks: 'probabilities, then the map' },
    tolerance: 1e-3,
    profile: true,
    async ours(): Promise<Instance> {
      return oursGradCam(acquire(), E.keep(E.tensor(x(), shape)), GRAD_CAM_LAYER, PROBE_CLASS, release);
    },
    async tfjs(tf): Promise<Instance> {
      let twin;
      try {
        twin = await tfjsTwin(tf, acquire(), false);
      } finally {
        release();
      }
      const X = tf.tensor(x(), shape);
      const at = twin.layerIndex(GRAD_CAM_LAYER);
      const t = twin;
      return tfjsGradCam(tf, () => t.head(X, at), (a) => t.tail(a, at + 1).output, PROBE_CLASS, () => {
        X.dispose();
        t.dispose();
      });
    },
  };
}
