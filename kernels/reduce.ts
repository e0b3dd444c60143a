// Reductions over any set of axes: sum, mean, max, min, argmax (argmax: one axis, int32 out).
// The input is read in place (no transpose): an output element's base offset comes from the
// kept axes, and the reduced elements are walked through the reduced axes' strides.
// Large reductions use one workgroup per output with a shared-memory tree; small ones one
// thread per output (CPU drivers pay dearly for barriers, so the tree is kept for R ≥ 256).

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_GROUP, grid, type Kernel, sizeOf, stridesOf, Uniforms } from './program.ts';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'argmax';
const R_MAX = 8;
const WG = 64;
const TREE_FROM = 256;

export interface ReducePlan {
  outShape: number[]; // reduced axes removed
  keptDims: number[];
  keptStrides: number[];
  redDims: number[];
  redStrides: number[];
  nOut: number;
  r: number;
}

export function planReduce(shape: readonly number[], axes: readonly number[]): ReducePlan {
  const st = stridesOf(shape);
  const set = new Set(axes);
  const keptDims: number[] = [], keptStrides: number[] = [], redDims: number[] = [], redStrides: number[] = [];
  shape.forEach((d, i) => {
    if (set.has(i)) {
      redDims.push(d);
      redStrides.push(st[i]);
    } else {
      keptDims.push(d);
      keptStrides.push(st[i]);
    }
  });
  return { outShape: keptDims.slice(), keptDims, keptStrides, redDims, redStrides, nOut: sizeOf(keptDims), r: sizeOf(redDims) };
}

export function reduceRef(op: ReduceOp, x: ArrayLike<number>, shape: readonly number[], axes: readonly number[]): Float64Array {
  const p = planReduce(shape, axes);
  const out = new Float64Array(p.nOut);
  const unravel = (i: number, dims: number[], strides: number[]) => {
    let off = 0;
    for (let k = dims.length - 1; k >= 0; k--) {
      off += (i % dims[k]) * strides[k];
      i = Math.floor(i / dims[k]);
    }
    return off;
  };
  for (let o = 0; o < p.nOut; o++) {
    const base = unravel(o, p.keptDims, p.keptStrides);
    let acc = op === 'max' || op === 'argmax' ? -Infinity : op === 'min' ? Infinity : 0;
    let arg = 0;
    for (let j = 0; j < p.r; j++) {
      const v = x[base + unravel(j, p.redDims, p.redStrides)];
      if (op === 'sum' || op === 'mean') acc += v;
      else if (op === 'min') acc = Math.min(acc, v);
      else if (v > acc) {
        acc = v;
        arg = j;
      }
    }
    out[o] = op === 'mean' ? acc / p.r : op === 'argmax' ? arg : acc;
  }
  return out;
}

// ±FLT_MAX by bit pattern: Tint rejects decimal literals that round past the f32 range.
const INIT: Record<ReduceOp, string> = { sum: '0.0', mean: '0.0', max: 'bitcast<f32>(0xff7fffffu)', min: 'bitcast<f32>(0x7f7fffffu)', argmax: 'bitcast<f32>(0xff7fffffu)' };

export function reduceKernel(op: ReduceOp, plan: ReducePlan): Kernel {
  const pad = (v: number[], fill: number) => [...new Array(R_MAX - v.length).fill(fill), ...v];
  const u = new Uniforms()
    .u32(plan.nOut, plan.r, 0, 0)
    .u32(...pad(plan.keptDims, 1), ...pad(plan.keptStrides, 0), ...pad(plan.redDims, 1), ...pad(plan.redStrides, 0));
  const tree = plan.r >= TREE_FROM;
  const isArg = op === 'argmax';
  const combine = op === 'sum' || op === 'mean' ? 'acc = acc + v;' : op === 'min' ? 'acc = min(acc, v);' : 'if (v > acc) { acc = v; arg = j; }';
  const scale = op === 'mean' ? ' / f32(u.r)' : '';
  const outT = isArg ? 'i32' : 'f32';
  return {
    key: `reduce:${op}:${tree ? 'tree' : 'thread'}`,
    wgsl: () => wgsl`
struct U { n: u32, r: u32, p0: u32, p1: u32, m: array<vec4<u32>, 8> };
${FLAT_GROUP}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<${outT}>;
@group(0) @binding(2) var<uniform> u: U;
fn md(k: u32) -> u32 { return u.m[k / 4u][k % 4u]; }
// kept dims 0..7, kept strides 8..15, reduced dims 16..23, reduced strides 24..31
fn offset(i0: u32, dims: u32, strides: u32) -> u32 {
  var i = i0;
  var off = 0u;
  for (var k = 7; k >= 0; k--) {
    let d = md(dims + u32(k));
    off += (i % d) * md(strides + u32(k));
    i = i / d;
  }
  return off;
}
#if ${tree}
var<workgroup> sv: array<f32, ${WG}>;
var<workgroup> si: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flat_group(wid, nwg);
  let valid = o < u.n;
  var acc = ${INIT[op]};
  var arg = 0u;
  if (valid) {
    let base = offset(o, 0u, 8u);
    for (var j = li; j < u.r; j += ${WG}u) {
      let v = X[base + offset(j, 16u, 24u)];
      ${combine}
    }
  }
  sv[li] = acc;
  si[li] = arg;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s / 2u) {
    if (li < s) {
      let v = sv[li + s];
      let j = si[li + s];
      acc = sv[li];
      arg = si[li];
#if ${isArg}
      if (v > acc || (v == acc && j < arg)) { acc = v; arg = j; }
#else
      ${combine}
#endif
      sv[li] = acc;
      si[li] = arg;
    }
    workgroupBarrier();
  }
  if (li == 0u && valid) {
#if ${isArg}
    Y[o] = i32(si[0]);
#else
    Y[o] = sv[0]${scale};
#endif
  }
}
#else
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flat_group(wid, nwg) * ${WG}u + li;
  if (o >= u.n) { return; }
  let base = offset(o, 0u, 8u);
  var acc = ${INIT[op]};
  var arg = 0u;
  for (var j = 0u; j < u.r; j++) {
    let v = X[base + offset(j, 16u, 24u)];
    ${combine}
  }
#if ${isArg}
  Y[o] = i32(arg);
#else
  Y[o] = acc${scale};
#endif
}
#endif
`,
    bindings: ['read', 'write'],
    uniforms: u.done(),
    workgroups: grid(tree ? plan.nOut : plan.nOut / WG),
  };
}
