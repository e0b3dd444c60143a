// The first principal component of a layer's (weighted) activations, as a map (Eigen-CAM,
// Muhammad & Yeasin 2020; pytorch-grad-cam's get_2d_projection): per image, the [h·w, K] matrix X
// of positions × channels, centred per channel (X̄ = X − column means), projected on its first
// right singular vector v: the map X̄·v.
//
// The sign of a singular vector is arbitrary; pytorch-grad-cam keeps whatever LAPACK returns (and
// its ReLU then keeps one half or the other). Ours is fixed: v·1 ≥ 0. Since
// Σ_i (X̄v)_i (X̄·1)_i = vᵀX̄ᵀX̄·1 = σ₁²·(v·1), that is the sign under which the map correlates
// positively with the centred sum over channels, the direction of "more activation".
//
// Computed on the CPU in float64: the maps are small (K ≤ a few thousand channels, h·w ≤ a few
// hundred positions). The top eigenvector of the smaller Gram matrix (X̄X̄ᵀ, m = h·w, or X̄ᵀX̄,
// m = K) by cyclic Jacobi rotations: O(m³) per sweep, a fraction of a second for m ≈ 200.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';

/** firstComponent of a [N, h, w, K] tensor, as a tensor [N, h, w] made by `run` (after a readback). */
export async function firstComponentMap(t: Tensor, run: <T>(fn: () => T) => T): Promise<Tensor> {
  const [n, h, w, k] = t.shape;
  const p = firstComponent((await t.data()) as Float32Array, n, h * w, k);
  return run(() => E.tensor(p, [n, h, w]));
}

/** Per image of `data` ([n, m, k] row-major: m positions × k channels), X̄·v, [n, m]. */
export function firstComponent(data: Float32Array, n: number, m: number, k: number): Float32Array {
  const out = new Float32Array(n * m);
  for (let img = 0; img < n; img++) {
    const x = new Float64Array(m * k);
    for (let i = 0; i < m * k; i++) x[i] = data[img * m * k + i];
    for (let c = 0; c < k; c++) {
      let mean = 0;
      for (let i = 0; i < m; i++) mean += x[i * k + c];
      mean /= m;
      for (let i = 0; i < m; i++) x[i * k + c] -= mean;
    }
    const p = m <= k ? viaPositions(x, m, k) : viaChannels(x, m, k);
    out.set(Float32Array.from(p), img * m);
  }
  return out;
}

/** X̄X̄ᵀ = U S² Uᵀ: X̄v₁ = σ₁u₁; sign from u₁·(X̄·1) (= σ₁ v₁·1). */
function viaPositions(x: Float64Array, m: number, k: number): Float64Array {
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += x[i * k + c] * x[j * k + c];
      g[i * m + j] = g[j * m + i] = s;
    }
  const { value, vector: u } = topEigen(g, m);
  let dir = 0;
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) dir += u[i] * x[i * k + c];
  const scale = Math.sqrt(Math.max(value, 0)) * (dir < 0 ? -1 : 1);
  return u.map((v) => v * scale);
}

/** X̄ᵀX̄ = V S² Vᵀ: X̄v₁ directly, with v₁·1 ≥ 0. */
function viaChannels(x: Float64Array, m: number, k: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let i = 0; i < m; i++)
    for (let a = 0; a < k; a++) {
      const xa = x[i * k + a];
      if (xa !== 0) for (let b = 0; b < k; b++) g[a * k + b] += xa * x[i * k + b];
    }
  const { vector: v } = topEigen(g, k);
  const sign = v.reduce((s, e) => s + e, 0) < 0 ? -1 : 1;
  const p = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += x[i * k + c] * v[c];
    p[i] = s * sign;
  }
  return p;
}

/** The largest eigenvalue of the symmetric m×m matrix `a` (overwritten) and its unit eigenvector. */
export function topEigen(a: Float64Array, m: number): { value: number; vector: Float64Array } {
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  let norm = 0;
  for (const e of a) norm += e * e;
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q] ** 2;
    if (off <= 1e-30 * norm || off === 0) break;
    for (let p = 0; p < m; p++)
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (apq === 0) continue;
        // The rotation in the (p, q) plane that zeroes a_pq: t = tan φ, the root of t² + 2θt − 1 of smaller size.
        const theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < m; r++) {
          const arp = a[r * m + p];
          const arq = a[r * m + q];
          a[r * m + p] = c * arp - s * arq;
          a[r * m + q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = a[p * m + r];
          const aqr = a[q * m + r];
          a[p * m + r] = c * apr - s * aqr;
          a[q * m + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = v[r * m + p];
          const vrq = v[r * m + q];
          v[r * m + p] = c * vrp - s * vrq;
          v[r * m + q] = s * vrp + c * vrq;
        }
      }
  }
  let best = 0;
  for (let i = 1; i < m; i++) if (a[i * m + i] > a[best * m + best]) best = i;
  return { value: a[best * m + best], vector: Float64Array.from({ length: m }, (_, r) => v[r * m + best]) };
}
