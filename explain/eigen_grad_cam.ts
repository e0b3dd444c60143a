// Eigen-Grad-CAM (pytorch-grad-cam's variant of Eigen-CAM): the first principal component of
// ∂y/∂A ⊙ A, so class-specific (explain/eigen.ts: centring, the sign convention, the CPU SVD).

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';
import { firstComponentMap } from './eigen.ts';

/** Eigen-Grad-CAM: the first principal component of ∂y/∂A ⊙ A. */
export class EigenGradCam extends CamMethod {
  readonly name = 'Eigen-Grad-CAM';
  protected readonly relu = true;

  protected override map(ctx: CamContext): Promise<Tensor> {
    return firstComponentMap(ctx.run(() => E.mul(ctx.gradients(), ctx.activations)), ctx.run);
  }
}
