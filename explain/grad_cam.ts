// Grad-CAM (Selvaraju et al. 2017, eq. 1–2): α_k^c = mean over (i, j) of ∂y^c/∂A_k^ij, then
// ReLU(Σ_k α_k^c A_k). y^c is the softmax output (as the lecture and the Keras example) or the
// pre-softmax score (the paper's choice), selected per request.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

/**
 * Grad-CAM (Selvaraju et al. 2017): α_k = the mean over the map of ∂score/∂A_k, through the
 * engine's own backward pass, then ReLU(Σ_k α_k·A_k). Works for any model with a spatial layer.
 */
export class GradCam extends CamMethod {
  /** 'Grad-CAM'. */
  readonly name = 'Grad-CAM';
  protected readonly relu = true;

  protected override channelWeights(ctx: CamContext): Tensor {
    return E.mean(ctx.gradients(), [1, 2]);
  }
}
