// Cross-entropy losses and one-hot, on the row machinery of kernels/softmax.ts.
//
// softmax cross-entropy from logits (ONNX SoftmaxCrossEntropyLoss; Keras from_logits=True):
//   classes on axis 1: logits [N, C] or [N, C, D1..Dk], rows r = (n, d) step by D = D1·…·Dk.
//   index labels [N, D..] (int32): l = w[c]·(lse − x_c), w = 0 where label == ignoreIndex.
//   soft labels (float32, same shape as logits): l = Σ_c y_c·(lse − x_c).
//   One fused pass gives per row: the loss L, the row weight WR (w, or Σy for soft labels) and
//   lse; the gradient kernel rebuilds softmax = exp(x − lse) from them, element by element.
// categorical cross-entropy from probabilities (Keras from_logits=False), classes on the last
//   axis: q = p / Σp, q̂ = clip(q, ε, 1 − ε), l = −Σ y·log q̂, as Keras' backends compute it.
//
// Reductions: 'none' keeps L; 'sum' and 'mean' run one small kernel that also writes the
// denominator (1, ΣWR as ONNX's weighted mean, or the row count) for the backward pass.
// A label outside [0, C) that is not ignoreIndex makes its row's loss and gradient NaN (as
// TensorFlow does on GPUs): an error cannot be raised without a readback.

import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_GROUP, grid, type Kernel, Uniforms, elementMain } from './program.ts';
import { ENTRY, ROW_WGSL, rowBase, rowGrid, rowHeader, rowLoop, treeDecls, treeReduce, type RowPlan, type RowVariant } from './softmax.ts';

export type LabelKind = 'index' | 'soft';
export type Reduction = 'mean' | 'sum' | 'none';
/** Denominator of a reduction: 1 (sum), Σ row weights (ONNX mean), or the row count (Keras mean). */
export type Denominator = 'one' | 'weights' | 'rows';

export interface LossAttrs {
  ignoreIndex?: number;
  /** categorical cross-entropy's clipping bound. */
  epsilon?: number;
}

const WG = 256;
const ROW_U = /* wgsl */ `struct U { rows: u32, c: u32, inner: u32, ignore: i32, has_ignore: u32, nan: f32, eps: f32, pad: u32 };`;

function rowUniforms(p: RowPlan, a: LossAttrs): ArrayBuffer {
  return new Uniforms()
    .u32(p.rows, p.c, p.inner)
    .i32(a.ignoreIndex ?? 0)
    .u32(a.ignoreIndex === undefined ? 0 : 1)
    .f32(NaN, a.epsilon ?? 1e-7)
    .done();
}

const labelDecl = (k: LabelKind) => `array<${k === 'index' ? 'i32' : 'f32'}>`;

// ---------------------------------------------------------------- references (float64)

export interface SceRefOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  weights?: ArrayLike<number>;
}

/** Per-row losses and weights of softmax cross-entropy; `plan` from planRows(shape, 1). */
export function sceRowsRef(x: ArrayLike<number>, p: RowPlan, labels: ArrayLike<number>, kind: LabelKind, o: SceRefOptions = {}) {
  const loss = new Float64Array(p.rows);
  const weight = new Float64Array(p.rows);
  for (let r = 0; r < p.rows; r++) {
    const b = rowBase(p, r);
    let m = -Infinity;
    for (let j = 0; j < p.c; j++) m = Math.max(m, x[b + j * p.inner]);
    let s = 0;
    for (let j = 0; j < p.c; j++) s += Math.exp(x[b + j * p.inner] - m);
    const lse = m + Math.log(s);
    if (kind === 'soft') {
      for (let j = 0; j < p.c; j++) {
        const k = b + j * p.inner;
        loss[r] += labels[k] * (lse - x[k]);
        weight[r] += labels[k];
      }
      continue;
    }
    const c = labels[r];
    if (c === o.ignoreIndex) continue;
    if (c < 0 || c >= p.c) {
      loss[r] = weight[r] = NaN;
      continue;
    }
    weight[r] = o.weights ? o.weights[c] : 1;
    loss[r] = weight[r] * (lse - x[b + c * p.inner]);
  }
  return { loss, weight };
}

export function reduceLossRef(loss: Float64Array, weight: Float64Array, reduction: Reduction, den: Denominator): Float64Array {
  if (reduction === 'none') return loss;
  const sum = loss.reduce((a, b) => a + b, 0);
  const d = den === 'one' ? 1 : den === 'rows' ? loss.length : weight.reduce((a, b) => a + b, 0);
  return Float64Array.of(sum / d);
}

export function sceRef(x: ArrayLike<number>, p: RowPlan, labels: ArrayLike<number>, kind: LabelKind, o: SceRefOptions = {}): Float64Array {
  const { loss, weight } = sceRowsRef(x, p, labels, kind, o);
  const red = o.reduction ?? 'mean';
  return reduceLossRef(loss, weight, red, red === 'sum' ? 'one' : kind === 'index' ? 'weights' : 'rows');
}

/** Keras categorical cross-entropy from probabilities, classes on the last axis (inner = 1). */
export function cceRef(probs: ArrayLike<number>, c: number, labels: ArrayLike<number>, kind: LabelKind, reduction: Reduction = 'mean', eps = 1e-7): Float64Array {
  const rows = probs.length / c;
  const loss = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += probs[r * c + j];
    if (kind === 'index' && (labels[r] < 0 || labels[r] >= c)) loss[r] = NaN;
    for (let j = 0; j < c; j++) {
      const y = kind === 'index' ? (labels[r] === j ? 1 : 0) : labels[r * c + j];
      const q = Math.min(Math.max(probs[r * c + j] / s, eps), 1 - eps);
      loss[r] -= y * Math.log(q);
    }
  }
  return reduceLossRef(loss, loss, reduction, reduction === 'sum' ? 'one' : 'rows');
}

export function oneHotRef(labels: ArrayLike<number>, depth: number): Float64Array {
  const y = new Float64Array(labels.length * depth);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0 && labels[i] < depth) y[i * depth + labels[i]] = 1;
  return y;
}

// ---------------------------------------------------------------- softmax cross-entropy

// Soft labels fold the loss into the online pass: a = Σ y·(m − x) has only non-negative terms
// (no cancellation between lse and x at large logits) and grows by Σy·(m' − m) when the max
// rises to m'; then l = a + Σy·log s. (Starting from m = LOWEST, Σy·(x − m) is 0·finite for any
// logit below 1e31.)
const SOFT_WGSL = /* wgsl */ `
struct Soft { m: f32, s: f32, a: f32, sy: f32 };
fn soft_push(t: Soft, x: f32, y: f32) -> Soft {
  if (x > t.m) { return Soft(x, t.s * exp(t.m - x) + 1.0, t.a + t.sy * (x - t.m), t.sy + y); }
  return Soft(t.m, t.s + exp(x - t.m), t.a + y * (t.m - x), t.sy + y);
}
fn soft_merge(p: Soft, q: Soft) -> Soft {
  let m = max(p.m, q.m);
  return Soft(m, p.s * exp(p.m - m) + q.s * exp(q.m - m), p.a + p.sy * (m - p.m) + q.a + q.sy * (m - q.m), p.sy + q.sy);
}`;

/**
 * Fused forward. Bindings: X, labels, [class weights] → L, WR, LSE (one value per row).
 */
export function sceKernel(p: RowPlan, kind: LabelKind, weighted: boolean, a: LossAttrs, v: RowVariant): Kernel {
  const tree = v === 'tree';
  const soft = kind === 'soft';
  const n = weighted ? 3 : 2;
  const stats = soft ? ['m', 's', 'a', 'sy'] : ['m', 's'];
  const merge = soft
    ? 'let t = soft_merge(Soft(a_m, a_s, a_a, a_sy), Soft(b_m, b_s, b_a, b_sy)); tree_m[li] = t.m; tree_s[li] = t.s; tree_a[li] = t.a; tree_sy[li] = t.sy;'
    : 'let t = lse_merge(Lse(a_m, a_s), Lse(b_m, b_s)); tree_m[li] = t.m; tree_s[li] = t.s;';
  return {
    key: `sce:${kind}:${weighted ? 'w' : 'nw'}:${v}`,
    wgsl: () => wgsl`
${ROW_U}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> LBL: ${labelDecl(kind)};
#if ${weighted}
@group(0) @binding(2) var<storage, read> CW: array<f32>;
#endif
@group(0) @binding(${n}) var<storage, read_write> L: array<f32>;
@group(0) @binding(${n + 1}) var<storage, read_write> WR: array<f32>;
@group(0) @binding(${n + 2}) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(${n + 3}) var<uniform> u: U;
${ROW_WGSL}
${SOFT_WGSL}
${tree ? treeDecls(stats) : ''}
${ENTRY} {
  ${rowHeader(v)}
  let base = row_base(r);
#if ${soft}
  var t = Soft(LOWEST, 0.0, 0.0, 0.0);
  for (${rowLoop(v)}) { let k = base + j * u.inner; t = soft_push(t, X[k], LBL[k]); }
#else
  var t = Lse(LOWEST, 0.0);
  for (${rowLoop(v)}) { t = lse_push(t, X[base + j * u.inner]); }
#endif
#if ${tree}
  ${stats.map((s) => `tree_${s}[li] = t.${s};`).join(' ')}
  ${treeReduce(stats, merge)}
  if (li != 0u) { return; }
  t = ${soft ? 'Soft(tree_m[0], tree_s[0], tree_a[0], tree_sy[0])' : 'Lse(tree_m[0], tree_s[0])'};
#endif
  let log_s = log(t.s);
  LSE[r] = t.m + log_s;
#if ${soft}
  L[r] = t.a + t.sy * log_s;
  WR[r] = t.sy;
#else
  let c = LBL[r];
  if (u.has_ignore != 0u && c == u.ignore) {
    L[r] = 0.0;
    WR[r] = 0.0;
  } else if (c < 0 || c >= i32(u.c)) {
    L[r] = u.nan;
    WR[r] = u.nan;
  } else {
    let w = ${weighted ? 'CW[c]' : '1.0'};
    L[r] = w * ((t.m - X[base + u32(c) * u.inner]) + log_s); // (m − x) + log s: no cancellation against a large lse
    WR[r] = w;
  }
#endif
}`,
    bindings: [...new Array(n).fill('read'), 'write', 'write', 'write'],
    uniforms: rowUniforms(p, a),
    workgroups: rowGrid(v, p.rows),
  };
}

/**
 * dlogits = g·WR·(softmax − onehot) (index labels) or g·(softmax·Σy − y) (soft labels), with
 * g = dy[r] ('none') or dy / DEN. One thread per logit. Bindings: X, labels, LSE, WR, DY, [DEN] → DX.
 */
export function sceGradKernel(p: RowPlan, kind: LabelKind, reduced: boolean): Kernel {
  const n = p.rows * p.c;
  return {
    key: `sce_grad:${kind}:${reduced ? 'reduced' : 'none'}`,
    wgsl: () => wgsl`
struct U { n: u32, c: u32, inner: u32, pad: u32 };
${FLAT_GROUP}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> LBL: ${labelDecl(kind)};
@group(0) @binding(2) var<storage, read> LSE: array<f32>;
@group(0) @binding(3) var<storage, read> WR: array<f32>;
@group(0) @binding(4) var<storage, read> DY: array<f32>;
#if ${reduced}
@group(0) @binding(5) var<storage, read> DEN: array<f32>;
@group(0) @binding(6) var<storage, read_write> DX: array<f32>;
@group(0) @binding(7) var<uniform> u: U;
#else
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
#endif
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = flat_group(wid, nwg) * ${WG}u + li;
  if (e >= u.n) { return; }
  let ci = u.c * u.inner;
  let j = (e % ci) / u.inner;
  let r = (e / ci) * u.inner + e % u.inner;
  let sm = exp(X[e] - LSE[r]);
  let g = ${reduced ? 'DY[0] / DEN[0]' : 'DY[r]'};
#if ${kind === 'soft'}
  DX[e] = g * (sm * WR[r] - LBL[e]);
#else
  DX[e] = g * WR[r] * (sm - select(0.0, 1.0, i32(j) == LBL[r]));
#endif
}`,
    bindings: reduced ? ['read', 'read', 'read', 'read', 'read', 'read', 'write'] : ['read', 'read', 'read', 'read', 'read', 'write'],
    uniforms: new Uniforms().u32(n, p.c, p.inner, 0).done(),
    workgroups: grid(n / WG),
  };
}

/**
 * Sum or mean of per-row losses in one workgroup. Bindings: L, WR → Y (scalar), DEN (the
 * denominator, kept for backward).
 */
export function lossReduceKernel(rows: number, den: Denominator): Kernel {
  const code = { one: 0, weights: 1, rows: 2 }[den];
  return {
    key: 'loss_reduce',
    wgsl: () => /* wgsl */ `
struct U { rows: u32, den: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read> WR: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> DEN: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
var<workgroup> sl: array<f32, ${WG}>;
var<workgroup> sw: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) li: u32) {
  var l = 0.0;
  var w = 0.0;
  for (var i = li; i < u.rows; i += ${WG}u) {
    l += L[i];
    w += WR[i];
  }
  sl[li] = l;
  sw[li] = w;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (li < k) {
      sl[li] += sl[li + k];
      sw[li] += sw[li + k];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let d = select(select(1.0, sw[0], u.den == 1u), f32(u.rows), u.den == 2u);
    Y[0] = sl[0] / d;
    DEN[0] = d;
  }
}`,
    bindings: ['read', 'read', 'write', 'write'],
    uniforms: new Uniforms().u32(rows, code, 0, 0).done(),
    workgroups: [1, 1, 1],
  };
}

// ---------------------------------------------------------------- categorical cross-entropy

/**
 * Keras categorical cross-entropy from probabilities (classes last: inner = 1). Per row:
 * S = Σp, L = −Σ y·log clip(p/S), T = Σ y over classes inside the clip range (the backward's row
 * term). Bindings: P, labels → L, S, T.
 */
export function cceKernel(p: RowPlan, kind: LabelKind, a: LossAttrs, v: RowVariant): Kernel {
  const tree = v === 'tree';
  const y = kind === 'index' ? 'select(0.0, 1.0, i32(j) == c)' : 'LBL[k]';
  return {
    key: `cce:${kind}:${v}`,
    wgsl: () => wgsl`
${ROW_U}
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> LBL: ${labelDecl(kind)};
@group(0) @binding(2) var<storage, read_write> L: array<f32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> T: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
${ROW_WGSL}
${tree ? treeDecls(['s', 'l', 't']) : ''}
${ENTRY} {
  ${rowHeader(v)}
  let base = r * u.c;
  var s = 0.0;
  for (${rowLoop(v)}) { s += P[base + j]; }
#if ${tree}
  tree_s[li] = s;
  ${treeReduce(['s'], 'tree_s[li] = a_s + b_s;')}
  s = tree_s[0];
#endif
#if ${kind === 'index'}
  let c = LBL[r];
#endif
  var l = 0.0;
  var t = 0.0;
  for (${rowLoop(v)}) {
    let k = base + j;
    let y = ${y};
    let q = P[k] / s;
    l -= y * log(clamp(q, u.eps, 1.0 - u.eps));
    t += select(0.0, y, q >= u.eps && q <= 1.0 - u.eps);
  }
#if ${tree}
  tree_l[li] = l;
  tree_t[li] = t;
  ${treeReduce(['l', 't'], 'tree_l[li] = a_l + b_l; tree_t[li] = a_t + b_t;')}
  if (li != 0u) { return; }
  l = tree_l[0];
  t = tree_t[0];
#endif
#if ${kind === 'index'}
  if (c < 0 || c >= i32(u.c)) { l = u.nan; t = u.nan; }
#endif
  L[r] = l;
  S[r] = s;
  T[r] = t;
}`,
    bindings: ['read', 'read', 'write', 'write', 'write'],
    uniforms: rowUniforms(p, a),
    workgroups: rowGrid(v, p.rows),
  };
}

/**
 * dp = g·(T − y·[q inside the clip]/q) / S, with q = p/S (the clip's gradient passes inside
 * [ε, 1 − ε], bounds included, as TensorFlow's). One thread per probability.
 * Bindings: P, labels, S, T, DY, [DEN] → DX.
 */
export function cceGradKernel(p: RowPlan, kind: LabelKind, reduced: boolean, a: LossAttrs): Kernel {
  const n = p.rows * p.c;
  const u = new Uniforms().u32(n, p.c).f32(a.epsilon ?? 1e-7).u32(0);
  return {
    key: `cce_grad:${kind}:${reduced ? 'reduced' : 'none'}`,
    wgsl: () => wgsl`
struct U { n: u32, c: u32, eps: f32, pad: u32 };
${FLAT_GROUP}
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> LBL: ${labelDecl(kind)};
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read> T: array<f32>;
@group(0) @binding(4) var<storage, read> DY: array<f32>;
#if ${reduced}
@group(0) @binding(5) var<storage, read> DEN: array<f32>;
@group(0) @binding(6) var<storage, read_write> DX: array<f32>;
@group(0) @binding(7) var<uniform> u: U;
#else
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
#endif
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = flat_group(wid, nwg) * ${WG}u + li;
  if (e >= u.n) { return; }
  let r = e / u.c;
  let y = ${kind === 'index' ? 'select(0.0, 1.0, i32(e % u.c) == LBL[r])' : 'LBL[e]'};
  let q = P[e] / S[r];
  let inside = q >= u.eps && q <= 1.0 - u.eps;
  let g = ${reduced ? 'DY[0] / DEN[0]' : 'DY[r]'};
  DX[e] = g * (T[r] - select(0.0, y / q, inside)) / S[r];
}`,
    bindings: reduced ? ['read', 'read', 'read', 'read', 'read', 'read', 'write'] : ['read', 'read', 'read', 'read', 'read', 'write'],
    uniforms: u.done(),
    workgroups: grid(n / WG),
  };
}

// ---------------------------------------------------------------- one-hot

/** Labels (int32, n values) → float32 [n, depth]; a label outside [0, depth) gives a zero row (as tf.one_hot). */
export function oneHotKernel(n: number, depth: number): Kernel {
  const total = n * depth;
  return {
    key: 'one_hot',
    wgsl: () => /* wgsl */ `
struct U { n: u32, depth: u32, pad0: u32, pad1: u32 };
${FLAT_GROUP}
${elementMain(['read LBL: array<i32>', 'write Y'], WG, 'e')}
  if (e >= u.n) { return; }
  Y[e] = select(0.0, 1.0, LBL[e / u.depth] == i32(e % u.depth));
}`,
    bindings: ['read', 'write'],
    uniforms: new Uniforms().u32(total, depth, 0, 0).done(),
    workgroups: grid(total / WG),
  };
}
