// CAM (Zhou et al. 2016, eq. 2): for a network ending in global average pooling and a linear
// classifier (Dense, or a 1×1 Conv2D as MobileNet's conv_preds, with Reshape/Flatten/Dropout
// between and a softmax or not after: nn/head.ts), the map of class c is Σ_k w_k^c · A_k, with w
// the classifier kernel's column c. As in the lecture, no ReLU: the map is min–max normalised
// afterwards.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import { camHead, type CamHead } from '../nn/head.ts';
import { CamMethod, type CamContext, type Upsample } from './cam_base.ts';

/**
 * CAM (Zhou et al. 2016) for a network ending in global average pooling and a linear classifier
 * (Dense, or a 1×1 Conv2D), with Reshape, Flatten or Dropout between and a softmax or not after:
 * the map of class c is Σ_k w_k^c·A_k with w the classifier's kernel. No ReLU, as in the lecture.
 * Throws (naming what is missing) for another kind of model: use GradCam there.
 */
export class Cam extends CamMethod {
  /** 'CAM'. */
  readonly name = 'CAM';
  protected readonly relu = false;

  /** The head CAM weighs with, or a one-line error naming what is missing. */
  head(): CamHead {
    const h = camHead(this.model.tailLayers(this.outputIndex()));
    if (typeof h === 'string')
      throw new Error(
        `CAM needs a model ending in GlobalAveragePooling2D → Dense or 1×1 Conv2D; '${this.model.name}' ends ${this.model.tailLayers(this.outputIndex()).map((l) => l.className).join(' → ')}: ${h}. Use Grad-CAM instead.`,
      );
    return h;
  }

  /** The features are the output of the layer before the GAP. */
  override defaultLayer(): string {
    const chain = this.model.tailChain(this.outputIndex());
    return this.model.nodeName(chain[this.head().gap - 1]);
  }

  /** The classifier kernel as [K, C], after checking that A has its K channels. */
  private weightsFor(A: Tensor, layer: string): Tensor {
    const { kernel, k, c, classifier } = this.head();
    if (A.shape[3] !== k) throw new Error(`CAM: layer '${layer}' has ${A.shape[3]} channels, but '${classifier.name}' weighs the ${k} channels entering global average pooling`);
    return E.reshape(kernel.value, [k, c]);
  }

  protected override channelWeights(ctx: CamContext): Tensor {
    // One-hot [N, C] · Wᵀ [C, K] picks each image's column of the kernel.
    return E.matmul(ctx.targets, this.weightsFor(ctx.activations, ctx.layer), { transposeB: true });
  }

  /**
   * The CAM of every class at once: Σ_k w_k^c·A_k for all c is the matrix product A·W, so one
   * forward pass and one matmul give all C maps, read back together with the model output in a
   * single readback (what an interactive app wants: switching class costs nothing). No scope
   * stays open across the await, so other GPU work may interleave safely.
   */
  async allClasses(x: Tensor, o: { layer?: string; upsample?: Upsample } = {}): Promise<AllClassMaps> {
    const layer = o.layer ?? this.defaultLayer();
    let dims = { n: 0, c: 0, h: 0, w: 0 };
    const packed = E.tidy(() =>
      E.noGrad(() => {
        const fwd = this.model.forward(x, { training: false }, [layer], { output: this.outputIndex() });
        const A = fwd.captured.get(layer)!;
        const [n, h, w, k] = A.shape;
        const W = this.weightsFor(A, layer); // [K, C]
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
