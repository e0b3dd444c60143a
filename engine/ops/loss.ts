// Cross-entropy losses and oneHot. softmaxCrossEntropy is fused (log-sum-exp and loss in one
// kernel, gradient softmax − onehot in one kernel) with ONNX SoftmaxCrossEntropyLoss semantics;
// categoricalCrossEntropy takes probabilities, as Keras' loss after a Dense(softmax) does.
// Both save only per-row values (lse or Σp, and a row term) for backward, never a [N, C] copy.

import { planRows, rowVariant, type RowPlan } from '../../kernels/softmax.ts';
import {
  cceGradKernel,
  cceKernel,
  lossReduceKernel,
  oneHotKernel,
  sceGradKernel,
  sceKernel,
  type Denominator,
  type LabelKind,
  type Reduction,
} from '../../kernels/loss.ts';
import { composable, gradKernel, isGradEnabled, record, type GradRule, type TapeNode } from '../autograd.ts';
import { div, mul, sub } from './binary.ts';
import { reshape } from './shape.ts';
import { softmax } from './softmax.ts';
import { checkLabelsOnRead } from './checks.ts';
import { LanternaError, ShapeError, fmtShape } from '../errors.ts';
import { dispatch, run } from '../run.ts';
import { checkInputs, empty, type Shape, type Tensor, view } from '../tensor.ts';

export type { Reduction } from '../../kernels/loss.ts';

/** Options of `softmaxCrossEntropy`. */
export interface SoftmaxCrossEntropyOptions {
  /** 'mean' (default), 'sum', or 'none' for one loss per row. */
  reduction?: Reduction;
  /** Rows whose label equals this contribute neither loss nor gradient nor weight (index labels). */
  ignoreIndex?: number;
  /** float32 [C] class weights (index labels); 'mean' then divides by Σ weights of the rows, as ONNX. */
  weights?: Tensor;
}

/** Options of `categoricalCrossEntropy`. */
export interface CategoricalCrossEntropyOptions {
  /** 'mean' (default), 'sum', or 'none' for one loss per row. */
  reduction?: Reduction;
  /** Probabilities are clipped to [epsilon, 1 − epsilon] (Keras' backend epsilon by default). */
  epsilon?: number;
}

const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

function checkReduction(op: string, r: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new ShapeError(op, `reduction must be 'mean', 'sum' or 'none', got '${r}'`);
}

/** Labels: int32 of `indexShape`, or float32 of `softShape`. */
function labelKind(op: string, labels: Tensor, indexShape: Shape, softShape: Shape, what: string): LabelKind {
  if (labels.dtype === 'int32' && same(labels.shape, indexShape)) return 'index';
  if (labels.dtype === 'float32' && same(labels.shape, softShape)) return 'soft';
  throw new ShapeError(
    op,
    `labels ${labels.describe()} must be int32${fmtShape(indexShape)} (class indices) or float32${fmtShape(softShape)} (one-hot or soft targets) for ${what}`,
  );
}

function onlyFirstGrad(node: TapeNode, needs: boolean[]): void {
  if (needs.slice(1).some(Boolean))
    throw new LanternaError(`${node.op}: no gradient is defined with respect to labels or class weights; compute them under noGrad()`);
}

/**
 * Reduces per-row losses L (freed here) and records the op. WR: the row weights, where the loss
 * has them. `aux` are the tensors backward needs.
 */
function finish(
  op: string,
  inputs: Tensor[],
  L: Tensor,
  WR: Tensor | null,
  aux: Tensor[],
  reduction: Reduction,
  den: Denominator,
  lossShape: Shape,
  rule: GradRule,
  attrs: Record<string, unknown>,
): Tensor {
  let y: Tensor;
  const saved = [...aux];
  if (reduction === 'none') y = view(L, lossShape);
  else {
    y = empty([]);
    const D = empty([1]);
    dispatch(op, lossReduceKernel(L.size, den), [L, WR], [y, D]);
    saved.push(D);
  }
  L.dispose();
  const out = record(op, inputs, y, rule, attrs, saved);
  if (!out.node) saved.forEach((t) => t.dispose());
  return out;
}

function sceGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  onlyFirstGrad(node, needs);
  const [x, labels] = node.inputs;
  const [lse, wr, den] = node.saved;
  const { kind, reduction } = node.attrs as { kind: LabelKind; reduction: Reduction };
  const reduced = reduction !== 'none';
  const k = sceGradKernel(planRows(x.shape, 1), kind, reduced);
  const dx = run('softmaxCrossEntropy.grad', k, [x, labels, lse, wr, dy, reduced ? den : null], x.shape);
  return node.inputs.map((_, i) => (i === 0 ? dx : null));
}
gradKernel(sceGrad, 'softmaxCrossEntropy.grad');

/**
 * The rule for [N, C] logits: under createGraph the kernel's formula from recorded ops
 * (dx = dy/den · WR · (softmax(x) − onehot), soft: dy/den · (softmax(x)·WR − t)); else the kernel.
 */
function sceGradRows(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  if (!isGradEnabled()) return sceGrad(node, dy, needs);
  onlyFirstGrad(node, needs);
  const [x, labels] = node.inputs;
  const [, wr, den] = node.saved;
  const { kind, reduction } = node.attrs as { kind: LabelKind; reduction: Reduction };
  const N = x.shape[0];
  const g = reduction !== 'none' ? div(reshape(dy, [1]), den) : reshape(dy, [N, 1]);
  const w = reshape(wr, [N, 1]);
  const sm = softmax(x, 1);
  const dx = kind === 'soft' ? mul(g, sub(mul(sm, w), labels)) : mul(mul(g, w), sub(sm, oneHot(labels, x.shape[1])));
  return node.inputs.map((_, i) => (i === 0 ? dx : null));
}
composable(sceGradRows);

/**
 * Softmax cross-entropy from logits [N, C] or [N, C, D1..Dk] (classes on axis 1, as ONNX).
 * labels: int32 [N, D1..Dk] class indices, or float32 of the logits' shape (one-hot / soft).
 * Returns a scalar ('mean', 'sum') or the per-row losses [N, D1..Dk] ('none').
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, opts: SoftmaxCrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  const { reduction = 'mean', ignoreIndex, weights } = opts;
  checkInputs(op, [logits]);
  checkInputs(op, [labels], null);
  checkReduction(op, reduction);
  if (logits.rank < 2 || logits.size === 0) throw new ShapeError(op, `logits ${fmtShape(logits.shape)} must be non-empty [N, C] or [N, C, D1..Dk]`);
  const C = logits.shape[1];
  const rowShape = [logits.shape[0], ...logits.shape.slice(2)];
  const kind = labelKind(op, labels, rowShape, logits.shape, `logits ${fmtShape(logits.shape)}`);
  if (kind === 'soft' && (weights || ignoreIndex !== undefined))
    throw new ShapeError(op, 'weights and ignoreIndex apply to int32 class-index labels only');
  if (ignoreIndex !== undefined && !Number.isInteger(ignoreIndex)) throw new ShapeError(op, `ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (weights) {
    checkInputs(op, [weights]);
    if (!same(weights.shape, [C])) throw new ShapeError(op, `weights ${fmtShape(weights.shape)} must be [${C}] for logits ${fmtShape(logits.shape)}`);
  }
  const plan: RowPlan = planRows(logits.shape, 1);
  const inputs = weights ? [logits, labels, weights] : [logits, labels];
  const [L, WR, LSE] = [empty([plan.rows]), empty([plan.rows]), empty([plan.rows])];
  const v = rowVariant(C, logits.storage.gpu.plan);
  dispatch(op, sceKernel(plan, kind, !!weights, { ignoreIndex }, v), [logits, labels, weights ?? null], [L, WR, LSE]);
  const den: Denominator = reduction === 'sum' ? 'one' : kind === 'index' ? 'weights' : 'rows';
  const y = finish(op, inputs, L, WR, [LSE, WR], reduction, den, rowShape, logits.rank === 2 ? sceGradRows : sceGrad, { kind, reduction, ignoreIndex });
  // A bad label poisons every row of a 'mean' (its NaN weight enters the denominator): reading
  // the loss refuses it, naming the label, in the readback the caller makes anyway.
  return kind === 'index' ? checkLabelsOnRead(op, y, labels, C, ignoreIndex) : y;
}

function cceGrad(node: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  onlyFirstGrad(node, needs);
  const [p, labels] = node.inputs;
  const [S, T, den] = node.saved;
  const { kind, reduction, epsilon } = node.attrs as { kind: LabelKind; reduction: Reduction; epsilon: number };
  const reduced = reduction !== 'none';
  const C = p.shape[p.rank - 1];
  const k = cceGradKernel({ rows: p.size / C, c: C, inner: 1 }, kind, reduced, { epsilon });
  return [run('categoricalCrossEntropy.grad', k, [p, labels, S, T, dy, reduced ? den : null], p.shape), null];
}
gradKernel(cceGrad, 'categoricalCrossEntropy.grad');

/**
 * Keras categorical cross-entropy from probabilities [..., C] (classes last): each row is
 * normalised to sum 1, clipped to [ε, 1 − ε], and l = −Σ y·log q. labels: float32 of the
 * same shape, or int32 [...] class indices (Keras' sparse variant). 'mean' divides by the row count.
 */
export function categoricalCrossEntropy(probs: Tensor, labels: Tensor, opts: CategoricalCrossEntropyOptions = {}): Tensor {
  const op = 'categoricalCrossEntropy';
  const { reduction = 'mean', epsilon = 1e-7 } = opts;
  checkInputs(op, [probs]);
  checkInputs(op, [labels], null);
  checkReduction(op, reduction);
  if (probs.rank < 1 || probs.size === 0) throw new ShapeError(op, `probabilities ${fmtShape(probs.shape)} must be non-empty [..., C]`);
  if (!(epsilon >= 0 && epsilon < 0.5)) throw new ShapeError(op, `epsilon must be in [0, 0.5), got ${epsilon}`);
  const C = probs.shape[probs.rank - 1];
  const rowShape = probs.shape.slice(0, -1);
  const kind = labelKind(op, labels, rowShape, probs.shape, `probabilities ${fmtShape(probs.shape)}`);
  const plan: RowPlan = { rows: probs.size / C, c: C, inner: 1 };
  const [L, S, T] = [empty([plan.rows]), empty([plan.rows]), empty([plan.rows])];
  const v = rowVariant(C, probs.storage.gpu.plan);
  dispatch(op, cceKernel(plan, kind, { epsilon }, v), [probs, labels], [L, S, T]);
  const y = finish(op, [probs, labels], L, null, [S, T], reduction, reduction === 'sum' ? 'one' : 'rows', rowShape, cceGrad, { kind, reduction, epsilon });
  return kind === 'index' ? checkLabelsOnRead(op, y, labels, C) : y;
}

/** int32 labels [...] → float32 [..., depth]; a label outside [0, depth) gives a row of zeros (as tf.one_hot). */
export function oneHot(labels: Tensor, depth: number): Tensor {
  checkInputs('oneHot', [labels], 'int32');
  if (!Number.isInteger(depth) || depth < 1) throw new ShapeError('oneHot', `depth must be a positive integer, got ${depth} for labels ${fmtShape(labels.shape)}`);
  return run('oneHot', oneHotKernel(labels.size, depth), [labels], [...labels.shape, depth]);
}
