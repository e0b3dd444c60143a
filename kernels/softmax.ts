// Softmax and log-softmax along one axis, forward and backward, plus the row machinery the loss
// kernels share (kernels/loss.ts).
//
// Any axis runs in place, without a transpose: the tensor is seen as [outer, C, inner] and row
// r = (o, i) starts at o·C·inner + i and steps by `inner` (1 for the last axis). Rows are
// numbered with i fastest, so for inner > 1 neighbouring threads still read neighbouring words.
//
// Stability: one "online" pass keeps the running max m and s = Σ exp(x − m), rescaling s when
// the max grows (Milakov & Gimelshein 2018), so exp never sees a positive argument and the
// input is read twice (stats, then write) instead of three times.
//
// Two variants (a compile-time fact, like reduce.ts' tree): one thread per row, and one workgroup
// per row with a shared-memory tree. On a GPU, long rows (ImageNet's C=1000) take the tree, so a
// batch of 100 rows still fills the device and neighbouring threads read neighbouring words.

import type { DevicePlan, RowVariant } from './plan.ts';
import { grid, type Kernel, sizeOf } from './program.ts';
import { defineKernel } from './spec.ts';

/** Threads per workgroup in both variants. */
export const ROW_WG = 64;
/**
 * On a GPU, rows at least this long get one workgroup each. Softmax on an H200 (µs per call,
 * thread → tree): [100, 64] 71 → 54, [100, 128] 103 → 40, [100, 1000] 320 → 60,
 * [1000, 1000] 489 → 201; below 64 both sit at the ~40 µs dispatch floor.
 */
export const TREE_FROM = 64;

export type { RowVariant } from './plan.ts';

/**
 * CPU drivers emulate barriers, so they keep one thread per row: on lavapipe (2 cores) softmax
 * over [100, 1000] took 2.7 ms that way against the tree's 4.2 ms, [1000, 1000] 45 against 72 ms.
 */
export function rowVariant(c: number, plan: Pick<DevicePlan, 'rowVariant' | 'cpuDriver'>): RowVariant {
  return plan.rowVariant ?? (c >= TREE_FROM && !plan.cpuDriver ? 'tree' : 'thread');
}

/** A tensor seen as [outer, C, inner] around one axis: `rows` = outer·inner rows of C values. */
export interface RowPlan {
  rows: number;
  c: number;
  inner: number;
}

/** `axis` must already be normalised (0 ≤ axis < rank). */
export function planRows(shape: readonly number[], axis: number): RowPlan {
  const c = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  return { rows: sizeOf(shape.slice(0, axis)) * inner, c, inner };
}

/** Offset of row r's first element in the reference's float64 arrays. */
export const rowBase = (p: RowPlan, r: number) => Math.floor(r / p.inner) * p.c * p.inner + (r % p.inner);

/** The facts of every row kernel: its variant fixes the rows per workgroup and the grid. */
export type RowFacts = { variant: RowVariant };

/** Uniforms every row kernel declares first (row_base reads c and inner). */
export const ROW_UNIFORMS = { rows: 'u32', c: 'u32', inner: 'u32' } as const;

/** Rows one workgroup handles: one (tree) or one per thread (thread). */
const rowsPerWorkgroup = (v: RowVariant) => (v === 'tree' ? 1 : ROW_WG);

/** The grid of a row kernel: `rows` over rowsPerWorkgroup(variant). */
export const rowDispatch = (u: { rows: number }, f: RowFacts) => grid(u.rows / rowsPerWorkgroup(f.variant));

/** The uniform values of ROW_UNIFORMS for a plan. */
export const rowUniforms = (p: RowPlan) => ({ rows: p.rows, c: p.c, inner: p.inner });

/** WGSL shared by every row kernel: `row_base`, and the online log-sum-exp state. */
const ROW_WGSL = /* wgsl */ `
const LOWEST: f32 = -3.4028234e38; // finite: -inf − -inf would give NaN in the rescaling
fn row_base(r: u32) -> u32 { return (r / u.inner) * u.c * u.inner + r % u.inner; }
struct Lse { m: f32, s: f32 };
// Adds one value: only a new maximum rescales the sum, so most values cost one exp.
fn lse_push(a: Lse, v: f32) -> Lse {
  if (v > a.m) { return Lse(v, a.s * exp(a.m - v) + 1.0); }
  return Lse(a.m, a.s + exp(v - a.m));
}
fn lse_merge(a: Lse, b: Lse) -> Lse {
  let m = max(a.m, b.m);
  return Lse(m, a.s * exp(a.m - m) + b.s * exp(b.m - m));
}`;

/** The row index: a workgroup's (tree) or a thread's (thread). Returns early past the last row. */
export function rowHeader(v: RowVariant): string {
  return v === 'tree'
    ? /* wgsl */ `let r = flat_group(wid, nwg);
  if (r >= u.rows) { return; } // uniform: the whole workgroup leaves together`
    : /* wgsl */ `let r = flat_group(wid, nwg) * ${ROW_WG}u + li;
  if (r >= u.rows) { return; }`;
}

/** First index and step of this invocation's share of a row. */
export const rowLoop = (v: RowVariant) => (v === 'tree' ? `var j = li; j < u.c; j += ${ROW_WG}u` : 'var j = 0u; j < u.c; j++');

/**
 * Shared-memory tree over per-thread partials `tree_<name>[li]`: `merge` is WGSL that combines
 * a_<name> (this slot) with b_<name> (the slot k above) and stores into tree_<name>[li].
 * Afterwards slot 0 holds the row's result, visible to every thread.
 */
export function treeReduce(names: string[], merge: string): string {
  return /* wgsl */ `workgroupBarrier();
  for (var k = ${ROW_WG / 2}u; k > 0u; k = k >> 1u) {
    if (li < k) {
      ${names.map((n) => `let a_${n} = tree_${n}[li]; let b_${n} = tree_${n}[li + k];`).join(' ')}
      ${merge}
    }
    workgroupBarrier();
  }`;
}

/** ROW_WGSL and, for the tree variant, a workgroup array per partial in `names`. */
export const rowDecls = (v: RowVariant, names: string[]) =>
  `${ROW_WGSL}\n${v === 'tree' ? names.map((n) => `var<workgroup> tree_${n}: array<f32, ${ROW_WG}>;`).join('\n') : ''}`;

export type SoftmaxMode = 'softmax' | 'logsoftmax';

export function softmaxRef(mode: SoftmaxMode, x: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const p = planRows(shape, axis);
  const y = new Float64Array(x.length);
  for (let r = 0; r < p.rows; r++) {
    const b = rowBase(p, r);
    let m = -Infinity;
    for (let j = 0; j < p.c; j++) m = Math.max(m, x[b + j * p.inner]);
    let s = 0;
    for (let j = 0; j < p.c; j++) s += Math.exp(x[b + j * p.inner] - m);
    for (let j = 0; j < p.c; j++) {
      const k = b + j * p.inner;
      y[k] = mode === 'softmax' ? Math.exp(x[k] - m) / s : x[k] - m - Math.log(s);
    }
  }
  return y;
}

type SoftmaxFacts = RowFacts & { mode: SoftmaxMode };

const softmax = defineKernel({
  name: 'softmax',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: ROW_UNIFORMS,
  workgroupSize: ROW_WG,
  dispatch: rowDispatch,
  decls: (f: SoftmaxFacts) => rowDecls(f.variant, ['m', 's']),
  main: (f) => `${rowHeader(f.variant)}
  let base = row_base(r);
  var a = Lse(LOWEST, 0.0);
  for (${rowLoop(f.variant)}) { a = lse_push(a, X[base + j * u.inner]); }
  ${
    f.variant === 'tree'
      ? `tree_m[li] = a.m;
  tree_s[li] = a.s;
  ${treeReduce(['m', 's'], 'let c = lse_merge(Lse(a_m, a_s), Lse(b_m, b_s)); tree_m[li] = c.m; tree_s[li] = c.s;')}
  a = Lse(tree_m[0], tree_s[0]);`
      : ''
  }
  let m = a.m;
  let inv = 1.0 / a.s;
  let log_s = log(a.s);
  for (${rowLoop(f.variant)}) {
    let k = base + j * u.inner;
    Y[k] = ${f.mode === 'softmax' ? 'exp(X[k] - m) * inv' : 'X[k] - m - log_s'};
  }`,
});

/** Forward: X → Y along the plan's axis. */
export function softmaxKernel(mode: SoftmaxMode, p: RowPlan, variant: RowVariant): Kernel {
  return softmax({ mode, variant }, rowUniforms(p));
}

/**
 * Backward from the forward's output Y and dy: softmax dx = y·(dy − Σ dy·y);
 * log-softmax dx = dy − exp(y)·Σ dy.
 */
const softmaxGrad = defineKernel({
  name: 'softmax.grad',
  bindings: [
    { name: 'Yv', access: 'read' },
    { name: 'DY', access: 'read' },
    { name: 'DX', access: 'write' },
  ],
  uniforms: ROW_UNIFORMS,
  workgroupSize: ROW_WG,
  dispatch: rowDispatch,
  decls: (f: SoftmaxFacts) => rowDecls(f.variant, ['t']),
  main: (f) => `${rowHeader(f.variant)}
  let base = row_base(r);
  var t = 0.0;
  for (${rowLoop(f.variant)}) {
    let k = base + j * u.inner;
    t += ${f.mode === 'softmax' ? 'DY[k] * Yv[k]' : 'DY[k]'};
  }
  ${
    f.variant === 'tree'
      ? `tree_t[li] = t;
  ${treeReduce(['t'], 'tree_t[li] = a_t + b_t;')}
  t = tree_t[0];`
      : ''
  }
  for (${rowLoop(f.variant)}) {
    let k = base + j * u.inner;
    DX[k] = ${f.mode === 'softmax' ? 'Yv[k] * (DY[k] - t)' : 'DY[k] - exp(Yv[k]) * t'};
  }`,
});

/** Bindings: Y, DY → DX. */
export function softmaxGradKernel(mode: SoftmaxMode, p: RowPlan, variant: RowVariant): Kernel {
  return softmaxGrad({ mode, variant }, rowUniforms(p));
}
