// batchNorm: y = (x − mean)/sqrt(var + ε)·γ + β over the last axis, as one kernel
// (kernels/batchnorm.ts), differentiable in all five inputs (BatchNormalization in training
// passes the batch statistics, which depend on x; Grad-CAM differentiates through it in inference).

import { batchNormKernel } from '../../kernels/batchnorm.ts';
import { gradKernel, record, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { run } from '../run.ts';
import { tidy } from '../scope.ts';
import { checkInputs, type Tensor } from '../tensor.ts';
import { div, mul } from './binary.ts';
import { sum } from './reduce.ts';
import { affine, neg, sqrt } from './unary.ts';

/**
 * With r = 1/sqrt(v + ε) and x̂ = (x − m)·r: dx = dy·r·γ; dm = −Σdy·r·γ; dv = −½·Σ(dy·x̂)·γ/(v + ε);
 * dγ = Σ dy·x̂; dβ = Σ dy (sums over every axis but the last).
 */
function batchNormGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const { eps, hasMean, hasGamma, hasBeta } = node.attrs as { eps: number; hasMean: boolean; hasGamma: boolean; hasBeta: boolean };
  // node.inputs holds only the tensors given: map them back to the five slots x, mean, var, γ, β.
  const want = [true, hasMean, true, hasGamma, hasBeta];
  const slots: (Tensor | null)[] = [];
  const need: boolean[] = [];
  let k = 0;
  for (let s = 0; s < 5; s++) {
    slots.push(want[s] ? node.inputs[k] : null);
    need.push(want[s] ? needs[k++] : false);
  }
  const [X, M, V, G] = slots;
  const axes = [...Array(X!.rank - 1).keys()];
  const C = V!.size;
  const bn = (t: Tensor, mean: Tensor | null, g: Tensor | null) =>
    run('batchNorm.grad', batchNormKernel(t.size, C, eps, { mean: !!mean, gamma: !!g, beta: false }), [t, mean, V!, g, null], t.shape);
  return tidy(() => {
    const out: (Tensor | null)[] = [null, null, null, null, null];
    if (need[0]) out[0] = bn(dy, null, G);
    if (need[1]) {
      const r = div(G ?? affine(V!, 0, 1), sqrt(affine(V!, 1, eps)));
      out[1] = neg(mul(sum(dy, axes), r));
    }
    if (need[2] || need[3]) {
      const dyXhat = sum(mul(dy, bn(X!, M, null)), axes);
      if (need[3]) out[3] = dyXhat;
      if (need[2]) {
        const t = div(dyXhat, affine(V!, 1, eps));
        out[2] = affine(G ? mul(t, G) : t, -0.5, 0);
      }
    }
    if (need[4]) out[4] = sum(dy, axes);
    return out.filter((_, s) => want[s]);
  });
}

gradKernel(batchNormGrad, 'batchNormKernel');

/** y = (x − mean)/sqrt(var + eps)·gamma + beta per channel (x's last axis); mean, gamma, beta may be null. */
export function batchNorm(x: Tensor, mean: Tensor | null, variance: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): Tensor {
  const op = 'batchNorm';
  const inputs = [x, mean, variance, gamma, beta].filter((t): t is Tensor => t !== null);
  checkInputs(op, inputs);
  if (x.rank < 1) throw new ShapeError(op, `input must have a channel axis, got ${fmtShape(x.shape)}`);
  const C = x.shape[x.rank - 1];
  for (const [what, t] of [['mean', mean], ['variance', variance], ['gamma', gamma], ['beta', beta]] as const)
    if (t && !(t.rank === 1 && t.shape[0] === C)) throw new ShapeError(op, `${what} ${fmtShape(t.shape)} must be [${C}] (input ${fmtShape(x.shape)})`);
  if (!(eps >= 0)) throw new ShapeError(op, `epsilon must be ≥ 0, got ${eps}`);
  const has = { mean: !!mean, gamma: !!gamma, beta: !!beta };
  const y = run(op, batchNormKernel(x.size, C, eps, has), [x, mean, variance, gamma, beta], x.shape);
  return record(op, inputs, y, batchNormGrad, { eps, hasMean: has.mean, hasGamma: has.gamma, hasBeta: has.beta });
}
