// CAM (Zhou et al. 2016, eq. 2): for a network ending in global average pooling and a Dense
// layer, the map of class c is Σ_k w_k^c · A_k, with w the Dense kernel's column c. As in the
// lecture, no ReLU: the map is min–max normalised afterwards.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { CamMethod, type CamContext, type Upsample } from './cam_base.ts';

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

  /**
   * The CAM of every class at once: Σ_k w_k^c·A_k for all c is the matrix product A·W, so one
   * forward pass and one matmul give all C maps, read back together with the model output in a
   * single readback (what an interactive app wants: switching class costs nothing). No scope
   * stays open across the await, so other GPU work may interleave safely.
   */
  async allClasses(x: Tensor, o: { layer?: string; upsample?: Upsample } = {}): Promise<AllClassMaps> {
    const layer = o.layer ?? this.defaultLayer();
    const dense = this.model.layers[this.model.layers.length - 1] as Dense;
    let dims = { n: 0, c: 0, h: 0, w: 0 };
    const packed = E.tidy(() =>
      E.noGrad(() => {
        const fwd = this.model.forward(x, { training: false }, [layer]);
        const A = fwd.captured.get(layer)!;
        const [n, h, w, k] = A.shape;
        const W = dense.weights[0].value; // [K, C]
        const c = W.shape[1];
        dims = { n, c, h, w };
        const maps = E.transpose(E.reshape(E.matmul(E.reshape(A, [n * h * w, k]), W), [n, h * w, c]), [0, 2, 1]); // [N, C, h·w]
        const parts = [E.reshape(fwd.output, [n * c]), E.reshape(maps, [n * c * h * w])];
        if (o.upsample) {
          const [H, W2] = o.upsample.size;
          const big = E.resize(
            E.reshape(maps, [n * c, h, w, 1]),
            o.upsample.size,
            o.upsample.mode === 'nearest' ? { mode: 'nearest', coord: 'asymmetric', nearestMode: 'floor' } : { mode: 'bilinear', coord: 'half_pixel' },
          );
          parts.push(E.reshape(big, [n * c * H * W2]));
        }
        return E.concat(parts, 0);
      }),
    );
    let data: Float32Array;
    try {
      data = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    const { n, c, h, w } = dims;
    const a = n * c;
    const b = a + n * c * h * w;
    const out: AllClassMaps = { output: data.slice(0, a), maps: data.slice(a, b), n, classes: c, h, w };
    if (o.upsample) {
      out.upsampled = data.slice(b);
      out.size = [...o.upsample.size];
    }
    return out;
  }
}

export interface AllClassMaps {
  /** Model output, [N, C] flat. */
  output: Float32Array;
  /** The CAM of every class of every image, [N, C, h, w] flat. */
  maps: Float32Array;
  n: number;
  classes: number;
  h: number;
  w: number;
  /** The maps resized on the GPU, [N, C, H, W] flat, when asked. */
  upsampled?: Float32Array;
  size?: [number, number];
}
