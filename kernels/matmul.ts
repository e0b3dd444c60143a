// Matrix products C = alpha·op(A)·op(B) + beta·C + bias (bias broadcast along rows), batched.
// Layout: every operand is row-major and addressed through uniforms — element offset, the two
// strides of its matrix (so op(A) = Aᵀ is just swapped strides) and a batch stride (0 broadcasts
// one matrix over the batch). One pipeline thus serves every size, transposition and slice;
// ops bind tensors larger than the binding limit in pieces and pass the offsets in.
//
// Two variants, same uniforms, same results:
//  - 'register' (CPU adapters): no workgroup memory, no barrier. Each thread owns a (4·RM)×(4·RN)
//    block of C in vec4 accumulators and walks K one step at a time, a rank-1 update per step,
//    reading A and B straight from storage. On lavapipe and SwiftShader every buffer load runs
//    lane by lane (tens of cycles) while FMAs are SIMD, so what counts is loads per FMA: a vec4
//    along the free axis (A stored [K, M], B stored [K, N]) feeds 4 rows or columns with one
//    load, a value along K feeds one. Ops therefore transpose an operand whose free axis is not
//    contiguous when the product is large enough to repay it (transposeKernel below). Measured
//    on lavapipe, unrolling K by 4 or reading vec4 along K is 2–3× slower: LLVM hoists all the
//    loads of the unrolled body and spills.
//  - 'tiled' (GPUs): a 64- or 128-wide block of C per workgroup of 16×16 threads (4×4 or 8×8
//    per thread, see Tiles), A and B staged through var<workgroup> in K-steps of 16. The loads
//    are functions (or, for A, per-slot code hoisted out of the K loop), so conv2d reuses the
//    template with implicit-GEMM (im2col) gathers. Products with few blocks and a long K split K
//    over workgroups (split-K, partials summed by a second pass); at most 4 rows by a row-major
//    B go to a vec4 GEMV instead (kernels/gemv.ts). Measured on an H100: bench/results/README-h100.md.

import { gemvLanesKernel } from './gemv_lanes.ts';
import type { DevicePlan } from './plan.ts';
import { grid, type Kernel, MAX_GROUPS } from './program.ts';
import { type BindingDecl, defineKernel, type UniformValues } from './spec.ts';
import { type TileFacts, tiledParts, tiledWorkgroups, tilesFor } from './tiled.ts';

export type { GemmVariant } from './plan.ts';

/** Everything a dispatch needs; offsets, strides and batch strides are in elements. */
export interface MatmulPlan {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** A[m, k] = A[offA + m·sAm + k·sAk]; B[k, n] = B[offB + k·sBk + n·sBn]; C[m, n] = C[offC + m·ldc + n]. */
  offA: number;
  sAm: number;
  sAk: number;
  batchA: number;
  offB: number;
  sBk: number;
  sBn: number;
  batchB: number;
  offC: number;
  ldc: number;
  batchC: number;
  alpha: number;
  /** 0: C is only written (its old content may be garbage); otherwise C = … + beta·C. */
  beta: number;
  /** Adds bias[offBias + n]. The bias binding is optional (null when unused), tested by a uniform
   * flag rather than a second pipeline, since every pipeline costs lavapipe seconds to compile. */
  bias: boolean;
  offBias: number;
  /** Tiled only: K per split; batch z then sums k in [z·kSplit, (z + 1)·kSplit) into C[z] (see TiledSource.splitK). */
  kSplit?: number;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of the register variant (conv2d.ts builds its kernels from them too).

/** Thread block: 4·RM rows × 4·RN columns of C (compile-time facts of the register kernels). */
export type RegBlock = { RM: number; RN: number };

/** Threads per workgroup of the register kernels, laid out flat: neighbours share rows of A. */
export const REG_WG = 64;

/**
 * side×side blocks (DevicePlan.regTile: 16 on lavapipe, where 16×16 runs 1.6–1.7× faster than 8×8
 * at 1024³ although LLVM spills its 64 vec4 accumulators: stack spills cost less than lane-by-lane
 * buffer loads, bench/results/lavapipe-shapes-2026-12-07.md; 8 elsewhere). M ≤ 4 (dense layers at
 * small batch) gets 4 rows, so threads do not load rows they discard. `gathered`: rows come through
 * per-row index arithmetic (conv); SwiftShader takes ~30 s to compile those with 8 rows and
 * 0.3 s with 4, so they get 4×16 blocks there, and 8×16 on lavapipe (block3's conv forward 1.2×,
 * input gradient 1.5× faster than 4×16; 16×16 compiles in 4 s and gains no more). N is not special-cased: every distinct block is one
 * more pipeline to compile (seconds each on CPU drivers).
 */
export function regBlock(M: number, gathered = false, side: 8 | 16 = 8): RegBlock {
  if (gathered) return side === 16 ? { RM: M <= 4 ? 1 : 2, RN: 4 } : { RM: 1, RN: 4 };
  const R = side / 4;
  return { RM: M <= 4 ? 1 : R, RN: R };
}

/** Column count of the thread grid (a uniform: the kernel splits its flat thread index by it). */
export const regTilesN = (N: number, b: RegBlock) => Math.max(1, Math.ceil(N / (4 * b.RN)));

export function regWorkgroups(M: number, N: number, batch: number, b: RegBlock, what: string): [number, number, number] {
  const threads = regTilesN(N, b) * Math.ceil(M / (4 * b.RM));
  if (batch > MAX_GROUPS) throw new Error(`${what}: batch ${batch} is too large for one dispatch`);
  const [x, y] = grid(threads / REG_WG);
  return [x, y, batch];
}

/**
 * The start of a register kernel's main body (workgroup size REG_WG): m0, n0 (first row and
 * column of the thread's block) and z (batch); needs u.tilesN, u.M.
 */
export function regPrelude(b: RegBlock): string {
  return `let t = flat_group(wid, nwg) * ${REG_WG}u + li;
  let m0 = (t / u.tilesN) * ${4 * b.RM}u;
  let n0 = (t % u.tilesN) * ${4 * b.RN}u;
  let z = wid.z;
  if (m0 >= u.M) { return; }`;
}

const range = (n: number) => [...Array(n).keys()];
const XYZW = 'xyzw';

/** acc{q}_{c}: row m0+q, columns n0+4c..n0+4c+3. */
export function regAccDecl(b: RegBlock): string {
  return range(4 * b.RM)
    .map((q) => range(b.RN).map((c) => `var acc${q}_${c} = vec4<f32>();`).join(' '))
    .join('\n  ');
}

/**
 * The loads of one operand for one step (WGSL statements), with accessors for the scalar feeding
 * row (or column) q and the vec4 of rows (columns) 4r..4r+3. `vec`: n4 vec4 loads `load(r)` of 4
 * consecutive rows each; otherwise 4·n4 scalar loads `load(q)`.
 */
export function regLoads(
  n4: number,
  vec: boolean,
  name: string,
  load: (i: number) => string,
): { code: string; at: (q: number) => string; vec: (r: number) => string } {
  if (vec)
    return {
      code: range(n4).map((r) => `let ${name}${r} = ${load(r)};`).join(' '),
      at: (q) => `${name}${q >> 2}.${XYZW[q & 3]}`,
      vec: (r) => `${name}${r}`,
    };
  return {
    code: range(4 * n4).map((q) => `let ${name}s${q} = ${load(q)};`).join(' '),
    at: (q) => `${name}s${q}`,
    vec: (r) => `vec4<f32>(${range(4).map((j) => `${name}s${4 * r + j}`).join(', ')})`,
  };
}

/** One rank-1 step: acc{q}_{c} += a(q)·b(c), with b(c) a vec4 of columns. */
export function regAccStep(b: RegBlock, a: (q: number) => string, bv: (c: number) => string): string {
  return range(4 * b.RM)
    .map((q) => range(b.RN).map((c) => `acc${q}_${c} = fma(vec4<f32>(${a(q)}), ${bv(c)}, acc${q}_${c});`).join(' '))
    .join('\n    ');
}

/**
 * Writes the block: C[cIndex(m, n)] = alpha·acc + beta·C + bias[offBias + n], the bias where the
 * kernel has a Bias binding (`bias`) and u.hasBias != 0. `cVec` stores vec4 (needs N, ldc and the
 * base 4-aligned, so a vec4 never crosses a row end). The block is written in a loop: every store
 * site costs lavapipe a lane-by-lane sequence, in run time and above all in compile time.
 * Expects m0, n0, z and uniforms M, N, alpha, beta, hasBias, offBias; `cIndex` is WGSL in m and n.
 */
export function regEpilogue(b: RegBlock, cVec: boolean, bias: boolean, cIndex: string, relu = false): string {
  const store = cVec
    ? `let ci = (${cIndex}) / 4u;
      var v = u.alpha * acc;
      if (u.beta != 0.0) { v += u.beta * C[ci]; }
      ${bias ? 'if (u.hasBias != 0u) { v += vec4<f32>(Bias[u.offBias + n], Bias[u.offBias + n + 1u], Bias[u.offBias + n + 2u], Bias[u.offBias + n + 3u]); }' : ''}
      ${relu ? 'v = max(v, vec4<f32>(0.0));' : ''}
      C[ci] = v;`
    : `let v = u.alpha * acc;
      let n4 = n;
      for (var j = 0u; j < 4u; j++) {
        let n = n4 + j;
        if (n < u.N) {
          let ci = ${cIndex};
          var s = v[j];
          if (u.beta != 0.0) { s += u.beta * C[ci]; }
          ${bias ? 'if (u.hasBias != 0u) { s += Bias[u.offBias + n]; }' : ''}
          ${relu ? 's = max(s, 0.0);' : ''}
          C[ci] = s;
        }
      }`;
  // Picking an accumulator by a chain of selects keeps one copy of the store code; indexing an
  // array dynamically instead makes lavapipe replicate it per element (slow to compile). The row's
  // RN accumulators are picked once per row, then one of them per column step: 4RM·RN·(4RM + RN)
  // selects per thread rather than (4RM·RN)², which made a 16×16 block's epilogue cost a third of
  // its K loop at 1024³.
  const chain = (xs: string[], v: string) => xs.slice(1).reduce((e, n, i) => `select(${e}, ${n}, ${v} == ${i + 1}u)`, xs[0]);
  const rowPick = range(b.RN)
    .map((c) => `let row${c} = ${chain(range(4 * b.RM).map((q) => `acc${q}_${c}`), 'q')};`)
    .join('\n      ');
  // The bound is opaque (u.M > 0 here) so that neither NIR nor LLVM unrolls the loops back into
  // one copy of the store code per accumulator.
  return `let rows = min(${4 * b.RM}u, u.M * ${4 * b.RM}u);
  for (var q = 0u; q < rows; q++) {
    let m = m0 + q;
    if (m >= u.M) { break; }
    ${rowPick}
    for (var c = 0u; c < min(${b.RN}u, u.M * ${b.RN}u); c++) {
      let n = n0 + c * 4u;
      if (n < u.N) {
        let acc = ${chain(range(b.RN).map((c) => `row${c}`), 'c')};
        ${store}
      }
    }
  }`;
}

const elemType = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');
const al4 = (...v: number[]) => v.every((x) => x % 4 === 0);

// ---------------------------------------------------------------------------------------------
// Matmul, register variant.

const MATMUL_UNIFORMS = {
  M: 'u32', N: 'u32', K: 'u32', tilesN: 'u32',
  offA: 'u32', sAm: 'u32', sAk: 'u32', batchA: 'u32',
  offB: 'u32', sBk: 'u32', sBn: 'u32', batchB: 'u32',
  offC: 'u32', ldc: 'u32', batchC: 'u32', offBias: 'u32',
  alpha: 'f32', beta: 'f32', hasBias: 'u32', kSplit: 'u32',
  /** Matrices in the batch: the grid's z. */
  batch: 'u32',
} as const;

function matmulUniforms(p: MatmulPlan, tilesN: number): UniformValues<typeof MATMUL_UNIFORMS> {
  return {
    M: p.M, N: p.N, K: p.K, tilesN,
    offA: p.offA, sAm: p.sAm, sAk: p.sAk, batchA: p.batchA,
    offB: p.offB, sBk: p.sBk, sBn: p.sBn, batchB: p.batchB,
    offC: p.offC, ldc: p.ldc, batchC: p.batchC, offBias: p.offBias,
    alpha: p.alpha, beta: p.beta, hasBias: p.bias ? 1 : 0, kSplit: p.kSplit ?? 0,
    batch: p.batch,
  };
}

const matmulBindings = (a: string, b: string, c: string): BindingDecl[] => [
  { name: 'A', access: 'read', type: a },
  { name: 'B', access: 'read', type: b },
  { name: 'Bias', access: 'read', optional: true },
  { name: 'C', access: 'write', type: c },
];

/** Whether A (along m), B (along n) and C can be accessed in vec4: contiguous free axis, 16-byte aligned. */
export function matmulModes(p: MatmulPlan): { aVec: boolean; bVec: boolean; cVec: boolean } {
  return {
    aVec: p.sAm === 1 && al4(p.offA, p.sAk, p.batchA),
    bVec: p.sBn === 1 && al4(p.offB, p.sBk, p.batchB),
    cVec: al4(p.N, p.offC, p.ldc, p.batchC),
  };
}

type RegMatmulFacts = RegBlock & { aVec: boolean; bVec: boolean; cVec: boolean };

function regMatmulMain({ aVec, bVec, cVec, ...blk }: RegMatmulFacts): string {
  // Row offsets of A and column offsets of B are clamped, so edge threads load valid (discarded)
  // data instead of branching in the inner loop.
  const aSetup = aVec
    ? ['let aB4 = aBase / 4u; let aK4 = u.sAk / 4u;', ...range(blk.RM).map((r) => `let ac${r} = min(m0 / 4u + ${r}u, (u.M - 1u) / 4u);`)]
    : range(4 * blk.RM).map((q) => `let ar${q} = aBase + min(m0 + ${q}u, u.M - 1u) * u.sAm;`);
  const bSetup = bVec
    ? ['let bB4 = bBase / 4u; let bK4 = u.sBk / 4u;', ...range(blk.RN).map((c) => `let bc${c} = min(n0 / 4u + ${c}u, (u.N - 1u) / 4u);`)]
    : range(4 * blk.RN).map((j) => `let br${j} = bBase + min(n0 + ${j}u, u.N - 1u) * u.sBn;`);
  const A = regLoads(blk.RM, aVec, 'a', (i) => (aVec ? `A[aB4 + k * aK4 + ac${i}]` : `A[ar${i} + k * u.sAk]`));
  const B = regLoads(blk.RN, bVec, 'b', (i) => (bVec ? `B[bB4 + k * bK4 + bc${i}]` : `B[br${i} + k * u.sBk]`));
  return /* wgsl */ `${regPrelude(blk)}
  let aBase = u.offA + z * u.batchA;
  let bBase = u.offB + z * u.batchB;
  ${aSetup.join('\n  ')}
  ${bSetup.join('\n  ')}
  ${regAccDecl(blk)}
  for (var k = 0u; k < u.K; k++) {
    ${A.code}
    ${B.code}
    ${regAccStep(blk, A.at, B.vec)}
  }
  ${regEpilogue(blk, cVec, true, 'u.offC + z * u.batchC + m * u.ldc + n')}`;
}

const matmulReg = defineKernel({
  name: 'matmul',
  bindings: (f: RegMatmulFacts) => matmulBindings(elemType(f.aVec), elemType(f.bVec), elemType(f.cVec)),
  uniforms: MATMUL_UNIFORMS,
  workgroupSize: REG_WG,
  dispatch: (u, f) => regWorkgroups(u.M, u.N, u.batch, f, 'matmul'),
  main: regMatmulMain,
});

const transpose = defineKernel({
  name: 'transpose_matrices',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: { n: 'u32', R: 'u32', C: 'u32', off: 'u32' },
  workgroupSize: 256,
  dispatch: { flat: 'n' },
  main: () => /* wgsl */ `let rc = u.R * u.C;
  let z = i / rc;
  let c = (i % rc) / u.R;
  let r = i % u.R;
  Y[i] = X[u.off + z * rc + r * u.C + c];`,
});

// 4×4 blocks per thread in vec4 (R, C and off multiples of 4): a quarter of the loads and stores,
// and the index arithmetic once per 16 elements. On lavapipe the element-wise kernel's three
// integer divisions run lane by lane (AVX2 has no vector division): it took ~40 ms of a 1024³
// product's ~120 ms.
const transpose4 = defineKernel({
  name: 'transpose_matrices4',
  bindings: [
    { name: 'X', access: 'read', type: 'vec4<f32>' },
    { name: 'Y', access: 'write', type: 'vec4<f32>' },
  ],
  uniforms: { n: 'u32', R4: 'u32', C4: 'u32', off4: 'u32' },
  workgroupSize: 64,
  dispatch: { flat: 'n' },
  main: () => /* wgsl */ `let blocks = u.R4 * u.C4;
  let z = i / blocks;
  let r4 = (i % blocks) / u.C4;
  let c4 = i % u.C4;
  let src = u.off4 + z * blocks * 4u + r4 * 4u * u.C4 + c4;
  let x0 = X[src];
  let x1 = X[src + u.C4];
  let x2 = X[src + 2u * u.C4];
  let x3 = X[src + 3u * u.C4];
  let dst = z * blocks * 4u + c4 * 4u * u.R4 + r4;
  Y[dst] = vec4<f32>(x0.x, x1.x, x2.x, x3.x);
  Y[dst + u.R4] = vec4<f32>(x0.y, x1.y, x2.y, x3.y);
  Y[dst + 2u * u.R4] = vec4<f32>(x0.z, x1.z, x2.z, x3.z);
  Y[dst + 3u * u.R4] = vec4<f32>(x0.w, x1.w, x2.w, x3.w);`,
});

/**
 * out[z, c, r] = in[off + z·R·C + r·C + c]: [batch, R, C] → [batch, C, R]; 4×4 blocks per thread
 * when R, C and off are multiples of 4, else one thread per element.
 */
export function transposeKernel(batch: number, R: number, C: number, off: number): Kernel {
  if (al4(R, C, off)) return transpose4({}, { n: (batch * R * C) / 16, R4: R / 4, C4: C / 4, off4: off / 4 });
  return transpose({}, { n: batch * R * C, R, C, off });
}

// ---------------------------------------------------------------------------------------------
// Tiled variant (GPUs): the template is kernels/tiled.ts.

type TiledMatmulFacts = TileFacts & { splitK: boolean; aKFast: boolean; bKFast: boolean };

const matmulTiled = defineKernel({
  name: 'matmul',
  bindings: matmulBindings('f32', 'f32', 'f32'),
  uniforms: MATMUL_UNIFORMS,
  dispatch: (u, f) => tiledWorkgroups(u.M, u.N, u.batch, 'matmul', f),
  ...tiledParts((f: TiledMatmulFacts) => ({
    splitK: f.splitK,
    aKFast: f.aKFast,
    bKFast: f.bKFast,
    loads: /* wgsl */ `
fn loadA(z: u32, m: u32, k: u32) -> f32 {
  if (m >= u.M || k >= u.K) { return 0.0; }
  return A[u.offA + z * u.batchA + m * u.sAm + k * u.sAk];
}
fn loadB(z: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return B[u.offB + z * u.batchB + k * u.sBk + n * u.sBn];
}`,
    store: /* wgsl */ `
fn store(z: u32, m: u32, n: u32, v: f32) {
  let ci = u.offC + z * u.batchC + m * u.ldc + n;
  var s = u.alpha * v;
  if (u.beta != 0.0) { s += u.beta * C[ci]; }
  if (u.hasBias != 0u) { s += Bias[u.offBias + n]; }
  C[ci] = s;
}`,
  })),
});

/**
 * C = alpha·op(A)·op(B) (+ beta·C) (+ bias). Bindings: A, B, bias (null when p.bias is false), C.
 * For the 'register' variant the plan's strides and offsets decide where vec4 loads are possible,
 * so they are facts.
 */
export function matmulKernel(p: MatmulPlan, plan: DevicePlan): Kernel {
  if (plan.gemm === 'tiled') {
    // Neighbouring threads read neighbouring words when the contiguous axis is the fast one: a
    // transposed B (a dense layer's backward reads its weight so) walked along n would make
    // every load of a warp a separate memory transaction.
    const { TM, TN } = tilesFor(p.M, p.N, plan);
    const facts = { TM, TN, splitK: !!p.kSplit, aKFast: p.sAk === 1, bKFast: p.sBk === 1 && p.sBn !== 1 };
    return matmulTiled(facts, matmulUniforms(p, 0));
  }
  const gemv = gemvLanesKernel(p);
  if (gemv) return gemv;
  const blk = regBlock(p.M, false, plan.regTile);
  return matmulReg({ ...matmulModes(p), ...blk }, matmulUniforms(p, regTilesN(p.N, blk)));
}
