// Shared test tools: a seeded RNG, closeness checks that report the worst element, and
// central finite differences in float64 on the plain-TypeScript references.

import { init, gpu, tensor, type Tensor, backward, tidy, asyncTidy } from '../engine/index.ts';
import type { Tiles } from '../kernels/tiled.ts';

export const ready = init();

/** mulberry32: small, seeded, reproducible across runtimes. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
    normal: (n: number) =>
      Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())),
    int: (n: number, hi: number) => Int32Array.from({ length: n }, () => Math.floor(next() * hi)),
  };
}

export interface Tol {
  atol?: number;
  rtol?: number;
}

/** Throws naming the worst element when |a − e| > atol + rtol·|e| anywhere. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol, what: string): number {
  const { atol = 1e-5, rtol = 1e-4 } = tol;
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    if (Number.isNaN(a) !== Number.isNaN(e)) throw new Error(`${what}: element ${i} is ${a}, expected ${e}`);
    if (Number.isNaN(a)) continue;
    if (a === e) continue;
    maxAbs = Math.max(maxAbs, err);
    const excess = err - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0)
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (|err| ${Math.abs(actual[worst] - expected[worst]).toExponential(2)} > atol ${atol} + rtol ${rtol}·|e|)`,
    );
  return maxAbs;
}

export function assertEqualArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++)
    if (actual[i] !== expected[i]) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
}

export interface GradInput {
  data: Float32Array;
  shape: number[];
}

/**
 * Checks the engine's backward of `op` against central finite differences of the float64
 * reference `ref`. The scalar differentiated is Σ ref(x)·w with a random fixed w, so every
 * output element contributes. `eps` is the difference step (in float64, so it can be small).
 */
export async function checkGrad(
  what: string,
  op: (xs: Tensor[]) => Tensor,
  ref: (xs: Float64Array[]) => ArrayLike<number>,
  inputs: GradInput[],
  opts: Tol & { eps?: number; seed?: number; only?: number[] } = {},
): Promise<void> {
  const eps = opts.eps ?? 1e-4;
  const r = rng(opts.seed ?? 7);
  const x64 = inputs.map((i) => Float64Array.from(i.data));
  const y0 = ref(x64);
  const w = Float64Array.from(r.uniform(y0.length, -1, 1));
  const loss = (xs: Float64Array[]) => {
    const y = ref(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  const which = opts.only ?? inputs.map((_, i) => i);
  const numeric = which.map((k) => {
    const g = new Float64Array(x64[k].length);
    for (let i = 0; i < g.length; i++) {
      const keep = x64[k][i];
      x64[k][i] = keep + eps;
      const up = loss(x64);
      x64[k][i] = keep - eps;
      const down = loss(x64);
      x64[k][i] = keep;
      g[i] = (up - down) / (2 * eps);
    }
    return g;
  });
  const grads = await asyncTidy(async (s) => {
    const ts = s.run(() => {
      const ts = inputs.map((i, k) => tensor(i.data, i.shape).requireGrad(which.includes(k)));
      const y = op(ts);
      backward(y, tensor(Float32Array.from(w), y.shape));
      return ts;
    });
    const out = await Promise.all(which.map((k) => ts[k].grad!.data()));
    ts.forEach((t) => t.dispose());
    return out;
  });
  which.forEach((k, j) => assertClose(grads[j], numeric[j], { atol: opts.atol ?? 1e-3, rtol: opts.rtol ?? 1e-2 }, `${what}: d/dinput${k}`));
}

/** Runs `fn` in a scope and checks it throws a message containing every one of `parts`. */
export function throwsNaming(fn: () => unknown, ...parts: string[]): void {
  let msg = '';
  try {
    tidy(fn as () => void);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg) throw new Error(`expected an error naming ${parts.join(', ')}`);
  for (const p of parts) if (!msg.includes(p)) throw new Error(`error "${msg}" does not name ${p}`);
}

/**
 * GEMM-like kernels under test: the CPU 'register' variant with 8×8 thread blocks ('register') and
 * with 16×16 ones ('register-16', lavapipe's default; not on SwiftShader, which would compile it
 * for minutes), the GPU 'tiled' one with its own
 * block choice (64×64 at test sizes), 'tiled-big' with 128-row blocks forced (`big`) and
 * 'tiled-narrow' with 128×32 ones, so that every variant runs on any adapter.
 */
export type KernelVariant = 'register' | 'register-16' | 'tiled' | 'tiled-big' | 'tiled-narrow';

/**
 * Every variant, but 'tiled-big' and 'tiled-narrow' (128×32 blocks, for products 16 or 32 wide)
 * not on SwiftShader (the Deno and Chromium runs): its shader compiler spends minutes and
 * gigabytes on a kernel with 8×8 outputs per thread. The Node run (lavapipe) tests them. Call
 * after `ready`.
 */
export function kernelVariants(): KernelVariant[] {
  const a = gpu().adapterInfo;
  const swiftshader = /swiftshader/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
  return swiftshader ? ['register', 'tiled'] : ['register', 'register-16', 'tiled', 'tiled-big', 'tiled-narrow'];
}

/** Runs `fn` under the device plan of variant `v` (GEMM variant and forced tiles). */
export function withVariant<T>(v: KernelVariant, big: Tiles, fn: () => Promise<T>): Promise<T> {
  return gpu().withPlan({ gemm: v.startsWith('register') ? 'register' : 'tiled', regTile: v === 'register-16' ? 16 : 8, tiles: v === 'tiled-big' ? big : v === 'tiled-narrow' ? { TM: 128, TN: 32 } : null }, fn);
}

/** Runs `fn` as if the adapter bound at most `bytes` per storage binding (exercises the splits). */
export function withBindingLimit<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
  return gpu().withPlan({ maxBindingBytes: bytes }, fn);
}
