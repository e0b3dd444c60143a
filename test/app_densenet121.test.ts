// DenseNet121 built in code (nn/applications/densenet121.ts) against an independent PyTorch
// float64 implementation (scripts/reference/torch_densenet121.py, goldens in
// test/golden/densenet121/): a seeded random weights file in keras-applications' layout ('/' in
// 'conv1/conv' nesting the groups) is regenerated here, checked to hold the golden's numbers
// (digest), recognised, loaded through the official loader and compared: logits, probabilities,
// per-channel means of five layers and Grad-CAM maps at the two gradCamLayers, each to 1e-4 of
// its largest golden value. Also: Keras' layer names and parameter counts, include_top / pooling /
// input size / classes, the no-top file, and files that are not DenseNet121. Goldens at 64×64
// and at the default 224×224. Node only (files).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readKerasWeights } from '../nn/io/keras.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import { writeAppWeights } from '../nn/applications/weights_file.ts';
import { densenet121, loadDenseNet121Weights, randomDenseNet121Layers, recogniseDenseNet121, writeRandomDenseNet121Weights } from '../nn/applications/densenet121.ts';
import { recogniseResNet50 } from '../nn/applications/resnet50.ts';
import { goldenTest, meansCheck, readGolden, type MeansCase } from './app_golden.ts';
import { ready, throwsNaming } from './helpers.ts';

await ready;

interface Case extends MeansCase {
  options: { seed: number; inputShape: [number, number, number] };
  parameters: number;
}
const GOLDEN = readGolden<{ cases: Case[] }>('densenet121', 'torch_densenet121.json');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-densenet121-'));

test("the builder has Keras' layer names, order and parameter counts (8 062 504 with the top, 7 037 504 without)", () => {
  const m = densenet121();
  const names = m.layers.map((l) => l.name);
  assert.equal(names.slice(0, 13), [
    'zero_padding2d_1', 'conv1/conv', 'conv1/bn', 'conv1/relu', 'zero_padding2d_2', 'pool1', 'conv2_block1_0_bn', 'conv2_block1_0_relu',
    'conv2_block1_1_conv', 'conv2_block1_1_bn', 'conv2_block1_1_relu', 'conv2_block1_2_conv', 'conv2_block1_concat',
  ]);
  assert.equal(names.slice(-5), ['conv5_block16_concat', 'bn', 'relu', 'avg_pool', 'fc1000']);
  assert.is(names.length, 428); // Keras: 429 with the input layer
  assert.is(m.countParams(), 8062504);
  assert.equal(m.getLayer('pool2_conv').outputShape, [56, 56, 128]);
  assert.equal(m.getLayer('pool4_pool').outputShape, [7, 7, 512]);
  assert.equal(m.getLayer('relu').outputShape, [7, 7, 1024]);
  assert.equal(m.getLayer('pool4_relu').outputShape, [14, 14, 1024]);
  assert.is((m.getLayer('conv4_block24_1_bn') as unknown as { epsilon: number }).epsilon, 1.001e-5);
  assert.ok(m.layers.every((l) => l.weights.every((w) => w.name !== 'bias') || l.name === 'fc1000'), 'no convolution has a bias');
  m.dispose();
  const n = densenet121({ includeTop: false });
  assert.is(n.countParams(), 7037504);
  assert.equal(n.outputShape, [7, 7, 1024]);
  n.dispose();
});

test('options: pooling, input size (Keras minimum 32), classes, classifier activation; one-line errors; registry entry', () => {
  const avg = densenet121({ includeTop: false, pooling: 'avg', inputShape: [32, 45, 3] });
  assert.equal(avg.outputShape, [1024]);
  assert.is(avg.layers.at(-1)!.name, 'avg_pool');
  assert.equal(avg.getLayer('relu').outputShape, [1, 1, 1024]);
  avg.dispose();
  const max = densenet121({ includeTop: false, pooling: 'max' });
  assert.is(max.layers.at(-1)!.name, 'max_pool');
  max.dispose();
  const ten = densenet121({ classes: 10, classifierActivation: 'linear', inputShape: [32, 32, 1] });
  assert.equal(ten.outputShape, [10]);
  assert.is(ten.countParams(), 8062504 - 1025 * 990 - 7 * 7 * 2 * 64);
  ten.dispose();
  throwsNaming(() => densenet121({ inputShape: [64, 31, 3] }), 'DenseNet121', 'at least 32×32', '64×31');
  throwsNaming(() => densenet121({ classes: 2.5 }), 'DenseNet121', 'classes');
  const app = applicationByName('densenet121');
  assert.is(app.pixels, 'torch');
  assert.equal(app.gradCamLayers, ['relu', 'pool4_relu']);
});

for (const g of GOLDEN.cases)
  goldenTest(`at ${g.size}×${g.size}: the regenerated file holds the golden's numbers, is recognised, loads, and matches PyTorch float64 (logits, probabilities, layer outputs, Grad-CAM; ≤ 1e-4 of each maximum)`, `${g.size}×${g.size}`, {
    app: applicationByName('densenet121'), path: join(dir, `densenet121_${g.size}.h5`), weights: g.options, fingerprint: g.weightsDigest,
    recognised: { includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, build: { inputShape: g.options.inputShape }, check: () => meansCheck('DenseNet121', g),
    more: ({ model, file }) => {
      assert.equal(file.layers.find((l) => l.name === 'conv1/conv')!.weights.map((w) => w.name), ['conv1/conv/kernel:0']);
      assert.is(recogniseApplication(file)?.app.name, 'densenet121');
      assert.is(recogniseResNet50(file), null);
      assert.is(model.countParams(), g.parameters);
    },
  });

test('the no-top file: recognised as such, loads into include_top=False (pooling max)', async () => {
  const path = join(dir, 'notop.h5');
  await writeRandomDenseNet121Weights(path, { includeTop: false, inputShape: [32, 32, 3] });
  const file = await readKerasWeights(path);
  const o = recogniseDenseNet121(file);
  assert.equal(o, { includeTop: false, inputShape: [224, 224, 3] });
  const m = densenet121({ ...o, pooling: 'max', inputShape: [32, 32, 3] });
  loadDenseNet121Weights(m, file, path);
  const want = file.layers.find((l) => l.name === 'conv5_block16_2_conv')!.weights[0].data;
  const got = await m.getLayer('conv5_block16_2_conv').weights[0].read();
  assert.ok(got.every((v, i) => v === want[i]), 'kernel copied');
  m.dispose();
  rmSync(path, { force: true });
});

test('not DenseNet121: wrong shape, missing layer, the top into a model for other classes, DenseNet169-like blocks: errors name the file, layer and shapes', async () => {
  const layers = randomDenseNet121Layers({ inputShape: [32, 32, 3] });
  const cut = layers.findIndex((l) => l.name === 'pool3_conv');
  const wrong = layers.slice(0, cut + 1).map((l) =>
    l.name === 'pool3_conv' ? { ...l, weights: [{ ...l.weights[0], shape: [1, 1, 512, 128], data: l.weights[0].data.subarray(0, 512 * 128) }] } : l,
  );
  await writeAppWeights(join(dir, 'wrong.h5'), wrong, { style: 'keras2' });
  const f = await readKerasWeights(join(dir, 'wrong.h5'));
  assert.is(recogniseDenseNet121(f), null);
  const m = densenet121({ inputShape: [32, 32, 3] });
  throwsNaming(() => loadDenseNet121Weights(m, f, join(dir, 'wrong.h5')), "wrong.h5: not DenseNet121 weights for this model: layer 'pool3_conv' kernel is [1, 1, 512, 128] in the file ('kernel:0'), the model needs [1, 1, 512, 256]");
  const noBn = layers.filter((l) => l.name !== 'conv1/bn');
  throwsNaming(() => loadDenseNet121Weights(m, { ...f, layers: noBn }, 'nobn.h5'), "nobn.h5: not DenseNet121 weights for this model: layer 'conv1/bn' (gamma [64], beta [64], moving_mean [64], moving_variance [64]) is missing");
  const ten = densenet121({ inputShape: [32, 32, 3], classes: 10 });
  throwsNaming(() => loadDenseNet121Weights(ten, { ...f, layers }, 'full.h5'), "full.h5: not DenseNet121 weights for this model: layer 'fc1000' kernel is [1024, 1000] in the file ('kernel'), the model needs [1024, 10]");
  const d169 = [...layers, { name: 'conv4_block25_1_conv', weights: [{ name: 'kernel', shape: [1, 1, 1024, 128], data: new Float32Array(131072) }] }];
  assert.is(recogniseDenseNet121({ ...f, layers: d169 }), null);
  m.dispose();
  ten.dispose();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
