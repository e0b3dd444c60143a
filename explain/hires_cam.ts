// HiResCAM (Draelos & Carin 2020): Σ_k ∂y/∂A_k ⊙ A_k, the gradient kept at every position instead
// of averaged per channel. For a network whose score is linear in A after the layer it is the
// exact contribution of each position to the score.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

/** HiResCAM: Σ_k ∂y/∂A_k ⊙ A_k, no averaging of the gradient. */
export class HiResCam extends CamMethod {
  readonly name = 'HiResCAM';
  protected readonly relu = true;

  protected override weighted(ctx: CamContext): Tensor {
    return E.mul(ctx.gradients(), ctx.activations);
  }
}
