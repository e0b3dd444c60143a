// ResNet50 built in code (nn/applications/resnet50.ts) against an independent PyTorch float64
// implementation (scripts/reference/torch_resnet50.py, goldens in test/golden/resnet50/):
// seeded random weights files in both official layouts (keras-applications' Keras 2 file and the
// 2016 Keras 1 file of deep-learning-models) are regenerated here, checked to hold the numbers the
// goldens were made from (digest), recognised, loaded through the official loader and compared:
// logits, probabilities, per-channel means of the four stage outputs and Grad-CAM maps at the two
// gradCamLayers, each to 1e-4 of its largest golden value. Also: Keras' layer names and parameter
// counts, include_top / pooling / input size / classes, no-top files, and files that are not
// ResNet50. Goldens at 64×64 and at the
// default 224×224. Node only (files).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readKerasWeights, writeKerasWeightsOnly } from '../nn/io/keras.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import { writeAppWeights } from '../nn/applications/weights_file.ts';
import {
  loadResNet50Weights, randomResNet50Layers, recogniseResNet50, resnet50, resnet50LayerAliases, RESNET50_CAM_LAYERS, writeRandomResNet50Weights, type ResNet50Layout, type ResNet50Options,
} from '../nn/applications/resnet50.ts';
import { goldenTest, meansCheck, readGolden, type MeansCase } from './app_golden.ts';
import { ready, throwsNaming } from './helpers.ts';

await ready;

interface Case extends MeansCase {
  layout: ResNet50Layout;
  options: { layout: ResNet50Layout; seed: number; inputShape: [number, number, number] };
  parameters: number;
}
const GOLDEN = readGolden<{ cases: Case[] }>('resnet50', 'torch_resnet50.json');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-resnet50-'));

test("the builder has Keras' layer names, order and parameter counts in both layouts (25 636 712 with the top, 23 587 712 without)", () => {
  const m = resnet50();
  const names = m.layers.map((l) => l.name);
  // tf.keras' model.summary() order (depth-first by Keras' rule: shortcut and third conv side by side).
  assert.equal(names.slice(0, 17), [
    'conv1_pad', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad', 'pool1_pool', 'conv2_block1_1_conv', 'conv2_block1_1_bn', 'conv2_block1_1_relu',
    'conv2_block1_2_conv', 'conv2_block1_2_bn', 'conv2_block1_2_relu', 'conv2_block1_0_conv', 'conv2_block1_3_conv', 'conv2_block1_0_bn', 'conv2_block1_3_bn', 'conv2_block1_add',
  ]);
  assert.equal(names.slice(-4), ['conv5_block3_add', 'conv5_block3_out', 'avg_pool', 'probs']);
  assert.is(names.length, 176); // Keras: 177 with the input layer
  assert.is(m.countParams(), 25636712);
  assert.equal(m.getLayer('conv4_block6_out').outputShape, [14, 14, 1024]);
  assert.equal(m.getLayer('conv5_block3_out').outputShape, [7, 7, 2048]);
  m.dispose();
  const old = resnet50({ layout: '2016' });
  const on = old.layers.map((l) => l.name);
  assert.equal(on.slice(0, 6), ['conv1_pad', 'conv1', 'bn_conv1', 'activation_1', 'pool1_pad', 'max_pooling2d_1']);
  assert.ok(on.includes('res4f_branch2c') && on.includes('bn2a_branch1') && on.includes('add_16'));
  assert.equal(on.slice(-3), ['activation_49', 'avg_pool', 'fc1000']);
  assert.is(old.countParams(), 25636712);
  assert.equal(old.getLayer(RESNET50_CAM_LAYERS['2016'][1]).outputShape, [14, 14, 1024]);
  assert.is((old.getLayer('bn_conv1') as unknown as { epsilon: number }).epsilon, 1e-3);
  assert.is((resnet50({ inputShape: [32, 32, 3] }).getLayer('conv1_bn') as unknown as { epsilon: number }).epsilon, 1.001e-5);
  old.dispose();
  for (const layout of ['keras', '2016'] as const) {
    const n = resnet50({ layout, includeTop: false });
    assert.is(n.countParams(), 23587712);
    assert.equal(n.outputShape, [7, 7, 2048]);
    n.dispose();
  }
});

test('options: pooling, input size (Keras minimum 32), classes, classifier activation; one-line errors', () => {
  const avg = resnet50({ includeTop: false, pooling: 'avg', inputShape: [32, 40, 3] });
  assert.equal(avg.outputShape, [2048]);
  assert.is(avg.layers.at(-1)!.name, 'avg_pool');
  assert.equal(avg.getLayer('conv5_block3_out').outputShape, [1, 2, 2048]);
  avg.dispose();
  const max = resnet50({ includeTop: false, pooling: 'max', layout: '2016' });
  assert.is(max.layers.at(-1)!.name, 'global_max_pooling2d_1');
  max.dispose();
  const ten = resnet50({ classes: 10, classifierActivation: 'linear', inputShape: [64, 64, 1] });
  assert.equal(ten.outputShape, [10]);
  assert.is(ten.countParams(), 25636712 - 2049 * 990 - 6272);
  ten.dispose();
  throwsNaming(() => resnet50({ inputShape: [31, 64, 3] }), 'ResNet50', 'at least 32×32', '31×64');
  throwsNaming(() => resnet50({ classes: 0 }), 'ResNet50', 'classes');
  throwsNaming(() => resnet50({ layout: 'caffe' as ResNet50Layout }), 'ResNet50', "'caffe'");
});

test('layer name aliases between the two layouts and the registry entry', () => {
  assert.equal(resnet50LayerAliases('conv3_block2_0_bn'), ['conv3_block2_0_bn', 'bn3b_branch1']);
  assert.equal(resnet50LayerAliases('res4f_branch2c'), ['res4f_branch2c', 'conv4_block6_3_conv']);
  assert.equal(resnet50LayerAliases('conv1_conv'), ['conv1_conv', 'conv1']);
  assert.equal(resnet50LayerAliases('bn_conv1'), ['bn_conv1', 'conv1_bn']);
  assert.equal(resnet50LayerAliases('probs'), ['probs', 'fc1000', 'predictions']);
  const app = applicationByName('ResNet50');
  assert.is(app.name, 'resnet50');
  assert.is(app.pixels, 'caffe');
  assert.equal(app.gradCamLayers, ['conv5_block3_out', 'conv4_block6_out']);
});

for (const g of GOLDEN.cases)
  goldenTest(`${g.layout} layout at ${g.size}×${g.size}: the regenerated file holds the golden's numbers, is recognised, loads, and matches PyTorch float64 (logits, probabilities, stage outputs, Grad-CAM; ≤ 1e-4 of each maximum)`, `${g.layout} ${g.size}×${g.size}`, {
    app: applicationByName('resnet50'), path: join(dir, `resnet50_${g.layout}_${g.size}.h5`), weights: g.options, fingerprint: g.weightsDigest,
    recognised: { layout: g.layout, includeTop: true, classes: 1000, inputShape: [224, 224, 3] } as ResNet50Options, build: { inputShape: g.options.inputShape },
    check: () => meansCheck(`ResNet50 ${g.layout}`, g), camLayers: RESNET50_CAM_LAYERS[g.layout],
    more: ({ model, file }) => {
      assert.is(recogniseApplication(file)?.app.name, 'resnet50');
      assert.is(model.countParams(), g.parameters);
    },
  });

test('no-top files of both layouts: recognised as such, load into include_top=False (pooling avg)', async () => {
  for (const layout of ['keras', '2016'] as const) {
    const path = join(dir, `notop_${layout}.h5`);
    await writeRandomResNet50Weights(path, { layout, includeTop: false, inputShape: [32, 32, 3] });
    const file = await readKerasWeights(path);
    if (layout === '2016') {
      assert.ok(file.layers.some((l) => l.name === 'avg_pool') && !file.layers.some((l) => l.name === 'fc1000'), 'Keras 1 no-top layer list');
      const bn = file.layers.find((l) => l.name === 'bn_conv1')!;
      assert.equal(bn.weights.map((w) => w.name), ['bn_conv1_gamma:0', 'bn_conv1_beta:0', 'bn_conv1_running_mean:0', 'bn_conv1_running_std:0']);
    } else assert.equal(file.layers.find((l) => l.name === 'conv1_conv')!.weights.map((w) => w.name), ['conv1_conv/kernel:0', 'conv1_conv/bias:0']);
    const o = recogniseResNet50(file);
    assert.equal(o, { layout, includeTop: false, inputShape: [224, 224, 3] });
    const m = resnet50({ ...o, pooling: 'avg', inputShape: [32, 32, 3] });
    loadResNet50Weights(m, file, path);
    const k = file.layers.find((l) => l.name === (layout === 'keras' ? 'conv5_block3_3_conv' : 'res5c_branch2c'))!.weights[0].data;
    const got = await m.getLayer(layout === 'keras' ? 'conv5_block3_3_conv' : 'res5c_branch2c').weights[0].read();
    assert.ok(got.every((v, i) => v === k[i]), 'conv5 kernel copied');
    // A file of the other layout loads too (names mapped; the ε is then the model's).
    const other = resnet50({ layout: layout === 'keras' ? '2016' : 'keras', includeTop: false, inputShape: [32, 32, 3] });
    loadResNet50Weights(other, file, path);
    const k1 = await other.getLayer(layout === 'keras' ? 'bn5c_branch2c' : 'conv5_block3_3_bn').weights[3].read();
    const want = file.layers.find((l) => l.name === (layout === 'keras' ? 'conv5_block3_3_bn' : 'bn5c_branch2c'))!.weights[3].data;
    assert.ok(k1.every((v, i) => v === want[i]), 'moving variance copied across layouts');
    m.dispose();
    other.dispose();
    rmSync(path, { force: true });
  }
});

test('not ResNet50: wrong shape, missing layer, the no-top file into a model with the top, another family: errors name the file, layer and shapes', async () => {
  const layers = randomResNet50Layers({ inputShape: [32, 32, 3] });
  const cut = layers.findIndex((l) => l.name === 'conv3_block2_2_conv');
  const wrong = layers.slice(0, cut + 1).map((l) =>
    l.name === 'conv3_block2_2_conv' ? { ...l, weights: [{ ...l.weights[0], shape: [3, 3, 128, 64], data: l.weights[0].data.subarray(0, 3 * 3 * 128 * 64) }, l.weights[1]] } : l,
  );
  await writeAppWeights(join(dir, 'wrong.h5'), wrong, { style: 'keras2' });
  const m = resnet50({ inputShape: [32, 32, 3] });
  const f = await readKerasWeights(join(dir, 'wrong.h5'));
  assert.is(recogniseResNet50(f), null);
  throwsNaming(() => loadResNet50Weights(m, f, join(dir, 'wrong.h5')), "wrong.h5: not ResNet50 weights for this model: layer 'conv3_block2_2_conv' kernel is [3, 3, 128, 64] in the file ('kernel:0'), the model needs [3, 3, 128, 128]");
  const short = layers.slice(0, cut);
  await writeAppWeights(join(dir, 'short.h5'), short, { style: 'keras2' });
  const fs = await readKerasWeights(join(dir, 'short.h5'));
  throwsNaming(() => loadResNet50Weights(m, fs, join(dir, 'short.h5')), "short.h5: not ResNet50 weights for this model: layer 'conv3_block2_2_conv' (or 'res3b_branch2b')", 'is missing');
  const notop = layers.filter((l) => l.name !== 'probs');
  throwsNaming(() => loadResNet50Weights(m, { ...f, layers: notop }, 'notop.h5'), "notop.h5: not ResNet50 weights for this model: layer 'probs' (or 'fc1000', 'predictions')", 'is missing');
  const ten = resnet50({ inputShape: [32, 32, 3], classes: 10 });
  throwsNaming(() => loadResNet50Weights(ten, { ...f, layers }, 'full.h5'), "full.h5: not ResNet50 weights for this model: layer 'probs' kernel is [2048, 1000] in the file ('kernel'), the model needs [2048, 10]");
  // A VGG16-style file is not ResNet50.
  await writeKerasWeightsOnly(join(dir, 'vgg.h5'), [{ name: 'block1_conv1', weights: [{ name: 'kernel', shape: [3, 3, 3, 4], data: new Float32Array(108) }] }], { style: 'vgg16-legacy' });
  assert.is(recogniseResNet50(await readKerasWeights(join(dir, 'vgg.h5'))), null);
  // ResNet101's names (conv4_block7 …) are not ResNet50.
  const r101 = [...layers, { name: 'conv4_block7_1_conv', weights: [{ name: 'kernel', shape: [1, 1, 1024, 256], data: new Float32Array(262144) }] }];
  assert.is(recogniseResNet50({ ...f, layers: r101 }), null);
  m.dispose();
  ten.dispose();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
