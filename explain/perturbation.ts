// What the gradient-free methods that re-run the model share (Score-CAM on masked inputs,
// Ablation-CAM on ablated activations): one perturbed copy per (image, channel), j = i·K + k;
// how many copies one forward pass takes; picking rows on the GPU; the batched passes.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { ForwardResult, Model } from '../nn/model.ts';
import type { CamContext } from './cam_base.ts';

/** How Score-CAM and Ablation-CAM batch their perturbed copies of the input on the GPU. */
export interface BatchOptions {
  /** Perturbed copies per forward pass; default: as many as `memoryBytes` allows. */
  batchSize?: number;
  /** Bytes the activations of one pass may take; default 256 MiB (at most the device's largest buffer). */
  memoryBytes?: number;
}

const DEFAULT_BUDGET = 256 * 2 ** 20;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Copies per pass: the requested batch, or as many as the budget holds (a pass keeps the output
 * of every layer of each copy until it ends, plus `extraPerCopy` floats of its own), never more
 * than the copies, nor than one storage binding holds of the largest activation (Model.safeBatch).
 */
export function batchSizeFor(model: Model, copies: number, o: BatchOptions, extraPerCopy = 0): number {
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
  const perCopy = 4 * (model.allLayers().reduce((s, l) => s + (l.outputShape ? size(l.outputShape) : 0), size(model.inputShape)) + extraPerCopy);
  const budget = Math.min(o.memoryBytes ?? DEFAULT_BUDGET, E.gpu().limits.maxBufferSize);
  const fits = Math.max(1, Math.floor(budget / perCopy));
  return model.safeBatch(Math.min(o.batchSize ?? fits, copies));
}

/**
 * Rows `rows` of t ([M, ...]) as [rows.length, ...], exact. The callers ask for runs: consecutive
 * rows (a batch of channels) or one row repeated (an image's K copies); each run is a slice, a
 * repeated row is broadcast by a product with ones (exact: 1·v). A one-hot matrix over all M rows
 * did the same in one matmul, but over 200 images × 128 channels it outgrew a 128 MiB binding.
 */
export function pickRows(t: Tensor, rows: readonly number[]): Tensor {
  const [m, ...rest] = t.shape;
  for (const r of rows) if (!(Number.isInteger(r) && r >= 0 && r < m)) throw new Error(`pickRows: row ${r} is outside 0..${m - 1}`);
  const parts: Tensor[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    if (j < rows.length && rows[j] === rows[i]) {
      while (j < rows.length && rows[j] === rows[i]) j++;
      const one = E.slice(t, [rows[i], ...rest.map(() => 0)], [1, ...rest]);
      parts.push(E.mul(one, E.ones([j - i, ...rest.map(() => 1)])));
    } else {
      while (j < rows.length && rows[j] === rows[j - 1] + 1 && rows[j + 1] !== rows[j]) j++;
      parts.push(E.slice(t, [rows[i], ...rest.map(() => 0)], [j - i, ...rest]));
    }
    i = j;
  }
  return parts.length === 1 ? parts[0] : E.concat(parts, 0);
}

/** The explained score of every class, [N, C], of a forward pass (output, or logits for score 'logit'). */
export function scoreOf(fwd: ForwardResult, ctx: CamContext): Tensor {
  if (ctx.request.score !== 'logit') return fwd.output;
  if (!fwd.logits) throw new Error(`score 'logit': the perturbed pass has no logits`);
  return fwd.logits;
}

/** pass(rows) for rows 0..copies−1, `batch` at a time, without a tape; each pass's intermediates freed as it ends. */
export function batchedScores(copies: number, batch: number, pass: (rows: number[]) => Tensor): Tensor {
  const parts: Tensor[] = [];
  for (let s = 0; s < copies; s += batch) {
    const rows = Array.from({ length: Math.min(batch, copies - s) }, (_, i) => s + i);
    parts.push(E.tidy(() => E.noGrad(() => pass(rows))));
  }
  return parts.length === 1 ? parts[0] : E.concat(parts, 0);
}

/** Each image's target score in each of its K copies: [N·K, C] rows and one-hot targets [N, C] → [N, K]. */
export function targetScores(rows: Tensor, targets: Tensor, k: number): Tensor {
  const [n, c] = targets.shape;
  return E.sum(E.mul(E.reshape(rows, [n, k, c]), E.reshape(targets, [n, 1, c])), 2);
}
