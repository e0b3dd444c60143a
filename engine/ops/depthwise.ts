// depthwiseConv2d (Keras DepthwiseConv2D) with its gradient. x NHWC [N, H, W, C], kernel
// [KH, KW, C, M] (Keras' depthwise_kernel, M = depth_multiplier), bias [C·M], y [N, HO, WO, C·M].
// Its own kernels (kernels/depthwise.ts), not a grouped GEMM of one-channel groups. Tensors are
// bound whole: a tensor above one binding is reported by dispatch, naming the op.

import { depthwiseAsGrouped, depthwiseGeometry, depthwiseKernel, type DepthwiseGeom } from '../../kernels/depthwise.ts';
import { gradKernel, record, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { run } from '../run.ts';
import { tidy } from '../scope.ts';
import { checkInputs, type Tensor } from '../tensor.ts';
import { conv2dGeneralInputGrad, conv2dGeneralWeightGrad } from './conv2d_general.ts';
import { sum } from './reduce.ts';
import { reshape } from './shape.ts';

/** Options of `depthwiseConv2d` (Keras' DepthwiseConv2D arguments). */
export interface DepthwiseOptions {
  /** [sh, sw] or one number for both; default 1. */
  strides?: number | readonly [number, number];
  /** Default 'valid', as in Keras. */
  padding?: 'same' | 'valid';
  /** Keras' dilation_rate: [dh, dw] or one number; default 1. */
  dilation?: number | readonly [number, number];
}

const pairOf = (v: number | readonly [number, number] | undefined): readonly number[] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

function expectShape(op: string, what: string, t: Tensor, shape: number[]): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new ShapeError(op, `${what} ${fmtShape(t.shape)} does not match the convolution's ${fmtShape(shape)}`);
}

/**
 * dx = ∂(Σ y·dy)/∂x for y = depthwiseConv2d(x, w): the grouped conv's (G = C), whose kernel
 * [KH, KW, 1, C·M] is w's memory. Not itself differentiable.
 */
export function depthwiseInputGrad(dy: Tensor, w: Tensor, g: DepthwiseGeom): Tensor {
  expectShape('depthwiseConv2d.dx', 'kernel', w, [g.KH, g.KW, g.C, g.M]);
  return tidy(() => conv2dGeneralInputGrad(dy, reshape(w, [g.KH, g.KW, 1, g.C * g.M]), depthwiseAsGrouped(g)));
}

/** dW = ∂(Σ y·dy)/∂W: the grouped conv's, as [KH, KW, C, M]. Not differentiable. */
export function depthwiseWeightGrad(x: Tensor, dy: Tensor, g: DepthwiseGeom): Tensor {
  return tidy(() => reshape(conv2dGeneralWeightGrad(x, dy, depthwiseAsGrouped(g)), [g.KH, g.KW, g.C, g.M]));
}

function depthwiseConv2dGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [x, w] = node.inputs;
  const g = node.attrs.geometry as DepthwiseGeom;
  return tidy(() => [
    needs[0] ? depthwiseInputGrad(dy, w, g) : null,
    needs[1] ? depthwiseWeightGrad(x, dy, g) : null,
    needs[2] ? sum(dy, [0, 1, 2]) : null,
  ]);
}
gradKernel(depthwiseConv2dGrad, 'conv2dGeneralInputGrad');

/** y = depthwise(x, w) + bias; x NHWC, w [KH, KW, C, M], bias [C·M] or null. */
export function depthwiseConv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: DepthwiseOptions = {}): Tensor {
  const op = 'depthwiseConv2d';
  const inputs = bias ? [x, w, bias] : [x, w];
  checkInputs(op, inputs);
  const shapes = `x ${fmtShape(x.shape)}, kernel ${fmtShape(w.shape)}`;
  if (x.rank !== 4) throw new ShapeError(op, `input must be NHWC [N, H, W, C], got ${shapes}`);
  if (w.rank !== 4) throw new ShapeError(op, `kernel must be [KH, KW, C, depth_multiplier], got ${shapes}`);
  if (w.shape[2] !== x.shape[3]) throw new ShapeError(op, `kernel channels ${w.shape[2]} differ from the input's ${x.shape[3]} (${shapes})`);
  const CM = w.shape[2] * w.shape[3];
  if (bias && !(bias.rank === 1 && bias.shape[0] === CM)) throw new ShapeError(op, `bias ${fmtShape(bias.shape)} must be [${CM}] (C·depth_multiplier; ${shapes})`);
  const strides = pairOf(opts.strides);
  const dilation = pairOf(opts.dilation);
  for (const [what, v] of [['strides', strides], ['dilation', dilation]] as const)
    if (v.length !== 2 || v.some((s) => !Number.isInteger(s) || s < 1)) throw new ShapeError(op, `${what} must be two positive integers, got [${v}]`);
  // TF refuses strides > 1 together with dilation > 1 in a depthwise conv; so do we, to match it.
  if (strides.some((s) => s > 1) && dilation.some((d) => d > 1)) throw new ShapeError(op, `strides [${strides}] with dilation [${dilation}]: one of them must be 1 (as in TF)`);
  const padding = opts.padding ?? 'valid';
  if (padding !== 'same' && padding !== 'valid') throw new ShapeError(op, `padding must be 'same' or 'valid', got '${padding}'`);
  const g = depthwiseGeometry(x.shape, w.shape, [strides[0], strides[1]], [dilation[0], dilation[1]], padding);
  if (g.HO < 1 || g.WO < 1 || g.KH < 1 || g.KW < 1 || g.M < 1)
    throw new ShapeError(op, `a ${g.KH}×${g.KW} window (dilation [${dilation}]) with padding '${padding}' does not fit the input (${shapes})`);
  const y = run(op, depthwiseKernel(g, !!bias), [x, w, bias], [g.N, g.HO, g.WO, CM]);
  return record(op, inputs, y, depthwiseConv2dGrad, { strides: [g.SH, g.SW], dilation: [g.DH, g.DW], pads: [g.PT, g.PB, g.PL, g.PR], geometry: g });
}
