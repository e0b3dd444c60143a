// Inverted dropout with a counter-based hash (no mask tensor is stored): element i is kept when
// hash(seed, i) ≥ rate·2³², and kept values are scaled by 1/(1 − rate). The backward kernel
// recomputes the same mask from the same seed.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;

/** PCG-style integer hash, identical in WGSL and TypeScript. */
export function hash32(seed: number, i: number): number {
  let x = (Math.imul(i >>> 0, 747796405) + (seed >>> 0)) >>> 0;
  x = (Math.imul((x >>> ((x >>> 28) + 4)) ^ x, 277803737)) >>> 0;
  return ((x >>> 22) ^ x) >>> 0;
}

export function threshold(rate: number): number {
  return Math.min(0xffffffff, Math.round(rate * 4294967296)) >>> 0;
}

export function dropoutRef(x: ArrayLike<number>, rate: number, seed: number): Float64Array {
  const t = threshold(rate);
  const s = 1 / (1 - rate);
  return Float64Array.from(x, (v, i) => (hash32(seed, i) >= t ? v * s : 0));
}

/** The same masked scaling serves dropout and its gradient: one pipeline for each op's name. */
const dropout = (name: string) =>
  defineKernel({
    name,
    bindings: [
      { name: 'X', access: 'read' },
      { name: 'Y', access: 'write' },
    ],
    uniforms: { n: 'u32', seed: 'u32', thr: 'u32', scale: 'f32' },
    workgroupSize: WG,
    dispatch: { flat: 'n' },
    decls: () => /* wgsl */ `fn hash32(seed: u32, i: u32) -> u32 {
  var x = i * 747796405u + seed;
  x = ((x >> ((x >> 28u) + 4u)) ^ x) * 277803737u;
  return (x >> 22u) ^ x;
}`,
    main: () => /* wgsl */ `Y[i] = select(0.0, X[i] * u.scale, hash32(u.seed, i) >= u.thr);`,
  });

const KERNELS = { dropout: dropout('dropout'), 'dropout.grad': dropout('dropout.grad') };

/** Bindings: x → y (dropout), or dy → dx (dropout.grad, same seed: same mask). */
export function dropoutKernel(op: keyof typeof KERNELS, n: number, rate: number, seed: number): Kernel {
  return KERNELS[op]({}, { n, seed: seed >>> 0, thr: threshold(rate), scale: 1 / (1 - rate) });
}
