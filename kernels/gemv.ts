// A product with very few rows (a dense layer at batch 1–4: VGG16's fc1 is 1×25088·25088×4096)
// is a stream over B: each weight is used M times, so what counts is reading B at the memory's
// speed. The tiled GEMM reads it in 64-column strips with a barrier per 16 rows; here every
// thread reads 4 columns as one vec4 down a slice of K (independent loads, nothing to wait on
// but memory), a workgroup adds up its 4 slices in workgroup memory, and the K-splits (grid z)
// leave partial rows that a column-sum pass adds up with the bias (colSumKernel).
//
//   part[z, m, n] = alpha · Σ A[m, k]·B[k, n] over k in split z       (B row-major [K, N], N % 4 = 0)

import type { MatmulPlan } from './matmul.ts';
import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

export const GEMV_MAX_ROWS = 4;
const QUADS = 64; // column quads per workgroup (256 columns)
const SLICES = 4; // K slices per workgroup

/** The fields of a MatmulPlan a GEMV reads: B is row-major [K, N] (sBk = N, sBn = 1), offB a multiple of 4. */
export type GemvPlan = Pick<MatmulPlan, 'M' | 'N' | 'K' | 'offA' | 'sAm' | 'sAk' | 'offB' | 'alpha'>;

/** K-splits for ~1024 workgroups, each split at least 64 rows of B. */
export function gemvSplits(N: number, K: number): number {
  const blocks = Math.ceil(N / 4 / QUADS);
  return Math.max(1, Math.min(Math.ceil(1024 / blocks), Math.floor(K / 64)));
}

const gemv = defineKernel({
  name: 'gemv',
  bindings: [
    { name: 'A', access: 'read' },
    { name: 'B', access: 'read', type: 'vec4<f32>' },
    { name: 'P', access: 'write', type: 'vec4<f32>' },
  ],
  uniforms: { N4: 'u32', K: 'u32', kChunk: 'u32', offA: 'u32', sAm: 'u32', sAk: 'u32', offB4: 'u32', alpha: 'f32', splits: 'u32' },
  workgroupSize: [QUADS, SLICES, 1],
  // Every split writes its partial (one past K writes zeros).
  dispatch: (u) => [Math.ceil(u.N4 / QUADS), u.splits, 1],
  decls: (f: { M: number }) => `var<workgroup> red: array<vec4<f32>, ${SLICES * f.M * QUADS}>;`,
  main: ({ M }) => {
    const rows = [...Array(M).keys()];
    return /* wgsl */ `let q = wid.x * ${QUADS}u + lid.x;
  let z = wid.y;
  let k0 = z * u.kChunk;
  let k1 = min(k0 + u.kChunk, u.K);
  ${rows.map((m) => `var acc${m} = vec4<f32>();`).join(' ')}
  if (q < u.N4) {
    for (var k = k0 + lid.y; k < k1; k += ${SLICES}u) {
      let w = B[u.offB4 + k * u.N4 + q];
      ${rows.map((m) => `acc${m} = fma(vec4<f32>(A[u.offA + ${m}u * u.sAm + k * u.sAk]), w, acc${m});`).join('\n      ')}
    }
  }
  ${rows.map((m) => `red[(lid.y * ${M}u + ${m}u) * ${QUADS}u + lid.x] = acc${m};`).join('\n  ')}
  workgroupBarrier();
  if (lid.y == 0u && q < u.N4) {
    for (var m = 0u; m < ${M}u; m++) {
      var s = vec4<f32>();
      for (var j = 0u; j < ${SLICES}u; j++) { s += red[(j * ${M}u + m) * ${QUADS}u + lid.x]; }
      P[(z * ${M}u + m) * u.N4 + q] = u.alpha * s;
    }
  }`;
  },
});

/** Bindings: A, B (vec4), partials [splits, M, N] (vec4). */
export function gemvKernel(p: GemvPlan, splits: number): Kernel {
  const kChunk = Math.ceil(p.K / splits);
  return gemv({ M: p.M }, { N4: p.N / 4, K: p.K, kChunk, offA: p.offA, sAm: p.sAm, sAk: p.sAk, offB4: p.offB / 4, alpha: p.alpha, splits });
}

// With B transposed — B stored [N, K], as a dense layer's backward reads its weight (dX = dY·Wᵀ,
// W [in, out]: VGG16's fc1 in a Grad-CAM is 1×4096 by 25088 rows of 4096) — each output is the
// dot product of A's row with one row of B. A 64-row GEMM tile would compute 63 rows of nothing;
// here 64 threads read one row of B together in vec4 (coalesced, each element once) and add up
// their sums in workgroup memory. No K-split: the rows alone give thousands of workgroups.
//
//   C[m, n] = alpha · Σ_k A[m, k]·B[n, k]          (B row-major [N, K], K % 4 = 0, offB % 4 = 0)

const LANES = 64; // threads per row of B
const ROWS = 4; // rows of B per workgroup

export type GemvRowsPlan = Pick<MatmulPlan, 'M' | 'N' | 'K' | 'offA' | 'sAm' | 'sAk' | 'offB' | 'alpha'>;

/** Workgroups of gemvRowsKernel along x (one dimension: callers check the device's limit). */
export const gemvRowsWorkgroups = (N: number) => Math.ceil(N / ROWS);

const gemvRows = defineKernel({
  name: 'gemv_rows',
  bindings: [
    { name: 'A', access: 'read' },
    { name: 'B', access: 'read', type: 'vec4<f32>' },
    { name: 'C', access: 'write' },
  ],
  uniforms: { N: 'u32', K4: 'u32', offA: 'u32', sAm: 'u32', sAk: 'u32', offB4: 'u32', alpha: 'f32' },
  workgroupSize: [LANES, ROWS, 1],
  dispatch: (u) => [gemvRowsWorkgroups(u.N), 1, 1],
  decls: (f: { M: number }) => `var<workgroup> red: array<f32, ${ROWS * f.M * LANES}>;`,
  main: ({ M }) => {
    const rows = [...Array(M).keys()];
    // A's four values at k..k+3 of row m (A is tiny next to B: scalar loads, any layout).
    const a4 = (m: number) => `vec4<f32>(${[0, 1, 2, 3].map((j) => `A[u.offA + ${m}u * u.sAm + (k + ${j}u) * u.sAk]`).join(', ')})`;
    return /* wgsl */ `let n = wid.x * ${ROWS}u + lid.y;
  ${rows.map((m) => `var acc${m} = 0.0;`).join(' ')}
  if (n < u.N) {
    let row = u.offB4 + n * u.K4;
    for (var q = lid.x; q < u.K4; q += ${LANES}u) {
      let w = B[row + q];
      let k = q * 4u;
      ${rows.map((m) => `acc${m} += dot(${a4(m)}, w);`).join('\n      ')}
    }
  }
  let base = lid.y * ${M * LANES}u + lid.x;
  ${rows.map((m) => `red[base + ${m * LANES}u] = acc${m};`).join('\n  ')}
  workgroupBarrier();
  for (var s = ${LANES / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      ${rows.map((m) => `red[base + ${m * LANES}u] += red[base + ${m * LANES}u + s];`).join('\n      ')}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && n < u.N) {
    ${rows.map((m) => `C[${m}u * u.N + n] = u.alpha * red[base + ${m * LANES}u];`).join('\n    ')}
  }`;
  },
});

/** Bindings: A, B (vec4), C [M, N]. */
export function gemvRowsKernel(p: GemvRowsPlan): Kernel {
  return gemvRows({ M: p.M }, { N: p.N, K4: p.K / 4, offA: p.offA, sAm: p.sAm, sAk: p.sAk, offB4: p.offB / 4, alpha: p.alpha });
}
