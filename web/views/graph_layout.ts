// The Graph tab's drawing plan, without the DOM (so node tests can check it): a layered top-down
// layout of a recorded graph (engine/graph_export.ts's GraphJson), and the summaries a click shows.
// An op sits one row below its deepest op input; a leaf (parameter, input, labels) sits in the
// row just above its first consumer, beside that consumer's op input, so that every edge points
// down exactly one row or more and the op chain stays in the first column.

import type { GraphJson, GraphJsonNode } from '../../engine/graph_export.ts';

/** One placed node: its box's top-left corner, in SVG units. */
export interface Placed {
  node: GraphJsonNode;
  row: number;
  col: number;
  x: number;
  y: number;
}

/** The layout: node boxes, edge endpoints, the drawing's size. */
export interface Layout {
  nodes: Placed[];
  edges: { from: Placed; to: Placed }[];
  width: number;
  height: number;
}

export const BOX = { w: 168, h: 46, gapX: 26, gapY: 34 };

/** Rows by depth, columns in order: ops first, then leaves by id. */
export function layoutGraph(g: GraphJson): Layout {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const row = new Map<number, number>();
  // nodes lists ops in execution order, so every op input's row is known before the op's.
  for (const n of g.nodes) {
    if (n.op === 'leaf') continue;
    let r = 1;
    for (const i of n.inputs) if (byId.get(i)?.op !== 'leaf') r = Math.max(r, (row.get(i) ?? 0) + 1);
    row.set(n.id, r);
  }
  for (const n of g.nodes) {
    if (n.op !== 'leaf') continue;
    const consumers = g.nodes.filter((m) => m.inputs.includes(n.id)).map((m) => row.get(m.id) ?? 1);
    row.set(n.id, consumers.length ? Math.max(0, Math.min(...consumers) - 1) : 0);
  }
  const rows = new Map<number, GraphJsonNode[]>();
  for (const n of g.nodes) {
    const r = row.get(n.id)!;
    if (!rows.has(r)) rows.set(r, []);
    rows.get(r)!.push(n);
  }
  const placed = new Map<number, Placed>();
  let cols = 1;
  for (const [r, ns] of rows) {
    ns.sort((a, b) => Number(a.op === 'leaf') - Number(b.op === 'leaf') || a.id - b.id);
    cols = Math.max(cols, ns.length);
    ns.forEach((node, col) =>
      placed.set(node.id, { node, row: r, col, x: BOX.gapX / 2 + col * (BOX.w + BOX.gapX), y: BOX.gapY / 2 + r * (BOX.h + BOX.gapY) }),
    );
  }
  const nRows = Math.max(...rows.keys()) + 1;
  return {
    nodes: [...placed.values()],
    edges: g.edges.map(([a, b]) => ({ from: placed.get(a)!, to: placed.get(b)! })),
    width: cols * (BOX.w + BOX.gapX),
    height: nRows * (BOX.h + BOX.gapY),
  };
}

/** min, max, mean, standard deviation and L2 norm of some values (NaN-free input assumed). */
export interface Summary {
  min: number;
  max: number;
  mean: number;
  std: number;
  norm: number;
  count: number;
}

export function summarise(v: ArrayLike<number>): Summary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sq += x * x;
  }
  const n = v.length;
  const mean = n ? sum / n : 0;
  return { min, max, mean, std: n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 0, norm: Math.sqrt(sq), count: n };
}

/** Counts of `v` in `bins` equal bins over [min, max] (one bin holding all when min = max). */
export function histogram(v: ArrayLike<number>, bins: number): { lo: number; hi: number; counts: number[] } {
  const { min, max } = summarise(v);
  const counts = new Array<number>(bins).fill(0);
  const width = max - min;
  for (let i = 0; i < v.length; i++) {
    const k = width > 0 ? Math.min(bins - 1, Math.floor(((v[i] - min) / width) * bins)) : Math.floor(bins / 2);
    counts[k]++;
  }
  return { lo: min, hi: max, counts };
}

/** A number in at most 4 significant digits, exponent form when tiny or huge. */
export function fmt(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}
