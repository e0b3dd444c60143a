// Reductions over any set of axes: sum, mean, max, min, argmax (argmax: one axis, int32 out).
// The input is read in place (no transpose): an output element's base offset comes from the
// kept axes, and the reduced elements are walked through the reduced axes' strides.
// Large reductions use one workgroup per output with a shared-memory tree; small ones one
// thread per output (CPU drivers pay dearly for barriers, so the tree is kept for R ≥ 256).

import { grid, type Kernel, sizeOf, stridesOf } from './program.ts';
import { defineKernel } from './spec.ts';

/** The reductions over axes that `reduce(op, x, axes)` computes. */
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

type Variant = 'thread' | 'tree';

/** `fn <name>(i)`: the offset of flat index i over dims `u_<dims>` walked with strides `u_<strides>`. */
const offsetFn = (name: string, dims: string, strides: string) => /* wgsl */ `fn ${name}(i0: u32) -> u32 {
  var i = i0;
  var off = 0u;
  for (var k = ${R_MAX - 1}; k >= 0; k--) {
    let d = u_${dims}(u32(k));
    off += (i % d) * u_${strides}(u32(k));
    i = i / d;
  }
  return off;
}`;

const combineOf = (op: ReduceOp) =>
  op === 'sum' || op === 'mean' ? 'acc = acc + v;' : op === 'min' ? 'acc = min(acc, v);' : 'if (v > acc) { acc = v; arg = j; }';

/** The tree variant: one workgroup per output. */
const treeMain = (op: ReduceOp, scale: string) => /* wgsl */ `let o = flat_group(wid, nwg);
  let valid = o < u.n;
  var acc = ${INIT[op]};
  var arg = 0u;
  if (valid) {
    let base = kept_offset(o);
    for (var j = li; j < u.r; j += ${WG}u) {
      let v = X[base + red_offset(j)];
      ${combineOf(op)}
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
      ${op === 'argmax' ? 'if (v > acc || (v == acc && j < arg)) { acc = v; arg = j; }' : combineOf(op)}
      sv[li] = acc;
      si[li] = arg;
    }
    workgroupBarrier();
  }
  if (li == 0u && valid) {
    ${op === 'argmax' ? 'Y[o] = i32(si[0]);' : `Y[o] = sv[0]${scale};`}
  }`;

/** The thread variant: one thread per output. */
const threadMain = (op: ReduceOp, scale: string) => /* wgsl */ `let o = flat_group(wid, nwg) * ${WG}u + li;
  if (o >= u.n) { return; }
  let base = kept_offset(o);
  var acc = ${INIT[op]};
  var arg = 0u;
  for (var j = 0u; j < u.r; j++) {
    let v = X[base + red_offset(j)];
    ${combineOf(op)}
  }
  ${op === 'argmax' ? 'Y[o] = i32(arg);' : `Y[o] = acc${scale};`}`;

const reduce = defineKernel({
  name: 'reduce',
  bindings: (f: { op: ReduceOp; variant: Variant }) => [
    { name: 'X', access: 'read' },
    { name: 'Y', access: 'write', type: f.op === 'argmax' ? 'i32' : 'f32' },
  ],
  // Kept and reduced dims with their strides in X, padded on the left to R_MAX.
  uniforms: {
    n: 'u32',
    r: 'u32',
    kept_dims: `array<u32, ${R_MAX}>`,
    kept_strides: `array<u32, ${R_MAX}>`,
    red_dims: `array<u32, ${R_MAX}>`,
    red_strides: `array<u32, ${R_MAX}>`,
  },
  workgroupSize: WG,
  dispatch: (u, f) => grid(f.variant === 'tree' ? u.n : u.n / WG),
  decls: (f) => `${offsetFn('kept_offset', 'kept_dims', 'kept_strides')}
${offsetFn('red_offset', 'red_dims', 'red_strides')}
${f.variant === 'tree' ? `var<workgroup> sv: array<f32, ${WG}>;\nvar<workgroup> si: array<u32, ${WG}>;` : ''}`,
  main: (f) => (f.variant === 'tree' ? treeMain : threadMain)(f.op, f.op === 'mean' ? ' / f32(u.r)' : ''),
});

export function reduceKernel(op: ReduceOp, plan: ReducePlan): Kernel {
  const pad = (v: number[], fill: number) => [...new Array(R_MAX - v.length).fill(fill), ...v];
  return reduce(
    { op, variant: plan.r >= TREE_FROM ? 'tree' : 'thread' },
    {
      n: plan.nOut,
      r: plan.r,
      kept_dims: pad(plan.keptDims, 1),
      kept_strides: pad(plan.keptStrides, 0),
      red_dims: pad(plan.redDims, 1),
      red_strides: pad(plan.redStrides, 0),
    },
  );
}
