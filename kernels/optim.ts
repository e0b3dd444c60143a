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

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

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

/**
 * Serves both Adam ops (adamStep, adamOnnxStep), so it keeps the optimiser's name.
 * Bindings: P (write), G (read), M (write), V (write).
 */
const adam = defineKernel({
  name: 'adam',
  bindings: [
    { name: 'P', access: 'write' },
    { name: 'G', access: 'read' },
    { name: 'M', access: 'write' },
    { name: 'V', access: 'write' },
  ],
  // c1, c2 = 1 − β1, 1 − β2 and keep = 1 − λ_post, computed on the host in float64: in
  // float32, 1 − 0.999f is off by 1.3e-5 relative.
  uniforms: { n: 'u32', lr: 'f32', b1: 'f32', c1: 'f32', b2: 'f32', c2: 'f32', eps: 'f32', decay: 'f32', keep: 'f32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => /* wgsl */ `let p = P[i];
  let g = G[i] + u.decay * p;
  let m = u.b1 * M[i] + u.c1 * g;
  let v = u.b2 * V[i] + u.c2 * g * g;
  M[i] = m;
  V[i] = v;
  P[i] = (p - u.lr * m / (sqrt(v) + u.eps)) * u.keep;`,
});

export function adamKernel(n: number, h: AdamHyper): Kernel {
  return adam({}, { n, lr: h.lrT, b1: h.beta1, c1: 1 - h.beta1, b2: h.beta2, c2: 1 - h.beta2, eps: h.epsilon, decay: h.decay, keep: 1 - h.decayPost });
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
const sgd = defineKernel({
  name: 'sgdStep',
  bindings: (f: { momentum: boolean }) => [
    { name: 'P', access: 'write' },
    { name: 'G', access: 'read' },
    ...(f.momentum ? [{ name: 'VEL', access: 'write' } as const] : []),
  ],
  uniforms: { n: 'u32', lr: 'f32', mu: 'f32', nesterov: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => /* wgsl */ `let step = -u.lr * G[i];
${
  f.momentum
    ? `  let v = u.mu * VEL[i] + step;
  VEL[i] = v;
  P[i] += select(v, u.mu * v + step, u.nesterov != 0u);`
    : '  P[i] += step;'
}`,
});

export function sgdKernel(n: number, h: SgdHyper): Kernel {
  return sgd({ momentum: h.momentum !== 0 }, { n, lr: h.lr, mu: h.momentum, nesterov: h.nesterov ? 1 : 0 });
}
