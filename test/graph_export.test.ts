// formatGraph's DOT and JSON forms (engine/graph_export.ts): node and edge counts on a known
// graph, saved tensors, names; DOT checked for structure (and by Graphviz where it is installed).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as E from '../engine/index.ts';
import { ready } from './helpers.ts';

await ready;

/** loss = sum(relu(maxPool(x)·w)): leaves x (constant) and w (named parameter); four ops. */
function known<T>(fn: (loss: E.Tensor, w: E.Tensor) => T): T {
  return E.tidy(() => {
    const x = E.tensor(Float32Array.from({ length: 16 }, (_, i) => i - 8), [1, 4, 4, 1]);
    const w = E.tensor([0.5, -1], [1, 2]).requireGrad();
    w.name = 'dense/kernel';
    const p = E.reshape(E.maxPool2d(x, { pool: 2 }), [4, 1]);
    const loss = E.sum(E.relu(E.matmul(p, w)));
    const r = fn(loss, w);
    w.dispose();
    return r;
  });
}

test('JSON: the known graph has 2 leaves, its 3 recorded ops, 4 edges; names, shapes and saved tensors', () => {
  const g = known((loss) => JSON.parse(E.formatGraph(loss, { format: 'json' })) as E.GraphJson);
  assert.is(g.format, 'lanterna-graph');
  // maxPool and reshape of a constant record nothing: p is a leaf, as the tape sees it.
  const ops = g.nodes.filter((n) => n.op !== 'leaf').map((n) => n.op);
  assert.equal(ops, ['matmul', 'relu', 'sum']);
  const leaves = g.nodes.filter((n) => n.op === 'leaf');
  assert.is(leaves.length, 2);
  assert.equal(leaves.map((n) => n.shape), [[4, 1], [1, 2]]);
  const w = leaves.find((n) => n.name === 'dense/kernel');
  assert.ok(w && w.requiresGrad && w.dtype === 'float32', JSON.stringify(leaves));
  assert.is(g.edges.length, 4);
  const ids = new Set(g.nodes.map((n) => n.id));
  for (const [a, b] of g.edges) assert.ok(ids.has(a) && ids.has(b), `edge ${a}->${b}`);
  for (const n of g.nodes) for (const i of n.inputs) assert.ok(g.edges.some(([a, b]) => a === i && b === n.id), `input ${i} of ${n.id} has its edge`);
  const root = g.nodes.find((n) => n.id === g.root)!;
  assert.is(root.op, 'sum');
  assert.equal(root.shape, []);
});

test('JSON: a max-pool of a parameter lists its saved argmax; attrs survive as plain data', () => {
  const g = E.tidy(() => {
    const x = E.tensor(Float32Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]).requireGrad();
    const out = E.graphJson(E.sum(E.maxPool2d(x, { pool: 2 })));
    x.dispose();
    return out;
  });
  const pool = g.nodes.find((n) => n.op === 'maxPool2d')!;
  assert.equal(pool.saved, [[1, 2, 2, 1]]);
  assert.equal(pool.shape, [1, 2, 2, 1]);
  assert.is(g.nodes.length, 3);
  assert.is(g.edges.length, 2);
});

test('DOT: a digraph with one statement per node, every edge between declared nodes, the parameter boxed', () => {
  const dot = known((loss) => E.formatGraph(loss, { format: 'dot' }));
  assert.ok(dot.startsWith('digraph lanterna {') && dot.trimEnd().endsWith('}'), dot);
  const declared = [...dot.matchAll(/^\s+(t\d+) \[(.*)\];$/gm)];
  assert.is(declared.length, 5);
  const names = new Set(declared.map((m) => m[1]));
  const edges = [...dot.matchAll(/^\s+(t\d+) -> (t\d+);$/gm)];
  assert.is(edges.length, 4);
  for (const [, a, b] of edges) assert.ok(names.has(a) && names.has(b), `${a} -> ${b}`);
  const w = declared.find((m) => m[2].includes('dense/kernel'))!;
  assert.ok(w[2].includes('shape=box'), w[2]);
  assert.ok(declared.some((m) => m[2].includes('label="matmul\\n[4,2]"')), dot);
  // Graphviz, where installed, must accept it (it is not installed for the tests).
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
  if (!r.error) assert.is(r.status, 0, r.stderr);
});

test('text stays the default; an unknown format is refused by name', () => {
  known((loss) => {
    assert.is(E.formatGraph(loss), E.formatGraph(loss, { format: 'text' }));
    assert.ok(E.formatGraph(loss).includes('= matmul('));
    assert.throws(() => E.formatGraph(loss, { format: 'svg' as 'dot' }), /format 'svg' is not one of text, dot, json/);
  });
});

test.run();
