// Ablation-CAM (Desai & Ramaswamy 2020, eq. 3): α_k = (y − y_k) / y, y the target's score and y_k
// the score with channel k of A set to zero. Only the layers after A run again: the model is run
// with A's layer output replaced (ForwardOptions.replace). Gradient-free: N·K batched passes
// (explain/perturbation.ts), once per explanation whatever the number of classes asked.
// pytorch-grad-cam sets a channel to min(A) − 1e7 rather than 0 when A has no zero; here it is
// always 0, as in the paper.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { Model } from '../nn/model.ts';
import { CamMethod, type CamContext } from './cam_base.ts';
import { batchedScores, batchSizeFor, pickRows, scoreOf, targetScores, type BatchOptions } from './perturbation.ts';

/** Ablation-CAM: channel weights = the relative drop of the target score when the channel is zeroed. */
export class AblationCam extends CamMethod {
  readonly name = 'Ablation-CAM';
  protected readonly relu = true;
  protected override readonly usesGradients = false;
  /** The ablated passes' scores [N·K, C] of each explanation, by its activations. */
  private readonly ablated = new WeakMap<Tensor, Tensor>();

  /** @param options - the output explained, and how the perturbed copies are batched. */
  constructor(model: Model, readonly options: { output?: number | string } & BatchOptions = {}) {
    super(model, options);
  }

  protected override channelWeights(ctx: CamContext): Tensor {
    let rows = this.ablated.get(ctx.activations);
    if (!rows) this.ablated.set(ctx.activations, (rows = this.ablatedScores(ctx)));
    const y = E.sum(E.mul(ctx.scores(), ctx.targets), 1, true);
    return E.div(E.sub(y, targetScores(rows, ctx.targets, ctx.activations.shape[3])), y);
  }

  private ablatedScores(ctx: CamContext): Tensor {
    const A = ctx.activations;
    const [n, h, w, k] = A.shape;
    const batch = batchSizeFor(this.model, n * k, this.options, 2 * h * w * k);
    return batchedScores(n * k, batch, (rows) => {
      const images = rows.map((j) => Math.floor(j / k));
      const off = E.oneHot(E.tensor(Int32Array.from(rows, (j) => j % k), [rows.length], 'int32'), k);
      const ablated = E.mul(pickRows(A, images), E.reshape(E.sub(E.onesLike(off), off), [rows.length, 1, 1, k]));
      const replace = new Map([[ctx.layer, ablated]]);
      // The input rows only matter to a graph whose later layers also read earlier ones (a skip
      // connection around A); in a chain nothing before A runs.
      return scoreOf(this.model.forward(pickRows(ctx.input, images), { training: false }, [], { output: this.outputIndex(ctx.request), replace }), ctx);
    });
  }
}
