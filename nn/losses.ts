// Losses. Labels are int32 class indices (one-hot targets are equivalent for these losses).
// When the model ends in a softmax (Dense/Conv activation or Activation/Softmax layer, then
// Reshape/Flatten or not: nn/head.ts), cross-entropy is computed from the logits with a fused,
// stable log-sum-exp — the same thing Keras does (it recovers the logits from the softmax's
// input) — otherwise from the probabilities, clipped to [ε, 1 − ε] as Keras does.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import type { ForwardResult } from './sequential.ts';

/**
 * The loss names `Trainer` accepts (Keras' names). Both compute softmax cross-entropy from the
 * logits with class-index labels.
 */
export const LOSSES = ['categorical_crossentropy', 'sparse_categorical_crossentropy'] as const;
/** One of `LOSSES`. */
export type LossName = (typeof LOSSES)[number];

export function checkLoss(name: string): LossName {
  if (!(LOSSES as readonly string[]).includes(name)) throw new Error(`unknown loss '${name}' (known: ${LOSSES.join(', ')})`);
  return name as LossName;
}

/**
 * The mean loss `name` of a forward pass. Both names compute the same cross-entropy here (the
 * labels are class indices either way); a name that is not a LossName is an error naming it.
 */
export function lossOf(name: LossName, fwd: ForwardResult, labels: Tensor): Tensor {
  switch (name) {
    case 'categorical_crossentropy':
    case 'sparse_categorical_crossentropy':
      return crossEntropy(fwd, labels);
    default:
      throw new Error(`lossOf: unknown loss '${String(name satisfies never)}' (known: ${LOSSES.join(', ')})`);
  }
}

/** From the logits when the forward pass has them (fused log-sum-exp), else from the probabilities. */
function crossEntropy(fwd: ForwardResult, labels: Tensor): Tensor {
  if (fwd.logits) return E.softmaxCrossEntropy(fwd.logits, labels, { reduction: 'mean' });
  return E.categoricalCrossEntropy(fwd.output, labels, { reduction: 'mean' });
}

/** Number of rows whose argmax equals the label, as a float32 scalar on the GPU. */
export function correctCount(outputs: Tensor, labels: Tensor): Tensor {
  return E.sum(E.equal(E.argmax(outputs, -1), labels));
}
