// Keras activation names → engine ops.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';

const TABLE: Record<string, (x: Tensor) => Tensor> = {
  linear: (x) => x,
  relu: E.relu,
  relu6: E.relu6,
  elu: (x) => E.elu(x),
  sigmoid: E.sigmoid,
  tanh: E.tanh,
  swish: E.swish,
  silu: E.swish,
  exponential: E.exp,
  softmax: (x) => E.softmax(x, -1),
  // Keras 3's definition; from_config renames a Keras 2 file's 'hard_sigmoid' to the row below.
  hard_sigmoid: E.hardSigmoid,
  hard_sigmoid_keras2: E.hardSigmoidKeras2,
  hard_swish: E.hardSwish,
  hard_silu: E.hardSwish,
  gelu: (x) => E.gelu(x),
  selu: E.selu,
  softplus: E.softplus,
  softsign: E.softsign,
  leaky_relu: (x) => E.leakyRelu(x, 0.2),
};

export function activation(name: string | null | undefined, where: string): (x: Tensor) => Tensor {
  const f = TABLE[name ?? 'linear'];
  if (!f) throw new Error(`${where}: activation '${name}' is not supported (known: ${Object.keys(TABLE).join(', ')})`);
  return f;
}

export const ACTIVATIONS = Object.keys(TABLE);
