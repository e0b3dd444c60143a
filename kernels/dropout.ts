// Inverted dropout with a counter-based hash (no mask tensor is stored): element i is kept when
// hash(seed, i) ≥ rate·2³², and kept values are scaled by 1/(1 − rate). The backward kernel
// recomputes the same mask from the same seed.

import { FLAT_GROUP, grid, type Kernel, Uniforms } from './program.ts';

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

export function dropoutKernel(n: number, rate: number, seed: number): Kernel {
  return {
    key: 'dropout',
    wgsl: () => /* wgsl */ `
struct U { n: u32, seed: u32, thr: u32, scale: f32 };
${FLAT_GROUP}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
fn hash32(seed: u32, i: u32) -> u32 {
  var x = i * 747796405u + seed;
  x = ((x >> ((x >> 28u) + 4u)) ^ x) * 277803737u;
  return (x >> 22u) ^ x;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat_group(wid, nwg) * ${WG}u + li;
  if (i >= u.n) { return; }
  Y[i] = select(0.0, X[i] * u.scale, hash32(u.seed, i) >= u.thr);
}`,
    bindings: ['read', 'write'],
    uniforms: new Uniforms().u32(n, seed >>> 0, threshold(rate)).f32(1 / (1 - rate)).done(),
    workgroups: grid(n / WG),
  };
}
