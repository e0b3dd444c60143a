// Elementwise binary ops with NumPy broadcasting. Gradients are summed back over the
// broadcast axes (sumTo). Comparison ops (ge, lt, eq) give float masks and no gradient.

import { binaryKernel, broadcastShapes, COMPARISONS, type BinaryOp } from '../../kernels/elementwise.ts';
import { composable, record, ruleScope, type TapeNode } from '../autograd.ts';
import { ShapeError, fmtShape } from '../errors.ts';
import { run } from '../run.ts';
import { checkInputs, type Tensor } from '../tensor.ts';
import { sumTo } from './reduce.ts';
import { neg } from './unary.ts';

function binaryGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const y = node.output;
  return ruleScope(() => {
    const to = (g: Tensor, t: Tensor) => sumTo(g, t.shape);
    switch (node.op as BinaryOp) {
      case 'add':
        return [needs[0] ? to(dy, a) : null, needs[1] ? to(dy, b) : null];
      case 'sub':
        return [needs[0] ? to(dy, a) : null, needs[1] ? to(neg(dy), b) : null];
      case 'mul':
        return [needs[0] ? to(mul(dy, b), a) : null, needs[1] ? to(mul(dy, a), b) : null];
      case 'div':
        return [needs[0] ? to(div(dy, b), a) : null, needs[1] ? to(neg(div(mul(dy, y), b)), b) : null];
      case 'maximum':
        return [needs[0] ? to(mul(dy, binary('ge', a, b)), a) : null, needs[1] ? to(mul(dy, binary('lt', a, b)), b) : null];
      case 'minimum':
        return [needs[0] ? to(mul(dy, binary('ge', b, a)), a) : null, needs[1] ? to(mul(dy, binary('lt', b, a)), b) : null];
      default:
        throw new Error(`no gradient for ${node.op}`);
    }
  });
}
composable(binaryGrad);

/**
 * The elementwise binary op `op` on `a` and `b` with NumPy broadcasting; prefer the named ops (`add`, `mul`,
 * …). Both inputs must have the same dtype. Comparisons ('ge', 'lt', 'eq') return float32 masks of 1 and 0
 * and carry no gradient.
 *
 * Throws a `ShapeError` when the dtypes differ or the shapes do not broadcast.
 */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  checkInputs(op, [a, b], null);
  if (a.dtype !== b.dtype) throw new ShapeError(op, `dtypes differ: ${a.describe()} and ${b.describe()}`);
  const out = broadcastShapes(a.shape, b.shape);
  if (!out) throw new ShapeError(op, `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not broadcast`);
  const cmp = COMPARISONS.has(op);
  const elem = a.dtype === 'int32' ? 'i32' : 'f32';
  const y = run(op, binaryKernel(op, a.shape, b.shape, elem, a.storage.gpu.plan.cpuDriver), [a, b], out, cmp ? 'float32' : a.dtype);
  // Comparisons are piecewise constant: their outputs carry no gradient (as in PyTorch).
  if (cmp || a.dtype === 'int32') return y;
  return record(op, [a, b], y, binaryGrad);
}

/** a + b, elementwise with broadcasting. */
export const add = (a: Tensor, b: Tensor) => binary('add', a, b);
/** a − b, elementwise with broadcasting. */
export const sub = (a: Tensor, b: Tensor) => binary('sub', a, b);
/** a · b, elementwise with broadcasting (not a matrix product: see `matmul`). */
export const mul = (a: Tensor, b: Tensor) => binary('mul', a, b);
/** a / b, elementwise with broadcasting. */
export const div = (a: Tensor, b: Tensor) => binary('div', a, b);
/** The larger of a and b, elementwise with broadcasting; the gradient goes to `a` where a ≥ b. */
export const maximum = (a: Tensor, b: Tensor) => binary('maximum', a, b);
/** The smaller of a and b, elementwise with broadcasting; the gradient goes to `a` where a ≤ b. */
export const minimum = (a: Tensor, b: Tensor) => binary('minimum', a, b);
/** 1 where `a >= b`, else 0 (float32, broadcast, no gradient). */
export const greaterEqual = (a: Tensor, b: Tensor) => binary('ge', a, b);
/** 1 where `a < b`, else 0 (float32, broadcast, no gradient). */
export const less = (a: Tensor, b: Tensor) => binary('lt', a, b);
/** 1 where a = b, else 0 (float32, broadcast, no gradient). */
export const equal = (a: Tensor, b: Tensor) => binary('eq', a, b);
