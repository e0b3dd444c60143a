// Guided Grad-CAM (Selvaraju et al. 2017, §3.1): Guided Backpropagation's input-resolution
// gradient multiplied, pixel by pixel, by the Grad-CAM map (ordinary gradients, ReLU) resized
// bilinearly (half-pixel centres) to the input size. The Grad-CAM part is explain/grad_cam.ts
// itself, with the same target classes and score.

import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { GradCam } from '../grad_cam.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { targetClasses, targetOf } from './score.ts';
import { inputGradients } from './saliency.ts';

/** Guided Grad-CAM's options, besides the common ones. */
export interface GuidedGradCamRequest extends AttributionRequest {
  /** Grad-CAM's layer; default Grad-CAM's choice (the last spatial layer). */
  layer?: string;
}

/** The attribution, with the Grad-CAM maps it was weighted by. */
export interface GuidedGradCam extends Attribution {
  /** The upsampled Grad-CAM maps, [N, H, W]. */
  cam: Float32Array;
  /** The layer Grad-CAM weighed. */
  layer: string;
}

/** raw: guided gradient ⊙ upsampled Grad-CAM, [N, H, W, C]; map max_c |raw|. */
export async function guidedGradCam(model: Model, x: Tensor, req: GuidedGradCamRequest = {}): Promise<GuidedGradCam> {
  const t0 = performance.now();
  checkImages('Guided Grad-CAM', x.shape);
  const t = targetOf('Guided Grad-CAM', model, req);
  const classes = await targetClasses(t, x, req);
  const [n, h, w, c] = x.shape;
  const gc = new GradCam(model, { output: t.output });
  const layer = req.layer ?? gc.defaultLayer();
  const maps = await gc.explain(x, { layer, classes, score: t.score, output: t.output, upsample: { size: [h, w], mode: 'bilinear' } });
  const cam = new Float32Array(n * h * w);
  maps.forEach((m, i) => cam.set(m.upsampled!, i * h * w));
  const { grad, passes } = await inputGradients(t, x, classes, req, true);
  const raw = grad.map((g, j) => g * cam[Math.floor(j / c)]);
  return { ...attribution('Guided Grad-CAM', x.shape, classes, raw, req.reduce ?? 'max-abs', passes + 1, t0), cam, layer };
}
