// model.summary() in Keras' text layout: layer (type), output shape with None for the batch,
// parameter count, and totals.

import type { Sequential } from './sequential.ts';

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

export function summary(model: Sequential): string {
  if (!model.built) model.build();
  const line = (c: string) => c.repeat(65);
  const rows = [`Model: "${model.name}"`, line('_'), ...summaryRow(['Layer (type)', 'Output Shape', 'Param #']), line('=')];
  model.layers.forEach((l, i) => {
    rows.push(...summaryRow([`${l.name} (${l.className})`, `(None, ${l.outputShape!.join(', ')})`, fmt(l.countParams())]));
    rows.push(i === model.layers.length - 1 ? line('=') : '');
  });
  const total = model.countParams();
  const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  rows.push(`Total params: ${fmt(total)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(total - trainable)}`, line('_'));
  return rows.join('\n');
}
