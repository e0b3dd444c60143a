// Every explanation method behind one call, for the commands, the web app and the metrics: a map
// per image at the model's input size (CAM-family maps upsampled bilinearly from their layer;
// pixel attributions reduced over the channels as their method says).

import type { Tensor } from '../nn/engine.ts';
import type { Model } from '../nn/model.ts';
import type { CamMap, ScoreOf } from './cam_base.ts';
import { CAM_METHODS, type CamMethodClass } from './methods.ts';
import * as A from './attribution/index.ts';

/** What to explain: the layer (CAM family), the classes (null: each image's top-1), the score. */
export interface ExplainRequest {
  /** The layer a CAM-family method weighs (default: the method's choice). Ignored by pixel attributions. */
  layer?: string;
  /** One target class per image, or null / absent for each image's top-1. */
  classes?: number[] | null;
  /** The score differentiated by gradient methods: softmax output (default) or logit. */
  score?: ScoreOf;
  /** For a model with several outputs: which one is explained. */
  output?: number | string;
  /** Image pixels (0…255, HWC) → model input: Integrated Gradients' black baseline is pixel 0 through it. */
  preprocess?: (pixels: Float32Array) => Float32Array;
}

/** One method's maps for a batch of images. */
export interface Explanation {
  /** The registry name (e.g. 'gradcam++'). */
  method: string;
  /** The method's name as its paper writes it (e.g. 'Grad-CAM++'). */
  title: string;
  /** One map per image, height·width values at the model's input size, row-major. */
  maps: Float32Array[];
  /** The model input's height. */
  height: number;
  /** The model input's width. */
  width: number;
  /** The class explained in each image. */
  classes: number[];
  /** The map before upsampling (CAM family: the layer's h×w), when it differs from `maps`. */
  raw?: { maps: Float32Array[]; h: number; w: number };
}

/** An explanation method behind the common call. */
export interface Explainer {
  /** The registry name. */
  name: string;
  /** The method's name as its paper writes it. */
  title: string;
  /** 'cam': weighs a layer's activations; 'attribution': a value per input pixel. */
  kind: 'cam' | 'attribution';
  /** Computes the maps of the images `x` [N, H, W, C]. */
  run(model: Model, x: Tensor, req: ExplainRequest): Promise<Explanation>;
}

function camExplainer(name: string, C: CamMethodClass): Explainer {
  return {
    name,
    title: new C({} as Model).name,
    kind: 'cam',
    async run(model, x, req) {
      const [, H, W] = x.shape;
      const method = new C(model, { output: req.output });
      const maps: CamMap[] = await method.explain(x, { layer: req.layer, classes: req.classes ?? null, score: req.score, output: req.output, upsample: { size: [H, W], mode: 'bilinear' } });
      return {
        method: name,
        title: method.name,
        maps: maps.map((m) => m.upsampled!),
        height: H,
        width: W,
        classes: maps.map((m) => m.classIndex),
        raw: { maps: maps.map((m) => m.raw), h: maps[0].h, w: maps[0].w },
      };
    },
  };
}

type AttributionFn = (model: Model, x: Tensor, req: ExplainRequest) => Promise<A.Attribution>;

/** Occlusion's default window: an eighth of the input's side (at least 2), half of it as stride. */
const occlusionWindow = (x: Tensor) => Math.max(2, Math.round(Math.min(x.shape[1], x.shape[2]) / 8));

const ATTRIBUTIONS: [string, string, AttributionFn][] = [
  ['saliency', 'Saliency', (m, x, r) => A.saliency(m, x, r)],
  ['gradxinput', 'Gradient×Input', (m, x, r) => A.gradientTimesInput(m, x, r)],
  ['smoothgrad', 'SmoothGrad', (m, x, r) => A.smoothGrad(m, x, r)],
  ['smoothgrad2', 'SmoothGrad²', (m, x, r) => A.smoothGradSquared(m, x, r)],
  ['vargrad', 'VarGrad', (m, x, r) => A.varGrad(m, x, r)],
  ['ig', 'Integrated Gradients', (m, x, r) => A.integratedGradients(m, x, { ...r, preprocess: r.preprocess })],
  ['guidedbackprop', 'Guided Backprop', (m, x, r) => A.guidedBackprop(m, x, r)],
  ['guidedgradcam', 'Guided Grad-CAM', (m, x, r) => A.guidedGradCam(m, x, { ...r, layer: r.layer })],
  ['occlusion', 'Occlusion', (m, x, r) => A.occlusion(m, x, { ...r, window: occlusionWindow(x), stride: Math.max(1, Math.floor(occlusionWindow(x) / 2)) })],
];

function attributionExplainer(name: string, title: string, fn: AttributionFn): Explainer {
  return {
    name,
    title,
    kind: 'attribution',
    async run(model, x, req) {
      const a = await fn(model, x, { ...req, classes: req.classes ?? null });
      const hw = a.h * a.w;
      return { method: name, title, maps: Array.from({ length: a.n }, (_, i) => a.map.slice(i * hw, (i + 1) * hw)), height: a.h, width: a.w, classes: a.classes };
    },
  };
}

/** Every method by its registry name: the CAM family (pytorch-grad-cam's names) and the pixel attributions. */
export const EXPLAINERS: Readonly<Record<string, Explainer>> = Object.fromEntries([
  ...Object.entries(CAM_METHODS).map(([n, C]) => [n, camExplainer(n, C)]),
  ...ATTRIBUTIONS.map(([n, t, fn]) => [n, attributionExplainer(n, t, fn)]),
]);

/** The methods named in a comma-separated list, or an error listing the known names. */
export function explainersFor(list: string): Explainer[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new Error('no method named (methods: ' + Object.keys(EXPLAINERS).join(', ') + ')');
  return names.map((n) => EXPLAINERS[n.toLowerCase()] ?? fail(`unknown method '${n}' (methods: ${Object.keys(EXPLAINERS).join(', ')})`));
}

function fail(msg: string): never {
  throw new Error(msg);
}
