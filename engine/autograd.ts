// Reverse-mode autograd on a tape. Each op records a node naming itself, its inputs, output,
// attributes, the tensors it saved, and its gradient rule (a named function in the op's file,
// not a closure), so the graph can be listed and studied. backward() walks the nodes in reverse
// topological order with an explicit stack: deep graphs cannot overflow the JS stack.

import { LanternaError, fmtShape } from './errors.ts';
import { asyncContext, followsAwait, isAsyncFunction, keep, tidy } from './scope.ts';
import { view, type Tensor } from './tensor.ts';
import { anomalyOn, asBackward, noteCreation } from './anomaly.ts';

/**
 * Returns one gradient per input, or null where `needs[i]` is false. Runs with grad recording off,
 * except under `createGraph` for a rule marked `composable`.
 */
export type GradRule = (node: TapeNode, dy: Tensor, needs: boolean[]) => (Tensor | null)[];

/** Options of `grad` and `backward`. */
export interface GradOptions {
  /**
   * Record the backward pass itself on the tape, so that the gradients returned can be
   * differentiated again (PyTorch's create_graph). Default false: rules run unrecorded.
   */
  createGraph?: boolean;
  /**
   * grad() only: a target with no path to the root gets a zero gradient instead of an error
   * (PyTorch's allow_unused with materialize_grads). Default false.
   */
  allowUnused?: boolean;
}

// Rules built only from recorded ops (or whose gradient kernels record differentiable nodes):
// under createGraph they run with recording on. Any other rule runs unrecorded and its results
// are marked so that differentiating through them refuses, naming the kernel.
const composableRules = new WeakSet<GradRule>();
const ruleKernels = new WeakMap<GradRule, string>();

/** Marks `rule` as made of recorded ops, so its results can be differentiated again (createGraph). */
export function composable<R extends GradRule>(rule: R): R {
  composableRules.add(rule);
  return rule;
}

/** Names the dedicated gradient kernel of a rule that is not composable (for the refusal message). */
export function gradKernel<R extends GradRule>(rule: R, kernel: string): R {
  ruleKernels.set(rule, kernel);
  return rule;
}

/**
 * What a composable rule wraps its body in: a tidy normally (intermediates freed), a plain call
 * while recording under createGraph (intermediates are inputs of recorded nodes and must live
 * on, in the caller's scope).
 */
export function ruleScope<T>(fn: () => T): T {
  return isGradEnabled() ? fn() : tidy(fn);
}

/** One recorded op on the autograd tape: what produced a tensor that requires a gradient (`tensor.node`). */
export interface TapeNode {
  /** Recording order, unique per process. */
  readonly id: number;
  /** The op's name ('matmul', 'conv2d', …). */
  readonly op: string;
  /** The op's tensor inputs, in argument order. */
  readonly inputs: Tensor[];
  /** The tensor the op returned. */
  readonly output: Tensor;
  /** The op's non-tensor arguments (strides, axes, …). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Extra tensors the rule needs (e.g. max-pool argmax); kept alive by the caller's scope. */
  readonly saved: Tensor[];
  /** null: the op is not differentiable; backward through it is an error naming it. */
  readonly rule: GradRule | null;
}

// Synchronous noGrad calls now on the JS stack: recording is off only while they run, never
// while the event loop runs someone else's code (a training step recorded while an explanation
// awaits). Where the runtime has AsyncLocalStorage, the mode follows each call's own async work.
let noGradDepth = 0;
let nextNode = 1;
let asyncMode: { getStore(): boolean | undefined; run<R>(store: boolean, fn: () => R): R } | null = null;

/** Whether ops record on the tape here and now: false inside `noGrad`. */
export function isGradEnabled(): boolean {
  return noGradDepth === 0 && (asyncMode === null || asyncMode.getStore() !== true);
}

/**
 * Runs `fn` without recording (inference, optimiser updates). An async `fn` is followed across its
 * awaits where the runtime has AsyncLocalStorage (Node, Deno), and code running meanwhile
 * elsewhere still records. A browser has none: there an async `fn` is refused before it runs;
 * wrap the synchronous parts instead, `noGrad(() => ops)`, then await. (A plain fn returning a
 * promise, `noGrad(() => y.data())`, is fine: its ops ran synchronously.)
 */
export function noGrad<T>(fn: () => T): T {
  if (followsAwait()) {
    asyncMode ??= asyncContext<boolean>();
    if (asyncMode) return asyncMode.run(true, fn);
  }
  if (isAsyncFunction(fn))
    throw new LanternaError(
      'noGrad(async …): this runtime has no AsyncLocalStorage (a browser), so recording could not stay off across awaits ' +
        'without turning it off for all other code too; wrap the synchronous parts instead: noGrad(() => ops), then await',
    );
  noGradDepth++;
  try {
    return fn();
  } finally {
    noGradDepth--;
  }
}

/** Called by every op after its forward. Records only when some input requires a gradient. */
export function record(
  op: string,
  inputs: Tensor[],
  output: Tensor,
  rule: GradRule | null,
  attrs: Record<string, unknown> = {},
  saved: Tensor[] = [],
): Tensor {
  if (!isGradEnabled()) return output;
  if (!inputs.some((t) => t.requiresGrad)) {
    // Marks what is computed from a gradient, so that grad() of it can say why it cannot work.
    if (inputs.some((t) => t.fromGrad)) output.fromGrad = true;
    return output;
  }
  output.requiresGrad = true;
  output.node = { id: nextNode++, op, inputs, output, attrs, saved, rule };
  if (anomalyOn(output.storage.gpu)) noteCreation(output.node);
  return output;
}

/** Nodes reachable from `root`, children before parents (post-order), without recursion. */
export function topoOrder(root: Tensor): TapeNode[] {
  const order: TapeNode[] = [];
  if (!root.node) return order;
  const seen = new Set<TapeNode>();
  const stack: [TapeNode, boolean][] = [[root.node, false]];
  while (stack.length) {
    const [n, expanded] = stack.pop()!;
    if (expanded) {
      order.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    for (const t of n.inputs) if (t.node && !seen.has(t.node)) stack.push([t.node, false]);
  }
  return order;
}

/** One node of the recorded graph as plain data (see `listGraph`). */
export interface GraphEntry {
  /** The node's tape id. */
  id: number;
  /** The op's name. */
  op: string;
  /**
   * The op's inputs: tensor id, shape, whether it requires a gradient, its name and the op that made it
   * (absent for leaves).
   */
  inputs: { id: number; shape: number[]; requiresGrad: boolean; name?: string; op?: string }[];
  /** The output tensor's id and shape. */
  output: { id: number; shape: number[] };
  /** A copy of the op's non-tensor arguments. */
  attrs: Record<string, unknown>;
  /** False when the op has no gradient rule: backward through it throws. */
  differentiable: boolean;
}

/** The recorded graph behind `root`, in execution order. */
export function listGraph(root: Tensor): GraphEntry[] {
  return topoOrder(root).map((n) => ({
    id: n.id,
    op: n.op,
    inputs: n.inputs.map((t) => ({ id: t.id, shape: [...t.shape], requiresGrad: t.requiresGrad, name: t.name, op: t.node?.op })),
    output: { id: n.output.id, shape: [...n.output.shape] },
    attrs: { ...n.attrs },
    differentiable: n.rule !== null,
  }));
}

/** How `formatGraph` writes the graph. */
export interface FormatGraphOptions {
  /**
   * 'text' (default): one line per op; 'dot': Graphviz DOT (`dot -Tsvg`); 'json': `GraphJson`
   * (nodes with ids, ops, shapes, dtypes, inputs, saved tensors' shapes; edges).
   */
  format?: 'text' | 'dot' | 'json';
}

// Set by engine/graph_export.ts (it imports this file for topoOrder).
let exporters: { dot(root: Tensor): string; json(root: Tensor): unknown } | null = null;
/** Registers the DOT and JSON writers (engine/index.ts does, once). */
export function setGraphExporters(e: typeof exporters): void {
  exporters = e;
}

/**
 * The graph behind `root` as text: by default a table, one op per line
 * (`#7 = matmul(#3, #5(w)[4,2]) -> [3,2]`); `{ format: 'dot' }` for Graphviz, `{ format: 'json' }`
 * for a JSON document (see `GraphJson`).
 */
export function formatGraph(root: Tensor, opts: FormatGraphOptions = {}): string {
  const format = opts.format ?? 'text';
  if (format === 'dot' || format === 'json') {
    if (!exporters) throw new LanternaError('graph exporters not registered: import the engine through engine/index.ts');
    return format === 'dot' ? exporters.dot(root) : JSON.stringify(exporters.json(root), null, 1);
  }
  if (format !== 'text') throw new LanternaError(`formatGraph: format '${String(format)}' is not one of text, dot, json`);
  return listGraph(root)
    .map((e) => {
      const ins = e.inputs.map((i) => `#${i.id}${i.name ? `(${i.name})` : ''}${fmtShape(i.shape)}`).join(', ');
      return `#${e.output.id} = ${e.op}(${ins}) -> ${fmtShape(e.output.shape)}`;
    })
    .join('\n');
}

// Ops are imported lazily: ops import this file to record themselves.
type Helpers = { add(a: Tensor, b: Tensor): Tensor; onesLike(t: Tensor): Tensor; zerosLike(t: Tensor): Tensor };
let helpers: Helpers | null = null;
/** Registers the ops backward needs (engine/index.ts does, once). */
export function setAutogradHelpers(h: Helpers): void {
  helpers = h;
}
function h(): Helpers {
  if (!helpers) throw new LanternaError('autograd helpers not registered: import the engine through engine/index.ts');
  return helpers;
}

function accumulate(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor, op: string, keepAll: boolean): void {
  if (g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i]))
    throw new LanternaError(`gradient rule of '${op}' returned ${fmtShape(g.shape)} for an input of shape ${fmtShape(t.shape)}`);
  const prev = grads.get(t);
  if (!prev) {
    grads.set(t, g);
    return;
  }
  const sum = h().add(prev, g);
  if (!keepAll) {
    prev.dispose();
    g.dispose();
  }
  grads.set(t, sum);
}

function runHooks(t: Tensor, g: Tensor, keepAll = false): Tensor {
  for (const fn of t.hooks) {
    const r = fn(g);
    if (r && r !== g) {
      if (!keepAll) g.dispose();
      g = r;
    }
  }
  return g;
}

/** The message of a refused second derivative through `op`. */
function refusal(op: string, rule: GradRule): string {
  return `second derivative through ${op} is not supported (its gradient uses the dedicated kernel ${ruleKernels.get(rule) ?? op + '.grad'})`;
}

/**
 * Runs a rule under createGraph: recorded where it is composable; else unrecorded, its results
 * made the outputs of rule-less nodes (on dy and the op's inputs) that refuse to be differentiated.
 */
function runRecorded(n: TapeNode, dy: Tensor, needs: boolean[]): (Tensor | null)[] {
  const rule = n.rule!;
  if (composableRules.has(rule) || !isGradEnabled()) return rule(n, dy, needs);
  const gs = noGrad(() => rule(n, dy, needs));
  const deps = [dy, ...n.inputs];
  if (!deps.some((t) => t.requiresGrad)) return gs;
  return gs.map((g) => {
    if (!g) return g;
    const out = g === dy || g.node || n.inputs.includes(g) ? view(g, g.shape) : g;
    out.requiresGrad = true;
    out.node = { id: nextNode++, op: `${n.op}.grad`, inputs: deps, output: out, attrs: { refusal: refusal(n.op, rule) }, saved: [], rule: null };
    return out;
  });
}

function walk(op: string, root: Tensor, seed: Tensor | undefined, targets: Set<Tensor> | null, createGraph = false): Map<Tensor, Tensor> {
  if (!root.requiresGrad) {
    if (root.fromGrad)
      throw new LanternaError(
        `${op}: ${root.describe()} is computed from a gradient that was not recorded; pass { createGraph: true } to the grad() or backward() that made it to differentiate it again`,
      );
    throw new LanternaError(`${op}: ${root.describe()} does not depend on any tensor that requires a gradient`);
  }
  // As PyTorch: only a single value has an implied seed (1); otherwise say which vector-Jacobian product is wanted.
  if (!seed && root.size !== 1)
    throw new LanternaError(
      `${op}: ${root.describe()} is not a scalar; pass a seed of shape ${fmtShape(root.shape)} (the vector of the vector-Jacobian product), or reduce it first (sum, mean)`,
    );
  if (seed && (seed.dtype !== root.dtype || seed.shape.length !== root.shape.length || seed.shape.some((d, i) => d !== root.shape[i])))
    throw new LanternaError(`${op}: seed ${seed.describe()} must have exactly the shape and dtype of ${root.describe()}`);
  const order = topoOrder(root);
  // Which tensors lead to something we want a gradient for; nothing else is computed.
  const wanted = (t: Tensor) => (targets ? targets.has(t) : t.requiresGrad && !t.node);
  const leads = new Set<Tensor>();
  for (const n of order) {
    for (const t of n.inputs) if (!t.node && wanted(t)) leads.add(t);
    if (wanted(n.output) || n.inputs.some((t) => leads.has(t))) leads.add(n.output);
  }

  const grads = new Map<Tensor, Tensor>();
  const start = seed ?? h().onesLike(root);
  grads.set(root, start);
  const done = new Map<Tensor, Tensor>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    let dy = grads.get(n.output);
    if (!dy) continue;
    grads.delete(n.output);
    dy = runHooks(n.output, dy, createGraph);
    const isTarget = targets?.has(n.output) ?? false;
    if (isTarget) done.set(n.output, dy);
    const needs = n.inputs.map((t) => leads.has(t) && t.requiresGrad);
    if (needs.some(Boolean)) {
      if (!n.rule && typeof n.attrs.refusal === 'string') throw new LanternaError(`${op}: ${n.attrs.refusal}`);
      if (!n.rule)
        throw new LanternaError(
          `no gradient is defined for op '${n.op}' (inputs ${n.inputs.map((t) => fmtShape(t.shape)).join(', ')}); it cannot be differentiated`,
        );
      for (const t of [...n.inputs, ...n.saved])
        if (t.disposed) throw new LanternaError(`backward through '${n.op}': tensor #${t.id} ${fmtShape(t.shape)} was disposed before backward()`);
      const gs = asBackward(n, () => (createGraph ? runRecorded(n, dy!, needs) : noGrad(() => n.rule!(n, dy!, needs))));
      // A rule may pass dy through, or return one tensor for two inputs: give each use its own view.
      const used = new Set<Tensor>([dy]);
      n.inputs.forEach((t, k) => {
        let g = gs[k];
        if (!g) return;
        if (!needs[k]) {
          if (!used.has(g) && !createGraph) g.dispose();
          return;
        }
        // Under createGraph nothing is freed here (the tensors are inputs of recorded nodes; the
        // caller's scope frees them), and a plain view would drop the node: share the tensor.
        if (used.has(g) && !createGraph) g = view(g, g.shape);
        used.add(g);
        accumulate(grads, t, g, n.op, createGraph);
      });
    }
    if (!isTarget) {
      if (n.output.retainsGrad) {
        n.output.grad?.dispose();
        dy.fromGrad = true;
        n.output.grad = keep(dy);
      } else if (dy !== seed && !createGraph) dy.dispose();
    }
  }
  // What remains are gradients of leaves (or targets that are leaves).
  for (const [t, g] of grads) done.set(t, runHooks(t, g, createGraph));
  // A recorded gradient that is still constant (relu's, a linear function's) is no error to
  // differentiate: it just does not depend on anything, as the plain message says.
  if (!createGraph) for (const g of done.values()) g.fromGrad = true;
  return done;
}

/**
 * Gradients of `root` with respect to every leaf that requires one; they are added to each
 * leaf's `.grad` (zeroGrad() clears it). Without `seed`, root must hold a single value; a seed has
 * exactly root's shape and dtype and gives the vector-Jacobian product seedᵀ·∂root/∂leaf.
 * With `{ createGraph: true }` the pass is recorded and each `.grad` can be differentiated again.
 */
export function backward(root: Tensor, seed?: Tensor, opts: GradOptions = {}): void {
  asBackward(null, () => backwardPass(root, seed, opts));
}

function backwardPass(root: Tensor, seed: Tensor | undefined, opts: GradOptions): void {
  const cg = !!opts.createGraph;
  const grads = walk('backward', root, seed, null, cg);
  for (const [t, g] of grads) {
    if (t.grad) {
      const sum = h().add(t.grad, g);
      if (!cg) t.grad.dispose();
      if (!cg) g.dispose();
      sum.fromGrad = true;
      t.grad = keep(sum);
    } else t.grad = keep(g);
  }
}

/**
 * Gradients of `root` with respect to `targets` (leaves or intermediate tensors), computing
 * only what lies on paths from root to targets. The results belong to the caller's scope.
 * `seed` as for backward(). With `{ createGraph: true }` the backward pass is recorded on the
 * tape, so the results can be differentiated again (second derivatives, Hessian-vector products);
 * an op whose gradient has no differentiable form refuses then, naming itself.
 */
export function grad(root: Tensor, targets: Tensor[], seed?: Tensor, opts: GradOptions = {}): Tensor[] {
  const grads = asBackward(null, () => walk('grad', root, seed, new Set(targets), !!opts.createGraph));
  return targets.map((t) => {
    const g = grads.get(t);
    if (g) return g;
    if (opts.allowUnused) return h().zerosLike(t);
    throw new LanternaError(`grad: ${t.describe()} is not on a differentiable path to ${root.describe()}`);
  });
}
