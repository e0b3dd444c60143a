// Gradient statistics of one weight tensor, and the dead units of one ReLU activation, written
// into slots of one small shared stats buffer that a training step reads back with its loss.
//
// grad_stats: one workgroup walks G (gradient), W0 (weight before the update) and W1 (after) and
// writes 8 values at S[at..at+8): Σg, Σg², Σ(g − mean)², max|g|, count of g == 0, Σ(w1 − w0)²,
// Σw0², n. Raw sums, not ratios: the host turns them into norm, mean, std, shares and the update
// ratio (and can sum them over a layer's kernel and bias exactly). The spread is a second pass
// around the mean, not Σg² − n·mean²: that difference cancels catastrophically in float32.
//
// dead_units: one workgroup per unit (the last axis of A); S[at + unit] = 1 when the unit is ≤ 0
// in every row (every sample and position), else 0. Each thread stops at its first positive value.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;

/** Values per weight tensor in the stats buffer. */
export const GRAD_STATS_SLOT = 8;

const treeSum = (arr: string, op: (a: string, b: string) => string) => /* wgsl */ `workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s / 2u) {
    if (li < s) { ${arr}[li] = ${op(`${arr}[li]`, `${arr}[li + s]`)}; }
    workgroupBarrier();
  }`;

const gradStats = defineKernel({
  name: 'grad_stats',
  bindings: [
    { name: 'G', access: 'read' },
    { name: 'W0', access: 'read' },
    { name: 'W1', access: 'read' },
    { name: 'S', access: 'write' },
  ],
  uniforms: { n: 'u32', at: 'u32' },
  workgroupSize: WG,
  dispatch: () => [1, 1, 1],
  decls: () => `var<workgroup> sa: array<f32, ${WG}>;
var<workgroup> sb: array<f32, ${WG}>;
var<workgroup> sc: array<f32, ${WG}>;
var<workgroup> sd: array<f32, ${WG}>;
var<workgroup> sz: array<u32, ${WG}>;`,
  main: () => /* wgsl */ `var sum = 0.0;
  var mx = 0.0;
  var zeros = 0u;
  for (var i = li; i < u.n; i += ${WG}u) {
    let g = G[i];
    sum += g;
    mx = max(mx, abs(g));
    if (g == 0.0) { zeros += 1u; }
  }
  sa[li] = sum;
  sb[li] = mx;
  sz[li] = zeros;
  ${treeSum('sa', (a, b) => `${a} + ${b}`)}
  ${treeSum('sb', (a, b) => `max(${a}, ${b})`)}
  ${treeSum('sz', (a, b) => `${a} + ${b}`)}
  let total = sa[0];
  let gmax = sb[0];
  let nz = sz[0];
  let mean = total / f32(u.n);
  workgroupBarrier();
  var sq = 0.0;
  var dev = 0.0;
  var du = 0.0;
  var ww = 0.0;
  for (var i = li; i < u.n; i += ${WG}u) {
    let g = G[i];
    let w0 = W0[i];
    let d = W1[i] - w0;
    sq += g * g;
    dev += (g - mean) * (g - mean);
    du += d * d;
    ww += w0 * w0;
  }
  sa[li] = sq;
  sb[li] = dev;
  sc[li] = du;
  sd[li] = ww;
  ${treeSum('sa', (a, b) => `${a} + ${b}`)}
  ${treeSum('sb', (a, b) => `${a} + ${b}`)}
  ${treeSum('sc', (a, b) => `${a} + ${b}`)}
  ${treeSum('sd', (a, b) => `${a} + ${b}`)}
  if (li == 0u) {
    S[u.at] = total;
    S[u.at + 1u] = sa[0];
    S[u.at + 2u] = sb[0];
    S[u.at + 3u] = gmax;
    S[u.at + 4u] = f32(nz);
    S[u.at + 5u] = sc[0];
    S[u.at + 6u] = sd[0];
    S[u.at + 7u] = f32(u.n);
  }`,
});

/** Raw sums of gradient `n` values (and the update of their weight) into S[at..at+8). */
export function gradStatsKernel(n: number, at: number): Kernel {
  return gradStats({}, { n, at });
}

const deadUnits = defineKernel({
  name: 'dead_units',
  bindings: [
    { name: 'A', access: 'read' },
    { name: 'S', access: 'write' },
  ],
  uniforms: { rows: 'u32', units: 'u32', at: 'u32' },
  workgroupSize: WG,
  dispatch: (u) => [u.units, 1, 1],
  decls: () => `var<workgroup> alive: array<u32, ${WG}>;`,
  main: () => /* wgsl */ `let unit = wid.x;
  var found = 0u;
  for (var r = li; r < u.rows; r += ${WG}u) {
    if (A[r * u.units + unit] > 0.0) { found = 1u; break; }
  }
  alive[li] = found;
  ${treeSum('alive', (a, b) => `max(${a}, ${b})`)}
  if (li == 0u) { S[u.at + unit] = select(1.0, 0.0, alive[0] > 0u); }`,
});

/** S[at + k] = 1 for each unit k (of `units`, the last axis) that is ≤ 0 in all `rows` rows of A. */
export function deadUnitsKernel(rows: number, units: number, at: number): Kernel {
  if (units > 65535) throw new Error(`dead_units: ${units} units exceed one dispatch row of workgroups`);
  return deadUnits({}, { rows, units, at });
}

/** Float64 reference of grad_stats' eight values. */
export function gradStatsRef(g: ArrayLike<number>, w0: ArrayLike<number>, w1: ArrayLike<number>): number[] {
  const n = g.length;
  let sum = 0, sq = 0, mx = 0, zeros = 0, du = 0, ww = 0;
  for (let i = 0; i < n; i++) {
    sum += g[i];
    sq += g[i] * g[i];
    mx = Math.max(mx, Math.abs(g[i]));
    if (g[i] === 0) zeros++;
    du += (w1[i] - w0[i]) ** 2;
    ww += w0[i] ** 2;
  }
  const mean = sum / n;
  let dev = 0;
  for (let i = 0; i < n; i++) dev += (g[i] - mean) ** 2;
  return [sum, sq, dev, mx, zeros, du, ww, n];
}
