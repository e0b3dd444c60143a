// Gradient × Input (Shrikumar et al. 2016; Ancona et al. 2018): x ⊙ ∂S_c/∂x, a first-order
// estimate of each value's contribution to the score. Signed; the map sums the channels, so
// that it adds up as the per-value attributions do.

import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { targetClasses, targetOf } from './score.ts';
import { inputGradients } from './saliency.ts';

/** raw x ⊙ ∂score/∂x, map Σ_c raw. */
export async function gradientTimesInput(model: Model, x: Tensor, req: AttributionRequest = {}): Promise<Attribution> {
  const t0 = performance.now();
  checkImages('Gradient×Input', x.shape);
  const t = targetOf('Gradient×Input', model, req);
  const classes = await targetClasses(t, x, req);
  const { grad, passes } = await inputGradients(t, x, classes, req);
  const xs = (await x.data()) as Float32Array;
  const raw = grad.map((g, i) => g * xs[i]);
  return attribution('Gradient×Input', x.shape, classes, raw, req.reduce ?? 'sum', passes, t0);
}
