// Products of at most 4 rows on CPU drivers (a dense layer at batch 1–4: VGG16's fc1 streams a
// 411 MB weight). On lavapipe a GEMV is a stream over B and what counts is how few instructions
// each loaded float costs: one thread per vec4 of output columns (or per 4 rows of a transposed
// B), no workgroup memory, no barrier, no K-split. Measured on this 2-core machine (raw kernels,
// K 6272 × N 4096, bench/results/lavapipe-shapes-2026-12-07.md, round 7): one column quad per
// thread 8–10.7 GB/s, two 4.6–5.4, four 2.3–3.0 (the register GEMM's shape: 3.0), and 4 rows
// of Bᵀ per thread 7.9–9.6 GB/s (the GPU's gemv_rows, a workgroup tree per row: 2.1). A's values
// depend on k only, the same in every lane.
//
//   C[m, n] = alpha · Σ_k A[m, k]·B[k, n] (+ beta·C[m, n]) (+ bias[n])     m < M ≤ 4
//   'cols': B row-major (sBn = 1; N, sBk, offB multiples of 4), a thread per 4 columns;
//   'dot':  B stored transposed (sBk = 1; K, sBn, offB multiples of 4), a thread per 4 rows of it.

import { GEMV_MAX_ROWS } from './gemv.ts';
import type { MatmulPlan } from './matmul.ts';
import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const range = (n: number) => [...Array(n).keys()];

const UNIFORMS = {
  n: 'u32', M: 'u32', N: 'u32', K: 'u32',
  offA: 'u32', sAm: 'u32', sAk: 'u32', offB4: 'u32', sB4: 'u32',
  offC: 'u32', ldc: 'u32', alpha: 'f32', beta: 'f32', hasBias: 'u32', offBias: 'u32',
} as const;

const BINDINGS = [
  { name: 'A', access: 'read' },
  { name: 'B', access: 'read', type: 'vec4<f32>' },
  { name: 'Bias', access: 'read', optional: true },
  { name: 'C', access: 'write' },
] as const;

// Row m's result for columns n0..n0+3 (only those < N are written); rows past M are not computed.
const store = (M: number) =>
  range(M)
    .map(
      (m) => `for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < u.N) {
      let ci = u.offC + ${m}u * u.ldc + n;
      var s = u.alpha * acc${m}[j];
      if (u.beta != 0.0) { s += u.beta * C[ci]; }
      if (u.hasBias != 0u) { s += Bias[u.offBias + n]; }
      C[ci] = s;
    }
  }`,
    )
    .join('\n  ');

const cols = defineKernel({
  name: 'gemv_cols',
  bindings: [...BINDINGS],
  uniforms: UNIFORMS,
  workgroupSize: 64,
  dispatch: { flat: 'n' },
  main: ({ M }: { M: number }) => /* wgsl */ `let n0 = i * 4u;
  ${range(M).map((m) => `var acc${m} = vec4<f32>();`).join(' ')}
  var b = u.offB4 + i;
  for (var k = 0u; k < u.K; k++) {
    let w = B[b];
    ${range(M).map((m) => `acc${m} = fma(vec4<f32>(A[u.offA + ${m}u * u.sAm + k * u.sAk]), w, acc${m});`).join('\n    ')}
    b += u.sB4;
  }
  ${store(M)}`,
});

const dot = defineKernel({
  name: 'gemv_dot',
  bindings: [...BINDINGS],
  uniforms: UNIFORMS,
  workgroupSize: 64,
  dispatch: { flat: 'n' },
  main: ({ M }: { M: number }) => {
    const a4 = (m: number) => `vec4<f32>(${range(4).map((j) => `A[u.offA + ${m}u * u.sAm + (k + ${j}u) * u.sAk]`).join(', ')})`;
    return /* wgsl */ `let n0 = i * 4u;
  ${range(4).map((r) => `let row${r} = u.offB4 + min(n0 + ${r}u, u.N - 1u) * u.sB4;`).join('\n  ')}
  ${range(M).flatMap((m) => range(4).map((r) => `var p${m}_${r} = vec4<f32>();`)).join(' ')}
  for (var k4 = 0u; k4 < u.K / 4u; k4++) {
    let k = k4 * 4u;
    ${range(M).map((m) => `let a${m} = ${a4(m)};`).join(' ')}
    ${range(4)
      .map((r) => `let w${r} = B[row${r} + k4]; ${range(M).map((m) => `p${m}_${r} = fma(a${m}, w${r}, p${m}_${r});`).join(' ')}`)
      .join('\n    ')}
  }
  ${range(M).map((m) => `let acc${m} = vec4<f32>(${range(4).map((r) => `dot(p${m}_${r}, vec4<f32>(1.0))`).join(', ')});`).join('\n  ')}
  ${store(M)}`;
  },
});

/**
 * The CPU-driver GEMV for a MatmulPlan of one batch matrix and M ≤ 4 rows, or null where neither
 * layout applies (then the register GEMM runs). Bindings as matmulKernel's: A, B, bias, C.
 */
export function gemvLanesKernel(p: MatmulPlan): Kernel | null {
  if (p.batch !== 1 || p.M > GEMV_MAX_ROWS || p.kSplit || p.K === 0) return null;
  const common = {
    M: p.M, N: p.N, K: p.K, offA: p.offA, sAm: p.sAm, sAk: p.sAk, offB4: p.offB / 4,
    offC: p.offC, ldc: p.ldc, alpha: p.alpha, beta: p.beta, hasBias: p.bias ? 1 : 0, offBias: p.offBias,
  };
  if (p.sBn === 1 && p.N % 4 === 0 && p.sBk % 4 === 0 && p.offB % 4 === 0)
    return cols({ M: p.M }, { ...common, n: p.N / 4, sB4: p.sBk / 4 });
  if (p.sBk === 1 && p.K % 4 === 0 && p.sBn % 4 === 0 && p.offB % 4 === 0)
    return dot({ M: p.M }, { ...common, n: Math.ceil(p.N / 4), sB4: p.sBn / 4 });
  return null;
}
