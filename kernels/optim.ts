// Optimiser update steps, in place: each kernel rewrites the parameter and its state buffers.
// Every hyperparameter travels as a uniform (the bias-corrected rate is worked out on the host
// in float64), so one pipeline serves every step of every parameter.
//
// Adam, one kernel for both formulations (identical once the rate is bias-corrected):
//   g' = g + λ·p (ONNX norm_coefficient; 0 for Keras)
//   m = β1·m + (1 − β1)·g'      v = β2·v + (1 − β2)·g'²
//   p = (p − lr_t·m / (√v + ε))·(1 − λ_post) (ONNX norm_coefficient_post; 0 for Keras)
//   Keras: lr_t = lr·√(1 − β2^t)/(1 − β1^t), t = 1, 2, ...; ONNX: the same for T > 0, lr at T = 0.
// SGD (Keras): plain p −= lr·g; with momentum v = μ·v − lr·g and p += v, or with Nesterov
// p += μ·v − lr·g (using the new v).

import { FLAT_GROUP, grid, type Kernel, Uniforms, elementMain } from './program.ts';

const WG = 256;

export interface AdamHyper {
  /** Bias-corrected learning rate for this step. */
  lrT: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** L2 coefficient added to the gradient (ONNX norm_coefficient). */
  decay: number;
  /** Shrink applied after the step (ONNX norm_coefficient_post). */
  decayPost: number;
}

/** Keras' bias-corrected rate at 1-based step t. */
export const kerasAdamRate = (lr: number, beta1: number, beta2: number, t: number) => (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);

/** ONNX Adam's rate: bias-corrected when T > 0, R itself at T = 0. */
export const onnxAdamRate = (r: number, alpha: number, beta: number, t: number) => (t > 0 ? (r * Math.sqrt(1 - beta ** t)) / (1 - alpha ** t) : r);

/** One Adam step in float64, in place on p, m, v. */
export function adamRef(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, h: AdamHyper): void {
  for (let i = 0; i < p.length; i++) {
    const gr = g[i] + h.decay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gr;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gr * gr;
    p[i] = (p[i] - (h.lrT * m[i]) / (Math.sqrt(v[i]) + h.epsilon)) * (1 - h.decayPost);
  }
}

/** Bindings: P (write), G (read), M (write), V (write). */
export function adamKernel(n: number, h: AdamHyper): Kernel {
  // 1 − β is computed here in float64: in float32, 1 − 0.999f is off by 1.3e-5 relative.
  const u = new Uniforms().u32(n).f32(h.lrT, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.epsilon, h.decay, 1 - h.decayPost);
  return {
    key: 'adam',
    wgsl: () => /* wgsl */ `
struct U { n: u32, lr: f32, b1: f32, c1: f32, b2: f32, c2: f32, eps: f32, decay: f32, keep: f32 };
${FLAT_GROUP}
${elementMain(['write P', 'read G', 'write M', 'write V'], WG)}
  if (i >= u.n) { return; }
  let p = P[i];
  let g = G[i] + u.decay * p;
  let m = u.b1 * M[i] + u.c1 * g;
  let v = u.b2 * V[i] + u.c2 * g * g;
  M[i] = m;
  V[i] = v;
  P[i] = (p - u.lr * m / (sqrt(v) + u.eps)) * u.keep;
}`,
    bindings: ['write', 'read', 'write', 'write'],
    uniforms: u.done(),
    workgroups: grid(n / WG),
  };
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  nesterov: boolean;
}

/** One Keras SGD step in float64, in place on p (and velocity when momentum ≠ 0). */
export function sgdRef(p: Float64Array, g: ArrayLike<number>, velocity: Float64Array | null, h: SgdHyper): void {
  for (let i = 0; i < p.length; i++) {
    if (h.momentum === 0 || !velocity) {
      p[i] -= h.lr * g[i];
      continue;
    }
    velocity[i] = h.momentum * velocity[i] - h.lr * g[i];
    p[i] += h.nesterov ? h.momentum * velocity[i] - h.lr * g[i] : velocity[i];
  }
}

/** Bindings: P (write), G (read), and with momentum VEL (write). */
export function sgdKernel(n: number, h: SgdHyper): Kernel {
  const mom = h.momentum !== 0;
  return {
    key: `sgd:${mom ? 'momentum' : 'plain'}`,
    wgsl: () => /* wgsl */ `
struct U { n: u32, lr: f32, mu: f32, nesterov: u32 };
${FLAT_GROUP}
${elementMain(['write P', 'read G', ...(mom ? ['write VEL'] : [])], WG)}
  if (i >= u.n) { return; }
  let step = -u.lr * G[i];
${
  mom
    ? `  let v = u.mu * VEL[i] + step;
  VEL[i] = v;
  P[i] += select(v, u.mu * v + step, u.nesterov != 0u);`
    : '  P[i] += step;'
}
}`,
    bindings: mom ? ['write', 'read', 'write'] : ['write', 'read'],
    uniforms: new Uniforms().u32(n).f32(h.lr, h.momentum).u32(h.nesterov ? 1 : 0).done(),
    workgroups: grid(n / WG),
  };
}
