// model.summary() in Keras' text layout: layer (type), output shape with None for the batch,
// parameter count, and totals.

import type { Layer } from './layer.ts';
import { InputLayer } from './layers/simple.ts';
import type { Model } from './model.ts';
import { Sequential } from './sequential.ts';

const fmt = (n: number) => n.toLocaleString('en-US');
const POSITIONS = [29, 55, 65]; // Keras' [.45, .85, 1.] of 65 columns

/**
 * One table row, wrapped inside its columns the way Keras 2.12+ wraps it (print_row in
 * layer_utils.print_summary): each cell keeps its column's width less the gap, a cell breaks early
 * after "),", "},", "]," or "',", and lines are printed until every cell is used up.
 */
export function summaryRow(fields: string[], positions = POSITIONS): string[] {
  const left = [...fields];
  const lines: string[] = [];
  while (left.some((f) => f.length > 0)) {
    let line = '';
    for (let col = 0; col < left.length; col++) {
      const last = col === positions.length - 1;
      const space = last ? 0 : 2;
      let cutoff = positions[col] - (col > 0 ? positions[col - 1] : 0) - space - (last ? 0 : 1);
      let fit = left[col].slice(0, cutoff);
      const breaks = ['),', '},', '],', "',"].map((b) => fit.indexOf(b)).filter((k) => k >= 0).map((k) => k + 2);
      if (breaks.length) fit = fit.slice(0, (cutoff = Math.min(...breaks)));
      if (col === 0) line += ' ';
      line += fit + ' '.repeat(space);
      left[col] = left[col].slice(cutoff);
      line += ' '.repeat(Math.max(0, positions[col] - line.length));
    }
    lines.push(line);
  }
  return lines;
}

/**
 * Keras' test for printing a model in the Sequential layout: one node per depth, each with one
 * input, and no layer called twice (layer_utils.print_summary's `sequential_like`).
 */
function sequentialLike(model: Model): boolean {
  if (model instanceof Sequential) return true;
  const layers = model.nodes.map((n) => n.layer);
  return model.inputNodes.length === 1 && model.outputRefs.length === 1 && new Set(layers).size === layers.length &&
    model.nodes.every((n, i) => n.inputs.length <= 1 && (i === 0 || (n.inputs.length === 1 && n.inputs[0].node === i - 1)));
}

const shapeText = (s: number[]) => `(None, ${s.join(', ')})`;
const FUNCTIONAL_POSITIONS = [29, 58, 68, 98]; // Keras 2.x's [.3, .6, .7, 1.] of 98 columns

export function summary(model: Model): string {
  if (!model.built) model.build();
  const seq = sequentialLike(model);
  const width = seq ? 65 : 98;
  const positions = seq ? POSITIONS : FUNCTIONAL_POSITIONS;
  const line = (c: string) => c.repeat(width);
  const head = ['Layer (type)', 'Output Shape', 'Param #', ...(seq ? [] : ['Connected to'])];
  const rows = [`Model: "${model.name}"`, line('_'), ...summaryRow(head, positions), line('=')];
  // A Functional model lists its InputLayers among its layers; a Sequential does not.
  const layers: Layer[] = model instanceof Sequential ? model.layers : [...new Set(model.nodes.map((n) => n.layer))];
  layers.forEach((l, i) => {
    const nodes = model.nodes.filter((n) => n.layer === l);
    const out = l instanceof InputLayer ? `[${shapeText(l.shape)}]` : nodes.length > 1 ? 'multiple' : shapeText(nodes[0]?.shapes[0] ?? l.outputShape!);
    const fields = [`${l.name} (${l.className})`, out, fmt(l.countParams())];
    if (!seq) {
      const from = nodes.flatMap((n) => n.inputs.map((r) => `'${model.nodes[r.node].layer.name}[${model.nodes[r.node].call}][${r.out}]'`));
      fields.push(`[${from.join(', ')}]`);
    }
    rows.push(...summaryRow(fields, positions));
    rows.push(i === layers.length - 1 ? line('=') : '');
  });
  const total = model.countParams();
  const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  rows.push(`Total params: ${fmt(total)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(total - trainable)}`, line('_'));
  return rows.join('\n');
}
