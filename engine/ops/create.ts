// Tensors made on the GPU: constants and casts. Not differentiable (cast has no gradient).

import { castKernel, fillKernel } from '../../kernels/elementwise.ts';
import { run } from '../run.ts';
import { checkInputs, empty, type DType, type Shape, Tensor } from '../tensor.ts';
import { gpu } from '../context.ts';

const elemOf = (d: DType) => (d === 'int32' ? 'i32' : 'f32');

export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = empty(shape, dtype);
  if (t.size > 0) gpu().dispatch(fillKernel(t.size, value, elemOf(dtype)), [{ buffer: t.buffer, size: Math.max(4, t.size * 4) }], `fill ${t.describe()}`);
  return t;
}

export const zeros = (shape: Shape, dtype: DType = 'float32') => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DType = 'float32') => full(shape, 1, dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);

export function cast(x: Tensor, dtype: DType): Tensor {
  checkInputs('cast', [x], null);
  // A cast to int32 is piecewise constant and int32 never carries gradients: nothing is recorded.
  return run('cast', castKernel(x.size, elemOf(x.dtype), elemOf(dtype)), [x], x.shape, dtype);
}
