// LayerCAM (Jiang et al. 2021, eq. 5–6): Σ_k ReLU(∂y/∂A_k) ⊙ A_k, each position weighed by its own
// positive gradient, which keeps fine detail at shallow layers.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

/** LayerCAM: Σ_k ReLU(∂y/∂A_k) ⊙ A_k. */
export class LayerCam extends CamMethod {
  readonly name = 'LayerCAM';
  protected readonly relu = true;

  protected override weighted(ctx: CamContext): Tensor {
    return E.mul(E.relu(ctx.gradients()), ctx.activations);
  }
}
