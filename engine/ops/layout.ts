// Layout ops on row-major tensors of rank ≤ 8, float32 or int32: transpose, slice (strided,
// negative steps), stridedSlice (Python/ONNX begin:end:step clamping), concat and pad
// (constant, edge, reflect). All copy through the gather and place kernels of kernels/layout.ts.
// Gradients: transpose → transpose by the inverse permutation; slice → the gradient placed
// back into zeros; concat → one slice per input; constant pad → pad by the negated pads (a
// slice that also zero-fills what negative pads cropped); edge / reflect pad → each padded axis
// folded back in turn, summing the copies into the element they came from.

import { fillBits, gatherKernel, MAX_RANK, padFoldKernel, padPlan, placeKernel, placePlan, slicePlan, transposePlan, type Boundary } from '../../kernels/layout.ts';
import { composable, record, ruleScope, type TapeNode } from '../autograd.ts';
import { ShapeError } from '../errors.ts';
import { dispatch, run } from '../run.ts';
import { tidy } from '../scope.ts';
import { sizeOf } from '../../kernels/program.ts';
import { checkInputs, empty, type Tensor } from '../tensor.ts';
import { zeros } from './create.ts';

/**
 * How `pad` fills the border: 'constant' (the given value), 'edge' (repeats the edge element), 'reflect'
 * (mirrors, without repeating the edge), as ONNX Pad.
 */
export type PadMode = Boundary;

const elemOf = (t: Tensor) => (t.dtype === 'int32' ? 'i32' : 'f32');

function checkRank(op: string, x: Tensor): void {
  if (x.rank > MAX_RANK) throw new ShapeError(op, `rank ${x.rank} of ${x.describe()} is above ${MAX_RANK}`);
}

function checkLength(op: string, what: string, v: readonly number[], x: Tensor): void {
  if (v.length !== x.rank) throw new ShapeError(op, `${what} [${v}] must have one entry per axis of ${x.describe()}`);
  for (const e of v) if (!Number.isInteger(e)) throw new ShapeError(op, `${what} [${v}] must hold integers`);
}

// ---- transpose --------------------------------------------------------------------------------

function transposeGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { perm } = node.attrs as { perm: number[] };
  const inv = new Array<number>(perm.length);
  perm.forEach((p, d) => (inv[p] = d));
  return [transpose(dy, inv)];
}
composable(transposeGrad);

/** Output axis d is input axis perm[d]. Default: axes reversed (as tf.transpose). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkInputs('transpose', [x], null);
  checkRank('transpose', x);
  const p = perm ? [...perm] : [...Array(x.rank).keys()].reverse();
  checkLength('transpose', 'perm', p, x);
  if ([...p].sort((a, b) => a - b).some((v, i) => v !== i))
    throw new ShapeError('transpose', `perm [${p}] is not a permutation of the axes of ${x.describe()}`);
  const plan = transposePlan(x.shape, p);
  const y = run('transpose', gatherKernel('transpose', plan), [x], plan.outShape, x.dtype);
  return record('transpose', [x], y, x.dtype === 'float32' ? transposeGrad : null, { perm: p });
}

// ---- slice ------------------------------------------------------------------------------------

function sliceGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const { begin, step } = node.attrs as { begin: number[]; step: number[] };
  // Each dy element lands on a distinct x element: fill zeros, then place dy (no atomics).
  const dx = zeros(x.shape);
  if (dy.size > 0) dispatch('slice.grad', placeKernel('slice.grad', placePlan(dy.shape, x.shape, begin, step)), [dy], [dx]);
  // Placing is linear in dy, its adjoint the same slice: recorded (under createGraph) as such.
  return [record('slice.grad', [dy], dx, placeGrad, { begin, size: dy.shape, step })];
}
composable(sliceGrad);

function placeGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { begin, size, step } = node.attrs as { begin: number[]; size: number[]; step: number[] };
  return [slice(dy, begin, size, step)];
}
composable(placeGrad);

/**
 * Takes `size[d]` elements along each axis d, starting at `begin[d]` (negative: from the end)
 * and stepping by `strides[d]` (default 1; negative walks backwards). `size[d] = -1` takes
 * everything up to the end in the step's direction.
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[], strides?: readonly number[]): Tensor {
  const op = 'slice';
  checkInputs(op, [x], null);
  checkRank(op, x);
  checkLength(op, 'begin', begin, x);
  const sz = size ? [...size] : x.shape.map(() => -1);
  const step = strides ? [...strides] : x.shape.map(() => 1);
  checkLength(op, 'size', sz, x);
  checkLength(op, 'strides', step, x);
  const b = begin.map((v, d) => (v < 0 ? v + x.shape[d] : v));
  for (let d = 0; d < x.rank; d++) {
    const n = x.shape[d];
    const s = step[d];
    if (s === 0) throw new ShapeError(op, `stride 0 on axis ${d} of ${x.describe()}`);
    if (sz[d] === -1) sz[d] = n === 0 ? 0 : s > 0 ? Math.ceil((n - b[d]) / s) : Math.ceil((b[d] + 1) / -s);
    const last = b[d] + (sz[d] - 1) * s;
    if (sz[d] < 0 || (sz[d] > 0 && (b[d] < 0 || b[d] >= n || last < 0 || last >= n)))
      throw new ShapeError(op, `begin [${begin}], size [${size ?? sz}], strides [${step}] reach outside ${x.describe()} on axis ${d}`);
  }
  const y = run(op, gatherKernel(op, slicePlan(x.shape, b, sz, step)), [x], sz, x.dtype);
  return record(op, [x], y, x.dtype === 'float32' ? sliceGrad : null, { begin: b, size: sz, step });
}

/**
 * Python / ONNX Slice semantics: per axis the elements begin, begin+step, ... stopping before
 * `end`; negative begin/end count from the end; out-of-range values are clamped, so huge
 * sentinels (±2^31) mean "to the edge".
 */
export function stridedSlice(x: Tensor, begin: readonly number[], end: readonly number[], strides?: readonly number[]): Tensor {
  checkInputs('stridedSlice', [x], null);
  checkLength('stridedSlice', 'begin', begin, x);
  checkLength('stridedSlice', 'end', end, x);
  const step = strides ? [...strides] : x.shape.map(() => 1);
  checkLength('stridedSlice', 'strides', step, x);
  const b: number[] = [];
  const size: number[] = [];
  x.shape.forEach((n, d) => {
    const s = step[d];
    if (s === 0) throw new ShapeError('stridedSlice', `stride 0 on axis ${d} of ${x.describe()}`);
    const norm = (v: number) => (v < 0 ? v + n : v);
    const [lo, hi] = s > 0 ? [0, n] : [-1, n - 1];
    const bd = Math.min(Math.max(norm(begin[d]), lo), hi);
    const ed = Math.min(Math.max(norm(end[d]), lo), hi);
    const m = Math.max(0, Math.ceil((ed - bd) / s));
    b.push(m === 0 ? 0 : bd);
    size.push(m);
  });
  return slice(x, b, size, step);
}

// ---- concat -----------------------------------------------------------------------------------

function concatGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const { axis, offsets } = node.attrs as { axis: number; offsets: number[] };
  return ruleScope(() =>
    node.inputs.map((x, k) => {
      if (!needs[k]) return null;
      const begin = x.shape.map((_, d) => (d === axis ? offsets[k] : 0));
      return slice(dy, begin, x.shape);
    }),
  );
}
composable(concatGrad);

/** Joins tensors along `axis` (negative counts from the end); other dims must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (xs.length === 0) throw new ShapeError(op, 'needs at least one tensor');
  checkInputs(op, [...xs], null);
  const x0 = xs[0];
  checkRank(op, x0);
  const ax = axis < 0 ? axis + x0.rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= x0.rank) throw new ShapeError(op, `axis ${axis} out of range for ${x0.describe()}`);
  for (const t of xs) {
    if (t.dtype !== x0.dtype || t.rank !== x0.rank || t.shape.some((d, i) => i !== ax && d !== x0.shape[i]))
      throw new ShapeError(op, `cannot join ${xs.map((s) => s.describe()).join(', ')} along axis ${ax}`);
  }
  const outShape = [...x0.shape];
  outShape[ax] = xs.reduce((s, t) => s + t.shape[ax], 0);
  const y = empty(outShape, x0.dtype);
  const offsets: number[] = [];
  let off = 0;
  try {
    for (const t of xs) {
      offsets.push(off);
      const begin = t.shape.map((_, d) => (d === ax ? off : 0));
      if (t.size > 0) dispatch(op, placeKernel(op, placePlan(t.shape, outShape, begin)), [t], [y]);
      off += t.shape[ax];
    }
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(op, [...xs], y, x0.dtype === 'float32' ? concatGrad : null, { axis: ax, offsets });
}

// ---- pad --------------------------------------------------------------------------------------

function padGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const { pads, mode } = node.attrs as { pads: [number, number][]; mode: PadMode };
  if (mode === 'constant') return [pad(dy, pads.map(([b, a]) => [-b, -a] as [number, number]))];
  // Edge / reflect: fold the padded axes back one at a time (the padding is separable).
  const x = node.inputs[0];
  return tidy(() => {
    let g = dy;
    const shape = [...dy.shape];
    pads.forEach(([b, a], d) => {
      if (b === 0 && a === 0) return;
      const L = shape[d];
      shape[d] = x.shape[d];
      const k = padFoldKernel(mode, sizeOf(shape.slice(0, d)), L, x.shape[d], sizeOf(shape.slice(d + 1)), b, a);
      g = run(`${node.op}.grad`, k, [g], shape);
    });
    return [g];
  });
}

/**
 * Pads axis d with pads[d][0] elements before and pads[d][1] after. 'constant' fills `value`
 * and accepts negative pads (they crop); 'edge' repeats the border; 'reflect' mirrors without
 * repeating it (pads ≤ size − 1), as NumPy and ONNX.
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0, mode: PadMode = 'constant'): Tensor {
  const op = mode === 'constant' ? 'pad' : (`pad_${mode}` as const);
  checkInputs(op, [x], null);
  checkRank(op, x);
  if (pads.length !== x.rank || pads.some((p) => p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1])))
    throw new ShapeError(op, `pads ${JSON.stringify(pads)} must be one [before, after] integer pair per axis of ${x.describe()}`);
  x.shape.forEach((n, d) => {
    const [b, a] = pads[d];
    if (n + b + a < 0) throw new ShapeError(op, `pads [${b},${a}] crop more than axis ${d} of ${x.describe()} holds`);
    if (mode !== 'constant' && (b < 0 || a < 0)) throw new ShapeError(op, `negative pads need mode 'constant' (axis ${d} of ${x.describe()})`);
    if (mode === 'edge' && n === 0 && b + a > 0) throw new ShapeError(op, `cannot edge-pad the empty axis ${d} of ${x.describe()}`);
    if (mode === 'reflect' && (b > n - 1 || a > n - 1))
      throw new ShapeError(op, `reflect pads [${b},${a}] must be at most ${n - 1} on axis ${d} of ${x.describe()}`);
  });
  const plan = padPlan(x.shape, pads);
  const y = run(op, gatherKernel(op, plan, fillBits(value, elemOf(x))), [x], plan.outShape, x.dtype);
  return record(op, [x], y, x.dtype === 'float32' ? padGrad : null, { pads: pads.map((p) => [p[0], p[1]]), value, mode });
}
