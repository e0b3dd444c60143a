// Points α_k ∈ [0, 1] and weights w_k of ∫₀¹ f(α) dα ≈ Σ w_k f(α_k), `steps` points each
// (`steps` gradient evaluations, as Captum's n_steps):
//   trapezoid      α_k = k/(m−1), weights 1/(m−1) halved at both ends (Captum's riemann_trapezoid)
//   right          α_k = k/m, k = 1 … m, weights 1/m (Sundararajan et al. 2017, eq. 3)
//   gausslegendre  Gauss–Legendre nodes and weights mapped to [0, 1] (Captum's default)

/** The rule of ∫₀¹ (see above). */
export type Quadrature = 'trapezoid' | 'right' | 'gausslegendre';

/** The rule's points α_k and weights w_k for `steps` evaluations. */
export function quadrature(rule: Quadrature, steps: number): { alphas: number[]; weights: number[] } {
  if (!(Number.isInteger(steps) && steps >= (rule === 'trapezoid' ? 2 : 1))) throw new Error(`${rule} quadrature needs an integer number of steps ≥ ${rule === 'trapezoid' ? 2 : 1}, got ${steps}`);
  const m = steps;
  if (rule === 'trapezoid') {
    const alphas = Array.from({ length: m }, (_, k) => k / (m - 1));
    const weights = alphas.map((_, k) => (k === 0 || k === m - 1 ? 0.5 : 1) / (m - 1));
    return { alphas, weights };
  }
  if (rule === 'right') return { alphas: Array.from({ length: m }, (_, k) => (k + 1) / m), weights: new Array<number>(m).fill(1 / m) };
  if (rule === 'gausslegendre') return gaussLegendre(m);
  throw new Error(`unknown quadrature '${rule}' (trapezoid, right, gausslegendre)`);
}

/** Roots of P_m by Newton's method from Chebyshev guesses (as numpy's leggauss gives them, ascending). */
function gaussLegendre(m: number): { alphas: number[]; weights: number[] } {
  const alphas = new Array<number>(m);
  const weights = new Array<number>(m);
  for (let i = 0; i < m; i++) {
    let t = -Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 1;
    for (let iter = 0; iter < 100; iter++) {
      // P_m(t) and P_m'(t) by the three-term recurrence.
      let p0 = 1;
      let p1 = t;
      for (let k = 2; k <= m; k++) [p0, p1] = [p1, ((2 * k - 1) * t * p1 - (k - 1) * p0) / k];
      const p = m === 1 ? t : p1;
      const prev = m === 1 ? 1 : p0;
      dp = (m * (t * p - prev)) / (t * t - 1);
      const dt = p / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-15) break;
    }
    alphas[i] = (t + 1) / 2;
    weights[i] = 1 / ((1 - t * t) * dp * dp);
  }
  return { alphas, weights };
}
