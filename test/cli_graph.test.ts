// The CLI on a graph model: a residual block (Add) saved as Keras .h5 — gradcam's default layer is
// the block output after the merge, cam finds the GAP → Dense head through it, predict reads it;
// a model with two outputs needs --output (the error lists them), and is refused in one line.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { Add } from '../nn/layers/merge.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { Activation } from '../nn/layers/simple.ts';
import { apply, input, Model } from '../nn/model.ts';
import { saveModel } from '../nn/model_file.ts';
import { ready } from './helpers.ts';

await ready;
const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-cli-graph-'));

function lanterna(args: string[]) {
  const p = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')) };
}

function residual(twoOutputs: boolean): Model {
  const x = input([16, 16, 3], 'image');
  const a = apply(new Conv2D({ name: 'conv_a', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }), x);
  const b = apply(new Conv2D({ name: 'conv_b', filters: 6, kernelSize: 3, padding: 'same' }), a);
  const out = apply(new Activation('relu', 'block_out'), apply(new Add('block_add'), a, b));
  const pooled = apply(new GlobalAveragePooling2D({ name: 'avg_pool' }), out);
  const pred = apply(new Dense({ name: 'pred', units: 4, activation: 'softmax' }), pooled);
  const outputs = twoOutputs ? [pred, apply(new Dense({ name: 'aux', units: 2 }), pooled)] : [pred];
  return new Model({ inputs: x, outputs, name: twoOutputs ? 'two_out' : 'resblock' });
}

const png = new PNG({ width: 20, height: 18 });
for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
const IMG = join(TMP, 'img.png');
writeFileSync(IMG, PNG.sync.write(png));
const ONE = join(TMP, 'res.h5');
const TWO = join(TMP, 'two.h5');

test('gradcam, cam and predict on a residual graph from its .h5', async () => {
  const m = residual(false);
  await saveModel(m, ONE, { preprocessing: { pixels: 'unit' } });
  m.dispose();
  const g = lanterna(['gradcam', '--model', ONE, '--image', IMG, '--out', join(TMP, 'g.png')]);
  assert.is(g.status, 0, g.stderr.join('\n'));
  assert.match(g.stdout, /layer block_out 16×16/);
  assert.ok(existsSync(join(TMP, 'g.png')));
  const g2 = lanterna(['gradcam', '--model', ONE, '--image', IMG, '--layer', 'conv_a', '--out', join(TMP, 'g2.png')]);
  assert.is(g2.status, 0, g2.stderr.join('\n'));
  const c = lanterna(['cam', '--model', ONE, '--image', IMG, '--out', join(TMP, 'c.png')]);
  assert.is(c.status, 0, c.stderr.join('\n'));
  assert.match(c.stdout, /CAM from layer 'block_out' \(16×16\) weighted by 'pred'/);
  const p = lanterna(['predict', '--model', ONE, '--image', IMG, '--json']);
  assert.is(p.status, 0, p.stderr.join('\n'));
  const preds = JSON.parse(p.stdout).images[0].predictions;
  assert.is(preds.length, 4);
  assert.ok(Math.abs(preds.reduce((s: number, q: { score: number }) => s + q.score, 0) - 1) < 1e-5);
});

test('a model with two outputs needs --output; the error lists them in one line', async () => {
  const m = residual(true);
  await saveModel(m, TWO, { preprocessing: { pixels: 'unit' } });
  m.dispose();
  for (const cmd of [['predict'], ['gradcam', '--out', join(TMP, 'x.png')], ['cam', '--out', join(TMP, 'y.png')]]) {
    const r = lanterna([...cmd, '--model', TWO, '--image', IMG]);
    assert.is.not(r.status, 0);
    assert.is(r.stderr.length, 1, r.stderr.join('\n'));
    assert.match(r.stderr[0], /2 outputs \(pred, aux\); choose one with --output/);
  }
  assert.not.ok(existsSync(join(TMP, 'x.png')) || existsSync(join(TMP, 'y.png')));
  const ok = lanterna(['gradcam', '--model', TWO, '--image', IMG, '--output', 'pred', '--out', join(TMP, 'z.png')]);
  assert.is(ok.status, 0, ok.stderr.join('\n'));
  const bad = lanterna(['predict', '--model', TWO, '--image', IMG, '--output', 'nope']);
  assert.match(bad.stderr[0], /--output nope: model 'two_out' has no output "nope" \(outputs: pred, aux\)/);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
