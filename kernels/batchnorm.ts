// Batch normalisation with given statistics, in one pass: y = (x − mean)/sqrt(var + ε)·γ + β per
// channel (the last axis). The layer used to run this as four full-size elementwise dispatches
// (sub, div, mul, add) plus two on the [C] vectors; on MobileNet that was ~70% of the forward's
// GPU time. The order of operations is the composed one's, so results differ by rounding at most
// (the compiler may contract ·γ + β into an fma).
//
// Mean, γ and β are optional (flags in uniforms, not facts: one pipeline): absent mean is 0,
// absent γ is 1, absent β is 0. The op's backward reuses this kernel: dx = dy/sqrt(var + ε)·γ is
// it with no mean and no β, and x̂ = (x − mean)/sqrt(var + ε) is it with no γ and no β.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;

// vec4: C a multiple of 4 (every MobileNet layer), four channels a thread, every array read as
// vec4 (the 16-byte zero buffer of an absent binding holds one vec4). Quarters the per-thread
// index arithmetic, which is what an elementwise pass costs on lavapipe.
const batchNorm = defineKernel({
  name: 'batchNorm',
  bindings: (f: { vec4: boolean }) => {
    const type = f.vec4 ? 'vec4<f32>' : 'f32';
    return [
      { name: 'X', access: 'read', type },
      { name: 'Mean', access: 'read', optional: true, type },
      { name: 'Var', access: 'read', type },
      { name: 'Gamma', access: 'read', optional: true, type },
      { name: 'Beta', access: 'read', optional: true, type },
      { name: 'Y', access: 'write', type },
    ];
  },
  uniforms: { n: 'u32', C: 'u32', eps: 'f32', hasMean: 'u32', hasGamma: 'u32', hasBeta: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => /* wgsl */ `let c = i % ${f.vec4 ? '(u.C / 4u)' : 'u.C'};
  var y = X[i];
  if (u.hasMean != 0u) { y = y - Mean[c]; }
  y = y / sqrt(Var[c] + u.eps);
  if (u.hasGamma != 0u) { y = y * Gamma[c]; }
  if (u.hasBeta != 0u) { y = y + Beta[c]; }
  Y[i] = y;`,
});

/** Bindings: x, mean (or null), var, γ (or null), β (or null), y; n elements, C channels (last axis). */
export function batchNormKernel(n: number, C: number, eps: number, has: { mean: boolean; gamma: boolean; beta: boolean }): Kernel {
  const vec4 = C % 4 === 0;
  return batchNorm({ vec4 }, { n: vec4 ? n / 4 : n, C, eps, hasMean: has.mean ? 1 : 0, hasGamma: has.gamma ? 1 : 0, hasBeta: has.beta ? 1 : 0 });
}

/** Float64 reference; null statistics as in the kernel. */
export function batchNormRef(
  x: ArrayLike<number>,
  mean: ArrayLike<number> | null,
  variance: ArrayLike<number>,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps: number,
): Float64Array {
  const C = variance.length;
  return Float64Array.from(x, (v, i) => {
    const c = i % C;
    return ((v - (mean ? mean[c] : 0)) / Math.sqrt(variance[c] + eps)) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  });
}
