// Elementwise unary ops. Backward is one fused kernel per op (dx = f'(x, y)·dy) reading the
// saved input and output, so no intermediate tensor is made.

import { unaryGradKernel, unaryKernel, type UnaryOp } from '../../kernels/elementwise.ts';
import { record, type TapeNode } from '../autograd.ts';
import { run } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';

function unaryGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const { p, q } = node.attrs as { p: number; q: number };
  const op = node.op as UnaryOp;
  return [run(`${op}.grad`, unaryGradKernel(op, x.size, p, q), [x, node.output, dy], x.shape)];
}

export function unary(op: UnaryOp, x: Tensor, p = 1, q = 0): Tensor {
  checkInputs(op, [x]);
  const y = run(op, unaryKernel(op, x.size, p, q), [x], x.shape);
  return record(op, [x], y, unaryGrad, { p, q });
}

export const relu = (x: Tensor) => unary('relu', x);
export const relu6 = (x: Tensor) => unary('relu6', x);
export const elu = (x: Tensor, alpha = 1) => unary('elu', x, alpha);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const neg = (x: Tensor) => unary('neg', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const abs = (x: Tensor) => unary('abs', x);
export const square = (x: Tensor) => unary('square', x);
/** x·σ(x), also called SiLU (Keras 'swish' and 'silu'). */
export const swish = (x: Tensor) => unary('swish', x);
/** y = scale·x + shift */
export const affine = (x: Tensor, scale: number, shift = 0) => unary('affine', x, scale, shift);
export const scale = (x: Tensor, s: number) => unary('affine', x, s, 0);
/** Keras 3 hard_sigmoid relu6(x + 3)/6; hardSigmoidKeras2 is Keras 2's clip(0.2x + 0.5, 0, 1). */
export const hardSigmoid = (x: Tensor) => unary('hard_sigmoid', x);
export const hardSigmoidKeras2 = (x: Tensor) => unary('hard_sigmoid_keras2', x);
/** x·relu6(x + 3)/6 (Keras hard_swish / hard_silu). */
export const hardSwish = (x: Tensor) => unary('hard_swish', x);
/** x·Φ(x); approximate: Keras' tanh form. */
export const gelu = (x: Tensor, approximate = false) => unary(approximate ? 'gelu_tanh' : 'gelu', x);
export const selu = (x: Tensor) => unary('selu', x);
export const softplus = (x: Tensor) => unary('softplus', x);
export const softsign = (x: Tensor) => unary('softsign', x);
/** x for x > 0, alpha·x below (Keras' activation default alpha is 0.2; the LeakyReLU layer's 0.3). */
export const leakyRelu = (x: Tensor, alpha = 0.2) => unary('leaky_relu', x, alpha);
