// Seeded noise for SmoothGrad's samples and Integrated Gradients' uniform baseline: nn/random.ts'
// mulberry32 stream, and a normal deviate from two of its draws (Box–Muller, cosine branch:
// z = √(−2 ln(1 − u₁))·cos(2π u₂)). scripts/reference/attribution_torch.py draws the same numbers.

import { Rng } from '../../nn/random.ts';

/** `n` values σ·z, z standard normal, from `rng` (two draws per value). */
export function gaussian(rng: Rng, n: number, sigma: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = rng.next();
    const u2 = rng.next();
    out[i] = sigma * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

/** `n` values lo + (hi − lo)·u from `rng`. */
export function uniform(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  return rng.uniform(n, lo, hi);
}

/** Per-image value range max − min of a batch [N, …] on the host. */
export function imageRanges(x: Float32Array, n: number): { lo: number[]; hi: number[] } {
  const per = x.length / n;
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < n; i++) {
    let a = Infinity;
    let b = -Infinity;
    for (let j = i * per; j < (i + 1) * per; j++) {
      a = Math.min(a, x[j]);
      b = Math.max(b, x[j]);
    }
    lo.push(a);
    hi.push(b);
  }
  return { lo, hi };
}

export { Rng };
