// Seeded random weights for the applications' test files, in place of the ImageNet weights the
// tests cannot have: one LCG (s ← 1664525·s + 1013904223 mod 2³², the same numbers in every
// runtime and in the Python references), drawn weight after weight in Keras' layer order. What a
// weight gets is a family's rule; each family's goldens were computed from its rule's exact
// float64 expressions, so the rules below keep them term for term (changing one changes the
// files the goldens were made from: the tests check their SHA-256 or sums).

import type { KerasLayerWeights } from '../io/keras.ts';
import type { AppGraph, LayerShapes, WeightShape } from './app_graph.ts';

/**
 * How one weight's values are made, with u = s/2³² ∈ [0, 1) and v = 2u − 1 ∈ [−1, 1) fresh per
 * value: `uniform` lo + (hi − lo)·u; `sym` times·(centre + sym·v) (centre and times left out
 * when absent); `sin` sin·sin(i) and `values` / 'zeros' without drawing.
 */
export type Draw =
  | { uniform: readonly [number, number] }
  | { sym: number; centre?: number; times?: number }
  | { sin: number }
  | { values: ArrayLike<number> }
  | 'zeros';

export interface WeightToDraw extends WeightShape {
  layer: string;
  /** All of the layer's weights (a rule may look at its kernel's rank). */
  of: WeightShape[];
  /** Whether the layer is the first / last one with weights. */
  first: boolean;
  last: boolean;
}

export type WeightRule = (w: WeightToDraw) => Draw;

/**
 * Values for every weight of `layers` (Keras order; weightless layers stay []), drawn in that
 * order from one LCG seeded with `seed`.
 */
export function seededWeights(layers: readonly LayerShapes[], seed: number, rule: WeightRule): KerasLayerWeights[] {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const weighted = layers.filter((l) => l.weights.length > 0);
  return layers.map((l) => ({
    name: l.layer,
    weights: l.weights.map((w) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const d = rule({ ...w, layer: l.layer, of: l.weights, first: l === weighted[0], last: l === weighted.at(-1) });
      const data = new Float32Array(n);
      if (d === 'zeros') {
        // count and the like
      } else if ('values' in d) {
        if (d.values.length !== n) throw new Error(`seededWeights: ${l.layer}/${w.name} is given ${d.values.length} values, its shape [${w.shape.join(', ')}] needs ${n}`);
        data.set(d.values);
      } else if ('uniform' in d) {
        const [lo, hi] = d.uniform;
        for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * u();
      } else if ('sin' in d) {
        for (let i = 0; i < n; i++) data[i] = d.sin * Math.sin(i);
      } else
        for (let i = 0; i < n; i++) {
          const v = u() * 2 - 1;
          const x = d.centre === undefined ? d.sym * v : d.centre + d.sym * v;
          data[i] = d.times === undefined ? x : d.times * x;
        }
      return { name: w.name, shape: [...w.shape], data };
    }),
  }));
}

/** `seededWeights` of a description, its input layer first: every layer of a save_weights file. */
export function seededAppLayers(g: AppGraph, seed: number, rule: WeightRule): KerasLayerWeights[] {
  return seededWeights([{ layer: g.inputName, weights: [] }, ...g.weightShapes()], seed, rule);
}

const fanIn = (shape: readonly number[]) => shape.slice(0, -1).reduce((a, b) => a * b, 1);

/**
 * Xception and InceptionV3: uniform ranges that keep a deep stack's activations of order one:
 * convolution kernels ±√(6/fan-in) (He), the depthwise ones as a 1-input conv ±√(3/(kh·kw)),
 * the classifier ±√(3/in); BatchNormalization γ ∈ [0.8, 1.2], moving variance ∈ [0.8, 1.25],
 * β, moving mean and biases ∈ [−0.1, 0.1].
 */
export const uniformFanIn: WeightRule = ({ name, shape }) => {
  const range = (k: number, n: number) => ({ uniform: [-Math.sqrt(k / n), Math.sqrt(k / n)] as const });
  if (name === 'kernel') return shape.length === 2 ? range(3, shape[0]) : range(6, fanIn(shape));
  if (name === 'pointwise_kernel') return range(6, fanIn(shape));
  if (name === 'depthwise_kernel') return range(3, shape[0] * shape[1]);
  if (name === 'gamma') return { uniform: [0.8, 1.2] };
  if (name === 'moving_variance') return { uniform: [0.8, 1.25] };
  return { uniform: [-0.1, 0.1] };
};

/**
 * MobileNet, MobileNetV2, EfficientNet: kernels ±√(6/fan-in)·scale (He; fan-in kh·kw for a
 * depthwise kernel), biases ±0.05·scale, γ ∈ [0.8, 1.2], β and moving mean ∈ [−0.1, 0.1], moving
 * variance ∈ [0.5, 1.5] (Normalization's mean and variance alike, count 0). `scale` by layer name;
 * `fixed` values by 'layer/weight' (EfficientNet's ImageNet mean).
 */
export function heSymmetric(o: { scale?: Record<string, number>; fixed?: Record<string, ArrayLike<number>> } = {}): WeightRule {
  return ({ layer, name, shape }) => {
    const f = o.scale?.[layer] ?? 1;
    const fixed = o.fixed?.[`${layer}/${name}`];
    if (fixed) return { values: fixed };
    if (name === 'kernel') return { sym: Math.sqrt(6 / fanIn(shape)) * f };
    if (name === 'depthwise_kernel') return { sym: Math.sqrt(6 / (shape[0] * shape[1])) * f };
    if (name === 'bias') return { sym: 0.05 * f };
    if (name === 'gamma') return { uniform: [0.8, 1.2] };
    if (name === 'moving_variance' || name === 'variance') return { uniform: [0.5, 1.5] };
    if (name === 'beta' || name === 'moving_mean' || name === 'mean') return { uniform: [-0.1, 0.1] };
    if (name === 'count') return 'zeros';
    throw new Error(`heSymmetric: no rule for weight '${name}' of layer '${layer}'`);
  };
}

/**
 * ResNet50 and DenseNet121: kernels ±√(6/fan-in) (He), the first layer's divided by `inputScale`
 * (the input's RMS: 64 for 'caffe' pixels), the classifier's (and its bias) times
 * `classifierScale`; biases 0.01·sin(i); γ ∈ 1 ± 0.25 and β ∈ ±0.1, both times bnScale(layer)
 * (residual branches' last normalisation, as a zero-γ initialisation, so that sums do not grow
 * geometrically with depth); moving mean ±0.1, moving variance 1 ± 0.5.
 */
export function heResidual(o: { inputScale?: number; classifierScale?: number; bnScale?: (layer: string) => number } = {}): WeightRule {
  return ({ layer, name, shape, of, first, last }) => {
    const f = last && of[0]?.shape.length === 2 ? (o.classifierScale ?? 1) : first ? 1 / (o.inputScale ?? 1) : 1;
    const g = o.bnScale?.(layer) ?? 1;
    if (name === 'kernel') return { sym: Math.sqrt(6 / fanIn(shape)) * f };
    if (name === 'bias') return { sin: 0.01 * (last ? f : 1) };
    if (name === 'gamma') return { sym: 0.25, centre: 1, times: g };
    if (name === 'beta') return { sym: g * 0.1 };
    if (name === 'moving_mean') return { sym: 0.1 };
    if (name === 'moving_variance') return { sym: 0.5, centre: 1 };
    throw new Error(`heResidual: no rule for weight '${name}' of layer '${layer}'`);
  };
}
