// Guided Backpropagation (Springenberg et al. 2015, §3.4): the gradient of the class score with
// each ReLU's backward pass replaced by dx = [x > 0]·[dy > 0]·dy, so that only evidence that
// increases the score flows back. Set through gradient hooks on one forward pass's ReLU-family
// outputs (guided_relu.ts), never by copying or changing the model. Signed per channel; the map
// is max_c |·| as for saliency.

import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { attribution, checkImages, type Attribution, type AttributionRequest } from './common.ts';
import { targetClasses, targetOf } from './score.ts';
import { inputGradients } from './saliency.ts';

/** raw: the guided gradient [N, H, W, C]; map max_c |raw|. */
export async function guidedBackprop(model: Model, x: Tensor, req: AttributionRequest = {}): Promise<Attribution> {
  const t0 = performance.now();
  checkImages('Guided Backpropagation', x.shape);
  const t = targetOf('Guided Backpropagation', model, req);
  const classes = await targetClasses(t, x, req);
  const { grad, passes } = await inputGradients(t, x, classes, req, true);
  return attribution('Guided Backpropagation', x.shape, classes, grad, req.reduce ?? 'max-abs', passes, t0);
}
