// Optimiser steps: in-place updates of a parameter and its state on the GPU. They record nothing
// on the tape (an update is not part of the model's function) and read nothing back, so a
// training step's updates join its batch of dispatches.

import { adamKernel, kerasAdamRate, onnxAdamRate, sgdKernel, type AdamHyper } from '../../kernels/optim.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { dispatch } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';

/** Hyperparameters of one `adamStep` (Keras' Adam). */
export interface AdamOptions {
  /** Keras defaults: lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7. */
  lr?: number;
  /** Decay of the first-moment average; default 0.9. */
  beta1?: number;
  /** Decay of the second-moment average; default 0.999. */
  beta2?: number;
  /** Added to the denominator's square root; default 1e-7. */
  epsilon?: number;
  /** 1-based step count (Keras' iterations + 1): sets the bias correction. */
  step: number;
}

/** Inputs and attributes of one `adamOnnxStep` (the ONNX training operator Adam). */
export interface OnnxAdamOptions {
  /** ONNX inputs R (learning rate) and T (update count; 0 means no bias correction). */
  r: number;
  /** ONNX input T: the update count; 0 means no bias correction. */
  t: number;
  /** ONNX attributes; defaults as the operator's: 0.9, 0.999, 0, 0, 0. */
  alpha?: number;
  /** ONNX beta: decay of the second-moment average; default 0.999. */
  beta?: number;
  /** ONNX epsilon; default 0. */
  epsilon?: number;
  /** ONNX norm_coefficient: L2 weight decay added to the gradient; default 0. */
  normCoefficient?: number;
  /** ONNX norm_coefficient_post: L2 decay applied after the update; default 0. */
  normCoefficientPost?: number;
}

/** Hyperparameters of one `sgdStep` (Keras' SGD). */
export interface SgdOptions {
  /** Keras defaults: lr 0.01, momentum 0, nesterov false. */
  lr?: number;
  /** Momentum; default 0 (plain SGD). */
  momentum?: number;
  /** Nesterov momentum; default false. */
  nesterov?: boolean;
}

/** Same shape as the parameter, float32, and no two buffers shared (WebGPU forbids a written binding aliasing another). */
function checkState(op: string, param: Tensor, others: [string, Tensor][]): void {
  checkInputs(op, [param, ...others.map(([, t]) => t)]);
  for (const [name, t] of others)
    if (t.size !== param.size || t.rank !== param.rank || t.shape.some((d, i) => d !== param.shape[i]))
      throw new ShapeError(op, `${name} ${fmtShape(t.shape)} does not match the parameter ${fmtShape(param.shape)}`);
  const all: [string, Tensor][] = [['param', param], ...others];
  for (let i = 0; i < all.length; i++)
    for (let j = i + 1; j < all.length; j++)
      if (all[i][1].buffer === all[j][1].buffer) throw new ShapeError(op, `${all[i][0]} and ${all[j][0]} share one buffer ${fmtShape(param.shape)}`);
}

function checkNumbers(op: string, values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) if (!Number.isFinite(v)) throw new ShapeError(op, `${k} must be a finite number, got ${v}`);
}

function runAdam(op: string, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamHyper): void {
  checkState(op, param, [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ]);
  checkNumbers(op, { ...h });
  dispatch(op, adamKernel(param.size, h), [param, grad, m, v], []);
}

/** One Keras Adam step, in place on param, m and v. */
export function adamStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamOptions): void {
  const { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, step } = opts;
  if (!Number.isInteger(step) || step < 1) throw new ShapeError('adamStep', `step must be an integer ≥ 1, got ${step}`);
  const lrT = kerasAdamRate(lr, beta1, beta2, step);
  runAdam('adamStep', param, grad, m, v, { lrT, beta1, beta2, epsilon, decay: 0, decayPost: 0 });
}

/**
 * One ONNX (ai.onnx.preview.training) Adam step, in place: X, V, H become X_new, V_new, H_new.
 * Copy the inputs first where the originals must survive.
 */
export function adamOnnxStep(x: Tensor, g: Tensor, v: Tensor, h: Tensor, opts: OnnxAdamOptions): void {
  const { r, t, alpha = 0.9, beta = 0.999, epsilon = 0, normCoefficient = 0, normCoefficientPost = 0 } = opts;
  if (!Number.isInteger(t) || t < 0) throw new ShapeError('adamOnnxStep', `T must be an integer ≥ 0, got ${t}`);
  const hyper = { lrT: onnxAdamRate(r, alpha, beta, t), beta1: alpha, beta2: beta, epsilon, decay: normCoefficient, decayPost: normCoefficientPost };
  runAdam('adamOnnxStep', x, g, v, h, hyper);
}

/** One Keras SGD step, in place on param (and velocity, required when momentum ≠ 0). */
export function sgdStep(param: Tensor, grad: Tensor, velocity: Tensor | null | undefined, opts: SgdOptions = {}): void {
  const op = 'sgdStep';
  const { lr = 0.01, momentum = 0, nesterov = false } = opts;
  checkNumbers(op, { lr, momentum });
  if (momentum !== 0 && !velocity) throw new ShapeError(op, `momentum ${momentum} needs a velocity tensor for the parameter ${fmtShape(param.shape)}`);
  const state: [string, Tensor][] = momentum !== 0 ? [['grad', grad], ['velocity', velocity!]] : [['grad', grad]];
  checkState(op, param, state);
  dispatch(op, sgdKernel(param.size, { lr, momentum, nesterov }), [param, ...state.map(([, t]) => t)], []);
}
