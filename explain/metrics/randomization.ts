// The model-randomization sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", 2018):
// re-initialise the model's layers (Keras' initialisers) one after another from the output down (cascading: earlier
// ones stay random) and compare each new map with the original. A map that stays alike while the
// weights it should explain are gone does not explain the model (the paper's finding for Guided
// Backprop). Weights are restored afterwards, also when a step throws.

import { Rng } from '../../nn/random.ts';
import { constant, glorotUniform } from '../../nn/initializers.ts';
import type { Layer, Weight } from '../../nn/layer.ts';
import type { Model } from '../../nn/model.ts';
import { leafLayers } from '../../nn/model_file.ts';
import { spearman, ssim } from './similarity.ts';

/** Maps of the same images and classes, as the model now computes them. */
export interface MapsAt {
  /** One map per image, height·width values, row-major. */
  maps: Float32Array[];
  /** The maps' height. */
  height: number;
  /** The maps' width. */
  width: number;
}

/** One step of the cascade: the layer re-initialised and how alike the maps still are. */
export interface CascadeStep {
  /** The layer re-initialised at this step (all layers before it in the cascade stay random). */
  layer: string;
  /** How many layers are random at this step. */
  randomised: number;
  /** Means over the images of the similarity to the original map. */
  spearman: number;
  /** Spearman's rank correlation of the absolute maps. */
  spearmanAbs: number;
  /** SSIM of the absolute maps, each rescaled to [0, 1]. */
  ssim: number;
}

/** The whole cascade and its verdict. */
export interface CascadeResult {
  /** One entry per layer re-initialised, from the output down. */
  steps: CascadeStep[];
  /** The mean over the steps of the rank correlation of the absolute maps with the original. */
  meanSpearmanAbs: number;
  /**
   * True when the map changes: that mean below `threshold` (0.5). The mean over the cascade, not its
   * last step: a map that survives the top layers' randomisation (the paper's Guided Backprop) fails
   * even if it decays once the whole network is random. An inverted map counts as changed.
   */
  passes: boolean;
  /** The verdict in one sentence, with the figure it rests on. */
  verdict: string;
}

/** The layers with trainable weights, from the output down: the cascade's order. */
export function cascadeLayers(model: Model): Layer[] {
  return leafLayers(model)
    .filter((l) => l.trainableWeights.length > 0)
    .reverse();
}

/**
 * A weight as a freshly built Keras layer has it (the paper re-initialises with the training
 * initialisers): kernels Glorot-uniform, biases and BatchNormalization's beta zeros, its gamma
 * ones, and its moving statistics too (mean 0, variance 1): trained statistics left in place would
 * turn the small outputs of fresh kernels into one constant per channel.
 */
export function reinitialised(w: Weight, rng: Rng): Float32Array {
  if (/gamma|moving_variance/.test(w.name)) return constant(w.shape, 1);
  if (w.shape.length >= 2) return glorotUniform(w.shape, rng);
  return constant(w.shape, 0);
}

/**
 * Runs the cascade: `explain()` once on the model as it is, then after each layer of
 * `cascadeLayers(model)` (or the `layers` named) is re-initialised — or, with `every: k`, after every
 * k-th layer and the last (the cascade is the same; only the comparisons are fewer).
 */
export async function randomizationCascade(
  model: Model,
  explain: () => Promise<MapsAt>,
  o: { seed?: number; layers?: string[]; threshold?: number; every?: number; onStep?: (s: CascadeStep) => void } = {},
): Promise<CascadeResult> {
  const all = cascadeLayers(model);
  const layers = o.layers ? o.layers.map((n) => all.find((l) => l.name === n) ?? fail(`randomization: no layer '${n}' with weights in model '${model.name}'`)) : all;
  const threshold = o.threshold ?? 0.5;
  const rng = new Rng(o.seed ?? 7);
  const original = await explain();
  const saved = new Map<Weight, Float32Array>();
  const steps: CascadeStep[] = [];
  try {
    const every = Math.max(1, Math.floor(o.every ?? 1));
    for (const [li, layer] of layers.entries()) {
      for (const w of layer.weights) {
        saved.set(w, await w.read());
        w.assign(reinitialised(w, rng), `randomization of ${layer.name}`);
      }
      if ((li + 1) % every !== 0 && li !== layers.length - 1) continue;
      const now = await explain();
      let sp = 0, spa = 0, ss = 0;
      original.maps.forEach((m0, i) => {
        const m1 = now.maps[i];
        sp += spearman(m0, m1);
        spa += spearman(m0.map(Math.abs), m1.map(Math.abs));
        ss += ssim(m0.map(Math.abs), m1.map(Math.abs), original.height, original.width);
      });
      const n = original.maps.length;
      const step = { layer: layer.name, randomised: li + 1, spearman: sp / n, spearmanAbs: spa / n, ssim: ss / n };
      steps.push(step);
      o.onStep?.(step);
    }
  } finally {
    for (const [w, v] of saved) w.assign(v, 'randomization: restored');
  }
  const last = steps[steps.length - 1];
  const meanSpearmanAbs = steps.length ? steps.reduce((a, s) => a + s.spearmanAbs, 0) / steps.length : 0;
  const passes = !last || meanSpearmanAbs < threshold;
  const over = last ? `over ${steps.length} comparison${steps.length > 1 ? 's' : ''} down to ${last.randomised} re-initialised layer${last.randomised > 1 ? 's' : ''}` : '';
  const verdict = !last
    ? 'no layer with weights: nothing to randomise'
    : passes
      ? `passes: ${over} the map's rank correlation with the original averages ${meanSpearmanAbs.toFixed(2)}`
      : `fails: ${over} the map still correlates ${meanSpearmanAbs.toFixed(2)} on average with the original: it hardly depends on the weights`;
  return { steps, meanSpearmanAbs, passes, verdict };
}

function fail(msg: string): never {
  throw new Error(msg);
}
