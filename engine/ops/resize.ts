// resize: NHWC image resize with ONNX Resize semantics (see kernels/resize.ts), differentiable in
// every mode. The per-axis tap tables are built on the host and uploaded once per distinct
// (sizes, mode, coordinates, scales): a small per-device cache keeps them, so a CAM or training
// loop that resizes the same shapes uploads nothing after its first step. Tables live outside
// every tidy() scope; the gradient looks its table up again rather than saving it, so an
// evicted table cannot be missing at backward time.

import { resizeGradKernel, resizeKernel, resizeTable, TAPS, type CoordMode, type NearestMode, type ResizeMode, type ResizeSpec } from '../../kernels/resize.ts';
import { record, type TapeNode } from '../autograd.ts';
import type { Gpu } from '../gpu.ts';
import { ShapeError } from '../errors.ts';
import { run } from '../run.ts';
import { keep } from '../scope.ts';
import { checkInputs, tensor, type Tensor } from '../tensor.ts';

export type { CoordMode, NearestMode, ResizeMode } from '../../kernels/resize.ts';

/** Options of `resize` (ONNX Resize's attributes, with tf.image.resize's defaults). */
export interface ResizeOptions {
  /** Default 'bilinear'. */
  mode?: ResizeMode;
  /** Default 'half_pixel' (tf.image.resize, OpenCV, ONNX default). */
  coord?: CoordMode;
  /** Nearest only; default 'round_prefer_floor' (ONNX default). */
  nearestMode?: NearestMode;
  /** ONNX `scales` [sh, sw] when the model gives them: used by the coordinate transform instead of out/in. */
  scales?: readonly [number, number];
  /** Bicubic coefficient; default −0.75 (ONNX, OpenCV). */
  cubicCoeffA?: number;
  /** Bicubic: ignore taps outside the image and renormalise (ONNX exclude_outside). */
  excludeOutside?: boolean;
}

const COORDS: CoordMode[] = ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel', 'tf_half_pixel_for_nn', 'half_pixel_symmetric'];
const NEAREST: NearestMode[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

interface Geometry {
  spec: ResizeSpec;
  H: number;
  W: number;
  OH: number;
  OW: number;
  sh: number;
  sw: number;
}

const MAX_TABLES = 32;
const tables = new WeakMap<Gpu, Map<string, { table: ReturnType<typeof resizeTable>; t: Tensor }>>();

/** The uploaded tap table for one geometry (least recently used ones are dropped past 32). */
function tableFor(g: Gpu, geo: Geometry) {
  let cache = tables.get(g);
  if (!cache) tables.set(g, (cache = new Map()));
  const key = JSON.stringify(geo);
  let hit = cache.get(key);
  if (hit) cache.delete(key); // re-inserted below: Map order is the LRU order
  else {
    const table = resizeTable(geo.spec, geo.H, geo.W, geo.OH, geo.OW, geo.sh, geo.sw);
    hit = { table, t: keep(tensor(table.data, [table.data.length])) };
    if (cache.size >= MAX_TABLES) {
      const [oldKey, old] = cache.entries().next().value!;
      cache.delete(oldKey);
      old.t.dispose();
    }
  }
  cache.set(key, hit);
  return hit;
}

function resizeGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const geo = node.attrs.geometry as Geometry;
  const { table, t } = tableFor(x.storage.gpu, geo);
  const [N, , , C] = x.shape;
  return [run('resize.grad', resizeGradKernel(N, geo.H, geo.W, C, geo.OH, geo.OW, table), [dy, t], x.shape)];
}

/** Resizes NHWC `x` to [N, outH, outW, C]. */
export function resize(x: Tensor, size: readonly [number, number], opts: ResizeOptions = {}): Tensor {
  const op = 'resize';
  checkInputs(op, [x]);
  if (x.rank !== 4) throw new ShapeError(op, `expects NHWC input [N,H,W,C], got ${x.describe()}`);
  const [N, H, W, C] = x.shape;
  if (H < 1 || W < 1) throw new ShapeError(op, `cannot resize the empty image ${x.describe()}`);
  if (size.length !== 2 || size.some((d) => !Number.isInteger(d) || d < 1))
    throw new ShapeError(op, `size ${JSON.stringify(size)} must be [outH, outW], positive integers (input ${x.describe()})`);
  const mode = opts.mode ?? 'bilinear';
  const coord = opts.coord ?? 'half_pixel';
  const nearestMode = opts.nearestMode ?? 'round_prefer_floor';
  if (!(mode in TAPS)) throw new ShapeError(op, `mode '${mode}' is not one of ${Object.keys(TAPS).join(', ')}`);
  if (!COORDS.includes(coord)) throw new ShapeError(op, `coordinate mode '${coord}' is not one of ${COORDS.join(', ')}`);
  if (!NEAREST.includes(nearestMode)) throw new ShapeError(op, `nearest mode '${nearestMode}' is not one of ${NEAREST.join(', ')}`);
  const [OH, OW] = size;
  const [sh, sw] = opts.scales ?? [OH / H, OW / W];
  if (!(sh > 0 && sw > 0 && Number.isFinite(sh) && Number.isFinite(sw)))
    throw new ShapeError(op, `scales [${opts.scales}] must be positive (input ${x.describe()})`);
  const spec: ResizeSpec = { mode, coord, nearestMode, cubicA: opts.cubicCoeffA ?? -0.75, excludeOutside: !!opts.excludeOutside };
  const geometry: Geometry = { spec, H, W, OH, OW, sh, sw };
  const { table, t } = tableFor(x.storage.gpu, geometry);
  const y = run(op, resizeKernel(N, H, W, C, OH, OW, table), [x, t], [N, OH, OW, C]);
  return record(op, [x], y, resizeGrad, { geometry });
}
