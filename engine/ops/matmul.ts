// matmul, dense and gemm (ONNX), with their gradients. Layout: row-major [..., M, K]·[..., K, N]
// (or the transposed storage when asked), dense weights [in, out] as Keras stores them.
//
// Operands larger than the adapter's maxStorageBufferBindingSize (lavapipe: 128 MiB; VGG16's fc1
// weight is 411 MB) are bound in pieces: the product is cut along whichever of M, N, K makes each
// piece a contiguous byte range, K-pieces accumulating into C (beta = 1). A binding must start
// at a multiple of minStorageBufferOffsetAlignment, so each piece starts at the aligned offset
// below its first element and the kernel is told the remainder in its uniforms.

import { matmulKernel, transposeKernel, type MatmulPlan } from '../../kernels/matmul.ts';
import { kSplitOf, tiledSplits } from '../../kernels/tiled.ts';
import { GEMV_MAX_ROWS, gemvKernel, gemvRowsKernel, gemvRowsWorkgroups, gemvSplits } from '../../kernels/gemv.ts';
import { sizeOf } from '../../kernels/program.ts';
import { composable, record, ruleScope, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import type { Gpu } from '../gpu.ts';
import { dispatch, type TensorSlice } from '../run.ts';
import { checkInputs, empty, type Tensor } from '../tensor.ts';
import { add } from './binary.ts';
import { sum, sumPartials } from './reduce.ts';
import { reshape } from './shape.ts';
import { scale } from './unary.ts';

// ---------------------------------------------------------------------------------------------
// Binding pieces.

/**
 * Largest number of float32 elements one piece may span, leaving room for the alignment slack.
 * The plan's maxBindingBytes is the adapter's limit, or less where a test exercises the splits.
 */
export function bindableElements(g: Gpu): number {
  const limit = Math.min(g.plan.maxBindingBytes, g.limits.maxStorageBufferBindingSize);
  return Math.floor((limit - g.limits.minStorageBufferOffsetAlignment - 16) / 4);
}

/** Binds elements [start, start + count) of `t`; `rest` is the first element's index inside the binding. */
export function bindElements(t: Tensor, start: number, count: number): { slice: TensorSlice; rest: number } {
  const g = t.storage.gpu;
  const align = g.limits.minStorageBufferOffsetAlignment;
  const byteOffset = Math.floor((start * 4) / align) * align;
  // Round up to 16 bytes (within the pooled buffer) so vec4 views see every element.
  const end = Math.min(Math.ceil(((start + Math.max(count, 1)) * 4) / 16) * 16, t.storage.buffer.size);
  return { slice: { tensor: t, byteOffset, byteSize: end - byteOffset }, rest: start - byteOffset / 4 };
}

/**
 * The `batch` matrices [R, C] stored in `t` (whole, contiguous) transposed to [batch, C, R]:
 * a new tensor, not recorded on the tape (ops use it as a layout step inside their kernels).
 */
export function transposeMatrices(op: string, t: Tensor, batch: number, R: number, C: number): Tensor {
  const y = empty([batch, C, R]);
  const x = bindElements(t, 0, batch * R * C);
  try {
    dispatch(op, transposeKernel(batch, R, C, x.rest), [x.slice], [y]);
  } catch (e) {
    y.dispose();
    throw e;
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// The launcher: one product, possibly in pieces.

/** One product for launchGemm: C = alpha·op(A)·op(B) (+ beta·C) (+ bias), `batch` matrices. */
export interface GemmCall {
  op: string;
  a: Tensor;
  b: Tensor;
  c: Tensor;
  bias?: Tensor;
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Element strides between batch matrices; 0 broadcasts one matrix. */
  batchA: number;
  batchB: number;
  alpha: number;
  beta: number;
}

/** Elements spanned by an r×c block with strides s1, s2 over zb batch matrices of stride sz. */
const spanOf = (r: number, s1: number, c: number, s2: number, zb = 1, sz = 0) =>
  r === 0 || c === 0 ? 0 : (r - 1) * s1 + (c - 1) * s2 + (zb - 1) * sz + 1;

/** Rounds a piece size down to a multiple of 64 (tile-friendly, keeps vec4 alignment). */
const roundPiece = (n: number) => (n >= 64 ? n - (n % 64) : n >= 4 ? n - (n % 4) : Math.max(1, n));

/**
 * The register kernels read an operand in vec4 only along its free axis (see kernels/matmul.ts):
 * A stored [K, M], B stored [K, N]. Transposing the other layouts first costs one pass over the
 * operand and pays for itself once the other side of the product has a dozen or so columns.
 */
export function launchGemm(call: GemmCall): void {
  if (call.M === 0 || call.N === 0 || call.batch === 0) return;
  const g = call.c.storage.gpu;
  const L = bindableElements(g);
  const temps: Tensor[] = [];
  if (g.plan.gemm === 'register') {
    const { batch, M, N, K } = call;
    const nA = call.batchA ? batch : 1;
    const nB = call.batchB ? batch : 1;
    if (!call.transA && N >= 16 && M % 4 === 0 && K > 1 && nA * M * K <= L) {
      const at = transposeMatrices(call.op, call.a, nA, M, K);
      temps.push(at);
      call = { ...call, a: at, transA: true };
    }
    if (call.transB && M >= 16 && N % 4 === 0 && K > 1 && nB * N * K <= L) {
      const bt = transposeMatrices(call.op, call.b, nB, N, K);
      temps.push(bt);
      call = { ...call, b: bt, transB: false };
    }
  }
  try {
    if (!launchGemv(call, L) && !launchSplitK(call, L)) launchPieces(call, L);
  } finally {
    // Safe before the GPU ran: the queue executes in order, so a later reuse of the buffer waits.
    for (const t of temps) t.dispose();
  }
}

/**
 * GPUs: a product of at most 4 rows (a dense layer at batch 1) streams B once (kernels/gemv.ts):
 * - B row-major [K, N] (forward): vec4 along N, K split over workgroups, then one pass adding the
 *   partials and the bias;
 * - B stored [N, K] (a dense layer's input gradient, dX = dY·Wᵀ): one dot product per row of B,
 *   64 threads reading it in vec4, no bias (a GEMM tile would use 1 row of 64 or 128).
 * False (nothing done) where neither applies, and on CPU drivers.
 */
function launchGemv(call: GemmCall, L: number): boolean {
  const { op, a, b, c, bias, batch, M, N, K, transA, transB: rows } = call;
  const g = c.storage.gpu;
  // CPU drivers run their own GEMV inside matmulKernel (kernels/gemv_lanes.ts), in pieces if need be.
  if (g.plan.gemm !== 'tiled' || batch !== 1 || call.beta !== 0 || M > GEMV_MAX_ROWS || K < 64 || M * K > L || K * N > L) return false;
  if (rows ? bias || K % 4 !== 0 || gemvRowsWorkgroups(N) > g.limits.maxComputeWorkgroupsPerDimension : N % 4 !== 0)
    return false;
  const S = rows ? 1 : gemvSplits(N, K);
  if (S * M * N > L) return false;
  const A = bindElements(a, 0, M * K);
  const B = bindElements(b, 0, K * N);
  if (B.rest % 4 !== 0) return false;
  const [sAm, sAk] = transA ? [1, M] : [K, 1];
  const plan = { M, N, K, offA: A.rest, sAm, sAk, offB: B.rest, alpha: call.alpha };
  if (rows) dispatch(op, gemvRowsKernel(plan), [A.slice, B.slice], [c]);
  else sumPartials(op, S, M * N, c, (part) => dispatch(op, gemvKernel(plan, S), [A.slice, B.slice], [part]), bias ?? null);
  return true;
}

/**
 * GPUs: a product with few tiles of C and a long K (a dense layer at batch 1: VGG16's fc1 is
 * 1×25088·25088×4096) in K-splits, each workgroup summing part of K into its own partial C, then
 * one pass adding the partials and the bias. False (nothing done) where it does not apply.
 */
function launchSplitK(call: GemmCall, L: number): boolean {
  const { op, a, b, c, bias, batch, M, N, K, transA, transB } = call;
  const dp = c.storage.gpu.plan;
  if (batch !== 1 || call.beta !== 0 || dp.gemm !== 'tiled') return false;
  const { kSplit, splits: S } = kSplitOf(K, tiledSplits(M, N, K, dp));
  if (S < 2 || M * K > L || K * N > L || S * M * N > L) return false;
  const [sAm, sAk] = transA ? [1, M] : [K, 1];
  const [sBk, sBn] = transB ? [1, K] : [N, 1];
  const A = bindElements(a, 0, M * K);
  const B = bindElements(b, 0, K * N);
  const plan: MatmulPlan = {
    batch: S, M, N, K,
    offA: A.rest, sAm, sAk, batchA: 0,
    offB: B.rest, sBk, sBn, batchB: 0,
    offC: 0, ldc: N, batchC: M * N,
    alpha: call.alpha, beta: 0, bias: false, offBias: 0, kSplit,
  };
  sumPartials(op, S, M * N, c, (part) => dispatch(op, matmulKernel(plan, dp), [A.slice, B.slice, null], [part]), bias ?? null);
  return true;
}

function launchPieces(call: GemmCall, L: number): void {
  const { op, a, b, c, bias, batch, M, N, K, transA, transB } = call;
  const g = c.storage.gpu;
  const [sAm, sAk] = transA ? [1, M] : [K, 1];
  const [sBk, sBn] = transB ? [1, K] : [N, 1];
  const ldc = N;
  const batchC = M * N;
  const fits = (zb: number, mc: number, nc: number, kc: number) =>
    spanOf(mc, sAm, kc, sAk, zb, call.batchA) <= L &&
    spanOf(kc, sBk, nc, sBn, zb, call.batchB) <= L &&
    spanOf(mc, ldc, nc, 1, zb, batchC) <= L;

  // Each operand spans (outer−1)·sOuter + (inner−1)·sInner + 1 elements; while one is too big,
  // cut its outer axis, or if a single outer line is already too long, its inner axis too.
  const size = { m: M, n: N, k: K };
  const operands: { outer: 'm' | 'n' | 'k'; inner: 'm' | 'n' | 'k'; so: number; si: number }[] = [
    sAm >= sAk ? { outer: 'm', inner: 'k', so: sAm, si: sAk } : { outer: 'k', inner: 'm', so: sAk, si: sAm },
    sBk >= sBn ? { outer: 'k', inner: 'n', so: sBk, si: sBn } : { outer: 'n', inner: 'k', so: sBn, si: sBk },
    { outer: 'm', inner: 'n', so: ldc, si: 1 },
  ];
  let zb = batch;
  if (!fits(batch, M, N, K)) {
    zb = 1;
    for (let guard = 0; ; guard++) {
      const big = operands.find((o) => spanOf(size[o.outer], o.so, size[o.inner], o.si) > L);
      if (!big) break;
      if (guard > 6) throw new ShapeError(op, `cannot split ${fmtShape([M, K])}·${fmtShape([K, N])} into bindings of ${L * 4} bytes`);
      const cap = Math.floor((L - 1 - (size[big.inner] - 1) * big.si) / big.so) + 1;
      if (cap >= 1) size[big.outer] = roundPiece(Math.min(size[big.outer], cap));
      else {
        size[big.outer] = 1;
        size[big.inner] = roundPiece(Math.min(size[big.inner], Math.floor((L - 1) / big.si) + 1));
      }
    }
  }
  const { m: mc, n: nc, k: kc } = size;

  const dp = g.plan;
  for (let z0 = 0; z0 < batch; z0 += zb)
    for (let m0 = 0; m0 < M; m0 += mc)
      for (let n0 = 0; n0 < N; n0 += nc)
        for (let k0 = 0; k0 < Math.max(K, 1); k0 += Math.max(kc, 1)) {
          const z = Math.min(zb, batch - z0), m = Math.min(mc, M - m0), n = Math.min(nc, N - n0), k = Math.min(kc, K - k0);
          const A = bindElements(a, z0 * call.batchA + m0 * sAm + k0 * sAk, spanOf(m, sAm, k, sAk, z, call.batchA));
          const B = bindElements(b, z0 * call.batchB + k0 * sBk + n0 * sBn, spanOf(k, sBk, n, sBn, z, call.batchB));
          const C = bindElements(c, z0 * batchC + m0 * ldc + n0, spanOf(m, ldc, n, 1, z, batchC));
          const withBias = !!bias && k0 === 0;
          const Bi = withBias ? bindElements(bias!, n0, n) : null;
          const plan: MatmulPlan = {
            batch: z, M: m, N: n, K: k,
            offA: A.rest, sAm, sAk, batchA: call.batchA,
            offB: B.rest, sBk, sBn, batchB: call.batchB,
            offC: C.rest, ldc, batchC,
            alpha: call.alpha, beta: k0 === 0 ? call.beta : 1,
            bias: withBias, offBias: Bi ? Bi.rest : 0,
          };
          dispatch(op, matmulKernel(plan, dp), [A.slice, B.slice, Bi ? Bi.slice : null], [C.slice]);
        }
}

// ---------------------------------------------------------------------------------------------
// matmul

/** Options of `matmul`. */
export interface MatmulOptions {
  /** Use the transpose of a's last two dims; default false. */
  transposeA?: boolean;
  /** Use the transpose of b's last two dims; default false. */
  transposeB?: boolean;
}

const sameDims = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((d, i) => d === y[i]);

function matmulGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const { transA, transB } = node.attrs as { transA: boolean; transB: boolean };
  // A matrix broadcast over the batch gets the sum of its per-batch gradients.
  const fold = (gr: Tensor, like: Tensor) => (gr.rank > like.rank ? sum(gr, [...Array(gr.rank - like.rank).keys()]) : gr);
  return ruleScope(() => [
    needs[0]
      ? fold(transA ? matmul(b, dy, { transposeA: transB, transposeB: true }) : matmul(dy, b, { transposeB: !transB }), a)
      : null,
    needs[1]
      ? fold(transB ? matmul(dy, a, { transposeA: true, transposeB: transA }) : matmul(a, dy, { transposeA: !transA }), b)
      : null,
  ]);
}

/**
 * op(a)·op(b) for rank ≥ 2: the last two dims are the matrices, leading dims a batch, equal on
 * both sides or present on one side only (that matrix is shared by the batch).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  checkInputs(op, [a, b]);
  const transA = !!opts.transposeA;
  const transB = !!opts.transposeB;
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(op, `needs matrices (rank ≥ 2), got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [r0, r1] = a.shape.slice(-2);
  const [q0, q1] = b.shape.slice(-2);
  const [M, K] = transA ? [r1, r0] : [r0, r1];
  const [Kb, N] = transB ? [q1, q0] : [q0, q1];
  const la = a.shape.slice(0, -2);
  const lb = b.shape.slice(0, -2);
  const desc = `${fmtShape(a.shape)}${transA ? 'ᵀ' : ''}·${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (K !== Kb) throw new ShapeError(op, `inner dimensions differ in ${desc} (${K} vs ${Kb})`);
  if (la.length && lb.length && !sameDims(la, lb)) throw new ShapeError(op, `batch dimensions differ in ${desc}`);
  const lead = la.length ? la : lb;
  const batch = sizeOf(lead);
  const y = empty([...lead, M, N]);
  try {
    launchGemm({
      op, a, b, c: y, batch, M, N, K, transA, transB,
      batchA: la.length ? M * K : 0,
      batchB: lb.length ? K * N : 0,
      alpha: 1, beta: 0,
    });
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(op, [a, b], y, matmulGrad, { transA, transB });
}

composable(matmulGrad);

// ---------------------------------------------------------------------------------------------
// dense

function denseGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [x, w] = node.inputs;
  const inF = w.shape[0];
  const outF = w.shape[1];
  return ruleScope(() => {
    const dy2 = reshape(dy, [-1, outF]);
    return [
      needs[0] ? reshape(matmul(dy2, w, { transposeB: true }), x.shape) : null,
      needs[1] ? matmul(reshape(x, [-1, inF]), dy2, { transposeA: true }) : null,
      needs[2] ? sum(dy2, 0) : null,
    ];
  });
}

composable(denseGrad);

/** x·w + b with x [..., in], w [in, out] (Keras' Dense kernel), b [out]; one kernel, bias fused. */
export function dense(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const op = 'dense';
  const inputs = b ? [x, w, b] : [x, w];
  checkInputs(op, inputs);
  if (w.rank !== 2) throw new ShapeError(op, `kernel must be [in, out], got ${fmtShape(w.shape)}`);
  const [inF, outF] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF)
    throw new ShapeError(op, `input ${fmtShape(x.shape)} does not end in ${inF}, the kernel's input size (${fmtShape(w.shape)})`);
  if (b && !(b.rank === 1 && b.shape[0] === outF)) throw new ShapeError(op, `bias ${fmtShape(b.shape)} must be [${outF}] for kernel ${fmtShape(w.shape)}`);
  const M = inF === 0 ? sizeOf(x.shape.slice(0, -1)) : x.size / inF;
  const y = empty([...x.shape.slice(0, -1), outF]);
  try {
    launchGemm({ op, a: x, b: w, c: y, bias: b ?? undefined, batch: 1, M, N: outF, K: inF, transA: false, transB: false, batchA: 0, batchB: 0, alpha: 1, beta: 0 });
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(op, inputs, y, denseGrad);
}

// ---------------------------------------------------------------------------------------------
// gemm (ONNX): composed from matmul, scale and add, so its gradient comes for free.

/** Options of `gemm` (ONNX Gemm's attributes). */
export interface GemmOptions {
  /** Scale of op(a)·op(b); default 1. */
  alpha?: number;
  /** Scale of c; default 1. */
  beta?: number;
  /** Transpose a first; default false. */
  transA?: boolean;
  /** Transpose b first; default false. */
  transB?: boolean;
}

/** alpha·op(a)·op(b) + beta·c, with c broadcastable to [M, N] (ONNX Gemm). */
export function gemm(a: Tensor, b: Tensor, c?: Tensor | null, opts: GemmOptions = {}): Tensor {
  const { alpha = 1, beta = 1, transA = false, transB = false } = opts;
  checkInputs('gemm', c ? [a, b, c] : [a, b]);
  if (a.rank !== 2 || b.rank !== 2) throw new ShapeError('gemm', `needs rank-2 a and b, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  let y = matmul(a, b, { transposeA: transA, transposeB: transB });
  if (alpha !== 1) y = scale(y, alpha);
  if (!c || beta === 0) return y;
  const [M, N] = y.shape;
  const cs = c.shape;
  if (cs.length > 2 || cs.some((d, i) => d !== 1 && d !== [M, N][i + 2 - cs.length]))
    throw new ShapeError('gemm', `c ${fmtShape(cs)} does not broadcast to the product's ${fmtShape([M, N])}`);
  return add(y, beta === 1 ? c : scale(c, beta));
}
