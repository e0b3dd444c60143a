// XGrad-CAM (Fu et al. 2020, eq. 11): α_k = Σ_ij (A_k^ij / Σ_ab A_k^ab) · ∂y/∂A_k^ij, the
// gradient averaged with the channel's own activations as weights (ε = 1e-7 in the denominator,
// as pytorch-grad-cam).

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

/** XGrad-CAM: channel weights = gradients averaged with the activations as weights. */
export class XGradCam extends CamMethod {
  readonly name = 'XGrad-CAM';
  protected readonly relu = true;

  protected override channelWeights(ctx: CamContext): Tensor {
    const A = ctx.activations;
    return E.div(E.sum(E.mul(ctx.gradients(), A), [1, 2]), E.affine(E.sum(A, [1, 2]), 1, 1e-7));
  }
}
