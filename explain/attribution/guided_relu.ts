// Guided Backpropagation's backward rule (Springenberg et al. 2015): a ReLU passes back only
// positive gradients, dx = [x > 0]·[dy > 0]·dy. It is set without touching the model: each
// ReLU-family activation's output of one forward pass (captured by name) gets a gradient hook
// dy → relu(dy), after which the activation's own rule applies its mask ([x > 0], or
// [0 < x < 6] for ReLU6, also inside a fused conv2d+relu kernel). The hooks live on that pass's
// tensors and are removed when the backward pass is over, even when it throws.
//
// "ReLU family" here: relu and relu6 activations of any layer (Conv2D, Dense, DepthwiseConv2D,
// SeparableConv2D, Activation) and ReLU layers without a negative slope (any max_value).
// Captum's GuidedBackprop overrides torch.nn.ReLU modules only, so a PyTorch MobileNet with
// nn.ReLU6 would run unguided there; here ReLU6 is guided too.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Layer } from '../../nn/layer.ts';
import { Model } from '../../nn/model.ts';

/** Whether `l` ends in a ReLU-family activation (see above). */
export function isReluFamily(l: Layer): boolean {
  const a = l as Layer & { activation?: unknown; fn?: unknown; negativeSlope?: unknown };
  if (l.className === 'ReLU') return a.negativeSlope === 0;
  const act = l.className === 'Activation' ? a.fn : a.activation;
  return act === 'relu' || act === 'relu6';
}

/** Capture names (Model.forward) of every ReLU-family layer call, nested models included ('outer/inner'). */
export function reluFamilyLayers(model: Model, prefix = ''): string[] {
  if (!model.nodes.length) return model.layers.filter(isReluFamily).map((l) => prefix + l.name);
  return model.nodes.flatMap((n, i) => {
    if (n.layer instanceof Model) return reluFamilyLayers(n.layer, `${prefix}${model.nodeName(i)}/`);
    return isReluFamily(n.layer) ? [prefix + model.nodeName(i)] : [];
  });
}

/** Positive part of the incoming gradient: the guided rule's extra factor [dy > 0]. */
export const guidedHook = (g: Tensor): Tensor => E.relu(g);

/**
 * Runs `backward` with the guided hook on each of `activations` (ReLU-family outputs of the
 * forward pass being differentiated); the hooks are removed afterwards, also on error.
 */
export function withGuidedRelus<T>(activations: Tensor[], backward: () => T): T {
  for (const t of activations) t.onGrad(guidedHook);
  try {
    return backward();
  } finally {
    for (const t of activations) t.offGrad(guidedHook);
  }
}
