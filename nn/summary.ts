// model.summary() in Keras' text layout: layer (type), output shape with None for the batch,
// parameter count, and totals.

import type { Sequential } from './sequential.ts';

const fmt = (n: number) => n.toLocaleString('en-US');
const pad = (s: string, w: number) => (s.length >= w ? s + ' ' : s + ' '.repeat(w - s.length));

export function summary(model: Sequential): string {
  if (!model.built) model.build();
  const W = [29, 26, 10];
  const line = (c: string) => c.repeat(65);
  const rows = [`Model: "${model.name}"`, line('_'), pad(' Layer (type)', W[0]) + pad('Output Shape', W[1]) + 'Param #', line('=')];
  model.layers.forEach((l, i) => {
    rows.push(pad(` ${l.name} (${l.className})`, W[0]) + pad(`(None, ${l.outputShape!.join(', ')})`, W[1]) + fmt(l.countParams()));
    rows.push(i === model.layers.length - 1 ? line('=') : '');
  });
  const total = model.countParams();
  const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  rows.push(`Total params: ${fmt(total)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(total - trainable)}`, line('_'));
  return rows.join('\n');
}
