// Elementwise kernels: unary maps (and their fused gradients), binary maps with NumPy
// broadcasting (rank ≤ 8), fill and cast. One thread per element (CPU drivers: 4 vec4 per
// thread where the size allows, below); sizes travel as uniforms.
// Layout-agnostic: these see flat row-major arrays.

import { type Kernel, stridesOf, sizeOf } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;
export const MAX_RANK = 8;

/** The elementwise functions of one tensor that `unary(op, x)` computes (each also has its own op). */
export type UnaryOp =
  | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'tanh' | 'exp' | 'log' | 'neg' | 'sqrt' | 'abs' | 'affine' | 'square' | 'swish'
  | 'hard_sigmoid' | 'hard_sigmoid_keras2' | 'hard_swish' | 'gelu' | 'gelu_tanh' | 'selu' | 'softplus' | 'softsign' | 'leaky_relu';
/** The elementwise functions of two tensors (broadcast) that `binary(op, a, b)` computes. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'ge' | 'lt' | 'eq';
/** Comparison ops produce float32 masks (1 or 0) and have no gradient. */
export const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['ge', 'lt', 'eq']);

/**
 * One row per unary op: the forward in WGSL (x; parameters u.p, u.q), its derivative dx from x,
 * the output y and dy, and a float64 reference. `p` and `q` are op parameters: elu's alpha;
 * affine's scale and shift (y = p·x + q). Subgradients: relu′(0) = 0, abs′(0) = 0 (sign).
 */
export const UNARY: Readonly<Record<UnaryOp, { f: string; df: string; ref: (v: number, p: number, q: number) => number }>> = {
  relu: { f: 'max(x, 0.0)', df: 'select(0.0, dy, x > 0.0)', ref: (v) => Math.max(v, 0) },
  relu6: { f: 'clamp(x, 0.0, 6.0)', df: 'select(0.0, dy, x > 0.0 && x < 6.0)', ref: (v) => Math.min(Math.max(v, 0), 6) },
  elu: { f: 'select(u.p * (exp(x) - 1.0), x, x > 0.0)', df: 'select(dy * (y + u.p), dy, x > 0.0)', ref: (v, p) => (v > 0 ? v : p * (Math.exp(v) - 1)) },
  sigmoid: { f: '1.0 / (1.0 + exp(-x))', df: 'dy * y * (1.0 - y)', ref: (v) => 1 / (1 + Math.exp(-v)) },
  // Some drivers compute tanh as a ratio of exps: inf/inf past ±45.
  tanh: { f: 'tanh(clamp(x, -15.0, 15.0))', df: 'dy * (1.0 - y * y)', ref: Math.tanh },
  exp: { f: 'exp(x)', df: 'dy * y', ref: Math.exp },
  log: { f: 'log(x)', df: 'dy / x', ref: Math.log },
  neg: { f: '-x', df: '-dy', ref: (v) => -v },
  sqrt: { f: 'sqrt(x)', df: 'dy * 0.5 / y', ref: Math.sqrt },
  abs: { f: 'abs(x)', df: 'dy * sign(x)', ref: Math.abs },
  affine: { f: 'u.p * x + u.q', df: 'dy * u.p', ref: (v, p, q) => p * v + q },
  square: { f: 'x * x', df: '2.0 * x * dy', ref: (v) => v * v },
  // swish (SiLU, EfficientNet's activation) x·σ(x); dx = dy·σ(x)·(1 + x·(1 − σ(x))). For x far
  // below 0, exp(−x) is inf and σ(x) = 0: both stay finite (−0 and 0).
  swish: {
    f: 'x / (1.0 + exp(-x))',
    df: 'dy * (1.0 / (1.0 + exp(-x))) * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x))))',
    ref: (v) => v / (1 + Math.exp(-v)),
  },
  // Keras 3 hard_sigmoid: relu6(x + 3) / 6. Keras 2 (tf.keras ≤ 2.15) used clip(0.2·x + 0.5, 0, 1):
  // same name, different function, so from_config picks the row by the file's Keras version.
  hard_sigmoid: { f: 'clamp(x + 3.0, 0.0, 6.0) / 6.0', df: 'select(0.0, dy / 6.0, x > -3.0 && x < 3.0)', ref: (v) => Math.min(Math.max(v + 3, 0), 6) / 6 },
  hard_sigmoid_keras2: { f: 'clamp(0.2 * x + 0.5, 0.0, 1.0)', df: 'select(0.0, 0.2 * dy, x > -2.5 && x < 2.5)', ref: (v) => Math.min(Math.max(0.2 * v + 0.5, 0), 1) },
  // hard_swish (Keras 3 hard_silu): x·relu6(x + 3)/6; dx = (2x + 3)/6 on (−3, 3), 0 below, 1 above.
  hard_swish: {
    f: 'x * clamp(x + 3.0, 0.0, 6.0) / 6.0',
    df: 'select(select(0.0, dy, x >= 3.0), dy * (2.0 * x + 3.0) / 6.0, x > -3.0 && x < 3.0)',
    ref: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
  },
  // Exact GELU x·Φ(x) = x·erfc(−x/√2)/2. WGSL has no erf: lanterna_erfc (Numerical Recipes' erfcc,
  // relative error < 1.2e-7 everywhere) keeps far-negative x relatively accurate too. dx = Φ + x·φ.
  gelu: {
    f: 'x * 0.5 * lanterna_erfc(-x * 0.70710678118654752)',
    df: 'dy * (0.5 * lanterna_erfc(-x * 0.70710678118654752) + x * 0.39894228040143268 * exp(-0.5 * x * x))',
    ref: (v) => 0.5 * v * erfc64(-v / Math.SQRT2),
  },
  // Keras gelu(approximate=True): x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
  gelu_tanh: {
    f: '0.5 * x * (1.0 + tanh(clamp(0.79788456080286536 * (x + 0.044715 * x * x * x), -15.0, 15.0)))',
    df: `dy * lanterna_gelu_tanh_grad(x)`,
    ref: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  },
  selu: {
    f: 'select(1.7580993408473766 * (exp(x) - 1.0), 1.0507009873554805 * x, x > 0.0)',
    df: 'select(dy * (y + 1.7580993408473766), 1.0507009873554805 * dy, x > 0.0)',
    ref: (v) => (v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * (Math.exp(v) - 1)),
  },
  // log(1 + eˣ) written as max(x, 0) + log(1 + e^−|x|) so large x does not overflow; dx = σ(x).
  softplus: { f: 'max(x, 0.0) + log(1.0 + exp(-abs(x)))', df: 'dy / (1.0 + exp(-x))', ref: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))) },
  softsign: { f: 'x / (1.0 + abs(x))', df: 'dy / ((1.0 + abs(x)) * (1.0 + abs(x)))', ref: (v) => v / (1 + Math.abs(v)) },
  // p = the negative slope (Keras alpha / negative_slope).
  leaky_relu: { f: 'select(u.p * x, x, x > 0.0)', df: 'select(u.p * dy, dy, x > 0.0)', ref: (v, p) => (v > 0 ? v : p * v) },
};

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** WGSL helpers some rows call; prepended to every unary kernel (unused ones cost nothing). */
const UNARY_HELPERS = `fn lanterna_erfc(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * abs(z));
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, z >= 0.0);
}
fn lanterna_gelu_tanh_grad(x: f32) -> f32 {
  let k = 0.79788456080286536;
  let t = tanh(clamp(k * (x + 0.044715 * x * x * x), -15.0, 15.0));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
}`;

/** Only ops that call a helper get them, so the other kernels' WGSL is unchanged. */
const helpersFor = (op: UnaryOp) => (UNARY[op].f.includes('lanterna_') || UNARY[op].df.includes('lanterna_') ? UNARY_HELPERS : '');

/**
 * float64 erfc for the references: the Maclaurin series of erf below 1 (no cancellation worth
 * the name: erfc(1) = 0.157), a continued fraction for erfc from 1 on (200 terms converge to
 * 1e-16 relative there, and keep relative accuracy at the far tail).
 */
export function erfc64(x: number): number {
  if (x < 0) return 2 - erfc64(-x);
  if (x < 1) {
    let sum = 0;
    let term = x; // (−1)ⁿ x^(2n+1) / n!
    for (let n = 0; n < 80; n++) {
      sum += term / (2 * n + 1);
      term *= (-x * x) / (n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^−x²/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
  let f = x;
  for (let k = 200; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function unaryRef(op: UnaryOp, x: ArrayLike<number>, p = 1, q = 0): Float64Array {
  const f = UNARY[op].ref;
  return Float64Array.from(x, (v) => f(v, p, q));
}

const unary = defineKernel({
  name: 'unary',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: { n: 'u32', p: 'f32', q: 'f32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: (f: { op: UnaryOp }) => helpersFor(f.op),
  main: (f: { op: UnaryOp }) => `let x = X[i];
  Y[i] = ${UNARY[f.op].f};`,
});

// CPU drivers: each invocation maps 4 vec4 (16 elements). lavapipe pays per lane-by-lane load
// and per workgroup: on a 800 000-element relu this runs 3–4× the one-float-per-thread kernel's
// rate (bench/results/lavapipe-shapes-2026-12-07.md, round 8). The scalar expression is applied
// per component; sizes that are not multiples of 4 keep the one-element kernel.
const PER = 4;
const blocks4 = (n: number) => Math.ceil(n / 4 / PER);

/**
 * A block kernel: `inputs` are [binding, the name the expression reads], all vec4 of f32; `expr`
 * (WGSL in those names and u.p, u.q) gives each component of `out`.
 */
function map4<F extends { op: string }>(name: string, inputs: [string, string][], out: string, expr: (f: F) => string, decls?: (f: F) => string) {
  return defineKernel({
    name,
    bindings: [
      ...inputs.map(([b]) => ({ name: b, access: 'read' as const, type: 'vec4<f32>' })),
      { name: out, access: 'write' as const, type: 'vec4<f32>' },
    ],
    uniforms: { blocks: 'u32', n4: 'u32', p: 'f32', q: 'f32' },
    workgroupSize: 64,
    dispatch: { flat: 'blocks' },
    decls,
    main: (f: F) => {
      const comp = (c: string) => `{ ${inputs.map(([b, v]) => `let ${v} = ${b}_v.${c};`).join(' ')} r.${c} = ${expr(f)}; }`;
      return `for (var j = 0u; j < ${PER}u; j++) {
    let k = i * ${PER}u + j;
    if (k >= u.n4) { break; }
    ${inputs.map(([b]) => `let ${b}_v = ${b}[k];`).join(' ')}
    var r = vec4<f32>();
    ${['x', 'y', 'z', 'w'].map(comp).join('\n    ')}
    ${out}[k] = r;
  }`;
    },
  });
}

const unary4 = map4<{ op: UnaryOp }>('unary4', [['X', 'x']], 'Y', (f) => UNARY[f.op].f, (f) => helpersFor(f.op));

/** y = f(x) for n elements; `blocks` (the plan's cpuDriver): the vec4 block kernel where n % 4 == 0. */
export function unaryKernel(op: UnaryOp, n: number, blocks: boolean, p = 1, q = 0): Kernel {
  if (blocks && n % 4 === 0) return unary4({ op }, { blocks: blocks4(n), n4: n / 4, p, q });
  return unary({ op }, { n, p, q });
}

/** dx = f'(x, y) · dy, fused: reads x, y and dy. */
const unaryGrad = defineKernel({
  name: 'unary_grad',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Yv', access: 'read' },
    { name: 'DY', access: 'read' },
    { name: 'DX', access: 'write' },
  ],
  uniforms: { n: 'u32', p: 'f32', q: 'f32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: (f: { op: UnaryOp }) => helpersFor(f.op),
  main: (f: { op: UnaryOp }) => `let x = X[i];
  let y = Yv[i];
  let dy = DY[i];
  DX[i] = ${UNARY[f.op].df};`,
});

const unaryGrad4 = map4<{ op: UnaryOp }>('unary_grad4', [['X', 'x'], ['Yv', 'y'], ['DY', 'dy']], 'DX', (f) => UNARY[f.op].df, (f) => helpersFor(f.op));

/** Fused backward: dx = f'(x, y) · dy. Bindings: x, y, dy → dx. `blocks` as unaryKernel's. */
export function unaryGradKernel(op: UnaryOp, n: number, blocks: boolean, p = 1, q = 0): Kernel {
  if (blocks && n % 4 === 0) return unaryGrad4({ op }, { blocks: blocks4(n), n4: n / 4, p, q });
  return unaryGrad({ op }, { n, p, q });
}

const BINARY_WGSL: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  ge: 'select(0.0, 1.0, a >= b)',
  lt: 'select(0.0, 1.0, a < b)',
  eq: 'select(0.0, 1.0, a == b)',
};

export function binaryRef(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'maximum': return Math.max(a, b);
    case 'minimum': return Math.min(a, b);
    case 'ge': return a >= b ? 1 : 0;
    case 'lt': return a < b ? 1 : 0;
    case 'eq': return a === b ? 1 : 0;
  }
}

/** NumPy broadcasting of two shapes; null when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` seen from the broadcast `out` shape (0 along broadcast axes). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

export function binaryBroadcastRef(op: BinaryOp, a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]): Float64Array {
  const out = broadcastShapes(as, bs)!;
  const sa = broadcastStrides(as, out);
  const sb = broadcastStrides(bs, out);
  const n = sizeOf(out);
  const y = new Float64Array(n);
  const idx = new Array(out.length).fill(0);
  for (let i = 0; i < n; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < out.length; k++) {
      ia += idx[k] * sa[k];
      ib += idx[k] * sb[k];
    }
    y[i] = binaryRef(op, a[ia], b[ib]);
    for (let k = out.length - 1; k >= 0; k--) {
      if (++idx[k] < out[k]) break;
      idx[k] = 0;
    }
  }
  return y;
}

type Elem = 'f32' | 'i32';

const binary = defineKernel({
  name: 'binary',
  bindings: (f: { op: BinaryOp; elem: Elem; same: boolean }) => [
    { name: 'A', access: 'read', type: f.elem },
    { name: 'B', access: 'read', type: f.elem },
    { name: 'Y', access: 'write', type: COMPARISONS.has(f.op) ? 'f32' : f.elem },
  ],
  // dims, and the strides of A and B seen from the output (0 along broadcast axes), padded on
  // the left to MAX_RANK.
  uniforms: { n: 'u32', dims: `array<u32, ${MAX_RANK}>`, sa: `array<u32, ${MAX_RANK}>`, sb: `array<u32, ${MAX_RANK}>` },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => `${
    f.same
      ? `let a = A[i];
  let b = B[i];`
      : `var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = ${MAX_RANK - 1}; k >= 0; k--) {
    let d = u_dims(u32(k));
    let c = rem % d;
    rem = rem / d;
    ia += c * u_sa(u32(k));
    ib += c * u_sb(u32(k));
  }
  let a = A[ia];
  let b = B[ib];`
  }
  Y[i] = ${BINARY_WGSL[f.op]};`,
});

/**
 * Binary op on a (shape as) and b (shape bs). When both shapes equal the output shape, the
 * kernel skips index arithmetic; otherwise it walks the broadcast strides.
 */
export function binaryKernel(op: BinaryOp, as: readonly number[], bs: readonly number[], elem: Elem, blocks: boolean): Kernel {
  const out = broadcastShapes(as, bs);
  if (!out) throw new Error(`shapes [${as}] and [${bs}] do not broadcast`);
  if (out.length > MAX_RANK) throw new Error(`rank ${out.length} > ${MAX_RANK}`);
  const same = as.length === bs.length && as.every((d, i) => d === bs[i]);
  const n = sizeOf(out);
  if (blocks && same && elem === 'f32' && n % 4 === 0 && n > 0) return binary4({ op }, { blocks: blocks4(n), n4: n / 4, p: 0, q: 0 });
  const pad = (v: number[], fill: number) => [...new Array(MAX_RANK - v.length).fill(fill), ...v];
  return binary(
    { op, elem, same },
    { n: sizeOf(out), dims: pad(out, 1), sa: pad(broadcastStrides(as, out), 0), sb: pad(broadcastStrides(bs, out), 0) },
  );
}

const binary4 = map4<{ op: BinaryOp }>('binary4', [['A', 'a'], ['B', 'b']], 'Y', (f) => BINARY_WGSL[f.op]);

const fill = defineKernel({
  name: 'fill',
  bindings: (f: { elem: Elem }) => [{ name: 'Y', access: 'write', type: f.elem }],
  // The value travels as its 32-bit pattern, so one declaration serves f32 and i32.
  uniforms: { n: 'u32', bits: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => `Y[i] = bitcast<${f.elem}>(u.bits);`,
});

export function fillKernel(n: number, value: number, elem: Elem = 'f32'): Kernel {
  const bits = elem === 'f32' ? new Uint32Array(Float32Array.of(value).buffer)[0] : value >>> 0;
  return fill({ elem }, { n, bits });
}

const cast = defineKernel({
  name: 'cast',
  bindings: (f: { from: Elem; to: Elem }) => [
    { name: 'X', access: 'read', type: f.from },
    { name: 'Y', access: 'write', type: f.to },
  ],
  uniforms: { n: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => `Y[i] = ${f.to}(X[i]);`,
});

export function castKernel(n: number, from: Elem, to: Elem): Kernel {
  return cast({ from, to }, { n });
}
