// GPU-side checks read back with another tensor (see ReadCheck in engine/tensor.ts): a loss
// refuses out-of-range labels, fit refuses a NaN or Inf in its input, in the readback they
// already make, with no extra round trip and no wait at the op.

import { finiteCheckKernel, labelCheckKernel } from '../../kernels/checks.ts';
import { fmtShape } from '../errors.ts';
import { run } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';

/**
 * Attaches to `out` a check that every int32 label is in [0, classes) (or equals `ignoreIndex`):
 * reading `out` then throws, naming the first bad label's index and value.
 */
export function checkLabelsOnRead(op: string, out: Tensor, labels: Tensor, classes: number, ignoreIndex?: number): Tensor {
  checkInputs(op, [labels], 'int32');
  const flag = run(`${op}.checkLabels`, labelCheckKernel(labels.size, classes, ignoreIndex), [labels], [2], 'int32');
  const shape = fmtShape(labels.shape);
  return out.addCheck(
    flag,
    ([k, v]) => `${op}: label ${v} at index ${k} of labels ${shape} is outside 0..${classes - 1} (the loss and its gradient are not valid)`,
  );
}

/**
 * Attaches to `out` a check that `x` holds no NaN or ±Inf; `where(k)` names flat index k for the
 * message (e.g. which image of a dataset).
 */
export function checkFiniteOnRead(op: string, out: Tensor, x: Tensor, where: (k: number) => string = (k) => `index ${k}`): Tensor {
  checkInputs(op, [x]);
  const flag = run(`${op}.checkFinite`, finiteCheckKernel(x.size), [x], [2], 'int32');
  const shape = fmtShape(x.shape);
  return out.addCheck(flag, ([k, bits]) => {
    const v = new Float32Array(Int32Array.of(bits).buffer)[0];
    return `${op}: input ${shape} holds ${v} at ${where(k)}`;
  });
}
