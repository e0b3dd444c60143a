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
// TensorFlow does on GPUs), and with 'mean' every row's (the denominator is NaN). The ops attach
// a label check (kernels/checks.ts) so that reading the loss throws, naming the label.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';
import {
  ROW_UNIFORMS,
  ROW_WG,
  rowBase,
  rowDecls,
  rowDispatch,
  rowHeader,
  rowLoop,
  rowUniforms,
  treeReduce,
  type RowFacts,
  type RowPlan,
  type RowVariant,
} from './softmax.ts';

export type LabelKind = 'index' | 'soft';
/** How a loss reduces its per-row values: 'mean', 'sum', or 'none' (one value per row). */
export type Reduction = 'mean' | 'sum' | 'none';
/** Denominator of a reduction: 1 (sum), Σ row weights (ONNX mean), or the row count (Keras mean). */
export type Denominator = 'one' | 'weights' | 'rows';

export interface LossAttrs {
  ignoreIndex?: number;
  /** categorical cross-entropy's clipping bound. */
  epsilon?: number;
}

const WG = 256;
const labelType = (k: LabelKind) => (k === 'index' ? 'i32' : 'f32');
/** Gradients take g = dy / DEN[0] after a reduction, dy[r] per row without one. */
const gradScale = (reduced: boolean) => (reduced ? 'DY[0] / DEN[0]' : 'DY[r]');

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

type SceFacts = RowFacts & { kind: LabelKind; weighted: boolean };

/**
 * Fused forward: logits X and labels → per row the loss L, the row weight WR and lse. CW (class
 * weights) is read only when `weighted`.
 */
const sce = defineKernel({
  name: 'softmaxCrossEntropy',
  bindings: (f: SceFacts) => [
    { name: 'X', access: 'read' },
    { name: 'LBL', access: 'read', type: labelType(f.kind) },
    { name: 'CW', access: 'read', optional: true },
    { name: 'L', access: 'write' },
    { name: 'WR', access: 'write' },
    { name: 'LSE', access: 'write' },
  ],
  // `nan` travels as a uniform so that the compiler cannot fold it away.
  uniforms: { ...ROW_UNIFORMS, ignore: 'i32', has_ignore: 'u32', nan: 'f32' },
  workgroupSize: ROW_WG,
  dispatch: rowDispatch,
  decls: (f) => (f.kind === 'soft' ? `${rowDecls(f.variant, ['m', 's', 'a', 'sy'])}\n${SOFT_WGSL}` : rowDecls(f.variant, ['m', 's'])),
  main: (f) => {
    const soft = f.kind === 'soft';
    const stats = soft ? ['m', 's', 'a', 'sy'] : ['m', 's'];
    const merge = soft
      ? 'let t = soft_merge(Soft(a_m, a_s, a_a, a_sy), Soft(b_m, b_s, b_a, b_sy)); tree_m[li] = t.m; tree_s[li] = t.s; tree_a[li] = t.a; tree_sy[li] = t.sy;'
      : 'let t = lse_merge(Lse(a_m, a_s), Lse(b_m, b_s)); tree_m[li] = t.m; tree_s[li] = t.s;';
    return `${rowHeader(f.variant)}
  let base = row_base(r);
  ${
    soft
      ? `var t = Soft(LOWEST, 0.0, 0.0, 0.0);
  for (${rowLoop(f.variant)}) { let k = base + j * u.inner; t = soft_push(t, X[k], LBL[k]); }`
      : `var t = Lse(LOWEST, 0.0);
  for (${rowLoop(f.variant)}) { t = lse_push(t, X[base + j * u.inner]); }`
  }
  ${
    f.variant === 'tree'
      ? `${stats.map((s) => `tree_${s}[li] = t.${s};`).join(' ')}
  ${treeReduce(stats, merge)}
  if (li != 0u) { return; }
  t = ${soft ? 'Soft(tree_m[0], tree_s[0], tree_a[0], tree_sy[0])' : 'Lse(tree_m[0], tree_s[0])'};`
      : ''
  }
  let log_s = log(t.s);
  LSE[r] = t.m + log_s;
  ${
    soft
      ? `L[r] = t.a + t.sy * log_s;
  WR[r] = t.sy;`
      : `let c = LBL[r];
  if (u.has_ignore != 0u && c == u.ignore) {
    L[r] = 0.0;
    WR[r] = 0.0;
  } else if (c < 0 || c >= i32(u.c)) {
    L[r] = u.nan;
    WR[r] = u.nan;
  } else {
    let w = ${f.weighted ? 'CW[c]' : '1.0'};
    L[r] = w * ((t.m - X[base + u32(c) * u.inner]) + log_s); // (m − x) + log s: no cancellation against a large lse
    WR[r] = w;
  }`
  }`;
  },
});

/** Bindings: X, labels, class weights (null when unweighted) → L, WR, LSE. */
export function sceKernel(p: RowPlan, kind: LabelKind, weighted: boolean, a: LossAttrs, variant: RowVariant): Kernel {
  const has_ignore = a.ignoreIndex === undefined ? 0 : 1;
  return sce({ variant, kind, weighted }, { ...rowUniforms(p), ignore: a.ignoreIndex ?? 0, has_ignore, nan: NaN });
}

/**
 * dlogits = g·WR·(softmax − onehot) (index labels) or g·(softmax·Σy − y) (soft labels), with
 * g = dy[r] ('none') or dy / DEN. One thread per logit.
 */
const sceGrad = defineKernel({
  name: 'softmaxCrossEntropy.grad',
  bindings: (f: { kind: LabelKind; reduced: boolean }) => [
    { name: 'X', access: 'read' },
    { name: 'LBL', access: 'read', type: labelType(f.kind) },
    { name: 'LSE', access: 'read' },
    { name: 'WR', access: 'read' },
    { name: 'DY', access: 'read' },
    { name: 'DEN', access: 'read', optional: true },
    { name: 'DX', access: 'write' },
  ],
  uniforms: { n: 'u32', c: 'u32', inner: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n', index: 'e' },
  main: (f) => `let ci = u.c * u.inner;
  let j = (e % ci) / u.inner;
  let r = (e / ci) * u.inner + e % u.inner;
  let sm = exp(X[e] - LSE[r]);
  let g = ${gradScale(f.reduced)};
  ${f.kind === 'soft' ? 'DX[e] = g * (sm * WR[r] - LBL[e]);' : 'DX[e] = g * WR[r] * (sm - select(0.0, 1.0, i32(j) == LBL[r]));'}`,
});

/** Bindings: X, labels, LSE, WR, DY, DEN (null unless `reduced`) → DX. */
export function sceGradKernel(p: RowPlan, kind: LabelKind, reduced: boolean): Kernel {
  return sceGrad({ kind, reduced }, { n: p.rows * p.c, c: p.c, inner: p.inner });
}

/**
 * Sum or mean of per-row losses in one workgroup: L (and WR, read only for the 'weights'
 * denominator) → Y (scalar) and DEN (the denominator, kept for backward).
 */
const lossReduce = defineKernel({
  name: 'lossReduce',
  bindings: [
    { name: 'L', access: 'read' },
    { name: 'WR', access: 'read', optional: true },
    { name: 'Y', access: 'write' },
    { name: 'DEN', access: 'write' },
  ],
  uniforms: { rows: 'u32' },
  workgroupSize: WG,
  dispatch: () => [1, 1, 1],
  decls: (f: { den: Denominator }) => `var<workgroup> sl: array<f32, ${WG}>;
${f.den === 'weights' ? `var<workgroup> sw: array<f32, ${WG}>;` : ''}`,
  main: (f) => {
    const w = f.den === 'weights';
    return `var l = 0.0;
  ${w ? 'var w = 0.0;' : ''}
  for (var i = li; i < u.rows; i += ${WG}u) {
    l += L[i];
    ${w ? 'w += WR[i];' : ''}
  }
  sl[li] = l;
  ${w ? 'sw[li] = w;' : ''}
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (li < k) {
      sl[li] += sl[li + k];
      ${w ? 'sw[li] += sw[li + k];' : ''}
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let d = ${{ one: '1.0', weights: 'sw[0]', rows: 'f32(u.rows)' }[f.den]};
    Y[0] = sl[0] / d;
    DEN[0] = d;
  }`;
  },
});

/** Bindings: L, WR (null unless den is 'weights') → Y, DEN. */
export function lossReduceKernel(rows: number, den: Denominator): Kernel {
  return lossReduce({ den }, { rows });
}

// ---------------------------------------------------------------- categorical cross-entropy

/**
 * Keras categorical cross-entropy from probabilities (classes last: inner = 1). Per row:
 * S = Σp, L = −Σ y·log clip(p/S), T = Σ y over classes inside the clip range (the backward's row
 * term).
 */
const cce = defineKernel({
  name: 'categoricalCrossEntropy',
  bindings: (f: RowFacts & { kind: LabelKind }) => [
    { name: 'P', access: 'read' },
    { name: 'LBL', access: 'read', type: labelType(f.kind) },
    { name: 'L', access: 'write' },
    { name: 'S', access: 'write' },
    { name: 'T', access: 'write' },
  ],
  uniforms: { ...ROW_UNIFORMS, nan: 'f32', eps: 'f32' },
  workgroupSize: ROW_WG,
  dispatch: rowDispatch,
  decls: (f) => rowDecls(f.variant, ['s', 'l', 't']),
  main: (f) => {
    const tree = f.variant === 'tree';
    const index = f.kind === 'index';
    return `${rowHeader(f.variant)}
  let base = r * u.c;
  var s = 0.0;
  for (${rowLoop(f.variant)}) { s += P[base + j]; }
  ${
    tree
      ? `tree_s[li] = s;
  ${treeReduce(['s'], 'tree_s[li] = a_s + b_s;')}
  s = tree_s[0];`
      : ''
  }
  ${index ? 'let c = LBL[r];' : ''}
  var l = 0.0;
  var t = 0.0;
  for (${rowLoop(f.variant)}) {
    let k = base + j;
    let y = ${index ? 'select(0.0, 1.0, i32(j) == c)' : 'LBL[k]'};
    let q = P[k] / s;
    l -= y * log(clamp(q, u.eps, 1.0 - u.eps));
    t += select(0.0, y, q >= u.eps && q <= 1.0 - u.eps);
  }
  ${
    tree
      ? `tree_l[li] = l;
  tree_t[li] = t;
  ${treeReduce(['l', 't'], 'tree_l[li] = a_l + b_l; tree_t[li] = a_t + b_t;')}
  if (li != 0u) { return; }
  l = tree_l[0];
  t = tree_t[0];`
      : ''
  }
  ${index ? 'if (c < 0 || c >= i32(u.c)) { l = u.nan; t = u.nan; }' : ''}
  L[r] = l;
  S[r] = s;
  T[r] = t;`;
  },
});

/** Bindings: P, labels → L, S, T. */
export function cceKernel(p: RowPlan, kind: LabelKind, a: LossAttrs, variant: RowVariant): Kernel {
  return cce({ variant, kind }, { ...rowUniforms(p), nan: NaN, eps: a.epsilon ?? 1e-7 });
}

/**
 * dp = g·(T − y·[q inside the clip]/q) / S, with q = p/S (the clip's gradient passes inside
 * [ε, 1 − ε], bounds included, as TensorFlow's). One thread per probability.
 */
const cceGrad = defineKernel({
  name: 'categoricalCrossEntropy.grad',
  bindings: (f: { kind: LabelKind; reduced: boolean }) => [
    { name: 'P', access: 'read' },
    { name: 'LBL', access: 'read', type: labelType(f.kind) },
    { name: 'S', access: 'read' },
    { name: 'T', access: 'read' },
    { name: 'DY', access: 'read' },
    { name: 'DEN', access: 'read', optional: true },
    { name: 'DX', access: 'write' },
  ],
  uniforms: { n: 'u32', c: 'u32', eps: 'f32' },
  workgroupSize: WG,
  dispatch: { flat: 'n', index: 'e' },
  main: (f) => `let r = e / u.c;
  let y = ${f.kind === 'index' ? 'select(0.0, 1.0, i32(e % u.c) == LBL[r])' : 'LBL[e]'};
  let q = P[e] / S[r];
  let inside = q >= u.eps && q <= 1.0 - u.eps;
  let g = ${gradScale(f.reduced)};
  DX[e] = g * (T[r] - select(0.0, y / q, inside)) / S[r];`,
});

/** Bindings: P, labels, S, T, DY, DEN (null unless `reduced`) → DX. */
export function cceGradKernel(p: RowPlan, kind: LabelKind, reduced: boolean, a: LossAttrs): Kernel {
  return cceGrad({ kind, reduced }, { n: p.rows * p.c, c: p.c, eps: a.epsilon ?? 1e-7 });
}

// ---------------------------------------------------------------- one-hot

const oneHot = defineKernel({
  name: 'oneHot',
  bindings: [
    { name: 'LBL', access: 'read', type: 'i32' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: { n: 'u32', depth: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n', index: 'e' },
  main: () => 'Y[e] = select(0.0, 1.0, LBL[e / u.depth] == i32(e % u.depth));',
});

/** Labels (int32, n values) → float32 [n, depth]; a label outside [0, depth) gives a zero row (as tf.one_hot). */
export function oneHotKernel(n: number, depth: number): Kernel {
  return oneHot({}, { n: n * depth, depth });
}
