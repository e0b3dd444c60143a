// The Graph tab's layout and summaries (web/views/graph_layout.ts) on cam1's recorded training
// step: every edge points down, no two boxes overlap, the op chain stays in the first column,
// leaves sit just above their consumer; histogram counts add up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { lossOf } from '../nn/losses.ts';
import { preset } from '../nn/presets.ts';
import { histogram, layoutGraph, summarise } from '../web/views/graph_layout.ts';
import { ready } from './helpers.ts';

await ready;

const model = preset('cam1', 1);
const graph = E.tidy(() => {
  const x = E.tensor(new Float32Array(2 * 784).fill(0.5), [2, 28, 28, 1]);
  return E.graphJson(lossOf('categorical_crossentropy', model.forward(x, { training: true }), E.tensor([1, 2], [2], 'int32')));
});
model.dispose();

test("cam1's step: 11 ops in one column, one per row, edges pointing down, no overlap", () => {
  const l = layoutGraph(graph);
  const ops = l.nodes.filter((p) => p.node.op !== 'leaf');
  assert.is(ops.length, 11);
  assert.ok(ops.every((p) => p.col === 0), 'ops in column 0');
  assert.is(new Set(ops.map((p) => p.row)).size, 11);
  assert.is(l.edges.length, graph.edges.length);
  for (const { from, to } of l.edges) assert.ok(to.row > from.row, `${from.node.op}#${from.node.id} → ${to.node.op}#${to.node.id}`);
  const at = new Set(l.nodes.map((p) => `${p.row},${p.col}`));
  assert.is(at.size, l.nodes.length, 'two boxes share a place');
  for (const p of l.nodes) assert.ok(p.x >= 0 && p.y >= 0 && p.x < l.width && p.y < l.height, `box of #${p.node.id} outside`);
  const kernel = l.nodes.find((p) => p.node.name === 'conv2d_1/kernel')!;
  const consumer = l.nodes.find((p) => p.node.inputs.includes(kernel.node.id))!;
  assert.is(kernel.row, consumer.row - 1);
});

test('summaries and histograms: counts add up, extremes land in the end bins', () => {
  const v = Float32Array.from([-2, -1, 0, 0, 1, 3]);
  const s = summarise(v);
  assert.equal([s.min, s.max, s.count], [-2, 3, 6]);
  assert.ok(Math.abs(s.mean - 1 / 6) < 1e-12 && Math.abs(s.norm - Math.sqrt(15)) < 1e-12);
  const hst = histogram(v, 5);
  assert.equal(hst.counts, [1, 1, 2, 1, 1]);
  assert.equal(histogram(Float32Array.from([4, 4, 4]), 4).counts.reduce((a, b) => a + b), 3);
});

test.run();
