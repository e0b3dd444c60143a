// The recorded graph as data others can draw: JSON (one node per tensor, op or leaf, with its
// inputs by id) and Graphviz DOT (ops as ellipses, named leaves as boxes, edges input → op).

import type { Tensor } from './tensor.ts';
import { topoOrder } from './autograd.ts';

/** One tensor of the exported graph: an op's output, or a leaf (a parameter, an input, a constant). */
export interface GraphJsonNode {
  /** The tensor's id (`tensor.id`); ids in `inputs` and `edges` refer to it. */
  id: number;
  /** The op that made the tensor, or 'leaf' for a tensor no recorded op made. */
  op: string;
  /** The tensor's shape. */
  shape: number[];
  /** The tensor's dtype. */
  dtype: string;
  /** Ids of the op's inputs, in argument order (empty for a leaf). */
  inputs: number[];
  /** Shapes of the extra tensors the op saved for its gradient (e.g. max-pool argmax). */
  saved: number[][];
  /** Whether a gradient flows to this tensor. */
  requiresGrad: boolean;
  /** The tensor's name (layers name their weights). */
  name?: string;
  /** The op's non-tensor arguments, where JSON can hold them. */
  attrs?: Record<string, unknown>;
}

/** The recorded graph behind a tensor as plain data (`formatGraph(root, { format: 'json' })`, parsed). */
export interface GraphJson {
  /** Always 'lanterna-graph'. */
  format: 'lanterna-graph';
  /** Version of this layout. */
  version: 1;
  /** The id of the root tensor. */
  root: number;
  /** Leaves first, then ops in execution order. */
  nodes: GraphJsonNode[];
  /** [from, to] pairs of tensor ids: an input of an op, to the op's output. */
  edges: [number, number][];
}

/** The graph behind `root` as `GraphJson` (one node per tensor, leaves included). */
export function graphJson(root: Tensor): GraphJson {
  const order = topoOrder(root);
  const leaves = new Map<number, GraphJsonNode>();
  const ops: GraphJsonNode[] = [];
  const edges: [number, number][] = [];
  const leaf = (t: Tensor): GraphJsonNode => ({
    id: t.id,
    op: 'leaf',
    shape: [...t.shape],
    dtype: t.dtype,
    inputs: [],
    saved: [],
    requiresGrad: t.requiresGrad,
    ...(t.name ? { name: t.name } : {}),
  });
  for (const n of order) {
    for (const t of n.inputs) {
      if (!t.node && !leaves.has(t.id)) leaves.set(t.id, leaf(t));
      edges.push([t.id, n.output.id]);
    }
    ops.push({
      id: n.output.id,
      op: n.op,
      shape: [...n.output.shape],
      dtype: n.output.dtype,
      inputs: n.inputs.map((t) => t.id),
      saved: n.saved.map((t) => [...t.shape]),
      requiresGrad: n.output.requiresGrad,
      ...(n.output.name ? { name: n.output.name } : {}),
      attrs: jsonable(n.attrs),
    });
  }
  if (!root.node) leaves.set(root.id, leaf(root));
  return { format: 'lanterna-graph', version: 1, root: root.id, nodes: [...leaves.values(), ...ops], edges };
}

function jsonable(attrs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) {
    const t = typeof v;
    if (v === null || t === 'number' || t === 'string' || t === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) out[k] = [...v];
  }
  return out;
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** The graph behind `root` in Graphviz DOT: ops as ellipses (op and shape), leaves as boxes, edges input → op. */
export function graphDot(root: Tensor): string {
  const g = graphJson(root);
  const lines = ['digraph lanterna {', '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const n of g.nodes) {
    const shape = `${n.dtype === 'float32' ? '' : n.dtype}[${n.shape.join(',')}]`;
    if (n.op === 'leaf') {
      const style = n.requiresGrad ? 'shape=box, style=filled, fillcolor="#dbe8ff"' : 'shape=box, style=dashed';
      lines.push(`  t${n.id} [${style}, label=${quote(`${n.name ?? `#${n.id}`}\n${shape}`)}];`);
    } else {
      const root = n.id === g.root ? ', penwidth=2' : '';
      lines.push(`  t${n.id} [shape=ellipse${root}, label=${quote(`${n.op}\n${shape}`)}];`);
    }
  }
  for (const [a, b] of g.edges) lines.push(`  t${a} -> t${b};`);
  lines.push('}');
  return lines.join('\n');
}
