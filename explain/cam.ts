// CAM (Zhou et al. 2016, eq. 2): for a network ending in global average pooling and a Dense
// layer, the map of class c is Σ_k w_k^c · A_k, with w the Dense kernel's column c. As in the
// lecture, no ReLU: the map is min–max normalised afterwards.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { CamMethod, type CamContext } from './cam_base.ts';

export class Cam extends CamMethod {
  readonly name = 'CAM';
  protected readonly relu = false;

  /** CAM needs GAP → Dense at the end; the features are the output of the layer before the GAP. */
  override defaultLayer(): string {
    const ls = this.model.layers;
    const gap = ls.findIndex((l) => l instanceof GlobalAveragePooling2D);
    if (gap < 1 || !(ls[ls.length - 1] instanceof Dense) || ls.slice(gap + 1, -1).some((l) => l.weights.length > 0))
      throw new Error(`CAM needs a model ending in GlobalAveragePooling2D → Dense; '${this.model.name}' is ${ls.map((l) => l.className).join(' → ')}. Use Grad-CAM instead.`);
    return ls[gap - 1].name;
  }

  protected channelWeights(ctx: CamContext): Tensor {
    const dense = ctx.model.layers[ctx.model.layers.length - 1] as Dense;
    // One-hot [N, C] · Wᵀ [C, K] picks each image's column of the kernel.
    return E.matmul(ctx.targets, dense.weights[0].value, { transposeB: true });
  }
}
