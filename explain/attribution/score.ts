// The score an attribution explains and its gradient with respect to the model's input, for
// many inputs ("rows": noisy copies, points on a path, occluded images) in as few
// forward/backward passes as memory allows. Every row is an independent image of the batch, so
// one backward pass seeded with the rows' one-hot targets gives each row's own ∂score/∂x.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { finalSoftmax, noSoftmaxReason } from '../../nn/head.ts';
import type { AttributionRequest, ScoreOf } from './common.ts';
import { reluFamilyLayers, withGuidedRelus } from './guided_relu.ts';

/** Which output and which score of it a method explains. */
export interface Target {
  method: string;
  model: Model;
  output: number;
  score: ScoreOf;
}

/** The output and score `req` asks for, refused before any computation when there is no logit. */
export function targetOf(method: string, model: Model, req: AttributionRequest): Target {
  if (req.output === undefined && model.outputRefs.length > 1)
    throw new Error(`${method}: model '${model.name}' has ${model.outputRefs.length} outputs (${model.outputNames.join(', ')}); choose the one to explain`);
  const output = model.outputIndex(req.output);
  const score = req.score ?? 'softmax';
  if (score === 'logit' && !finalSoftmax(model.tailLayers(output))) throw new Error(`${method}: score 'logit': ${noSoftmaxReason(model.name, model.tailLayers(output))}`);
  return { method, model, output, score };
}

/** The differentiated rows [B, classes] of a forward pass on `x`. */
function scoreRows(t: Target, x: Tensor, capture: string[] = []): { y: Tensor; captured: Map<string, Tensor> } {
  const fwd = t.model.forward(x, { training: false }, capture, { output: t.output });
  const y = t.score === 'logit' ? fwd.logits! : fwd.output;
  if (y.rank !== 2) throw new Error(`${t.method}: output ${t.output} of model '${t.model.name}' is [${y.shape.join(', ')}], not [N, classes]`);
  return { y, captured: fwd.captured };
}

/** The target class of each image: `req.classes` checked, or each image's top-1 (one forward pass). */
export async function targetClasses(t: Target, x: Tensor, req: AttributionRequest): Promise<number[]> {
  const n = x.shape[0];
  if (!t.model.built) t.model.build(x.shape.slice(1));
  const c = t.model.outputShapes[t.output].reduce((a, b) => a * b, 1);
  if (req.classes) {
    if (req.classes.length !== n) throw new Error(`${t.method}: ${req.classes.length} target classes for ${n} images`);
    for (const k of req.classes) if (!(Number.isInteger(k) && k >= 0 && k < c)) throw new Error(`${t.method}: class ${k} is outside 0..${c - 1}`);
    return [...req.classes];
  }
  const p = (await E.tidy(() => E.noGrad(() => t.model.forward(x, { training: false }, [], { output: t.output }).output.data()))) as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[i * c + j] > p[i * c + best]) best = j;
    return best;
  });
}

/**
 * Rows per pass: `req.batchSize`, else as many as keep the forward activations (×3 for the
 * tape and the backward pass) within `req.memoryBytes` and every activation within one storage
 * binding (Model.safeBatch); at most `rows`.
 */
export function rowsPerPass(model: Model, req: AttributionRequest, rows: number): number {
  if (req.batchSize !== undefined) {
    if (!(Number.isInteger(req.batchSize) && req.batchSize >= 1)) throw new Error(`batchSize must be a positive integer, got ${req.batchSize}`);
    return Math.min(req.batchSize, rows);
  }
  const perRow = model.nodes.reduce((s, n) => s + n.shapes.reduce((a, sh) => a + sh.reduce((p, d) => p * d, 1), 0), 0) * 4 * 3;
  const byMemory = Math.max(1, Math.floor((req.memoryBytes ?? 256 * 2 ** 20) / perRow));
  return Math.max(1, Math.min(rows, byMemory, model.safeBatch(rows)));
}

/** The inputs of a method's passes: `count` rows made on demand, each with its target class. */
export interface Rows {
  count: number;
  /** The inputs of rows start … start + n − 1, [n, H, W, C]. */
  make(start: number, n: number): Tensor;
  /** The target class of row r. */
  classOf(r: number): number;
}

/**
 * ∂score/∂input of every row, `batch` rows per forward/backward pass. `consume(start, n, grad)`
 * receives each pass's gradients [n, H, W, C] inside the pass's scope: what it returns survives
 * the pass (its running sums), everything else is freed. With `guided`, the ReLU-family
 * activations pass only positive gradients (guided_relu.ts). Returns the number of passes.
 */
export function gradientPasses(t: Target, rows: Rows, batch: number, consume: (start: number, n: number, grad: Tensor) => unknown, guided = false): number {
  const capture = guided ? reluFamilyLayers(t.model) : [];
  let passes = 0;
  for (let start = 0; start < rows.count; start += batch) {
    const n = Math.min(batch, rows.count - start);
    E.tidy(() => {
      const made = rows.make(start, n);
      // A fresh leaf, so that the caller's tensors never get requiresGrad set.
      const x = E.view(made, made.shape).requireGrad();
      const { y, captured } = scoreRows(t, x, capture);
      const seed = E.oneHot(E.tensor(Int32Array.from({ length: n }, (_, r) => rows.classOf(start + r)), [n], 'int32'), y.shape[1]);
      const back = () => E.grad(y, [x], seed)[0];
      const g = guided ? withGuidedRelus([...captured.values()], back) : back();
      return consume(start, n, g);
    });
    passes++;
  }
  return passes;
}

/** The target score of every row (no gradients), `batch` rows per pass, one readback. */
export async function scoresOf(t: Target, rows: Rows, batch: number): Promise<Float32Array> {
  const all = E.tidy(() =>
    E.noGrad(() => {
      const parts: Tensor[] = [];
      for (let start = 0; start < rows.count; start += batch) {
        const n = Math.min(batch, rows.count - start);
        // Each pass in its own scope: only its [n] scores outlive it.
        parts.push(
          E.tidy(() => {
            const { y } = scoreRows(t, rows.make(start, n));
            const onehot = E.oneHot(E.tensor(Int32Array.from({ length: n }, (_, r) => rows.classOf(start + r)), [n], 'int32'), y.shape[1]);
            return E.sum(E.mul(y, onehot), 1);
          }),
        );
      }
      return parts.length === 1 ? parts[0] : E.concat(parts, 0);
    }),
  );
  try {
    return (await all.data()) as Float32Array;
  } finally {
    all.dispose();
  }
}
