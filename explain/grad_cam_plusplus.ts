// Grad-CAM++ (Chattopadhay et al. 2018, eq. 19 and 7): w_k = Σ_ij a_ij^k · ReLU(∂y/∂A_k^ij), with
// a_ij^k = g² / (2g² + Σ_ab A_k^ab · g³) (g = ∂y/∂A_k^ij). The paper's exponential score makes its
// second and third derivatives powers of the first; that form is used for any score, as in the
// authors' code and pytorch-grad-cam (ε = 1e-6 in the denominator, as there).

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

/** Grad-CAM++: channel weights from positive gradients, weighted by a_ij (eq. 19). */
export class GradCamPlusPlus extends CamMethod {
  readonly name = 'Grad-CAM++';
  protected readonly relu = true;

  protected override channelWeights(ctx: CamContext): Tensor {
    const g = ctx.gradients();
    const g2 = E.square(g);
    const g3 = E.mul(g2, g);
    const sumA = E.sum(ctx.activations, [1, 2], true);
    const a = E.div(g2, E.affine(E.add(E.scale(g2, 2), E.mul(sumA, g3)), 1, 1e-6));
    return E.sum(E.mul(a, E.relu(g)), [1, 2]);
  }
}
