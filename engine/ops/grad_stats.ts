// Training diagnostics written into slots of one stats tensor (kernels/grad_stats.ts), so a
// training step can read all of them back with its loss in one readback. Nothing is recorded on
// the tape: these observe a step, they are not part of the model's function.

import { GRAD_STATS_SLOT, deadUnitsKernel, gradStatsKernel } from '../../kernels/grad_stats.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { dispatch } from '../run.ts';
import { checkInputs, empty, type Tensor } from '../tensor.ts';

/** Values `gradStatsInto` writes per weight tensor: Σg, Σg², Σ(g − mean)², max|g|, zeros, Σ(Δw)², Σw², n. */
export const GRAD_STATS_VALUES = GRAD_STATS_SLOT;

/**
 * A copy of `t` in a new buffer (a buffer-to-buffer copy, no dispatch; not on the tape): the
 * weights before an in-place optimiser update, for the update-to-weight ratio.
 */
export function snapshot(t: Tensor): Tensor {
  checkInputs('snapshot', [t], null);
  const out = empty(t.shape, t.dtype);
  if (t.size > 0) t.storage.gpu.copy(t.buffer, 0, out.buffer, 0, t.size * 4);
  return out;
}

/**
 * Writes the eight raw sums of gradient `g` and of the update `w1 − w0` (see GRAD_STATS_VALUES)
 * into `out[at .. at+8)`, in one dispatch. `g`, `w0`, `w1` share one shape; `out` is float32.
 */
export function gradStatsInto(g: Tensor, w0: Tensor, w1: Tensor, out: Tensor, at: number): void {
  const op = 'gradStats';
  checkInputs(op, [g, w0, w1, out]);
  for (const [name, t] of [['w0', w0], ['w1', w1]] as const)
    if (t.size !== g.size) throw new ShapeError(op, `${name} ${fmtShape(t.shape)} does not match the gradient ${fmtShape(g.shape)}`);
  if (!Number.isInteger(at) || at < 0 || at + GRAD_STATS_SLOT > out.size) throw new ShapeError(op, `slot ${at}..${at + GRAD_STATS_SLOT} is outside the stats tensor ${fmtShape(out.shape)}`);
  if (g.size === 0) throw new ShapeError(op, `empty gradient ${fmtShape(g.shape)}`);
  dispatch(op, gradStatsKernel(g.size, at), [g, w0, w1], [out]);
}

/**
 * For each unit of activation `a` (its last axis), writes 1 into `out[at + unit]` when the unit is
 * ≤ 0 in every row (all samples and positions: a dead ReLU unit), else 0. One dispatch.
 */
export function deadUnitsInto(a: Tensor, out: Tensor, at: number): void {
  const op = 'deadUnits';
  checkInputs(op, [a, out]);
  if (a.rank < 2) throw new ShapeError(op, `activation ${fmtShape(a.shape)} has no batch and unit axes`);
  const units = a.shape[a.rank - 1];
  if (!Number.isInteger(at) || at < 0 || at + units > out.size) throw new ShapeError(op, `slots ${at}..${at + units} are outside the stats tensor ${fmtShape(out.shape)}`);
  if (a.size === 0) throw new ShapeError(op, `empty activation ${fmtShape(a.shape)}`);
  dispatch(op, deadUnitsKernel(a.size / units, units, at), [a], [out]);
}
