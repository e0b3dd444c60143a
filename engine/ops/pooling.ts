// Pooling on NHWC tensors [N, H, W, C]: maxPool2d, avgPool2d (Keras 'valid' / 'same' or explicit
// ONNX-style pads [top, bottom, left, right], strides default to the window as in Keras,
// optional dilations and ceil mode), and globalAvgPool [N, H, W, C] → [N, C].
// Max-pool backward uses the argmax saved during forward (int32, same shape as the output, flat
// spatial index ih·W + iw; ties go to the first maximum in window order). It is written only
// when a gradient will be recorded, so inference and noGrad pay nothing for it.
// Every backward here is linear in dy and records itself (a no-op unless createGraph), so second
// derivatives work: avg pooling's backward and the pooling are each other's adjoint, as are max
// pooling's argmax scatter and gather; the argmax is piecewise constant in x (0 second derivative).

import {
  avgPoolGradKernel,
  avgPoolKernel,
  globalAvgPoolGradKernel,
  maxPoolGatherKernel,
  maxPoolGradKernel,
  maxPoolKernel,
  poolGeometry,
  type PoolGeom,
  type PoolPadding,
} from '../../kernels/pooling.ts';
import { composable, isGradEnabled, record, type TapeNode } from '../autograd.ts';
import { ShapeError } from '../errors.ts';
import { dispatch, run } from '../run.ts';
import { checkInputs, empty, type Tensor } from '../tensor.ts';
import { sumMiddle } from './reduce.ts';
import { reshape } from './shape.ts';

export type { PoolPadding } from '../../kernels/pooling.ts';
type Pair = number | readonly [number, number];

/** Options of `maxPool2d` and `avgPool2d`. */
export interface PoolOptions {
  /** Window [ph, pw] (or one number for both). */
  pool: Pair;
  /** Default: the window (Keras). */
  strides?: Pair;
  /** 'valid' (default, as Keras), 'same' (Keras/TF SAME), or [top, bottom, left, right]. */
  padding?: PoolPadding;
  /** Spacing between window taps (ONNX dilations); default 1. */
  dilations?: Pair;
  /** Round the output size up (ONNX ceil_mode); 'same' already does. */
  ceilMode?: boolean;
}

/** Options of `avgPool2d`. */
export interface AvgPoolOptions extends PoolOptions {
  /** Divide by all taps inside the padded input (ONNX count_include_pad) instead of the valid ones. */
  countIncludePad?: boolean;
}

function pair(op: string, what: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v !== 'number' && v.length !== 2) || p.some((e) => !Number.isInteger(e) || e < min))
    throw new ShapeError(op, `${what} ${JSON.stringify(v)} must be an integer ≥ ${min} or a pair of them`);
  return p;
}

function geometry(op: string, x: Tensor, o: PoolOptions): PoolGeom {
  checkInputs(op, [x]);
  if (x.rank !== 4) throw new ShapeError(op, `expects NHWC input [N,H,W,C], got ${x.describe()}`);
  const pool = pair(op, 'pool', o.pool, 1);
  const strides = pair(op, 'strides', o.strides ?? pool, 1);
  const dil = pair(op, 'dilations', o.dilations ?? 1, 1);
  const padding = o.padding ?? 'valid';
  const reach = [(pool[0] - 1) * dil[0] + 1, (pool[1] - 1) * dil[1] + 1];
  if (padding !== 'valid' && padding !== 'same') {
    if (padding.length !== 4 || padding.some((p) => !Number.isInteger(p) || p < 0))
      throw new ShapeError(op, `padding ${JSON.stringify(padding)} must be 'valid', 'same' or [top, bottom, left, right] integers ≥ 0`);
    // A pad as wide as the window would make windows that see only padding.
    if (padding[0] >= reach[0] || padding[1] >= reach[0] || padding[2] >= reach[1] || padding[3] >= reach[1])
      throw new ShapeError(op, `pads [${padding}] must be smaller than the window extent ${reach[0]}×${reach[1]}`);
  }
  const g = poolGeometry(x.shape, pool, strides, dil, padding, !!o.ceilMode);
  if (g.OH < 1 || g.OW < 1)
    throw new ShapeError(
      op,
      `window ${pool[0]}×${pool[1]} (strides ${strides}, dilations ${dil}, padding ${JSON.stringify(padding)}) does not fit input ${x.describe()}`,
    );
  return g;
}

const outShape = (g: PoolGeom) => [g.N, g.OH, g.OW, g.C];

// ---- max --------------------------------------------------------------------------------------

function maxPoolGrad(node: TapeNode, dy: Tensor): Tensor[] {
  return [maxPoolScatter(dy, node.saved[0], node.attrs.geom as PoolGeom)];
}
composable(maxPoolGrad);

/** dx: each dy added at its window's argmax. Linear in dy; its gradient is the gather below. */
function maxPoolScatter(dy: Tensor, argmax: Tensor, g: PoolGeom): Tensor {
  const op = 'maxPool2d.grad';
  const dx = run(op, maxPoolGradKernel(g), [dy, argmax], [g.N, g.H, g.W, g.C]);
  return record(op, [dy], dx, maxPoolScatterGrad, { geom: g }, [argmax]);
}
const maxPoolScatterGrad = composable(function maxPoolScatterGrad(node: TapeNode, G: Tensor): Tensor[] {
  return [maxPoolGather(G, node.saved[0], node.attrs.geom as PoolGeom)];
});

/** y[o] = g at o's argmax: the scatter's adjoint. */
function maxPoolGather(G: Tensor, argmax: Tensor, g: PoolGeom): Tensor {
  const op = 'maxPool2d.gather';
  const y = run(op, maxPoolGatherKernel(g), [G, argmax], outShape(g));
  return record(op, [G], y, maxPoolGatherGrad, { geom: g }, [argmax]);
}
const maxPoolGatherGrad = composable(function maxPoolGatherGrad(node: TapeNode, dy: Tensor): Tensor[] {
  return [maxPoolScatter(dy, node.saved[0], node.attrs.geom as PoolGeom)];
});

/**
 * Max pooling over H and W of an NHWC tensor [N, H, W, C]: returns [N, OH, OW, C]. The gradient goes to the
 * position of each window's maximum.
 *
 * Throws a `ShapeError` for a rank other than 4 or a window, stride or padding that does not fit.
 */
export function maxPool2d(x: Tensor, opts: PoolOptions): Tensor {
  const op = 'maxPool2d';
  const g = geometry(op, x, opts);
  if (!(isGradEnabled() && x.requiresGrad)) return run(op, maxPoolKernel(g), [x], outShape(g));
  const y = empty(outShape(g));
  const argmax = empty(outShape(g), 'int32');
  try {
    dispatch(op, maxPoolKernel(g, true), [x], [y, argmax]);
  } catch (e) {
    y.dispose();
    argmax.dispose();
    throw e;
  }
  return record(op, [x], y, maxPoolGrad, { geom: g }, [argmax]);
}

// ---- average ----------------------------------------------------------------------------------

/** Average pooling of geometry `g`, recorded: also the gradient of its own backward. */
function avgPoolOf(x: Tensor, g: PoolGeom, includePad: boolean): Tensor {
  const y = run('avgPool2d', avgPoolKernel(g, includePad), [x], outShape(g));
  return record('avgPool2d', [x], y, avgPoolGrad, { geom: g, includePad });
}

function avgPoolGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { geom, includePad } = node.attrs as { geom: PoolGeom; includePad: boolean };
  const op = 'avgPool2d.grad';
  const dx = run(op, avgPoolGradKernel(geom, includePad), [dy], node.inputs[0].shape);
  return [record(op, [dy], dx, avgPoolGradGrad, { geom, includePad })];
}
composable(avgPoolGrad);
const avgPoolGradGrad = composable(function avgPoolGradGrad(node: TapeNode, G: Tensor): Tensor[] {
  const { geom, includePad } = node.attrs as { geom: PoolGeom; includePad: boolean };
  return [avgPoolOf(G, geom, includePad)];
});

/**
 * Average pooling over H and W of an NHWC tensor [N, H, W, C]: returns [N, OH, OW, C]. Padded taps are left
 * out of each mean unless `countIncludePad`.
 *
 * Throws a `ShapeError` for a rank other than 4 or a window, stride or padding that does not fit.
 */
export function avgPool2d(x: Tensor, opts: AvgPoolOptions): Tensor {
  const op = 'avgPool2d';
  const g = geometry(op, x, opts);
  return avgPoolOf(x, g, !!opts.countIncludePad);
}

// ---- global average ---------------------------------------------------------------------------

function globalAvgPoolGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const [N, H, W, C] = x.shape;
  const op = 'globalAvgPool.grad';
  return [record(op, [dy], run(op, globalAvgPoolGradKernel(N, H * W, C), [dy], x.shape), globalAvgPoolGradGrad)];
}
composable(globalAvgPoolGrad);
// The broadcast dy/(H·W) is the adjoint of the mean: its gradient is the pooling again.
const globalAvgPoolGradGrad = composable(function globalAvgPoolGradGrad(_node: TapeNode, G: Tensor): Tensor[] {
  return [globalAvgPool(G)];
});

/** Mean over H and W: [N, H, W, C] → [N, C], or [N, 1, 1, C] with keepDims. */
export function globalAvgPool(x: Tensor, keepDims = false): Tensor {
  const op = 'globalAvgPool';
  checkInputs(op, [x]);
  if (x.rank !== 4) throw new ShapeError(op, `expects NHWC input [N,H,W,C], got ${x.describe()}`);
  const [N, H, W, C] = x.shape;
  if (H * W === 0) throw new ShapeError(op, `cannot average an empty image ${x.describe()}`);
  // Per image, a sum of H·W rows of C: coalesced column sums (engine/ops/reduce.ts), chunked for
  // parallelism (one thread per (n, c) walking 784 pixels left an H100 mostly idle).
  const y = record(op, [x], sumMiddle(op, x, 1, 2, 1 / (H * W)), globalAvgPoolGrad);
  return keepDims ? reshape(y, [N, 1, 1, C]) : y;
}
