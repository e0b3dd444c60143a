// conv2d with dilation ≠ 1 or groups ≠ 1, with its gradient: the path conv2d (engine/ops/conv2d.ts)
// takes for those, on the direct kernels of kernels/conv2d_general.ts. x NHWC [N, H, W, C], kernel
// HWIO [KH, KW, C/G, O], bias [O], y [N, HO, WO, O]. Tensors are bound whole: a tensor above one
// binding is reported by dispatch, naming the op.

import {
  conv2dGeneralInputGradKernel,
  conv2dGeneralKernel,
  conv2dGeneralWeightGradKernel,
  conv2dGeneralWeightGradSplits,
  type ConvGeneralGeom,
} from '../../kernels/conv2d_general.ts';
import { unaryGradKernel } from '../../kernels/elementwise.ts';
import { gradKernel, record, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { dispatch, run } from '../run.ts';
import { tidy } from '../scope.ts';
import { checkInputs, empty, type Tensor } from '../tensor.ts';
import { sum, sumPartials } from './reduce.ts';

function expectShape(op: string, what: string, t: Tensor, shape: number[]): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new ShapeError(op, `${what} ${fmtShape(t.shape)} does not match the convolution's ${fmtShape(shape)}`);
}

/** dx = ∂(Σ y·dy)/∂x for y = conv2d(x, w) with dilation or groups. Not itself differentiable. */
export function conv2dGeneralInputGrad(dy: Tensor, w: Tensor, g: ConvGeneralGeom): Tensor {
  const op = 'conv2d_general.dx';
  checkInputs(op, [dy, w]);
  expectShape(op, 'dy', dy, [g.N, g.HO, g.WO, g.O]);
  expectShape(op, 'kernel', w, [g.KH, g.KW, g.C / g.G, g.O]);
  return record(op, [dy, w], run(op, conv2dGeneralInputGradKernel(g), [dy, w], [g.N, g.H, g.W, g.C]), null);
}

/** dW = ∂(Σ y·dy)/∂W: partial sums over pixel ranges, then one column-sum pass. Not differentiable. */
export function conv2dGeneralWeightGrad(x: Tensor, dy: Tensor, g: ConvGeneralGeom): Tensor {
  const op = 'conv2d_general.dW';
  checkInputs(op, [x, dy]);
  expectShape(op, 'x', x, [g.N, g.H, g.W, g.C]);
  expectShape(op, 'dy', dy, [g.N, g.HO, g.WO, g.O]);
  const S = conv2dGeneralWeightGradSplits(g);
  const kernel = conv2dGeneralWeightGradKernel(g, S);
  const shape = [g.KH, g.KW, g.C / g.G, g.O];
  let dw: Tensor;
  if (S === 1) dw = run(op, kernel, [x, dy], shape);
  else {
    dw = empty(shape);
    try {
      sumPartials(op, S, dw.size, dw, (part) => dispatch(op, kernel, [x, dy], [part]));
    } catch (e) {
      dw.dispose();
      throw e;
    }
  }
  return record(op, [x, dy], dw, null);
}

function conv2dGeneralGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [x, w] = node.inputs;
  const g = node.attrs.geometry as ConvGeneralGeom;
  return tidy(() => [
    needs[0] ? conv2dGeneralInputGrad(dy, w, g) : null,
    needs[1] ? conv2dGeneralWeightGrad(x, dy, g) : null,
    needs[2] ? sum(dy, [0, 1, 2]) : null,
  ]);
}

/** For y = relu(conv(x, w) + b): dy masked where y is 0 (relu' from y), then conv's rule. */
gradKernel(conv2dGeneralGrad, 'conv2dGeneralInputGrad');

function conv2dGeneralReluGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const y = node.output;
  return tidy(() => conv2dGeneralGrad(node, run('conv2d_general.relu.grad', unaryGradKernel('relu', y.size, y.storage.gpu.plan.cpuDriver), [y, y, dy], y.shape), needs));
}
gradKernel(conv2dGeneralReluGrad, 'conv2dGeneralInputGrad');

/**
 * y = conv(x, w) + b (relu of it with `relu`) for a geometry conv2d has checked: w [KH, KW, C/G, O],
 * b [O] or null. Called by conv2d when dilation or groups are not 1.
 */
export function conv2dGeneral(x: Tensor, w: Tensor, b: Tensor | null, g: ConvGeneralGeom, relu: boolean): Tensor {
  const op = 'conv2d_general';
  const inputs = b ? [x, w, b] : [x, w];
  checkInputs(op, inputs);
  expectShape(op, 'x', x, [g.N, g.H, g.W, g.C]);
  expectShape(op, 'kernel', w, [g.KH, g.KW, g.C / g.G, g.O]);
  const y = run(op, conv2dGeneralKernel(g, !!b, relu), [x, w, b], [g.N, g.HO, g.WO, g.O]);
  const attrs = { strides: [g.SH, g.SW], dilations: [g.DH, g.DW], groups: g.G, pads: [g.PT, g.PB, g.PL, g.PR], geometry: g, activation: relu ? 'relu' : 'linear' };
  return record(relu ? 'conv2d_general_relu' : op, inputs, y, relu ? conv2dGeneralReluGrad : conv2dGeneralGrad, attrs);
}
