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
// Ranks and sizes live in uniforms.

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_GROUP, grid, type Kernel, sizeOf, stridesOf, Uniforms, elementMain } from './program.ts';

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

const COMMON = /* wgsl */ `
struct U { n: u32, fill: u32, rank: u32, p1: u32, m: array<vec4<u32>, 10> };
${FLAT_GROUP}
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
fn md(k: u32) -> u32 { return u.m[k / 4u][k % 4u]; }
fn mi(k: u32) -> i32 { return bitcast<i32>(md(k)); }
`;

// Uniform slots: dims 0..7, step 8..15, begin 16..23, extent 24..31, stride 32..39.
export function gatherKernel(full: GatherPlan, boundary: Boundary = 'constant', fill = 0): Kernel {
  if (full.outShape.length > MAX_RANK) throw new Error(`gather: rank ${full.outShape.length} > ${MAX_RANK}`);
  const plan = mergeGather(full);
  const n = sizeOf(plan.outShape);
  const u = new Uniforms(48)
    .u32(n, fill, plan.outShape.length, 0)
    .u32(...padLead(plan.outShape, 1))
    .i32(...padLead(plan.step, 0))
    .i32(...padLead(plan.begin, 0))
    .u32(...padLead(plan.extent, 1))
    .u32(...padLead(plan.stride, 0));
  return {
    key: `layout:gather:${boundary}`,
    wgsl: () => wgsl`
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat_group(wid, nwg) * ${WG}u + li;
  if (i >= u.n) { return; }
  var rem = i;
  var off = 0u;
  var inside = true;
  for (var kk = ${MAX_RANK - 1}; kk >= ${MAX_RANK} - i32(u.rank); kk--) { // real axes sit last
    let k = u32(kk);
    let d = md(k);
    let c = rem % d;
    rem = rem / d;
    let ext = i32(md(24u + k));
    var j = i32(c) * mi(8u + k) + mi(16u + k);
#if ${boundary === 'constant'}
    if (j < 0 || j >= ext) { inside = false; }
#elif ${boundary === 'edge'}
    j = clamp(j, 0, ext - 1);
#else
    if (j < 0) { j = -j; }
    if (j >= ext) { j = 2 * (ext - 1) - j; }
    j = clamp(j, 0, ext - 1);
#endif
    off += u32(j) * md(32u + k);
  }
  if (inside) { Y[i] = X[off]; } else { Y[i] = u.fill; }
}`,
    bindings: ['read', 'write'],
    uniforms: u.done(),
    workgroups: grid(n / WG),
  };
}

// Uniform slots: input dims 0..7, step 8..15, begin 16..23, output stride 24..31.
export function placeKernel(full: PlacePlan): Kernel {
  if (full.inShape.length > MAX_RANK) throw new Error(`place: rank ${full.inShape.length} > ${MAX_RANK}`);
  const plan = mergePlace(full);
  const n = sizeOf(plan.inShape);
  const u = new Uniforms(48)
    .u32(n, 0, plan.inShape.length, 0)
    .u32(...padLead(plan.inShape, 1))
    .i32(...padLead(plan.step, 0))
    .i32(...padLead(plan.begin, 0))
    .u32(...padLead(plan.outStride, 0))
    .u32(...new Array(MAX_RANK).fill(0));
  return {
    key: 'layout:place',
    wgsl: () => /* wgsl */ `
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat_group(wid, nwg) * ${WG}u + li;
  if (i >= u.n) { return; }
  var rem = i;
  var off = 0u;
  for (var kk = ${MAX_RANK - 1}; kk >= ${MAX_RANK} - i32(u.rank); kk--) { // real axes sit last
    let k = u32(kk);
    let d = md(k);
    let c = rem % d;
    rem = rem / d;
    off += u32(i32(c) * mi(8u + k) + mi(16u + k)) * md(24u + k);
  }
  Y[off] = X[i];
}`,
    bindings: ['read', 'write'],
    uniforms: u.done(),
    workgroups: grid(n / WG),
  };
}

/**
 * Backward of an 'edge' or 'reflect' pad along ONE axis, as a gather: the tensor is seen as
 * [outer, L, inner] (L = padded length) and folded to [outer, len, inner]. Each input index j
 * sums the padded positions that copied it: j + before itself, plus for 'reflect' its mirror
 * images before − j and before + 2(len − 1) − j when they exist, and for 'edge' the whole
 * before-run (j = 0) or after-run (j = len − 1). Bindings: dy → dx.
 */
export function padFoldKernel(mode: 'edge' | 'reflect', outer: number, L: number, len: number, inner: number, before: number, after: number): Kernel {
  const n = outer * len * inner;
  return {
    key: `layout:pad_fold:${mode}`,
    wgsl: () => wgsl`
struct U { n: u32, L: u32, len: u32, inner: u32, b: u32, a: u32 };
${FLAT_GROUP}
${elementMain(['read DY', 'write DX'], WG)}
  if (i >= u.n) { return; }
  let k = i % u.inner;
  let t = i / u.inner;
  let j = t % u.len;
  let base = (t / u.len) * u.L * u.inner + k;
  var acc = DY[base + (j + u.b) * u.inner];
#if ${mode === 'reflect'}
  if (j >= 1u && j <= u.b) { acc += DY[base + (u.b - j) * u.inner]; }
  if (j + u.a + 1u >= u.len && j + 2u <= u.len) { acc += DY[base + (u.b + 2u * (u.len - 1u) - j) * u.inner]; }
#else
  if (j == 0u) { for (var o = 0u; o < u.b; o++) { acc += DY[base + o * u.inner]; } }
  if (j == u.len - 1u) { for (var o = u.b + u.len; o < u.L; o++) { acc += DY[base + o * u.inner]; } }
#endif
  DX[i] = acc;
}`,
    bindings: ['read', 'write'],
    uniforms: new Uniforms().u32(n, L, len, inner, before, after).done(),
    workgroups: grid(n / WG),
  };
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
