// Gradient saliency (Simonyan, Vedaldi & Zisserman 2014, §3.1): the magnitude of the class
// score's gradient with respect to each input value, |∂S_c/∂x|, reduced over the colour
// channels by the maximum ("max_c |w_h,w,c|"). S_c is the softmax output or, as the paper, the
// logit (`score: 'logit'`).

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { gradientPasses, rowsPerPass, targetClasses, targetOf, type Target } from './score.ts';
import { addByImage, ImageSums } from './sums.ts';

/** ∂score/∂x for each image of x [N, H, W, C] (guided: Guided Backpropagation's rule), read back; and the passes made. */
export async function inputGradients(t: Target, x: Tensor, classes: number[], req: AttributionRequest, guided = false): Promise<{ grad: Float32Array; passes: number }> {
  const [n, h, w, c] = x.shape;
  const sums = new ImageSums(n);
  try {
    const batch = rowsPerPass(t.model, req, n);
    const rows = { count: n, make: (s: number, k: number) => (k === n ? x : E.slice(x, [s, 0, 0, 0], [k, h, w, c])), classOf: (r: number) => classes[r] };
    const passes = gradientPasses(t, rows, batch, (s, k, g) => addByImage(g, s, k, (r) => r, sums), guided);
    return { grad: await sums.read([h, w, c]), passes };
  } finally {
    sums.dispose();
  }
}

/** Simonyan et al.'s saliency map: raw ∂score/∂x, map max_c |raw| (`req.reduce` to change). */
export async function saliency(model: Model, x: Tensor, req: AttributionRequest = {}): Promise<Attribution> {
  const t0 = performance.now();
  checkImages('Saliency', x.shape);
  const t = targetOf('Saliency', model, req);
  const classes = await targetClasses(t, x, req);
  const { grad, passes } = await inputGradients(t, x, classes, req);
  return attribution('Saliency', x.shape, classes, grad, req.reduce ?? 'max-abs', passes, t0);
}
