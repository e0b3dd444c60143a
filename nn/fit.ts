// compile / fit / evaluate for models of one input and one output (Sequential or graph), on host data (Float32Array NHWC images and
// integer labels). One training step = one scope: forward, loss, gradients of the trainable
// weights, optimiser update, all recorded into one GPU submission. The loss and accuracy of a
// step are read back up to `inFlight` (4) steps late, so the CPU records steps ahead while the
// GPU runs earlier ones, and neither waits out the other's latency.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import { checkLoss, correctCount, lossOf, type LossName } from './losses.ts';
import { optimizerFrom, type Optimizer } from './optimizers.ts';
import { Rng } from './random.ts';
import type { Model } from './model.ts';
import { GradStatsEpoch, GradStatsPlan, gradStatsEvery, type EpochGradStats, type GradStatsOptions, type LayerGradStats } from './grad_stats.ts';

/** Training or test data on the host: images and their class indices. */
export interface Dataset {
  /** NHWC images, N·H·W·C values. */
  x: Float32Array;
  /** Class indices. */
  y: ArrayLike<number>;
}

/** Keras' compile arguments, for `new Trainer(model, options)`. */
export interface CompileOptions {
  /** 'adam' (default), 'sgd' (Keras' defaults), or an optimiser object. */
  optimizer?: string | Optimizer;
  /**
   * A name from `LOSSES`; default 'categorical_crossentropy' (both names take class indices here).
   * Throws on another name.
   */
  loss?: string;
  /** Accepted for Keras compatibility and ignored: loss and accuracy are always reported. */
  metrics?: string[];
}

/** Progress after one training step, given to `FitOptions.onBatchEnd`. */
export interface BatchInfo {
  /** Epoch, from 1. */
  epoch: number;
  /** Step within the epoch, from 1. */
  step: number;
  /** Steps per epoch. */
  steps: number;
  /** Mean loss over the epoch so far. */
  loss: number;
  /** Accuracy (0..1) over the epoch so far. */
  accuracy: number;
  /** Training throughput over the epoch so far. */
  imagesPerSecond: number;
  /** This batch alone (loss and accuracy above are running means over the epoch). */
  batchLoss: number;
  /** This batch's accuracy (0..1). */
  batchAccuracy: number;
  /** This batch's size (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Per-layer gradient statistics of this step, on the steps that computed them (`FitOptions.gradStats`). */
  gradStats?: LayerGradStats[];
}

/**
 * The summary of one epoch, returned by `fit` (one per epoch) and given to `FitOptions.onEpochEnd`.
 */
export interface EpochInfo {
  /** Epoch, from 1. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Training accuracy (0..1) over the epoch. */
  accuracy: number;
  /** Loss on the validation split, when `validationSplit` > 0. */
  valLoss?: number;
  /** Accuracy on the validation split, when `validationSplit` > 0. */
  valAccuracy?: number;
  /** Wall time of the epoch's training steps. */
  seconds: number;
  /** Per-layer gradient statistics over the epoch, when `FitOptions.gradStats` is on. */
  gradStats?: EpochGradStats;
}

/** Keras' fit arguments, and callbacks. */
export interface FitOptions {
  /**
   * Images per step; default 100. Throws when one activation of that batch exceeds the adapter's
   * binding limit.
   */
  batchSize?: number;
  /** Passes over the training data; default 1. */
  epochs?: number;
  /**
   * Fraction of the data held out for validation, taken from the end before shuffling (as Keras);
   * default 0.
   */
  validationSplit?: number;
  /** Shuffle the training data each epoch; default true. */
  shuffle?: boolean;
  /** Seed of the shuffles and of dropout masks; default 1. */
  seed?: number;
  /** Awaited when it returns a promise (the next step is already recorded: the GPU keeps working). */
  onBatchEnd?: (b: BatchInfo) => unknown;
  /** Called (and awaited) after each epoch. */
  onEpochEnd?: (e: EpochInfo) => void | Promise<void>;
  /** Stops after the current step when it returns true (e.g. a signal from the UI). */
  shouldStop?: () => boolean;
  /**
   * Steps whose loss may still be on its way back when the next is recorded (default 4): the
   * host runs that far ahead of the GPU, so neither waits out the other's latency (a readback's
   * promise resolves a while after the GPU finished). 1: the host waits for each step's
   * predecessor.
   */
  inFlight?: number;
  /**
   * Per-layer gradient statistics (norm, mean, std, max |g|, share of exact zeros, update-to-weight
   * ratio, share of dead ReLU units), computed on the GPU after each step's update and read back
   * with its loss: no extra readback or submit. `true`: every step; `{ every: n }`: every n-th step
   * of an epoch (its first included). Default off, which adds nothing to a step. Results arrive in
   * `BatchInfo.gradStats` and `EpochInfo.gradStats`.
   */
  gradStats?: boolean | GradStatsOptions;
}

/**
 * Keras' compile and fit for a model of one input and one output:
 * `new Trainer(model, { optimizer, loss })`, then `await trainer.fit(data, { epochs })`. Each step
 * (forward, loss, gradients, update) is one scope and one GPU submission; losses are read back a
 * few steps late so the host and GPU overlap. Throws for a model with several inputs or outputs.
 */
export class Trainer {
  /** The optimiser the updates use. */
  readonly optimizer: Optimizer;
  /** The loss name. */
  readonly loss: LossName;
  constructor(
    /** The model trained (its weights are updated in place). */
    readonly model: Model,
    o: CompileOptions = {},
  ) {
    oneInputOneOutput(model, 'fit');
    this.optimizer = optimizerFrom(o.optimizer ?? 'adam');
    this.loss = checkLoss(o.loss ?? 'categorical_crossentropy');
  }

  /**
   * One step on a batch already on the GPU; returns the loss and the count of correct rows (kept),
   * and with a `GradStatsPlan` the step's gradient statistics (a tensor for `plan.parse`).
   */
  step(x: Tensor, labels: Tensor, rng: Rng, stats?: GradStatsPlan): { loss: Tensor; correct: Tensor; stats?: Tensor } {
    // The step takes its gradients from grad(), not from .grad: what an earlier backward() left
    // there would be stale after this update (and hold GPU memory), so it goes.
    if (this.optimizer.zeroGrad) this.optimizer.zeroGrad(this.model.trainableWeights);
    else this.model.zeroGrad();
    return E.tidy(() => {
      const fwd = this.model.forward(x, { training: true, rng }, stats?.captures ?? []);
      const loss = lossOf(this.loss, fwd, labels);
      const weights = this.model.trainableWeights;
      const grads = E.grad(
        loss,
        weights.map((w) => w.value),
      );
      // The update is in place: the statistics' update ratio needs the weights from before it.
      const before = stats ? stats.snapshot(weights) : null;
      this.optimizer.apply(weights, grads);
      const correct = E.noGrad(() => correctCount(fwd.output, labels));
      if (!stats) return { loss, correct };
      return { loss, correct, stats: E.noGrad(() => stats.record(weights, grads, before!, fwd.captured)) };
    });
  }

  /**
   * Trains on `data` (images [N, ...model.inputShape] flattened, labels 0..C−1) and returns one
   * `EpochInfo` per epoch run. Throws before any step on a size mismatch or a label out of range; a
   * NaN or infinite image is reported with the step that read it.
   */
  async fit(data: Dataset, o: FitOptions = {}): Promise<EpochInfo[]> {
    const batch = o.batchSize ?? 100;
    if (this.model.safeBatch(batch) < batch)
      throw new Error(`fit: batch ${batch} makes an activation larger than this adapter's storage binding limit; use at most ${this.model.safeBatch(batch)}`);
    const epochs = o.epochs ?? 1;
    // The default is the device plan's (LANTERNA_FIT_INFLIGHT=n, to compare depths on a GPU).
    const inFlight = Math.max(1, Math.floor(o.inFlight ?? E.gpu().plan.fitInFlight));
    const rng = new Rng(o.seed ?? 1);
    const model = this.model;
    const every = gradStatsEvery(o.gradStats);
    const plan = every ? new GradStatsPlan(model) : undefined;
    const per = model.inputShape!.reduce((a, b) => a * b, 1);
    const n = data.x.length / per;
    if (!Number.isInteger(n) || n !== data.y.length)
      throw new Error(`fit: ${data.x.length} input values are not ${data.y.length} images of [${model.inputShape}]`);
    checkLabels('fit', data.y, model);
    // Keras takes the validation split from the end, before shuffling.
    const nVal = Math.floor(n * (o.validationSplit ?? 0));
    const nTrain = n - nVal;
    const steps = Math.ceil(nTrain / batch);
    const history: EpochInfo[] = [];
    const xb = new Float32Array(batch * per);
    const yb = new Int32Array(batch);
    // fit awaits between steps, so its tensors are made in an explicit scope (sc.run): work that
    // runs meanwhile (an explanation) never lands in it, and an error leaves nothing behind.
    const sc = E.scope();
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const order = o.shuffle === false ? Int32Array.from({ length: nTrain }, (_, i) => i) : rng.permutation(nTrain);
        const t0 = performance.now();
        let lossSum = 0;
        let correctSum = 0;
        let seen = 0;
        const pending: { read: Promise<[number, number, LayerGradStats[] | undefined]>; b: number; step: number }[] = [];
        const epochStats = plan ? new GradStatsEpoch() : undefined;
        const settle = async () => {
          const done = pending.shift();
          if (!done) return;
          const [l, c, gs] = await done.read;
          if (gs) epochStats!.add(done.step, gs);
          lossSum += l * done.b;
          correctSum += c;
          seen += done.b;
          const secs = (performance.now() - t0) / 1000;
          await o.onBatchEnd?.({
            epoch, step: done.step, steps, loss: lossSum / seen, accuracy: correctSum / seen, imagesPerSecond: seen / secs,
            batchLoss: l, batchAccuracy: c / done.b, batchSize: done.b, ...(gs ? { gradStats: gs } : {}),
          });
        };
        for (let s = 0; s < steps; s++) {
          const b = Math.min(batch, nTrain - s * batch);
          for (let i = 0; i < b; i++) {
            const j = order[s * batch + i];
            xb.set(data.x.subarray(j * per, (j + 1) * per), i * per);
            yb[i] = data.y[j];
          }
          const withStats = plan && s % every === 0 ? plan : undefined;
          const { loss, correct, stats } = sc.run(() => {
            const x = E.tensor(xb.subarray(0, b * per), [b, ...model.inputShape!]);
            const y = E.tensor(yb.subarray(0, b), [b], 'int32');
            try {
              const r = this.step(x, y, rng, withStats);
              // A NaN or Inf image is reported with this step's loss, in the readback made anyway.
              const first = s * batch;
              E.checkFiniteOnRead('fit', r.loss, x, (k) => `image ${order[first + Math.floor(k / per)]} (value ${k % per} of it; epoch ${epoch}, step ${s + 1})`);
              return r;
            } finally {
              x.dispose();
              y.dispose();
            }
          });
          // The statistics ride on the loss's readback: one round trip per step either way.
          const read = E.readAll(stats ? [loss, correct, stats] : [loss, correct]).then(([l, c, st]) => {
            loss.dispose();
            correct.dispose();
            stats?.dispose();
            return [l[0], c[0], st ? withStats!.parse(st) : undefined] as [number, number, LayerGradStats[] | undefined];
          });
          read.catch(() => {}); // awaited by settle; this keeps a failure behind an earlier one from going unhandled
          pending.push({ read, b, step: s + 1 });
          while (pending.length > inFlight) await settle();
          if (o.shouldStop?.()) break;
        }
        while (pending.length) await settle();
        const info: EpochInfo = { epoch, loss: lossSum / seen, accuracy: correctSum / seen, seconds: (performance.now() - t0) / 1000 };
        const gs = epochStats?.summary();
        if (gs) info.gradStats = gs;
        if (nVal > 0) {
          const v = await this.evaluate({ x: data.x.subarray(nTrain * per), y: Array.prototype.slice.call(data.y, nTrain) });
          info.valLoss = v.loss;
          info.valAccuracy = v.accuracy;
        }
        history.push(info);
        await o.onEpochEnd?.(info);
        if (o.shouldStop?.()) break;
      }
    } finally {
      sc.close();
    }
    return history;
  }

  /** Loss and accuracy over a dataset; sums stay on the GPU, one readback at the end. */
  async evaluate(data: Dataset, batchSize = 500): Promise<{ loss: number; accuracy: number; n: number }> {
    return evaluate(this.model, data, batchSize, this.loss);
  }
}

/**
 * Class indices must be integers in 0..C−1 (C: the model's output width): one bad label would
 * make every row of a 'mean' loss NaN. Host data, so refused before any step.
 */
function checkLabels(what: string, y: ArrayLike<number>, model: Model): void {
  const c = model.outputShape![model.outputShape!.length - 1];
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isInteger(v) || v < 0 || v >= c)
      throw new Error(`${what}: label ${v} at index ${i} is not a class index 0..${c - 1} (model '${model.name}' has ${c} outputs)`);
  }
}

/** fit and evaluate take one image array and one label array: a model of one input and one output. */
function oneInputOneOutput(model: Model, what: string): void {
  if (!model.built) model.build();
  if (model.inputNodes.length !== 1 || model.outputRefs.length !== 1)
    throw new Error(`${what}: model '${model.name}' has ${model.inputNodes.length} inputs and ${model.outputRefs.length} outputs (${model.outputNames.join(', ')}); ${what} takes models of one input and one output`);
}

/**
 * Mean loss and accuracy of `model` over `data` (no gradients, dropout off), in batches of
 * `batchSize` (default 500). `n` is the number of images. Throws on a size mismatch or a label out
 * of range.
 */
export async function evaluate(model: Model, data: Dataset, batchSize = 500, loss: LossName = 'categorical_crossentropy') {
  oneInputOneOutput(model, 'evaluate');
  batchSize = model.safeBatch(batchSize);
  const per = model.inputShape!.reduce((a, b) => a * b, 1);
  const n = data.x.length / per;
  if (!Number.isInteger(n) || n !== data.y.length)
    throw new Error(`evaluate: ${data.x.length} input values are not ${data.y.length} images of [${model.inputShape}]`);
  checkLabels('evaluate', data.y, model);
  const yAll = Int32Array.from(data.y);
  // The running sums live in an explicit scope: evaluate awaits, and may overlap other work.
  const sc = E.scope();
  try {
    let [lossSum, correct] = sc.run(() => [E.zeros([]), E.zeros([])]);
    for (let s = 0; s < n; s += batchSize) {
      const b = Math.min(batchSize, n - s);
      [lossSum, correct] = sc.run(() =>
        E.tidy(() =>
          E.noGrad(() => {
            const x = E.tensor(data.x.subarray(s * per, (s + b) * per), [b, ...model.inputShape!]);
            const y = E.tensor(yAll.subarray(s, s + b), [b], 'int32');
            const fwd = model.forward(x, { training: false });
            const l = E.scale(lossOf(loss, fwd, y), b);
            const sums = [E.add(lossSum, l), E.add(correct, correctCount(fwd.output, y))];
            lossSum.dispose();
            correct.dispose();
            return sums;
          }),
        ),
      );
    }
    const [l, c] = await Promise.all([lossSum.data(), correct.data()]);
    return { loss: l[0] / n, accuracy: c[0] / n, n };
  } finally {
    sc.close();
  }
}
