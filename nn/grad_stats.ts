// Per-layer gradient statistics while training (FitOptions.gradStats). A step with statistics
// adds one dispatch per trainable weight and one per ReLU-activated layer, all writing slots of
// one small stats tensor that fit reads back together with the loss: no readback or submit of
// its own. The kernels write raw sums; this file turns them into norms, shares and ratios, and
// pools a layer's kernel and bias exactly (sums add; spreads add with their means' offsets).

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import type { Weight } from './layer.ts';
import { Model } from './model.ts';

/** The statistics of one gradient (one weight tensor, or a layer's weights pooled). */
export interface GradStatValues {
  /** ‖g‖₂. */
  norm: number;
  /** Mean of the gradient's values. */
  mean: number;
  /** Standard deviation of the gradient's values (population: divided by their count). */
  std: number;
  /** max |g|. */
  maxAbs: number;
  /** Share (0..1) of the gradient's values that are exactly 0. */
  zeroFraction: number;
  /** ‖Δw‖₂ / ‖w‖₂ of this step's update (w before it); null where ‖w‖ = 0 (a bias at its zero start). */
  updateRatio: number | null;
}

/** One weight tensor's statistics at one step. */
export interface WeightGradStats extends GradStatValues {
  /** The Keras weight name ('kernel', 'bias', …). */
  weight: string;
  /** Its number of values. */
  size: number;
}

/** One layer's statistics at one step: its weights pooled, each weight, and its dead ReLU units. */
export interface LayerGradStats extends GradStatValues {
  /** The layer's name ('outer/inner' inside a nested model). */
  layer: string;
  /** Each trainable weight of the layer (kernel, then bias, …). */
  weights: WeightGradStats[];
  /**
   * For a layer whose output is a ReLU (activation 'relu', an Activation('relu') or a ReLU layer):
   * the share (0..1) of its units (the last axis: a Dense unit, a conv filter) that are ≤ 0 for
   * every sample and position of the batch. Absent for other layers.
   */
  deadFraction?: number;
}

/** `FitOptions.gradStats` as an object. */
export interface GradStatsOptions {
  /** Compute the statistics every this many steps of an epoch (its first step included); default 1. */
  every?: number;
}

/** One layer's statistics over an epoch (`EpochInfo.gradStats`). */
export interface LayerGradSummary {
  /** The layer's name. */
  layer: string;
  /** Each statistic averaged over the epoch's steps with statistics (updateRatio over those where it is defined). */
  mean: GradStatValues & { deadFraction?: number };
  /** The last step's statistics. */
  last: LayerGradStats;
  /** ‖g‖₂ at each step of `EpochGradStats.steps`. */
  norm: number[];
  /** max |g| at each step. */
  maxAbs: number[];
  /** updateRatio at each step. */
  updateRatio: (number | null)[];
  /** Dead-unit share at each step (ReLU layers only). */
  deadFraction?: number[];
}

/** The gradient statistics of one epoch. */
export interface EpochGradStats {
  /** The steps (from 1) whose statistics were computed. */
  steps: number[];
  /** One entry per layer with trainable weights, in the model's order. */
  layers: LayerGradSummary[];
}

interface WeightSlot {
  layer: string;
  weight: Weight;
  at: number;
}

interface ReluSlot {
  layer: string;
  units: number;
  at: number;
}

function isRelu(l: unknown): boolean {
  const o = l as { activation?: unknown; fn?: unknown; className?: string; maxValue?: unknown; negativeSlope?: unknown; threshold?: unknown };
  if (o.activation === 'relu') return true;
  if (o.className === 'Activation') return o.fn === 'relu';
  return o.className === 'ReLU' && o.negativeSlope === 0 && o.threshold === 0;
}

/**
 * Where each statistic of a model lands in the stats tensor: 8 values per trainable weight, then
 * one flag per unit of each ReLU layer (top-level layers called once; ReLU layers inside a nested
 * model are not watched for dead units).
 */
export class GradStatsPlan {
  /** Slots of the trainable weights, in `model.trainableWeights` order. */
  private readonly slots: WeightSlot[] = [];
  private readonly relus: ReluSlot[] = [];
  /** Values in the stats tensor. */
  readonly size: number;
  /** Layers (in order) with trainable weights or watched for dead units. */
  readonly layers: string[];

  constructor(model: Model) {
    if (!model.built) model.build();
    const owner = new Map<Weight, string>();
    const order: string[] = [];
    const walk = (m: Model, prefix: string) => {
      for (const l of m.layers) {
        const path = prefix + l.name;
        if (l instanceof Model) walk(l, path + '/');
        else {
          order.push(path);
          for (const w of l.trainableWeights) owner.set(w, path);
        }
      }
    };
    walk(model, '');
    let at = 0;
    for (const w of model.trainableWeights) {
      this.slots.push({ layer: owner.get(w) ?? model.name, weight: w, at });
      at += E.GRAD_STATS_VALUES;
    }
    for (const l of model.layers) {
      if (!isRelu(l) || model.nodes.filter((n) => n.layer === l).length !== 1) continue;
      const shape = model.nodes.find((n) => n.layer === l)!.shapes[0];
      const units = shape[shape.length - 1];
      this.relus.push({ layer: l.name, units, at });
      at += units;
    }
    this.size = at;
    const named = new Set([...this.slots.map((s) => s.layer), ...this.relus.map((r) => r.layer)]);
    this.layers = order.filter((p) => named.has(p));
  }

  /** Layer outputs `Model.forward` must capture (the ReLU layers'). */
  get captures(): string[] {
    return this.relus.map((r) => r.layer);
  }

  /** Dispatches added per step with statistics: one per trainable weight and one per watched ReLU layer. */
  get dispatches(): number {
    return this.slots.length + this.relus.length;
  }

  /** Copies of the weights before the update (buffer copies, no dispatch). */
  snapshot(weights: Weight[]): Tensor[] {
    return weights.map((w) => E.snapshot(w.value));
  }

  /**
   * Records the statistics of one step into a new stats tensor: `grads` and `before` in
   * `model.trainableWeights` order, `weights` updated, `captured` the forward pass's captures.
   */
  record(weights: Weight[], grads: Tensor[], before: Tensor[], captured: Map<string, Tensor>): Tensor {
    if (weights.length !== this.slots.length) throw new Error(`gradStats: ${weights.length} trainable weights, the plan has ${this.slots.length}`);
    const out = E.empty([this.size]); // every slot is written below
    this.slots.forEach((s, i) => E.gradStatsInto(grads[i], before[i], weights[i].value, out, s.at));
    for (const r of this.relus) {
      const a = captured.get(r.layer);
      if (!a) throw new Error(`gradStats: the forward pass did not capture layer '${r.layer}'`);
      E.deadUnitsInto(a, out, r.at);
    }
    return out;
  }

  /** Turns a read-back stats tensor into per-layer statistics, in the model's layer order. */
  parse(v: ArrayLike<number>): LayerGradStats[] {
    if (v.length !== this.size) throw new Error(`gradStats: ${v.length} values, the plan has ${this.size}`);
    const byLayer = new Map<string, LayerGradStats & { raw: number[][] }>();
    const entry = (layer: string) => {
      let e = byLayer.get(layer);
      if (!e) {
        e = { layer, ...pooled([]), weights: [], raw: [] };
        byLayer.set(layer, e);
      }
      return e;
    };
    for (const s of this.slots) {
      const raw = Array.from({ length: E.GRAD_STATS_VALUES }, (_, k) => v[s.at + k]);
      const e = entry(s.layer);
      e.raw.push(raw);
      e.weights.push({ weight: s.weight.name, size: raw[7], ...pooled([raw]) });
    }
    for (const r of this.relus) {
      let dead = 0;
      for (let k = 0; k < r.units; k++) dead += v[r.at + k];
      entry(r.layer).deadFraction = dead / r.units;
    }
    return this.layers.map((name) => {
      const { raw, ...e } = byLayer.get(name)!;
      return { ...e, ...pooled(raw) };
    });
  }
}

/** Statistics from raw sums [Σg, Σg², Σ(g − mean)², max|g|, zeros, Σ(Δw)², Σw², n] of one or more tensors, pooled exactly. */
function pooled(raws: number[][]): GradStatValues {
  const n = raws.reduce((a, r) => a + r[7], 0);
  if (n === 0) return { norm: 0, mean: 0, std: 0, maxAbs: 0, zeroFraction: 0, updateRatio: null };
  const mean = raws.reduce((a, r) => a + r[0], 0) / n;
  // Each part's spread about its own mean, plus its mean's offset from the pooled mean.
  const dev = raws.reduce((a, r) => a + r[2] + r[7] * (r[0] / r[7] - mean) ** 2, 0);
  const ww = raws.reduce((a, r) => a + r[6], 0);
  return {
    norm: Math.sqrt(raws.reduce((a, r) => a + r[1], 0)),
    mean,
    std: Math.sqrt(dev / n),
    maxAbs: Math.max(...raws.map((r) => r[3])),
    zeroFraction: raws.reduce((a, r) => a + r[4], 0) / n,
    updateRatio: ww > 0 ? Math.sqrt(raws.reduce((a, r) => a + r[5], 0) / ww) : null,
  };
}

/** Collects the statistics of an epoch's steps into an `EpochGradStats`. */
export class GradStatsEpoch {
  private readonly steps: number[] = [];
  private readonly seen: LayerGradStats[][] = [];

  /** Adds the statistics of step `step` (from 1). */
  add(step: number, layers: LayerGradStats[]): void {
    this.steps.push(step);
    this.seen.push(layers);
  }

  /** The epoch's summary, or undefined when no step had statistics. */
  summary(): EpochGradStats | undefined {
    if (!this.seen.length) return undefined;
    const last = this.seen[this.seen.length - 1];
    const layers = last.map((l, j): LayerGradSummary => {
      const all = this.seen.map((s) => s[j]);
      const avg = (f: (x: LayerGradStats) => number | null | undefined) => {
        const xs = all.map(f).filter((x): x is number => typeof x === 'number');
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
      };
      const mean: LayerGradSummary['mean'] = {
        norm: avg((x) => x.norm)!, mean: avg((x) => x.mean)!, std: avg((x) => x.std)!, maxAbs: avg((x) => x.maxAbs)!,
        zeroFraction: avg((x) => x.zeroFraction)!, updateRatio: avg((x) => x.updateRatio),
      };
      const s: LayerGradSummary = { layer: l.layer, mean, last: l, norm: all.map((x) => x.norm), maxAbs: all.map((x) => x.maxAbs), updateRatio: all.map((x) => x.updateRatio) };
      if (l.deadFraction !== undefined) {
        mean.deadFraction = avg((x) => x.deadFraction)!;
        s.deadFraction = all.map((x) => x.deadFraction!);
      }
      return s;
    });
    return { steps: [...this.steps], layers };
  }
}

/** Every how many steps statistics are computed, from `FitOptions.gradStats`; 0 when off. */
export function gradStatsEvery(o: boolean | GradStatsOptions | undefined): number {
  if (!o) return 0;
  const every = o === true ? 1 : (o.every ?? 1);
  if (!Number.isInteger(every) || every < 1) throw new Error(`fit: gradStats.every must be an integer ≥ 1, got ${every}`);
  return every;
}
