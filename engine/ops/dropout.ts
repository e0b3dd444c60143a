// Inverted dropout. The gradient is the same masked scaling applied to dy (same seed, same mask).

import { dropoutKernel } from '../../kernels/dropout.ts';
import { record, type TapeNode } from '../autograd.ts';
import { ShapeError } from '../errors.ts';
import { run } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';

function dropoutGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { rate, seed } = node.attrs as { rate: number; seed: number };
  return [run('dropout.grad', dropoutKernel('dropout.grad', dy.size, rate, seed), [dy], dy.shape)];
}

/**
 * Inverted dropout: each element is zeroed with probability `rate` and the others scaled by 1 / (1 − rate),
 * so the expected value is unchanged. The mask is a function of `seed` and the element index (the same seed
 * gives the same mask); the gradient applies the same mask.
 *
 * Throws a `ShapeError` unless `0 <= rate < 1`.
 */
export function dropout(x: Tensor, rate: number, seed: number): Tensor {
  checkInputs('dropout', [x]);
  if (!(rate >= 0 && rate < 1)) throw new ShapeError('dropout', `rate must be in [0, 1), got ${rate}`);
  const y = run('dropout', dropoutKernel('dropout', x.size, rate, seed), [x], x.shape);
  return record('dropout', [x], y, dropoutGrad, { rate, seed });
}
