// Reshape and flatten: views sharing storage (no copy, no kernel).

import { sizeOf } from '../../kernels/program.ts';
import { composable, isGradEnabled, record, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { checkInputs, type Shape, type Tensor, view } from '../tensor.ts';

function reshapeGrad(node: TapeNode, dy: Tensor): Tensor[] {
  // Under createGraph a plain view would drop dy's node: the recorded reshape keeps it.
  return [isGradEnabled() ? reshape(dy, node.inputs[0].shape) : view(dy, node.inputs[0].shape)];
}
composable(reshapeGrad);

/** One dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkInputs('reshape', [x], null);
  const s = [...shape];
  const inf = s.indexOf(-1);
  if (inf >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== inf));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError('reshape', `cannot infer -1 in ${fmtShape(shape)} from ${x.describe()}`);
    s[inf] = x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0))
    throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} values) to ${fmtShape(shape)}`);
  return record('reshape', [x], view(x, s), reshapeGrad, { shape: s });
}

/** Keeps the first `axis` dims and flattens the rest (Keras Flatten / ONNX Flatten). */
export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  return reshape(x, [sizeOf(x.shape.slice(0, a)), sizeOf(x.shape.slice(a))]);
}
