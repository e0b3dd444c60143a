// Tensors made on the GPU: constants and casts. Not differentiable (cast has no gradient).

import { castKernel, fillKernel } from '../../kernels/elementwise.ts';
import { run } from '../run.ts';
import { checkInputs, empty, type DType, type Shape, Tensor } from '../tensor.ts';
import { gpu } from '../context.ts';

const elemOf = (d: DType) => (d === 'int32' ? 'i32' : 'f32');

/**
 * A new tensor of `shape` filled with `value` (float32 unless `dtype` says 'int32'). Not recorded for
 * autograd.
 */
export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = empty(shape, dtype);
  if (t.size > 0) gpu().dispatch(fillKernel(t.size, value, elemOf(dtype)), [{ buffer: t.buffer, size: Math.max(4, t.size * 4) }], `fill ${t.describe()}`);
  return t;
}

/** A new tensor of `shape` filled with 0. */
export const zeros = (shape: Shape, dtype: DType = 'float32') => full(shape, 0, dtype);
/** A new tensor of `shape` filled with 1. */
export const ones = (shape: Shape, dtype: DType = 'float32') => full(shape, 1, dtype);
/** Zeros with `t`'s shape and dtype. */
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
/** Ones with `t`'s shape and dtype. */
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);

/** `x` converted to `dtype` (float32 to int32 truncates toward zero). Has no gradient. */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkInputs('cast', [x], null);
  // A cast to int32 is piecewise constant and int32 never carries gradients: nothing is recorded.
  return run('cast', castKernel(x.size, elemOf(x.dtype), elemOf(dtype)), [x], x.shape, dtype);
}
