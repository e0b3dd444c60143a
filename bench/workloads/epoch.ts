// A training epoch of cam1 / cam2 as the lecture runs it: 54 000 digits (MNIST's 60 000 less
// Keras' validation split of 0.1) at batch 100, shuffled, from host memory. Ours is
// Trainer.fit (nn/fit.ts): per batch an upload, one step, and the loss and correct count read
// one step late. TF.js runs the same loop around the same step as the training workload
// (tfjsTrainer): upload the batch, step, read the previous step's loss and count.
//
// The digits are seeded noise with random labels: an epoch's time does not depend on the
// values, and the suite has to run where no MNIST file can be read (a browser page).
//
// On a CPU driver an epoch takes hours, so only `digits` of them run and the report
// extrapolates to the whole epoch (Workload.extrapolate), saying so.

import * as E from '../../engine/index.ts';
import { Trainer, type Dataset } from '../../nn/fit.ts';
import { preset } from '../../nn/presets.ts';
import { Rng } from '../../nn/random.ts';
import type { Instance, Workload } from '../harness.ts';
import { uniform } from './kernels.ts';
import { stepFlops, tfjsTrainer } from './training.ts';

export const EPOCH_DIGITS = 54_000;
const PER = 28 * 28;
const SEED = 13;

function dataset(n: number): Dataset {
  const r = new Rng(12);
  return { x: uniform(11, n * PER, 0, 1), y: Int32Array.from({ length: n }, () => Math.floor(r.next() * 10)) };
}

/** `digits` of an epoch of `total` digits, at `batch`. */
export function epochWorkload(name: 'cam1' | 'cam2', digits: number, batch = 100, total = EPOCH_DIGITS): Workload {
  digits = Math.min(digits, total);
  let data: Dataset | null = null;
  const get = () => (data ??= dataset(digits));
  const part = digits < total;
  const steps = Math.ceil(digits / batch);
  // The probe: the loss of the first batch from identical weights (the training-step workload
  // checks a second step's; one is enough here and halves the probe's time on CPU drivers).
  const probeSteps = 1;
  const batchOf = (s: number) => {
    const d = get();
    const b = Math.min(batch, digits - s * batch);
    return { x: d.x.subarray(s * batch * PER, (s * batch + b) * PER), y: (d.y as Int32Array).subarray(s * batch, s * batch + b), b };
  };
  return {
    id: `epoch-${name}-b${batch}${part ? `-${digits}` : ''}`,
    family: 'epoch',
    title: part ? `${name} epoch, ${digits} of ${total} digits, batch ${batch}` : `${name} epoch (${total} digits, batch ${batch})`,
    params: { model: name, batch, digits, epochDigits: total, steps, data: 'seeded noise, random labels, host memory', shuffle: true },
    tolerance: 1e-3,
    warmup: false,
    work: stepFlops(name, digits),
    backward: true,
    extrapolate: part ? { factor: total / digits, what: `a whole epoch (${total} digits), extrapolated from ${digits}` } : undefined,
    async ours(): Promise<Instance> {
      const model = preset(name, 1);
      const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
      return {
        async run() {
          await trainer.fit(get(), { batchSize: batch, epochs: 1, shuffle: true, seed: SEED });
          return () => {};
        },
        async probe() {
          const losses: number[] = [];
          for (let s = 0; s < probeSteps; s++) {
            const { x, y, b } = batchOf(s);
            const X = E.tensor(x, [b, 28, 28, 1]);
            const Y = E.tensor(y, [b], 'int32');
            const { loss, correct } = trainer.step(X, Y, new Rng(SEED));
            X.dispose();
            Y.dispose();
            losses.push((await loss.data())[0]);
            loss.dispose();
            correct.dispose();
          }
          return Float32Array.from(losses);
        },
        dispose() {
          trainer.optimizer.dispose();
          model.weights.forEach((w) => w.value.dispose());
        },
      };
    },
    async tfjs(tf): Promise<Instance> {
      const t = await tfjsTrainer(tf, name);
      const upload = (x: Float32Array, y: Int32Array, b: number) => [tf.tensor(x, [b, 28, 28, 1]), tf.tensor(y, [b], 'int32')];
      return {
        async run() {
          const d = get();
          const order = new Rng(SEED).permutation(digits);
          const xb = new Float32Array(batch * PER);
          const yb = new Int32Array(batch);
          let pending: Promise<unknown> | null = null;
          for (let s = 0; s < steps; s++) {
            const b = Math.min(batch, digits - s * batch);
            for (let i = 0; i < b; i++) {
              const j = order[s * batch + i];
              xb.set(d.x.subarray(j * PER, (j + 1) * PER), i * PER);
              yb[i] = d.y[j];
            }
            const [X, Y] = upload(xb.subarray(0, b * PER), yb.subarray(0, b), b);
            const out = t.step(X, Y);
            tf.dispose([X, Y]);
            const read = Promise.all(out.map((o: any) => o.data())).then(() => tf.dispose(out));
            if (pending) await pending;
            pending = read;
          }
          await pending;
          return () => {};
        },
        async probe() {
          const losses: number[] = [];
          for (let s = 0; s < probeSteps; s++) {
            const { x, y, b } = batchOf(s);
            const [X, Y] = upload(x, y, b);
            const out = t.step(X, Y);
            tf.dispose([X, Y]);
            losses.push((await out[0].data())[0]);
            tf.dispose(out);
          }
          return Float32Array.from(losses);
        },
        dispose: () => t.dispose(),
      };
    },
  };
}
