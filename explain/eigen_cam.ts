// Eigen-CAM (Muhammad & Yeasin 2020): the first principal component of the layer's activations,
// class-agnostic and gradient-free (explain/eigen.ts: centring, the sign convention, the CPU SVD).

import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';
import { firstComponentMap } from './eigen.ts';

/** Eigen-CAM: the first principal component of A (no gradients, no class). */
export class EigenCam extends CamMethod {
  readonly name = 'Eigen-CAM';
  protected readonly relu = true;
  protected override readonly usesGradients = false;

  protected override map(ctx: CamContext): Promise<Tensor> {
    return firstComponentMap(ctx.activations, ctx.run);
  }
}
