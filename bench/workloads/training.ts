// Training-step workloads: one step of cam1 / cam2 (nn/presets.ts) on a batch already on the
// GPU. Ours: Trainer.step (forward, fused softmax cross-entropy from the logits, gradients of
// every trainable weight, Adam, and the batch's correct count). TF.js: the same network written
// with tfjs-core ops (tfjs_model.ts) from the same initial weights, tf.variableGrads, the same
// loss, tf.train.adam with Keras' defaults, and the same correct count.

import * as E from '../../engine/index.ts';
import { Trainer } from '../../nn/fit.ts';
import { preset } from '../../nn/presets.ts';
import { Rng } from '../../nn/random.ts';
import type { Instance, Workload } from '../harness.ts';
import { prod, uniform } from './kernels.ts';
import { tfjsTwin } from './tfjs_model.ts';

/** Multiply-accumulates of one image's forward pass through a Sequential's convs and denses. */
function forwardMacs(model: ReturnType<typeof preset>): number {
  let macs = 0;
  let shape = model.inputShape!;
  for (const l of model.layers as any[]) {
    const out = l.outputShape as number[];
    if (l.className === 'Conv2D') macs += out[0] * out[1] * out[2] * l.kernelSize[0] * l.kernelSize[1] * shape[2];
    if (l.className === 'Dense') macs += out[out.length - 1] * shape[shape.length - 1];
    shape = out;
  }
  return macs;
}

function labels(seed: number, n: number, classes: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r.next() * classes));
}

/** Nominal FLOPs of one training step: forward ≈ 2·MACs, backward ≈ twice that. */
export function stepFlops(name: 'cam1' | 'cam2', batch: number): number {
  const m = preset(name, 1);
  const macs = forwardMacs(m);
  m.weights.forEach((w) => w.value.dispose());
  return 3 * 2 * macs * batch;
}

export function trainStepWorkload(name: 'cam1' | 'cam2', batch: number): Workload {
  const shape = [batch, 28, 28, 1];
  const x = () => uniform(7, prod(shape), 0, 1);
  const y = () => labels(8, batch, 10);
  const probeModel = preset(name, 1);
  // Forward ≈ 2·MACs; backward ≈ twice that (input and weight gradients). The first conv's
  // input gradient is not needed, so this slightly overstates the work: call it nominal.
  const flops = 3 * 2 * forwardMacs(probeModel) * batch;
  const params = probeModel.countParams();
  probeModel.weights.forEach((w) => w.value.dispose());
  return {
    id: `train-${name}-b${batch}`,
    family: 'train',
    title: `${name} training step, batch ${batch}`,
    flops,
    backward: true,
    params: { model: name, batch, input: [28, 28, 1], optimizer: 'Adam (Keras defaults)', loss: 'softmax cross-entropy', weights: params, flopsNote: '3 × forward FLOPs (nominal)' },
    // The probe: the losses of the first two steps from identical weights and data.
    tolerance: 1e-3,
    profile: true,
    async ours(): Promise<Instance> {
      const model = preset(name, 1);
      const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
      const X = E.keep(E.tensor(x(), shape));
      const Y = E.keep(E.tensor(y(), [batch], 'int32'));
      const rng = new Rng(9);
      const step = () => trainer.step(X, Y, rng);
      return {
        run() {
          const { loss, correct } = step();
          return () => {
            loss.dispose();
            correct.dispose();
          };
        },
        async probe() {
          // Two steps: the second loss checks the first step's gradients and Adam update.
          const losses: number[] = [];
          for (let i = 0; i < 2; i++) {
            const { loss, correct } = step();
            losses.push((await loss.data())[0]);
            loss.dispose();
            correct.dispose();
          }
          return Float32Array.from(losses);
        },
        dispose() {
          X.dispose();
          Y.dispose();
          trainer.optimizer.dispose();
          model.weights.forEach((w) => w.value.dispose());
        },
      };
    },
    async tfjs(tf): Promise<Instance> {
      const t = await tfjsTrainer(tf, name);
      const X = tf.tensor(x(), shape);
      const Yi = tf.tensor(y(), [batch], 'int32');
      const Y1 = tf.oneHot(Yi, 10);
      const step = () => t.step(X, Yi, Y1);
      return {
        run() {
          const out = step();
          return () => tf.dispose(out);
        },
        async probe() {
          const losses: number[] = [];
          for (let i = 0; i < 2; i++) {
            const [loss, correct] = step();
            losses.push((await loss.data())[0]);
            tf.dispose([loss, correct]);
          }
          return Float32Array.from(losses);
        },
        dispose() {
          tf.dispose([X, Yi, Y1]);
          t.dispose();
        },
      };
    },
  };
}

/** The TF.js twin of a preset with Adam (Keras' defaults), from the same initial weights as ours. */
export async function tfjsTrainer(tf: any, name: 'cam1' | 'cam2') {
  const model = preset(name, 1); // same seed: the same initial weights as ours
  await E.gpu().sync();
  const twin = await tfjsTwin(tf, model);
  model.weights.forEach((w) => w.value.dispose());
  const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
  /** One step; returns [loss, correct count] (kept), as Trainer.step does. */
  const step = (X: any, Yi: any, oneHot?: any): any[] =>
    tf.tidy(() => {
      let logits: any = null;
      let output: any = null;
      const Y1 = oneHot ?? tf.oneHot(Yi, 10);
      const { value, grads } = tf.variableGrads(() => {
        const f = twin.forward(X);
        logits = tf.keep(f.logits);
        output = tf.keep(f.output);
        return tf.losses.softmaxCrossEntropy(Y1, f.logits);
      }, twin.vars);
      opt.applyGradients(grads);
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(output, -1), Yi), 'float32'));
      logits.dispose();
      output.dispose();
      return [value, correct];
    });
  return {
    step,
    dispose() {
      opt.dispose();
      twin.dispose();
    },
  };
}
