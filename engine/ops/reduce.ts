// Reductions over axes (sum, mean, max, min) and argmax. Gradients: sum/mean broadcast dy back;
// max/min route dy to the positions equal to the extreme (ties share it, as in TF).

import { colSumChunks, colSumKernel } from '../../kernels/colsum.ts';
import { planReduce, reduceKernel, type ReduceOp } from '../../kernels/reduce.ts';
import { composable, record, ruleScope, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { dispatch, run } from '../run.ts';
import { checkInputs, empty, type Shape, type Tensor } from '../tensor.ts';
import { add, binary, div, mul } from './binary.ts';
import { zeros } from './create.ts';
import { affine } from './unary.ts';
import { reshape } from './shape.ts';

/**
 * The axes `axes` of a rank-`rank` tensor made non-negative and sorted (all axes when undefined); negative
 * axes count from the end. Throws a `ShapeError` naming `op` for an axis out of range or repeated.
 */
export function normAxes(op: string, rank: number, axes?: number | readonly number[]): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => (a < 0 ? a + rank : a));
  for (const a of out) if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(op, `axis ${a} out of range for rank ${rank}`);
  if (new Set(out).size !== out.length) throw new ShapeError(op, `repeated axis in [${list}]`);
  return out.sort((x, y) => x - y);
}

/** Shape with reduced axes set to 1 (keepDims form). */
function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduceGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const { axes } = node.attrs as { axes: number[] };
  return ruleScope(() => {
    const g = reshape(dy, keptShape(x.shape, axes));
    switch (node.op) {
      case 'sum':
        return [add(g, zeros(x.shape))];
      case 'mean': {
        const n = axes.reduce((s, a) => s * x.shape[a], 1);
        return [add(affine(g, 1 / n), zeros(x.shape))];
      }
      default: {
        // max / min: mask of the extreme positions, dy shared among ties.
        const m = reshape(node.output, keptShape(x.shape, axes));
        const mask = binary('eq', x, m);
        const count = reshape(reduce('sum', mask, axes, false), keptShape(x.shape, axes));
        return [mul(mask, div(g, count))];
      }
    }
  });
}
composable(reduceGrad);

/**
 * The reduction `op` ('sum', 'mean', 'max', 'min') of `x` over `axes` (all axes when undefined; negative axes
 * count from the end). The reduced axes are dropped, or kept with size 1 when `keepDims`. Prefer `sum`,
 * `mean`, `max`, `min`.
 *
 * Throws a `ShapeError` for an axis out of range or repeated, or an empty reduced axis.
 */
export function reduce(op: Exclude<ReduceOp, 'argmax'>, x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  checkInputs(op, [x]);
  const ax = normAxes(op, x.rank, axes);
  const plan = planReduce(x.shape, ax);
  if (plan.r === 0) throw new ShapeError(op, `cannot reduce an empty axis of ${fmtShape(x.shape)}`);
  // Consecutive axes short of the last (bias gradients over N·H·W, a mean over H and W): sums
  // of rows, coalesced across the kept last axes.
  const rows = ax[ax.length - 1] < x.rank - 1 && ax.every((a, i) => a === ax[0] + i);
  let y =
    rows && (op === 'sum' || op === 'mean')
      ? sumMiddle(op, x, ax[0], ax.length, op === 'mean' ? 1 / plan.r : 1)
      : run(op, reduceKernel(op, plan), [x], plan.outShape);
  y = record(op, [x], y, reduceGrad, { axes: ax });
  return keepDims ? reshape(y, keptShape(x.shape, ax)) : y;
}

interface RowSum {
  scale?: number;
  bias?: Tensor | null;
  relu?: boolean;
  /** `src` holds this many [R, C] matrices one after another; `out` gets [groups, C]. */
  groups?: number;
}

/**
 * out = scale · Σ over the R rows of each row-major [R, C] matrix in `src` (+ bias per column of
 * its size, then relu): coalesced column sums, in two passes when the rows are many.
 */
function sumRowsInto(op: string, src: Tensor, R: number, C: number, out: Tensor, o: RowSum = {}): void {
  const G = o.groups ?? 1;
  // The workgroup kernel wherever GPU-shaped kernels run (LANTERNA_GEMM=tiled brings them to CPU drivers too).
  const tree = src.storage.gpu.plan.gemm === 'tiled';
  const last = (rows: number) => colSumKernel(rows, C, 1, o.scale ?? 1, { nBias: o.bias ? o.bias.size : 0, relu: o.relu, groups: G, tree });
  const withBias = (t: Tensor) => (o.bias ? [t, o.bias] : [t]);
  const P = colSumChunks(R, C, G, tree);
  if (P === 1) return dispatch(op, last(R), withBias(src), [out]);
  const part = run(op, colSumKernel(R, C, P, 1, { groups: G, tree }), [src], [G, P, C]);
  try {
    dispatch(op, last(P), withBias(part), [out]);
  } finally {
    part.dispose();
  }
}

/**
 * scale · Σ over the `k` consecutive axes from `first` (not recorded), the last axis kept: each
 * outer index's block is a row-major matrix whose rows are summed.
 */
export function sumMiddle(op: string, x: Tensor, first: number, k: number, scale = 1): Tensor {
  const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const y = empty([...x.shape.slice(0, first), ...x.shape.slice(first + k)]);
  try {
    const G = count(x.shape.slice(0, first));
    if (y.size > 0) sumRowsInto(op, x, count(x.shape.slice(first, first + k)), count(x.shape.slice(first + k)), y, { scale, groups: G });
  } catch (e) {
    y.dispose();
    throw e;
  }
  return y;
}

/**
 * Split-K: `fill` writes `splits` partial results, one [count] block after another, into a
 * scratch tensor; their sum goes into `out` (whole, `count` elements), with bias (per column of
 * its size) and relu where asked.
 */
export function sumPartials(op: string, splits: number, count: number, out: Tensor, fill: (part: Tensor) => void, bias: Tensor | null = null, relu = false): void {
  const part = empty([splits, count]);
  try {
    fill(part);
    sumRowsInto(op, part, splits, count, out, { bias, relu });
  } finally {
    part.dispose();
  }
}

/** Σ of `x` over `axes` (all when undefined); reduced axes dropped unless `keepDims`. */
export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce('sum', x, axes, keepDims);
/** Mean of `x` over `axes` (all when undefined); reduced axes dropped unless `keepDims`. */
export const mean = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce('mean', x, axes, keepDims);
/** Maximum of `x` over `axes` (all when undefined); the gradient is shared among ties. */
export const max = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce('max', x, axes, keepDims);
/** Minimum of `x` over `axes` (all when undefined); the gradient is shared among ties. */
export const min = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce('min', x, axes, keepDims);

/** Index of the largest value along one axis (int32; first index on ties). */
export function argmax(x: Tensor, axis = -1): Tensor {
  checkInputs('argmax', [x]);
  const ax = normAxes('argmax', x.rank, axis);
  const plan = planReduce(x.shape, ax);
  return run('argmax', reduceKernel('argmax', plan), [x], plan.outShape, 'int32');
}

/** Sums `g` down to `shape` (the inverse of broadcasting); returns `g` itself when nothing to do. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const off = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = axes.length ? reduce('sum', g, axes) : g;
  return reshape(s, shape);
}
