// conv2d with its gradient. Layouts: x NHWC [N, H, W, C], kernel HWIO [KH, KW, C, O] (Keras'),
// bias [O], y NHWC [N, HO, WO, O]. Padding 'same' | 'valid' (Keras/TF semantics) or explicit
// [top, bottom, left, right] (ONNX pads, after the runner's NCHW→NHWC conversion).
// The backward computes dx (a transposed convolution), dW and db only where `needs` asks.
// Activations larger than one binding are processed a few images at a time; dW, whose output
// covers the whole batch, accumulates over those pieces. Dilation ≠ 1 or groups ≠ 1 (kernel
// [KH, KW, C/G, O]) take the direct kernels of engine/ops/conv2d_general.ts instead.

import { convGeneralGeometry } from '../../kernels/conv2d_general.ts';
import {
  conv2dInputGradKernel,
  conv2dKernel,
  conv2dWeightGradKernel,
  convGeometry,
  type ConvChunk,
  type ConvGeom,
  type Padding,
} from '../../kernels/conv2d.ts';
import { unaryGradKernel } from '../../kernels/elementwise.ts';
import { tiledSplits } from '../../kernels/tiled.ts';
import type { Kernel } from '../../kernels/program.ts';
import { composable, isGradEnabled, record, ruleScope, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import type { DevicePlan } from '../../kernels/plan.ts';
import { dispatch, run } from '../run.ts';
import { checkInputs, empty, scalar, type Tensor } from '../tensor.ts';
import { binary, mul } from './binary.ts';
import { conv2dGeneral } from './conv2d_general.ts';
import { forwardWinograd, inputGradGeometry, winogradApplies } from './conv2d_winograd.ts';
import { bindableElements, bindElements, transposeMatrices } from './matmul.ts';
import { sum, sumPartials } from './reduce.ts';

export type { Padding } from '../../kernels/conv2d.ts';

/** Options of `conv2d`: Keras' Conv2D arguments, with ONNX's names where they differ. */
export interface Conv2dOptions {
  /** [sh, sw] or one number for both; default 1. */
  strides?: number | readonly [number, number];
  /** Default 'valid', as in Keras. */
  padding?: Padding;
  /** Keras' dilation_rate (ONNX dilations): [dh, dw] or one number; default 1. */
  dilations?: number | readonly [number, number];
  /** Keras' groups: divides C and O; the kernel is then [KH, KW, C/groups, O]. Default 1. */
  groups?: number;
  /** 'relu' applies relu(conv + b) in the same kernel (Keras' Conv2D(activation='relu')). */
  activation?: 'linear' | 'relu';
}

/** A tensor bound per dispatch: `perImage` elements per image, or 0 for the whole tensor. */
interface Bound {
  t: Tensor;
  perImage: number;
}

/**
 * Dispatches `make` over as many images at a time as the binding limit allows. `ins`: the two
 * inputs, and for the forward its bias (null when there is none).
 */
function overBatch(op: string, N: number, ins: [Bound, Bound] | [Bound, Bound, Bound | null], out: Bound, make: (c: ConvChunk) => Kernel): void {
  if (N === 0) return;
  const L = bindableElements(out.t.storage.gpu);
  const all = [...ins, out].filter((b): b is Bound => b !== null);
  for (const b of all)
    if (b.perImage === 0 && b.t.size > L) throw new ShapeError(op, `${b.t.describe()} is larger than one binding (${L * 4} bytes) and cannot be split`);
  const per = Math.max(1, ...all.map((b) => b.perImage));
  const nb = Math.floor(L / per);
  if (nb < 1) throw new ShapeError(op, `one image needs ${per * 4} bytes, more than one binding holds (${L * 4})`);
  for (let n0 = 0; n0 < N; n0 += nb) {
    const n = Math.min(nb, N - n0);
    const bind = (b: Bound) => (b.perImage ? bindElements(b.t, n0 * b.perImage, n * b.perImage) : bindElements(b.t, 0, b.t.size));
    const [b0, b1, bo] = [bind(ins[0]), bind(ins[1]), bind(out)];
    const bi = ins[2] ? bind(ins[2]) : null;
    // Only an output shared by all pieces (dW) accumulates; per-image outputs are written fresh.
    const beta = out.perImage === 0 && n0 > 0 ? 1 : 0;
    const kernel = make({ NB: n, off0: b0.rest, off1: b1.rest, offC: bo.rest, offBias: bi ? bi.rest : 0, beta, bias: !!bi });
    const inputs = ins.length === 3 ? [b0.slice, b1.slice, bi ? bi.slice : null] : [b0.slice, b1.slice];
    dispatch(op, kernel, inputs, [bo.slice]);
  }
}

function planOf(t: Tensor): DevicePlan {
  return t.storage.gpu.plan;
}

function allocRun(shape: number[], fn: (y: Tensor) => void): Tensor {
  const y = empty(shape);
  try {
    fn(y);
  } catch (e) {
    y.dispose();
    throw e;
  }
  return y;
}

function expectShape(op: string, what: string, t: Tensor, shape: number[]): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new ShapeError(op, `${what} ${fmtShape(t.shape)} does not match the convolution's ${fmtShape(shape)}`);
}

/** The forward convolution of geometry `g` (no bias): what the gradient kernels' own gradients are. */
function convOf(x: Tensor, w: Tensor, g: ConvGeom): Tensor {
  return conv2d(x, w, null, { strides: [g.SH, g.SW], padding: [g.PT, g.PB, g.PL, g.PR] });
}

// dx = convᵀ(dy, w) and dW are bilinear: ⟨dx, G⟩ = ⟨dy, conv(G, w)⟩ and ⟨dW, G⟩ = ⟨dy, conv(x, G)⟩,
// so their gradients are the forward conv and the other gradient kernel (second derivatives).
function convDxGrad(node: TapeNode, G: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [dy, w] = node.inputs;
  const g = node.attrs.geometry as ConvGeom;
  return [needs[0] ? convOf(G, w, g) : null, needs[1] ? conv2dWeightGrad(G, dy, g) : null];
}
composable(convDxGrad);

function convDwGrad(node: TapeNode, G: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [x, dy] = node.inputs;
  const g = node.attrs.geometry as ConvGeom;
  return [needs[0] ? conv2dInputGrad(dy, G, g) : null, needs[1] ? convOf(x, G, g) : null];
}
composable(convDwGrad);

/** dx = ∂(Σ y·dy)/∂x for y = conv2d(x, w): a transposed convolution (differentiable again under createGraph). */
export function conv2dInputGrad(dy: Tensor, w: Tensor, g: ConvGeom): Tensor {
  const op = 'conv2d.dx';
  checkInputs(op, [dy, w]);
  expectShape(op, 'dy', dy, [g.N, g.HO, g.WO, g.O]);
  expectShape(op, 'kernel', w, [g.KH, g.KW, g.C, g.O]);
  const v = planOf(dy);
  // Stride 1, 3×3 on lavapipe: a forward Winograd conv of dy with the flipped filter.
  const dual = inputGradGeometry(g);
  if (dual && winogradApplies(dual, dy)) {
    let done = false;
    const dx = allocRun([g.N, g.H, g.W, g.C], (dx) => {
      done = forwardWinograd(dual, dy, w, null, false, dx, true);
    });
    if (done) return record(op, [dy, w], dx, convDxGrad, { geometry: g });
    dx.dispose();
  }
  // The kernel reads W per tap as [O, C] (rows contiguous along its output columns).
  const wt = transposeMatrices(op, w, g.KH * g.KW, g.C, g.O);
  try {
    const dx = allocRun([g.N, g.H, g.W, g.C], (dx) =>
      overBatch(op, g.N, [{ t: dy, perImage: g.HO * g.WO * g.O }, { t: wt, perImage: 0 }], { t: dx, perImage: g.H * g.W * g.C }, (c) =>
        conv2dInputGradKernel(g, c, v),
      ),
    );
    return record(op, [dy, w], dx, convDxGrad, { geometry: g });
  } finally {
    wt.dispose();
  }
}

/** dW = ∂(Σ y·dy)/∂W for y = conv2d(x, w) (differentiable again under createGraph). */
export function conv2dWeightGrad(x: Tensor, dy: Tensor, g: ConvGeom): Tensor {
  const op = 'conv2d.dW';
  checkInputs(op, [x, dy]);
  expectShape(op, 'x', x, [g.N, g.H, g.W, g.C]);
  expectShape(op, 'dy', dy, [g.N, g.HO, g.WO, g.O]);
  const v = planOf(x);
  // On GPUs dW has few output tiles and a K of every pixel in the batch: split K over
  // workgroups into partial sums instead of leaving most of the GPU idle.
  const S = v.gemm === 'tiled' ? tiledSplits(g.KH * g.KW * g.C, g.O, g.N * g.HO * g.WO, v) : 1;
  const dw = allocRun([g.KH, g.KW, g.C, g.O], (dw) => {
    const fill = (out: Tensor) =>
      overBatch(op, g.N, [{ t: x, perImage: g.H * g.W * g.C }, { t: dy, perImage: g.HO * g.WO * g.O }], { t: out, perImage: 0 }, (c) =>
        conv2dWeightGradKernel(g, c, v, S),
      );
    if (S > 1) sumPartials(op, S, dw.size, dw, fill);
    else fill(dw);
  });
  return record(op, [x, dy], dw, convDwGrad, { geometry: g });
}

function conv2dGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [x, w] = node.inputs;
  const g = node.attrs.geometry as ConvGeom;
  return ruleScope(() => [
    needs[0] ? conv2dInputGrad(dy, w, g) : null,
    needs[1] ? conv2dWeightGrad(x, dy, g) : null,
    needs[2] ? sum(dy, [0, 1, 2]) : null,
  ]);
}

/** For y = relu(conv(x, w) + b): dy masked where y is 0 (relu' from y: y > 0 ⇔ x > 0), then conv's rule. */
function conv2dReluGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const y = node.output;
  // Under createGraph the relu mask (y > 0) is a constant: dy·mask is recorded.
  if (isGradEnabled()) return conv2dGrad(node, mul(dy, binary('lt', scalar(0), y)), needs);
  return ruleScope(() => conv2dGrad(node, run('conv2d.relu.grad', unaryGradKernel('relu', y.size, y.storage.gpu.plan.cpuDriver), [y, y, dy], y.shape), needs));
}
composable(conv2dGrad);
composable(conv2dReluGrad);

/**
 * GPUs: a conv with few output tiles and a long K (VGG16's block4 and block5 at batch 1: 784 or
 * 196 pixels × 512 channels, K = 4608) in K-splits, then one pass summing the partials and
 * adding bias and relu. False (nothing done) where it does not apply or the batch needs pieces.
 */
function forwardSplitK(g: ConvGeom, x: Tensor, w: Tensor, b: Tensor | null, relu: boolean, y: Tensor): boolean {
  const p = planOf(x);
  if (p.gemm !== 'tiled') return false;
  const M = g.N * g.HO * g.WO;
  const S = tiledSplits(M, g.O, g.KH * g.KW * g.C, p);
  const L = bindableElements(x.storage.gpu);
  if (S < 2 || x.size > L || w.size > L || S * M * g.O > L) return false;
  const c: ConvChunk = { NB: g.N, off0: 0, off1: 0, offC: 0, offBias: 0, beta: 0, bias: false };
  sumPartials('conv2d', S, M * g.O, y, (part) => dispatch('conv2d', conv2dKernel(g, c, p, S), [x, w, null], [part]), b, relu);
  return true;
}

/** y = conv(x, w) + b, or relu of it with `activation: 'relu'`; x NHWC, w HWIO, b [O]. */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const inputs = b ? [x, w, b] : [x, w];
  checkInputs(op, inputs);
  const shapes = `x ${fmtShape(x.shape)}, kernel ${fmtShape(w.shape)}`;
  if (x.rank !== 4) throw new ShapeError(op, `input must be NHWC [N, H, W, C], got ${shapes}`);
  if (w.rank !== 4) throw new ShapeError(op, `kernel must be HWIO [KH, KW, C, O], got ${shapes}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${groups}`);
  if (groups === 1 && w.shape[2] !== x.shape[3]) throw new ShapeError(op, `kernel input channels ${w.shape[2]} differ from the input's ${x.shape[3]} (${shapes})`);
  const O = w.shape[3];
  if (groups > 1 && (x.shape[3] % groups !== 0 || O % groups !== 0 || w.shape[2] * groups !== x.shape[3]))
    throw new ShapeError(op, `groups ${groups} must divide the input's ${x.shape[3]} channels and the kernel's ${O} filters, and the kernel must have C/groups input channels, not ${w.shape[2]} (${shapes})`);
  if (b && !(b.rank === 1 && b.shape[0] === O)) throw new ShapeError(op, `bias ${fmtShape(b.shape)} must be [${O}] (${shapes})`);
  const strides = opts.strides === undefined ? ([1, 1] as const) : typeof opts.strides === 'number' ? ([opts.strides, opts.strides] as const) : opts.strides;
  if (strides.length !== 2 || strides.some((s) => !Number.isInteger(s) || s < 1)) throw new ShapeError(op, `strides must be positive integers, got [${strides}]`);
  const dil = opts.dilations === undefined ? [1, 1] : typeof opts.dilations === 'number' ? [opts.dilations, opts.dilations] : opts.dilations;
  if (dil.length !== 2 || dil.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(op, `dilations must be positive integers, got [${dil}]`);
  const padding = opts.padding ?? 'valid';
  if (typeof padding !== 'string' && (padding.length !== 4 || padding.some((p) => !Number.isInteger(p) || p < 0)))
    throw new ShapeError(op, `explicit padding must be [top, bottom, left, right] of non-negative integers, got [${padding}]`);
  if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid') throw new ShapeError(op, `padding must be 'same', 'valid' or [t, b, l, r], got '${padding}'`);
  const relu = (opts.activation ?? 'linear') === 'relu';
  if (opts.activation !== undefined && opts.activation !== 'linear' && !relu) throw new ShapeError(op, `activation '${opts.activation}' cannot be fused (only 'relu')`);
  if (groups !== 1 || dil[0] !== 1 || dil[1] !== 1) {
    const gg = convGeneralGeometry(x.shape, w.shape, [strides[0], strides[1]], [dil[0], dil[1]], groups, padding);
    if (gg.HO < 1 || gg.WO < 1 || gg.KH < 1 || gg.KW < 1)
      throw new ShapeError(op, `a ${gg.KH}×${gg.KW} window (dilation [${dil}]) with padding ${JSON.stringify(padding)} does not fit the input (${shapes})`);
    return conv2dGeneral(x, w, b ?? null, gg, relu);
  }
  const g = convGeometry(x.shape, w.shape, [strides[0], strides[1]], padding);
  if (g.HO < 1 || g.WO < 1 || g.KH < 1 || g.KW < 1)
    throw new ShapeError(op, `a ${g.KH}×${g.KW} window with padding ${JSON.stringify(padding)} does not fit the input (${shapes})`);
  const v = planOf(x);
  const y = allocRun([g.N, g.HO, g.WO, O], (y) => {
    if (winogradApplies(g, x) && forwardWinograd(g, x, w, b ?? null, relu, y)) return;
    if (!forwardSplitK(g, x, w, b ?? null, relu, y))
      overBatch(op, g.N, [{ t: x, perImage: g.H * g.W * g.C }, { t: w, perImage: 0 }, b ? { t: b, perImage: 0 } : null], { t: y, perImage: g.HO * g.WO * O }, (c) =>
        conv2dKernel(g, { ...c, relu }, v),
      );
  });
  const attrs = { strides: [strides[0], strides[1]], pads: [g.PT, g.PB, g.PL, g.PR], geometry: g, activation: relu ? 'relu' : 'linear' };
  return record(relu ? 'conv2d_relu' : op, inputs, y, relu ? conv2dReluGrad : conv2dGrad, attrs);
}
