// Score-CAM (Wang et al. 2020): each channel k of A, upsampled to the input (bilinear, corners
// aligned, as pytorch-grad-cam's UpsamplingBilinear2d) and min–max normalised to [0, 1] (ε 1e-8),
// masks the input; the target's score on the masked input, softmax over the K channels, is α_k.
// Gradient-free: N·K forward passes, batched (explain/perturbation.ts), run once per explanation
// whatever the number of classes asked.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { Model } from '../nn/model.ts';
import { CamMethod, type CamContext } from './cam_base.ts';
import { batchedScores, batchSizeFor, pickRows, scoreOf, targetScores, type BatchOptions } from './perturbation.ts';

/** Score-CAM: channel weights = softmax over channels of the target score on channel-masked inputs. */
export class ScoreCam extends CamMethod {
  readonly name = 'Score-CAM';
  protected readonly relu = true;
  protected override readonly usesGradients = false;
  /** The masked inputs' scores [N·K, C] of each explanation, by its activations. */
  private readonly masked = new WeakMap<Tensor, Tensor>();

  /** @param options - the output explained, and how the perturbed copies are batched. */
  constructor(model: Model, readonly options: { output?: number | string } & BatchOptions = {}) {
    super(model, options);
  }

  protected override channelWeights(ctx: CamContext): Tensor {
    let rows = this.masked.get(ctx.activations);
    if (!rows) this.masked.set(ctx.activations, (rows = this.maskedScores(ctx)));
    return E.softmax(targetScores(rows, ctx.targets, ctx.activations.shape[3]), -1);
  }

  private maskedScores(ctx: CamContext): Tensor {
    const x = ctx.input;
    const [n, H, W, C] = x.shape;
    const [, h, w, k] = ctx.activations.shape;
    // Channel-major, so that copy j = i·K + k is row j.
    const channels = E.reshape(E.transpose(ctx.activations, [0, 3, 1, 2]), [n * k, h, w, 1]);
    const batch = batchSizeFor(this.model, n * k, this.options, H * W * (C + 3));
    return batchedScores(n * k, batch, (rows) => {
      const up = E.resize(pickRows(channels, rows), [H, W], { mode: 'bilinear', coord: 'align_corners' });
      const lo = E.min(up, [1, 2], true);
      const mask = E.div(E.sub(up, lo), E.affine(E.sub(E.max(up, [1, 2], true), lo), 1, 1e-8));
      const masked = E.mul(pickRows(x, rows.map((j) => Math.floor(j / k))), mask);
      return scoreOf(this.model.forward(masked, { training: false }, [], { output: this.outputIndex(ctx.request) }), ctx);
    });
  }
}
