// MobileNetV2 built in code (nn/applications/mobilenet_v2.ts):
// - Keras' layer names, order and parameter counts (3 538 984 at α 1), make_divisible, the
//   minimum input size;
// - seeded random weights in the official layout, regenerated here, loaded through recognise →
//   build → loadWeights, against an independent PyTorch float64 implementation
//   (test/golden/mobilenet_v2/torch_mobilenet_v2.json, scripts/reference/torch_mobilenet_v2.py):
//   outputs, logits, every layer, Grad-CAM maps at both gradCamLayers;
// - the official classifier name 'Logits', files whose layers are named otherwise (loaded in
//   order, as Keras does), files that do not fit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import {
  describeMobileNetV2, makeDivisible, mobilenetV2, mobilenetV2WeightsFile, randomMobileNetV2Layers, writeRandomMobileNetV2Weights,
} from '../nn/applications/mobilenet_v2.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { caseCheck, caseRecognised, goldenTest, readGolden, type GoldenCase } from './app_golden.ts';
import { assertClose, ready } from './helpers.ts';

await ready;
const golden = readGolden<{ cases: GoldenCase[] }>('mobilenet_v2', 'torch_mobilenet_v2.json');
const app = applicationByName('MobileNetV2');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-mobilenet-v2-'));

test("Keras' layer names, order, make_divisible and parameter counts (3 538 984 at α 1 with the top, 2 257 984 without; 6 156 712 at α 1.4)", () => {
  const names = describeMobileNetV2().layerNames();
  assert.equal(names.slice(0, 9), ['Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'expanded_conv_depthwise_BN', 'expanded_conv_depthwise_relu', 'expanded_conv_project', 'expanded_conv_project_BN', 'block_1_expand']);
  assert.equal(names.slice(-5), ['Conv_1', 'Conv_1_bn', 'out_relu', 'global_average_pooling2d', 'predictions']);
  // Keras' order around a residual add: the block's last BN, then the add.
  const i = names.indexOf('block_2_add');
  assert.equal(names.slice(i - 1, i + 2), ['block_2_project_BN', 'block_2_add', 'block_3_expand']);
  assert.ok(names.includes('block_1_pad') && names.includes('block_13_pad') && !names.includes('block_2_pad'));
  assert.is(names.length, 155);
  const count = (o: object) => describeMobileNetV2(o).countParams();
  assert.is(count({}), 3538984);
  assert.is(count({ includeTop: false }), 2257984);
  assert.is(count({ alpha: 1.4 }), 6156712);
  assert.is(count({ alpha: 0.35 }), 1691208);
  assert.equal([0.35, 0.5, 0.75, 1, 1.3, 1.4].map((a) => makeDivisible(32 * a)), [16, 16, 24, 32, 40, 48]);
  assert.equal([8, 12, 20, 2, 41.6].map((v) => makeDivisible(v)), [8, 16, 24, 8, 40]);
  assert.is(mobilenetV2WeightsFile(1, 224, true), 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5');
  assert.is(mobilenetV2WeightsFile(0.35, 96, false), 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5');
});

test('the built model has the description’s layers, order and weights; 32×32 is the smallest input', async () => {
  const o = { alpha: 0.5, inputShape: [32, 32, 3] as [number, number, number], classes: 7 };
  const m = mobilenetV2(o);
  try {
    const want = describeMobileNetV2(o);
    assert.equal(m.layers.map((l) => l.name), want.layerNames());
    for (const { layer, weights } of want.weightShapes()) assert.equal(m.getLayer(layer).weights.map((w) => [w.name, w.shape]), weights.map((w) => [w.name, w.shape]), layer);
    assert.is(m.countParams(), want.countParams());
    const y = await E.tidy(() => E.noGrad(() => m.forward(E.ones([1, 32, 32, 3])).output.data()));
    assert.is(y.length, 7);
  } finally {
    m.dispose();
  }
  assert.throws(() => mobilenetV2({ inputShape: [64, 16, 3] }), /MobileNetV2: input size must be at least 32×32/);
});

for (const g of golden.cases)
  goldenTest(`against PyTorch float64: ${g.id} (output, logits, every layer, Grad-CAM of the logit at ${app.gradCamLayers.join(' and ')}; ≤ 1e-4 of the largest value)`, g.id, {
    app, path: join(dir, `${g.id}.h5`), weights: { ...g.options, seed: g.seed }, fingerprint: g.weightsDigest,
    recognised: caseRecognised(g), build: g.options, check: () => caseCheck('MobileNetV2', g),
  });

test("the official layout (Keras 2.2.0's layer list: no padding layers, 'Logits'); recognised by shapes with or without the top, and with other layer names", async () => {
  const top = join(dir, 'top.h5');
  const notop = join(dir, 'notop.h5');
  await writeRandomMobileNetV2Weights(top, { alpha: 0.75 });
  await writeRandomMobileNetV2Weights(notop, { alpha: 0.75, includeTop: false });
  const ft = await readKerasWeights(top);
  const fn = await readKerasWeights(notop);
  assert.equal(ft.layers.slice(-3).map((l) => l.name), ['out_relu', 'global_average_pooling2d_1', 'Logits']);
  assert.ok(!ft.layers.some((l) => l.name.endsWith('_pad')), 'no padding layers');
  assert.is(ft.layers[0].name, 'input_1');
  assert.equal(app.recognise(ft), { alpha: 0.75, includeTop: true, classes: 1000 });
  assert.equal(app.recognise(fn), { alpha: 0.75, includeTop: false });
  assert.is(recogniseApplication(fn)?.app.name, 'mobilenet_v2');
  assert.is(recogniseApplication(ft)?.app.name, 'mobilenet_v2');
  // 0.35 and 0.5 share Conv1's width: the other layers tell them apart.
  await writeRandomMobileNetV2Weights(top, { alpha: 0.35, includeTop: false });
  assert.equal(app.recognise(await readKerasWeights(top)), { alpha: 0.35, includeTop: false });

  // Layers named otherwise (e.g. an older conversion): matched in order, shapes checked.
  const m = mobilenetV2({ alpha: 0.75, includeTop: false, inputShape: [32, 32, 3] });
  try {
    const renamed = { ...fn, layers: fn.layers.map((l, i) => (l.name === 'Conv1' ? l : { ...l, name: `layer_${i}` })) };
    assert.equal(app.recognise(renamed), { alpha: 0.75, includeTop: false });
    app.loadWeights(m, renamed, notop);
    const src = fn.layers.find((l) => l.name === 'block_16_project_BN')!.weights[2].data;
    assertClose(await m.getLayer('block_16_project_BN').weights[2].read(), src, { atol: 0, rtol: 0 }, 'block_16_project_BN moving_mean, loaded in order');
    // In order, a wrong shape names both layers.
    const k = `layer_${fn.layers.findIndex((l) => l.name === 'block_2_expand')}`;
    const swapped = { ...renamed, layers: renamed.layers.map((l) => (l.name === k ? { ...l, weights: l.weights.map((w) => ({ ...w, shape: [1, 1, 24, 7] })) } : l)) };
    assert.throws(
      () => app.loadWeights(m, swapped, notop),
      (e: Error) => e.message === `${notop}: not MobileNetV2 weights for this model: layer 'block_2_expand' (file layer '${k}') kernel is [1, 1, 24, 7] in the file ('kernel:0'), the model needs [1, 1, 24, 144] (layers matched in order, as Keras does when the names differ)`,
    );
  } finally {
    m.dispose();
  }
});

test('files that do not fit: another width, no top — one line naming the file, layer and shapes', async () => {
  const path = join(dir, 'a05.h5');
  await writeRandomMobileNetV2Weights(path, { alpha: 0.5, includeTop: false });
  const f = await readKerasWeights(path);
  const m = mobilenetV2({ alpha: 1, includeTop: false, inputShape: [32, 32, 3] });
  try {
    assert.throws(() => app.loadWeights(m, f, path), (e: Error) => e.message === `${path}: not MobileNetV2 weights for this model: layer 'Conv1' kernel is [3, 3, 3, 16] in the file ('kernel:0'), the model needs [3, 3, 3, 32]`);
  } finally {
    m.dispose();
  }
  const t = mobilenetV2({ alpha: 0.5, inputShape: [32, 32, 3] });
  try {
    assert.throws(() => app.loadWeights(t, f, path), /a05\.h5: not MobileNetV2 weights for this model: layer 'predictions' \(or 'Logits'\) \(kernel \[1280, 1000\], bias \[1000\]\) is missing \(a file without the top/);
  } finally {
    t.dispose();
  }
  const layers = randomMobileNetV2Layers({ alpha: 0.5, includeTop: false });
  assert.is(app.recognise({ ...f, layers: layers.filter((l) => l.name !== 'block_7_expand') }), null);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
