// The graph model (Keras' Functional): nodes, each one call of a layer on the outputs of earlier
// nodes, in an order where every input comes first. A layer called twice is one layer (one set of
// weights) in two nodes; a Model is a Layer, so a model can be a node of another. Sequential
// (sequential.ts) is the case of a chain. Forward runs the nodes in order, captures the outputs of
// any layers asked for (CAM needs that), and finds the logits before the final softmax.

import * as E from './engine.ts';
import type { Tensor } from './engine.ts';
import { Layer, hasPreActivation, isMergeLayer, type CallContext, type Weight } from './layer.ts';
import { finalSoftmax } from './head.ts';
import { InputLayer } from './layers/simple.ts';
import { Rng } from './random.ts';

/** Output `out` of node `node` (out > 0 only for a nested model with several outputs). */
export interface TensorRef {
  node: number;
  out: number;
}

export interface GraphNode {
  /** The layer called; an InputLayer for the model's inputs. */
  layer: Layer;
  inputs: TensorRef[];
  /** Which call of `layer` in this model (Keras' node index: 0 for its first). */
  call: number;
  /** Output shapes (batch excluded), set when built. */
  shapes: number[][];
}

/** What `Model.forward` returns: outputs, captured layer outputs and logits. */
export interface ForwardResult {
  /** The chosen output (the first unless `output` was given). */
  output: Tensor;
  /** Every output of the model, in output order. */
  outputs: Tensor[];
  /** Outputs of the layers asked for, by the name asked. */
  captured: Map<string, Tensor>;
  /**
   * The input of the chosen output's final softmax, [N, C] like the output (see nn/head.ts), or
   * null for a model without one.
   */
  logits: Tensor | null;
}

/** Options of `Model.forward`. */
export interface ForwardOptions {
  /** Which output is `output` and gets `logits`: an index or the output layer's name. */
  output?: number | string;
  /**
   * Layer outputs given instead of computed, by layer name (as `capture` names them; 'outer/inner'
   * inside a nested model): each is [N, ...that layer's output shape], N the input's batch. Only
   * the nodes the outputs still need run, so in a chain the layers before a replaced one are
   * skipped (Ablation-CAM re-runs just the layers after the one it ablates).
   */
  replace?: Map<string, Tensor>;
}

/** A tensor of a model being defined: what `input()` and `apply()` return. */
export class SymbolicTensor {
  constructor(
    /** The layer whose call produced this tensor (an InputLayer for `input()`). */
    readonly layer: Layer,
    /** The symbolic tensors that call took. */
    readonly inputs: SymbolicTensor[],
    /** Output index of `layer`'s call (nested models may return several). */
    readonly out: number,
    /** The shape without the batch dimension. */
    readonly shape: number[],
    /** Identifies the call: the outputs of one call share it. */
    readonly call: object,
  ) {}
}

/** A model input of `shape` (batch excluded), as keras.Input. */
export function input(shape: number[], name?: string): SymbolicTensor {
  return new SymbolicTensor(new InputLayer(shape, name), [], 0, shape, {});
}

const names = new Map<string, number>();
function autoName(l: Layer): void {
  if (l.name) return;
  const n = names.get(l.baseName) ?? 0;
  names.set(l.baseName, n + 1);
  l.name = n === 0 ? l.baseName : `${l.baseName}_${n}`;
}

/** Calls `layer` on symbolic inputs (building it at its first call, checking shapes at later ones). */
export function apply(layer: Layer, ...xs: SymbolicTensor[]): SymbolicTensor {
  return applyMany(layer, ...xs)[0];
}

/** `apply` for a layer with several outputs (a nested model). */
export function applyMany(layer: Layer, ...xs: SymbolicTensor[]): SymbolicTensor[] {
  autoName(layer);
  const shapes = xs.map((x) => x.shape);
  const outShapes = buildFor(layer, shapes, new Rng(1));
  const call = {};
  return outShapes.map((s, i) => new SymbolicTensor(layer, xs, i, s, call));
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

/** Builds `layer` for `shapes` at its first call; checks them at the next. Returns the output shapes. */
export function buildFor(layer: Layer, shapes: number[][], rng: Rng): number[][] {
  const where = `layer '${layer.name}' (${layer.className})`;
  if (layer instanceof Model) return layer.buildInputs(shapes, rng);
  if (isMergeLayer(layer)) {
    if (!layer.built) layer.buildMany(shapes, rng);
    else if (layer.inputShapes!.map(fmt).join() !== shapes.map(fmt).join())
      throw new Error(`${where} was built for ${layer.inputShapes!.map(fmt).join(' + ')} but is called on ${shapes.map(fmt).join(' + ')}`);
    return [layer.outputShape!];
  }
  if (shapes.length !== 1) throw new Error(`${where} takes one input, it is given ${shapes.length} (${shapes.map(fmt).join(', ')})`);
  if (!layer.built) layer.build(shapes[0], rng);
  else if (layer.inputShape!.join() !== shapes[0].join()) throw new Error(`${where} was built for ${fmt(layer.inputShape!)} but receives ${fmt(shapes[0])}`);
  return [layer.outputShape!];
}

/** A requested capture: which node, and (inside a nested model) which name to pass down. */
interface CapturePlan {
  here: Map<number, string[]>;
  down: Map<number, Map<string, string>>;
}

/** Replaced layer outputs: at this model's nodes, and those passed down into nested models. */
interface ReplacePlan {
  here: Map<number, Tensor>;
  down: Map<number, Map<string, Tensor>>;
}

/**
 * A graph model (Keras' Functional): `new Model({ inputs, outputs })` from the symbolic tensors of
 * `input()` and `apply()`. Nodes are layer calls in an order where every input comes first; a layer
 * called twice shares its weights; a model can be a layer of another. `forward` runs it on a batch
 * (with captures, logits and replaced layer outputs), `predict` on host data.
 */
export class Model extends Layer {
  readonly className: string = 'Functional';
  // Set when built (see finishBuild); typed as a built model's, as Sequential's always were.
  declare inputShape: number[];
  declare outputShape: number[];
  /** The graph: one node per layer call, every node after its inputs (inputs first). */
  readonly nodes: GraphNode[] = [];
  /** Nodes of the model's inputs, in input order. */
  inputNodes: number[] = [];
  /** The model's outputs, as (node, output index) pairs. */
  outputRefs: TensorRef[] = [];
  /**
   * The random source for weight initialisation (seeded by the constructor's `seed`, default 1).
   */
  readonly rng: Rng;

  constructor(o: { inputs?: SymbolicTensor | SymbolicTensor[]; outputs?: SymbolicTensor | SymbolicTensor[]; name?: string; seed?: number } = {}) {
    super(o.name ?? 'model');
    this.rng = new Rng(o.seed ?? 1);
    if (o.inputs && o.outputs) this.setGraph([o.inputs].flat(), [o.outputs].flat());
  }

  /** Lays out the nodes reachable from `outputs` back to `inputs` (every input first). */
  protected setGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): void {
    const where = `model '${this.name}'`;
    const ids = new Map<object, number>();
    const calls = new Map<Layer, number>();
    for (const [i, t] of inputs.entries()) {
      if (!(t.layer instanceof InputLayer)) throw new Error(`${where}: input ${i} is the output of layer '${t.layer.name}', not an input()`);
      ids.set(t.call, this.addNode(t.layer, [], calls, [t.shape]));
      this.inputNodes.push(ids.get(t.call)!);
    }
    const visiting = new Set<object>();
    const visit = (t: SymbolicTensor): number => {
      const known = ids.get(t.call);
      if (known !== undefined) return known;
      if (t.layer instanceof InputLayer) throw new Error(`${where}: output depends on input '${t.layer.name}', which is not among the model's inputs (${inputs.map((x) => x.layer.name).join(', ')})`);
      if (visiting.has(t.call)) throw new Error(`${where}: a cycle through layer '${t.layer.name}'`);
      visiting.add(t.call);
      const refs = t.inputs.map((x) => ({ node: visit(x), out: x.out }));
      visiting.delete(t.call);
      const id = this.addNode(t.layer, refs, calls, null);
      ids.set(t.call, id);
      return id;
    };
    this.outputRefs = outputs.map((t) => ({ node: visit(t), out: t.out }));
    this.orderAsKeras(inputs.length);
    this.finishBuild();
  }

  /**
   * Puts the nodes in Keras' order (functional._map_graph_network): by depth — the longest path
   * to an output — decreasing, ties in the order a depth-first walk from the outputs first meets
   * their layers. Summary, config and layers then list layers as Keras does.
   */
  private orderAsKeras(numInputs: number): void {
    const n = this.nodes.length;
    const depth = new Array<number>(n).fill(0);
    for (let i = n - 1; i >= 0; i--) for (const r of this.nodes[i].inputs) depth[r.node] = Math.max(depth[r.node], depth[i] + 1);
    const first = new Map<Layer, number>();
    const seen = new Set<number>();
    const walkOnce = (i: number): void => {
      if (seen.has(i)) return;
      seen.add(i);
      if (!first.has(this.nodes[i].layer)) first.set(this.nodes[i].layer, first.size);
      for (const r of this.nodes[i].inputs) walkOnce(r.node);
    };
    for (const r of this.outputRefs) walkOnce(r.node);
    for (let i = 0; i < numInputs; i++) walkOnce(this.inputNodes[i]);
    const order = [...this.nodes.keys()].sort((a, b) => depth[b] - depth[a] || first.get(this.nodes[a].layer)! - first.get(this.nodes[b].layer)! || this.nodes[a].call - this.nodes[b].call);
    const where = new Array<number>(n);
    order.forEach((old, i) => (where[old] = i));
    const nodes = order.map((i) => this.nodes[i]);
    for (const node of nodes) node.inputs = node.inputs.map((r) => ({ node: where[r.node], out: r.out }));
    this.nodes.splice(0, n, ...nodes);
    this.inputNodes = this.inputNodes.map((i) => where[i]);
    this.outputRefs = this.outputRefs.map((r) => ({ node: where[r.node], out: r.out }));
    // A layer's calls keep their numbers (Keras' node indices) in the order they were made.
  }

  /** Appends a node; `shapes` for inputs, else computed from its inputs when built. */
  protected addNode(layer: Layer, inputs: TensorRef[], calls: Map<Layer, number>, shapes: number[][] | null): number {
    const call = calls.get(layer) ?? 0;
    calls.set(layer, call + 1);
    this.nodes.push({ layer, inputs, call, shapes: shapes ?? [] });
    return this.nodes.length - 1;
  }

  /** Distinct layers in node order, inputs excluded (as Sequential.layers). */
  get layers(): Layer[] {
    const seen = new Set<Layer>();
    for (const n of this.nodes) if (!(n.layer instanceof InputLayer)) seen.add(n.layer);
    return [...seen];
  }

  /** The InputLayers, in input order. */
  get inputLayers(): InputLayer[] {
    return this.inputNodes.map((i) => this.nodes[i].layer as InputLayer);
  }

  /** Every input's shape (batch excluded), in input order. */
  get inputShapes(): number[][] {
    return this.inputLayers.map((l) => l.shape);
  }

  /** The output layers' names, in output order (the same layer twice reads name[k]). */
  get outputNames(): string[] {
    return this.outputRefs.map((r) => this.nodeName(r.node));
  }

  /** Node `i`'s name: the layer's name, with `[call]` when the layer is called more than once. */
  nodeName(i: number): string {
    const n = this.nodes[i];
    return n.call > 0 || this.callsOf(n.layer) > 1 ? `${n.layer.name}[${n.call}]` : n.layer.name;
  }

  /** How many nodes call `layer`. */
  callsOf(layer: Layer): number {
    return this.nodes.filter((n) => n.layer === layer).length;
  }

  /** Every output's shape (batch excluded), in output order. */
  get outputShapes(): number[][] {
    return this.outputRefs.map((r) => this.nodes[r.node].shapes[r.out]);
  }

  /** Shape inference through every node (building each layer at its first call). */
  protected finishBuild(): void {
    for (const n of this.nodes) {
      if (n.layer instanceof InputLayer) continue;
      const shapes = n.inputs.map((r) => this.nodes[r.node].shapes[r.out]);
      n.shapes = buildFor(n.layer, shapes, this.rng);
    }
    this.weights = this.layers.flatMap((l) => l.weights);
    // Graph listings name parameters as 'conv2d/kernel' (a nested model names its own layers').
    for (const l of this.layers) if (!(l instanceof Model)) for (const w of l.weights) w.value.name = `${l.name}/${w.name}`;
    // As a Layer: its first input's and first output's shapes.
    this.inputShape = this.inputShapes[0] ?? null;
    this.outputShape = this.outputShapes[0] ?? null;
    this.built = true;
  }

  /** As a layer inside another model: checks the shapes it is called on. */
  buildInputs(shapes: number[][], _rng: Rng): number[][] {
    if (!this.built && shapes.length === 1) this.build(shapes[0]);
    const want = this.inputShapes;
    if (shapes.length !== want.length || shapes.some((s, i) => s.join() !== want[i].join()))
      throw new Error(`model '${this.name}' takes ${want.map(fmt).join(' + ')}, it is called on ${shapes.map(fmt).join(' + ')}`);
    return this.outputShapes;
  }

  computeOutputShape(): number[] {
    return this.outputShapes[0];
  }

  call(x: Tensor, ctx: CallContext): Tensor {
    return this.run([x], ctx, new Map(), {}).outputs[0];
  }

  protected kerasConfig(): Record<string, unknown> {
    return {};
  }

  /**
   * The layer named `name`, looking into nested models too ('outer/inner' names one inside a given
   * nested call). Throws when there is none, or when the name is ambiguous.
   */
  getLayer(name: string): Layer {
    const p = this.findLayer(name);
    if (!p) throw new Error(`model '${this.name}' has no layer '${name}' (layers: ${this.layers.map((x) => x.name).join(', ')})`);
    return p.layer;
  }

  /** Every layer, those of nested models included (depth first), nested models themselves too. */
  allLayers(): Layer[] {
    return this.layers.flatMap((l) => (l instanceof Model ? [l, ...l.allLayers()] : [l]));
  }

  /**
   * Where layer `name` is: this model's node (a layer called twice needs `name[k]`), or a path
   * into a nested model ('outer/inner', or an inner name found in exactly one nested model).
   */
  findLayer(name: string): { layer: Layer; node: number; inner?: string } | null {
    if (!this.nodes.length) {
      // A Sequential not built yet has its layers but no nodes.
      const l = this.layers.find((x) => x.name === name);
      return l ? { layer: l, node: -1 } : null;
    }
    const m = /^(.*)\[(\d+)\]$/.exec(name);
    const base = m ? m[1] : name;
    const nodes = this.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.layer.name === base);
    if (nodes.length) {
      if (nodes.length > 1 && !m) throw new Error(`model '${this.name}': layer '${base}' is called ${nodes.length} times; name one call: ${nodes.map((_, k) => `${base}[${k}]`).join(', ')}`);
      const k = m ? Number(m[2]) : 0;
      if (k >= nodes.length) throw new Error(`model '${this.name}': layer '${base}' is called ${nodes.length} time${nodes.length > 1 ? 's' : ''}; there is no call ${k}`);
      return { layer: nodes[k].n.layer, node: nodes[k].i };
    }
    const slash = name.indexOf('/');
    if (slash > 0) {
      const outer = this.findLayer(name.slice(0, slash));
      if (outer && outer.layer instanceof Model) {
        const inner = outer.layer.findLayer(name.slice(slash + 1));
        if (inner) return { layer: inner.layer, node: outer.node, inner: name.slice(slash + 1) };
      }
      return null;
    }
    const hits = this.nodes
      .map((n, i) => ({ n, i }))
      .filter(({ n }) => n.layer instanceof Model)
      .map(({ n, i }) => ({ i, hit: (n.layer as Model).findLayer(name) }))
      .filter((h) => h.hit);
    const distinct = [...new Set(hits.map((h) => h.i))];
    if (distinct.length > 1) throw new Error(`model '${this.name}': layer '${name}' is inside ${distinct.length} calls of nested models; name one as ${distinct.map((i) => `${this.nodeName(i)}/${name}`).join(' or ')}`);
    return hits.length ? { layer: hits[0].hit!.layer, node: hits[0].i, inner: name } : null;
  }

  override get trainableWeights(): Weight[] {
    return this.layers.flatMap((l) => l.trainableWeights);
  }

  override countParams(): number {
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** Which output `o` names. */
  outputIndex(o: number | string | undefined): number {
    if (o === undefined) return 0;
    const i = typeof o === 'number' ? o : this.outputNames.indexOf(o);
    if (i < 0 || i >= this.outputRefs.length || !Number.isInteger(i))
      throw new Error(`model '${this.name}' has no output ${JSON.stringify(o)} (outputs: ${this.outputNames.join(', ')})`);
    return i;
  }

  /**
   * The chain of nodes ending at output `o`: walking back while a node has one input from a
   * node of one output, the first element being the node where the walk stops (a merge, a nested
   * model, an input's consumer). For finding the final softmax and a CAM head.
   */
  tailChain(o = 0): number[] {
    const chain: number[] = [];
    let i = this.outputRefs[o].node;
    for (;;) {
      const n = this.nodes[i];
      if (n.layer instanceof InputLayer) break;
      chain.unshift(i);
      if (n.inputs.length !== 1 || isMergeLayer(n.layer) || n.layer instanceof Model) break;
      i = n.inputs[0].node;
    }
    return chain;
  }

  /** The layers of `tailChain(o)`: the single-input chain that ends at output `o`. */
  tailLayers(o = 0): Layer[] {
    return this.tailChain(o).map((i) => this.nodes[i].layer);
  }

  /** Runs the model; x is [N, ...inputShape] (an array for several inputs). */
  forward(x: Tensor | Tensor[], ctx: CallContext = { training: false }, capture: string[] = [], opts: ForwardOptions = {}): ForwardResult {
    const xs = Array.isArray(x) ? x : [x];
    if (!this.built) this.build(xs[0].shape.slice(1));
    const want = this.inputShapes;
    if (xs.length !== want.length) throw new Error(`model '${this.name}' takes ${want.length} inputs (${this.inputLayers.map((l) => l.name).join(', ')}), got ${xs.length}`);
    xs.forEach((t, i) => {
      const e = want[i];
      if (t.rank !== e.length + 1 || e.some((d, k) => d !== t.shape[k + 1]))
        throw new Error(`model '${this.name}' expects input${want.length > 1 ? ` '${this.inputLayers[i].name}'` : ''} [N, ${e.join(', ')}], got [${t.shape.join(', ')}]`);
    });
    const o = this.outputIndex(opts.output);
    const captured = new Map<string, Tensor>();
    const r = this.run(xs, ctx, new Map(capture.map((c) => [c, c])), { logitsOf: o, captured, replace: opts.replace });
    const output = r.outputs[o];
    const logits = r.pre === null ? null : E.reshape(r.pre, [xs[0].shape[0], output.size / xs[0].shape[0]]);
    return { output, outputs: r.outputs, captured, logits };
  }

  /** Plans captures: `want` maps a name in this model to the key the caller stores it under. */
  private planCaptures(want: Map<string, string>): CapturePlan {
    const here = new Map<number, string[]>();
    const down = new Map<number, Map<string, string>>();
    for (const [name, key] of want) {
      const p = this.findLayer(name);
      if (!p) throw new Error(`model '${this.name}' has no layer '${name}' (layers: ${this.allLayers().map((x) => x.name).join(', ')})`);
      if (p.inner === undefined) here.set(p.node, [...(here.get(p.node) ?? []), key]);
      else {
        const m = down.get(p.node) ?? new Map<string, string>();
        m.set(p.inner, key);
        down.set(p.node, m);
      }
    }
    return { here, down };
  }

  /** Where each replacement goes, checking its shape against the layer's output. */
  private planReplacements(replace: Map<string, Tensor>, batch: number): ReplacePlan {
    const here = new Map<number, Tensor>();
    const down = new Map<number, Map<string, Tensor>>();
    for (const [name, t] of replace) {
      const p = this.findLayer(name);
      if (!p) throw new Error(`model '${this.name}' has no layer '${name}' to replace (layers: ${this.allLayers().map((x) => x.name).join(', ')})`);
      if (p.inner !== undefined) {
        const m = down.get(p.node) ?? new Map<string, Tensor>();
        m.set(p.inner, t);
        down.set(p.node, m);
        continue;
      }
      const shapes = this.nodes[p.node].shapes;
      const want = [batch, ...shapes[0]];
      if (shapes.length !== 1 || t.shape.join() !== want.join())
        throw new Error(`model '${this.name}': the replacement of layer '${name}' is [${t.shape.join(', ')}], its output is [${want.join(', ')}]${shapes.length > 1 ? ` (one of ${shapes.length} outputs)` : ''}`);
      here.set(p.node, t);
    }
    return { here, down };
  }

  /** Nodes the outputs (and captures) depend on when the nodes in `given` are given. */
  private neededNodes(given: Map<number, Tensor>, captures: Iterable<number>): Set<number> {
    const need = new Set<number>();
    const stack = [...this.outputRefs.map((r) => r.node), ...captures];
    while (stack.length) {
      const i = stack.pop()!;
      if (need.has(i)) continue;
      need.add(i);
      if (!given.has(i)) for (const r of this.nodes[i].inputs) stack.push(r.node);
    }
    return need;
  }

  /** Runs the nodes in order. `captured` receives the layer outputs asked for by `want`. */
  run(
    xs: Tensor[], ctx: CallContext, want: Map<string, string>,
    o: { logitsOf?: number; captured?: Map<string, Tensor>; replace?: Map<string, Tensor> },
  ): { outputs: Tensor[]; pre: Tensor | null } {
    const plan = this.planCaptures(want);
    const given = o.replace?.size ? this.planReplacements(o.replace, xs[0].shape[0]) : null;
    const needed = given ? this.neededNodes(given.here, [...plan.here.keys(), ...plan.down.keys()]) : null;
    const captured = o.captured ?? new Map<string, Tensor>();
    const values: Tensor[][] = new Array(this.nodes.length);
    // The node applying the final softmax of the chosen output (nn/head.ts), whose input or
    // pre-activation is kept as the logits.
    let siteNode = -1;
    let siteKind: 'input' | 'pre-activation' = 'input';
    if (o.logitsOf !== undefined) {
      const chain = this.tailChain(o.logitsOf);
      const site = finalSoftmax(chain.map((i) => this.nodes[i].layer));
      if (site) {
        siteNode = chain[site.index];
        siteKind = site.kind;
      }
    }
    let pre: Tensor | null = null;
    this.inputNodes.forEach((n, i) => (values[n] = [xs[i]]));
    for (const [i, n] of this.nodes.entries()) {
      if (n.layer instanceof InputLayer || (needed && !needed.has(i))) continue;
      const l = n.layer;
      let outs: Tensor[];
      const replaced = given?.here.get(i);
      const ins = replaced ? [] : l.runForwardPreHooks(n.inputs.map((r) => values[r.node][r.out]));
      if (replaced) {
        // A replaced final softmax leaves no logits (pre stays null).
        outs = [replaced];
      } else if (i === siteNode && siteKind === 'pre-activation' && hasPreActivation(l)) {
        pre = l.preActivation(ins[0]);
        outs = [E.softmax(pre, -1)];
      } else {
        if (i === siteNode) pre = ins[0];
        if (l instanceof Model) outs = l.run(ins, ctx, plan.down.get(i) ?? new Map(), { captured, replace: given?.down.get(i) }).outputs;
        else if (isMergeLayer(l)) outs = [l.callMany(ins, ctx)];
        else outs = [l.call(ins[0], ctx)];
      }
      if (!replaced && l.forwardHooks.length) outs = [l.runForwardHooks(ins, outs[0]), ...outs.slice(1)];
      values[i] = outs;
      for (const key of plan.here.get(i) ?? []) {
        const h = outs[0];
        if (ctx.watch && !h.requiresGrad) h.requiresGrad = true;
        captured.set(key, h);
      }
    }
    return { outputs: this.outputRefs.map((r) => values[r.node][r.out]), pre };
  }

  /** Creates every weight; a graph model is built when defined, so this only checks. */
  override build(_inputShape?: number[], _rng?: Rng): this {
    if (!this.built) this.finishBuild();
    return this;
  }

  /**
   * The largest batch (≤ requested) whose biggest activation fits one storage binding of the
   * adapter (lavapipe allows 128 MiB: cam2 at batch 500 would need 200 MB in one tensor).
   */
  safeBatch(requested: number): number {
    if (!this.built) this.build();
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const per = Math.max(...this.nodes.flatMap((n) => n.shapes.map(size)));
    const limit = E.gpu().limits.maxStorageBufferBindingSize;
    return Math.max(1, Math.min(requested, Math.floor(limit / (per * 4))));
  }

  /** Outputs (probabilities for a classifier) for host data, in batches; one readback per batch. */
  async predict(x: Float32Array, batchSize = 256, output?: number | string): Promise<Float32Array> {
    if (this.inputNodes.length !== 1) throw new Error(`model '${this.name}': predict() on host data takes one input; this model has ${this.inputNodes.length} (use forward())`);
    batchSize = this.safeBatch(batchSize);
    const shape = this.inputShape!;
    const per = shape.reduce((a, b) => a * b, 1);
    const n = x.length / per;
    if (!Number.isInteger(n)) throw new Error(`model '${this.name}': ${x.length} values are not whole inputs of [${shape}]`);
    const oi = this.outputIndex(output);
    const outPer = this.outputShapes[oi].reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * outPer);
    for (let s = 0; s < n; s += batchSize) {
      const b = Math.min(batchSize, n - s);
      const y = await E.tidy(() => {
        const t = E.noGrad(() => this.forward(E.tensor(x.subarray(s * per, (s + b) * per), [b, ...shape]), { training: false }, [], { output: oi }).output);
        return t.data();
      });
      out.set(y as Float32Array, s * outPer);
    }
    return out;
  }

  /** Keras model_config for this model (`{class_name: 'Functional', config}`, tf.keras 2 layout). */
  toKerasConfig(): Record<string, unknown> {
    const ref = (r: TensorRef) => [this.nodes[r.node].layer.name, this.nodes[r.node].call, r.out];
    const layers = [...new Set(this.nodes.map((n) => n.layer))].map((l) => {
      const calls = this.nodes.filter((n) => n.layer === l && !(l instanceof InputLayer));
      const config = l instanceof Model ? (l.toKerasConfig().config as Record<string, unknown>) : l.getConfig();
      if (l instanceof InputLayer) config.name = l.name;
      return {
        class_name: l.className,
        config: l instanceof InputLayer ? { ...config, dtype: 'float32' } : config,
        name: l.name,
        inbound_nodes: calls.map((n) => n.inputs.map((r) => [...ref(r), {}])),
      };
    });
    return {
      class_name: 'Functional',
      config: {
        name: this.name,
        trainable: true,
        layers,
        input_layers: this.inputNodes.map((i) => ref({ node: i, out: 0 })),
        output_layers: this.outputRefs.map(ref),
      },
    };
  }

  override dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
