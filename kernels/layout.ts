// Layout kernels: data movement without arithmetic, for any row-major tensor of rank ≤ 8.
// Two index maps cover transpose, slice (strided, negative steps too), pad and concat:
//
//   gather: one thread per OUTPUT element o. Per axis d, j_d = o_d·step_d + begin_d is the
//     source coordinate; the source offset is Σ j_d·stride_d, where stride_d is the source
//     stride of the axis that output axis d reads (a permuted stride for transpose).
//     When j_d falls outside [0, extent_d) the boundary mode decides: 'constant' writes the
//     fill value, 'edge' clamps, 'reflect' mirrors (without repeating the border, as NumPy /
//     ONNX 'reflect').
//   place: one thread per INPUT element i, written to output offset Σ (i_d·step_d + begin_d)·
//     outStride_d. Each thread owns one distinct output element, so no atomics are needed;
//     output elements no thread covers keep their contents (concat covers them all, slice's
//     gradient fills zeros first).
//
// The gradient of 'edge' / 'reflect' padding folds one axis at a time (padFoldKernel).
// Elements are moved as raw 32-bit words (array<u32>), so one pipeline serves float32 and
// int32; the constant fill value travels as its bit pattern. Unused leading axes are padded
// with extent 1 so a single shader handles every rank; the loop visits only the real ones.
// Ranks and sizes live in uniforms. Each op gets its own pipeline, named by the op's label
// (transpose, slice, pad, pad_edge, pad_reflect gather; concat and slice.grad place), so a
// profile names the op that moved the data: the price is a few pipelines with the same code.

import { type Kernel, sizeOf, stridesOf } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;
export const MAX_RANK = 8;

export type Boundary = 'constant' | 'edge' | 'reflect';

/** Per-output-axis description of a gather (all arrays have the output's rank). */
export interface GatherPlan {
  outShape: number[];
  step: number[];
  begin: number[];
  /** Valid source range per output axis (the source extent of the axis it reads). */
  extent: number[];
  /** Source stride per output axis. */
  stride: number[];
}

/** Per-input-axis description of a place (arrays have the input's rank). */
export interface PlacePlan {
  inShape: number[];
  step: number[];
  begin: number[];
  /** Output strides per input axis. */
  outStride: number[];
}

function padLead(v: readonly number[], fill: number): number[] {
  return [...new Array(MAX_RANK - v.length).fill(fill), ...v];
}

/** Bit pattern of a fill value in the given dtype (raw words are moved). */
export function fillBits(value: number, elem: 'f32' | 'i32'): number {
  const dv = new DataView(new ArrayBuffer(4));
  if (elem === 'f32') dv.setFloat32(0, value, true);
  else dv.setInt32(0, value, true);
  return dv.getUint32(0, true);
}

/**
 * Merges neighbouring output axes that read memory contiguously and need no boundary rule
 * (step 1, begin 0, full extent, stride_d = stride_{d+1}·dim_{d+1}). The shader loops over the
 * remaining axes only, so NHWC → NCHW becomes a rank-3 transpose and padding H and W of NHWC
 * a rank-3 pad: fewer integer divisions per element, the cost that dominates these kernels.
 */
export function mergeGather(p: GatherPlan): GatherPlan {
  const q: GatherPlan = { outShape: [], step: [], begin: [], extent: [], stride: [] };
  const plain = (P: GatherPlan, k: number) => P.step[k] === 1 && P.begin[k] === 0 && P.extent[k] === P.outShape[k];
  p.outShape.forEach((dim, d) => {
    const l = q.outShape.length - 1;
    if (l >= 0 && plain(p, d) && plain(q, l) && q.stride[l] === p.stride[d] * dim) {
      q.outShape[l] *= dim;
      q.extent[l] = q.outShape[l];
      q.stride[l] = p.stride[d];
    } else {
      q.outShape.push(dim);
      q.step.push(p.step[d]);
      q.begin.push(p.begin[d]);
      q.extent.push(p.extent[d]);
      q.stride.push(p.stride[d]);
    }
  });
  return q;
}

/** The same for a place: input axis d joins the previous one when both are unit-step and contiguous in the output. */
export function mergePlace(p: PlacePlan): PlacePlan {
  const q: PlacePlan = { inShape: [], step: [], begin: [], outStride: [] };
  p.inShape.forEach((dim, d) => {
    const l = q.inShape.length - 1;
    if (l >= 0 && p.step[d] === 1 && p.begin[d] === 0 && q.step[l] === 1 && q.outStride[l] === p.outStride[d] * dim) {
      q.inShape[l] *= dim;
      q.begin[l] *= dim;
      q.outStride[l] = p.outStride[d];
    } else {
      q.inShape.push(dim);
      q.step.push(p.step[d]);
      q.begin.push(p.begin[d]);
      q.outStride.push(p.outStride[d]);
    }
  });
  return q;
}

const R = `array<u32, ${MAX_RANK}>` as const;
const RI = `array<i32, ${MAX_RANK}>` as const;

/** Raw 32-bit words in and out, so one pipeline serves float32 and int32. */
const WORDS = [
  { name: 'X', access: 'read', type: 'u32' },
  { name: 'Y', access: 'write', type: 'u32' },
] as const;

/** Where an out-of-range source index j (valid range [0, ext)) goes. */
const BOUNDARY_WGSL: Record<Boundary, string> = {
  constant: 'if (j < 0 || j >= ext) { inside = false; }',
  edge: 'j = clamp(j, 0, ext - 1);',
  reflect: `if (j < 0) { j = -j; }
    if (j >= ext) { j = 2 * (ext - 1) - j; }
    j = clamp(j, 0, ext - 1);`,
};

/** A gather named for the op that dispatches it (kernel name = op label), with its boundary rule. */
const gather = (name: string, boundary: Boundary) =>
  defineKernel({
    name,
    bindings: WORDS,
    // fill: the constant's bit pattern. Per axis (padded on the left to MAX_RANK): output dims,
    // step, begin, the valid source extent and the source stride.
    uniforms: { n: 'u32', fill: 'u32', rank: 'u32', dims: R, step: RI, begin: RI, extent: R, stride: R },
    workgroupSize: WG,
    dispatch: { flat: 'n' },
    main: () => /* wgsl */ `var rem = i;
  var off = 0u;
  var inside = true;
  for (var kk = ${MAX_RANK - 1}; kk >= ${MAX_RANK} - i32(u.rank); kk--) { // real axes sit last
    let k = u32(kk);
    let d = u_dims(k);
    let c = rem % d;
    rem = rem / d;
    let ext = i32(u_extent(k));
    var j = i32(c) * u_step(k) + u_begin(k);
    ${BOUNDARY_WGSL[boundary]}
    off += u32(j) * u_stride(k);
  }
  if (inside) { Y[i] = X[off]; } else { Y[i] = u.fill; }`,
  });

const GATHERS = {
  transpose: gather('transpose', 'constant'),
  slice: gather('slice', 'constant'),
  pad: gather('pad', 'constant'),
  pad_edge: gather('pad_edge', 'edge'),
  pad_reflect: gather('pad_reflect', 'reflect'),
};
export type GatherOp = keyof typeof GATHERS;

/** The gather of op `op` (which fixes the boundary rule); `fill` is the constant's bit pattern. */
export function gatherKernel(op: GatherOp, full: GatherPlan, fill = 0): Kernel {
  if (full.outShape.length > MAX_RANK) throw new Error(`${op}: rank ${full.outShape.length} > ${MAX_RANK}`);
  const plan = mergeGather(full);
  return GATHERS[op]({}, {
    n: sizeOf(plan.outShape),
    fill,
    rank: plan.outShape.length,
    dims: padLead(plan.outShape, 1),
    step: padLead(plan.step, 0),
    begin: padLead(plan.begin, 0),
    extent: padLead(plan.extent, 1),
    stride: padLead(plan.stride, 0),
  });
}

const place = (name: string) =>
  defineKernel({
    name,
    bindings: WORDS,
    // Per input axis (padded on the left to MAX_RANK): input dims, step, begin, output stride.
    uniforms: { n: 'u32', rank: 'u32', dims: R, step: RI, begin: RI, outStride: R },
    workgroupSize: WG,
    dispatch: { flat: 'n' },
    main: () => /* wgsl */ `var rem = i;
  var off = 0u;
  for (var kk = ${MAX_RANK - 1}; kk >= ${MAX_RANK} - i32(u.rank); kk--) { // real axes sit last
    let k = u32(kk);
    let d = u_dims(k);
    let c = rem % d;
    rem = rem / d;
    off += u32(i32(c) * u_step(k) + u_begin(k)) * u_outStride(k);
  }
  Y[off] = X[i];`,
  });

const PLACES = { concat: place('concat'), 'slice.grad': place('slice.grad') };
export type PlaceOp = keyof typeof PLACES;

export function placeKernel(op: PlaceOp, full: PlacePlan): Kernel {
  if (full.inShape.length > MAX_RANK) throw new Error(`${op}: rank ${full.inShape.length} > ${MAX_RANK}`);
  const plan = mergePlace(full);
  return PLACES[op]({}, {
    n: sizeOf(plan.inShape),
    rank: plan.inShape.length,
    dims: padLead(plan.inShape, 1),
    step: padLead(plan.step, 0),
    begin: padLead(plan.begin, 0),
    outStride: padLead(plan.outStride, 0),
  });
}

/** Adds to acc the padded positions of dy that copied input index j (see padFoldKernel). */
const FOLD_WGSL: Record<'edge' | 'reflect', string> = {
  reflect: `if (j >= 1u && j <= u.b) { acc += DY[base + (u.b - j) * u.inner]; }
  if (j + u.a + 1u >= u.len && j + 2u <= u.len) { acc += DY[base + (u.b + 2u * (u.len - 1u) - j) * u.inner]; }`,
  edge: `if (j == 0u) { for (var o = 0u; o < u.b; o++) { acc += DY[base + o * u.inner]; } }
  if (j == u.len - 1u) { for (var o = u.b + u.len; o < u.L; o++) { acc += DY[base + o * u.inner]; } }`,
};

const padFold = (mode: 'edge' | 'reflect') =>
  defineKernel({
    name: `pad_${mode}.grad`,
    bindings: [
      { name: 'DY', access: 'read' },
      { name: 'DX', access: 'write' },
    ],
    uniforms: { n: 'u32', L: 'u32', len: 'u32', inner: 'u32', b: 'u32', a: 'u32' },
    workgroupSize: WG,
    dispatch: { flat: 'n' },
    main: () => /* wgsl */ `let k = i % u.inner;
  let t = i / u.inner;
  let j = t % u.len;
  let base = (t / u.len) * u.L * u.inner + k;
  var acc = DY[base + (j + u.b) * u.inner];
  ${FOLD_WGSL[mode]}
  DX[i] = acc;`,
  });

const PAD_FOLDS = { edge: padFold('edge'), reflect: padFold('reflect') };

/**
 * Backward of an 'edge' or 'reflect' pad along ONE axis (kernel and op 'pad_edge.grad' /
 * 'pad_reflect.grad'), as a gather: the tensor is seen as [outer, L, inner] (L = padded length)
 * and folded to [outer, len, inner]. Each input index j sums the padded positions that copied
 * it: j + before itself, plus for 'reflect' its mirror images before − j and
 * before + 2(len − 1) − j when they exist, and for 'edge' the whole before-run (j = 0) or
 * after-run (j = len − 1). Bindings: dy → dx.
 */
export function padFoldKernel(mode: 'edge' | 'reflect', outer: number, L: number, len: number, inner: number, before: number, after: number): Kernel {
  return PAD_FOLDS[mode]({}, { n: outer * len * inner, L, len, inner, b: before, a: after });
}

// ---- plans ----------------------------------------------------------------------------------

export function transposePlan(shape: readonly number[], perm: readonly number[]): GatherPlan {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  return { outShape, step: perm.map(() => 1), begin: perm.map(() => 0), extent: outShape.slice(), stride: perm.map((p) => st[p]) };
}

/** Output axis d reads source index begin_d + o·step_d (all in range: checked by the op). */
export function slicePlan(shape: readonly number[], begin: readonly number[], size: readonly number[], step: readonly number[]): GatherPlan {
  return { outShape: [...size], step: [...step], begin: [...begin], extent: [...shape], stride: stridesOf(shape) };
}

/** Output index o reads source o − before (outside the source: boundary rule). */
export function padPlan(shape: readonly number[], pads: readonly (readonly [number, number])[]): GatherPlan {
  return {
    outShape: shape.map((d, i) => d + pads[i][0] + pads[i][1]),
    step: shape.map(() => 1),
    begin: pads.map(([b]) => -b),
    extent: [...shape],
    stride: stridesOf(shape),
  };
}

/** Input element i lands at output index begin + i·step along each axis. */
export function placePlan(inShape: readonly number[], outShape: readonly number[], begin: readonly number[], step?: readonly number[]): PlacePlan {
  return { inShape: [...inShape], step: step ? [...step] : inShape.map(() => 1), begin: [...begin], outStride: stridesOf(outShape) };
}

// ---- float64 references (plain loops) -------------------------------------------------------

function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    c[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return c;
}

function ravel(c: readonly number[], shape: readonly number[]): number {
  let off = 0;
  for (let k = 0; k < shape.length; k++) off = off * shape[k] + c[k];
  return off;
}

export function transposeRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]);
  const y = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < y.length; i++) {
    const o = unravel(i, outShape);
    const src = new Array<number>(shape.length);
    perm.forEach((p, d) => (src[p] = o[d]));
    y[i] = x[ravel(src, shape)];
  }
  return y;
}

export function sliceRef(x: ArrayLike<number>, shape: readonly number[], begin: readonly number[], size: readonly number[], step?: readonly number[]): Float64Array {
  const y = new Float64Array(sizeOf(size));
  for (let i = 0; i < y.length; i++) {
    const o = unravel(i, size);
    y[i] = x[ravel(o.map((v, d) => begin[d] + v * (step?.[d] ?? 1)), shape)];
  }
  return y;
}

export function padRef(x: ArrayLike<number>, shape: readonly number[], pads: readonly (readonly [number, number])[], value = 0, mode: Boundary = 'constant'): Float64Array {
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const y = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < y.length; i++) {
    const o = unravel(i, outShape);
    let inside = true;
    const src = o.map((v, d) => {
      let j = v - pads[d][0];
      const n = shape[d];
      if (mode === 'edge') j = Math.min(Math.max(j, 0), n - 1);
      else if (mode === 'reflect') {
        if (j < 0) j = -j;
        if (j >= n) j = 2 * (n - 1) - j;
      } else if (j < 0 || j >= n) inside = false;
      return j;
    });
    y[i] = inside ? x[ravel(src, shape)] : value;
  }
  return y;
}

export function concatRef(xs: ArrayLike<number>[], shapes: readonly (readonly number[])[], axis: number): Float64Array {
  const outShape = [...shapes[0]];
  outShape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
  const y = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < y.length; i++) {
    const o = unravel(i, outShape);
    let k = 0;
    let a = o[axis];
    while (a >= shapes[k][axis]) a -= shapes[k++][axis];
    const src = o.slice();
    src[axis] = a;
    y[i] = xs[k][ravel(src, shapes[k])];
  }
  return y;
}
