// softmax and logSoftmax along any axis (default: the last). One kernel each way; backward
// reads the saved output only (softmax: y·(dy − Σdy·y); log-softmax: dy − softmax·Σdy).

import { planRows, rowVariant, softmaxGradKernel, softmaxKernel, type SoftmaxMode } from '../../kernels/softmax.ts';
import { composable, isGradEnabled, record, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { run } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';
import { mul, sub } from './binary.ts';
import { sum } from './reduce.ts';
import { exp } from './unary.ts';

function softmaxGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { axis } = node.attrs as { axis: number };
  const y = node.output;
  // Under createGraph: the same formulas from recorded ops, so they can be differentiated again.
  if (isGradEnabled())
    return node.op === 'softmax' ? [mul(y, sub(dy, sum(mul(dy, y), axis, true)))] : [sub(dy, mul(exp(y), sum(dy, axis, true)))];
  const mode = node.op as SoftmaxMode;
  const v = rowVariant(y.shape[axis], y.storage.gpu.plan);
  return [run(`${mode}.grad`, softmaxGradKernel(mode, planRows(y.shape, axis), v), [y, dy], y.shape)];
}
composable(softmaxGrad);

function softmaxOp(mode: SoftmaxMode, x: Tensor, axis: number): Tensor {
  checkInputs(mode, [x]);
  const ax = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= x.rank) throw new ShapeError(mode, `axis ${axis} out of range for ${fmtShape(x.shape)}`);
  if (x.shape[ax] === 0) throw new ShapeError(mode, `axis ${axis} of ${fmtShape(x.shape)} is empty`);
  const v = rowVariant(x.shape[ax], x.storage.gpu.plan);
  const y = run(mode, softmaxKernel(mode, planRows(x.shape, ax), v), [x], x.shape);
  return record(mode, [x], y, softmaxGrad, { axis: ax });
}

/** exp(x − max) / Σ exp(x − max) along `axis`. */
export const softmax = (x: Tensor, axis = -1) => softmaxOp('softmax', x, axis);
/** x − max − log Σ exp(x − max) along `axis`. */
export const logSoftmax = (x: Tensor, axis = -1) => softmaxOp('logsoftmax', x, axis);
