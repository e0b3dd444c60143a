// EfficientNetB0 built in code (nn/applications/efficientnet.ts):
// - Keras' layer names, order and parameter counts (5 330 571 with the top); the minimum input;
// - the in-model preprocessing: Rescaling(1/255), Normalization with the file's mean and
//   "variance" (the ImageNet standard deviations), Rescaling(1/sqrt(std)) — together
//   (x/255 − mean)/std per channel, checked by hand;
// - seeded random weights in the official layout (count as int64), regenerated here, loaded
//   through recognise → build → loadWeights, against an independent PyTorch float64
//   implementation (test/golden/efficientnetb0/torch_efficientnetb0.json,
//   scripts/reference/torch_efficientnetb0.py): outputs, logits, every layer (swish,
//   squeeze-excite), Grad-CAM maps at both gradCamLayers;
// - files that do not fit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import {
  IMAGENET_MEAN_RGB, IMAGENET_STDDEV_RGB, describeEfficientNet, efficientnet, efficientnetWeightsFile, randomEfficientNetLayers, writeRandomEfficientNetWeights,
} from '../nn/applications/efficientnet.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { caseCheck, caseRecognised, goldenTest, readGolden, type GoldenCase } from './app_golden.ts';
import { assertClose, ready } from './helpers.ts';

await ready;
const golden = readGolden<{ cases: GoldenCase[] }>('efficientnetb0', 'torch_efficientnetb0.json');
const app = applicationByName('efficientnetb0');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-efficientnet-'));

test("Keras' layer names, order and parameter counts (5 330 571 with the top, 4 049 571 without)", () => {
  const names = describeEfficientNet().layerNames();
  assert.equal(names.slice(0, 8), ['rescaling', 'normalization', 'rescaling_1', 'stem_conv_pad', 'stem_conv', 'stem_bn', 'stem_activation', 'block1a_dwconv']);
  assert.equal(names.slice(names.indexOf('block1a_activation'), names.indexOf('block1a_activation') + 8), [
    'block1a_activation', 'block1a_se_squeeze', 'block1a_se_reshape', 'block1a_se_reduce', 'block1a_se_expand', 'block1a_se_excite', 'block1a_project_conv', 'block1a_project_bn',
  ]);
  assert.equal(names.slice(-6), ['top_conv', 'top_bn', 'top_activation', 'avg_pool', 'top_dropout', 'predictions']);
  assert.ok(!names.includes('block1a_drop') && names.includes('block2b_drop') && names.includes('block7a_dwconv') && !names.includes('block7b_dwconv'));
  const i = names.indexOf('block2b_add');
  assert.equal(names.slice(i - 2, i + 1), ['block2b_project_bn', 'block2b_drop', 'block2b_add']);
  assert.is(names.length, 240);
  const count = (o: object) => describeEfficientNet(o).countParams();
  assert.is(count({}), 5330571);
  assert.is(count({ includeTop: false }), 4049571);
  assert.is(count({ includeTop: false, imagenetRescaling: false }), 4049571);
  assert.ok(!describeEfficientNet({ imagenetRescaling: false }).layerNames().includes('rescaling_1'));
  assert.equal(describeEfficientNet({ includeTop: false, pooling: 'max' }).layerNames().slice(-1), ['max_pool']);
  assert.is(efficientnetWeightsFile('b0', false), 'efficientnetb0_notop.h5');
});

test('the built model has the description’s layers, order and weights; 32×32 is the smallest input; the stem computes (x/255 − mean)/std', async () => {
  const o = { inputShape: [32, 32, 3] as [number, number, number], classes: 5 };
  const m = efficientnet(o);
  try {
    const want = describeEfficientNet(o);
    assert.equal(m.layers.map((l) => l.name), want.layerNames());
    for (const { layer, weights } of want.weightShapes()) assert.equal(m.getLayer(layer).weights.map((w) => [w.name, w.shape]), weights.map((w) => [w.name, w.shape]), layer);
    assert.is(m.countParams(), want.countParams());
    m.getLayer('normalization').weights[0].assign(Float32Array.from(IMAGENET_MEAN_RGB));
    m.getLayer('normalization').weights[1].assign(Float32Array.from(IMAGENET_STDDEV_RGB));
    const x = Float32Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256);
    const y = await E.tidy(() => E.noGrad(() => m.forward(E.tensor(x, [1, 32, 32, 3]), { training: false }, ['rescaling_1']).captured.get('rescaling_1')!.data()));
    assertClose(y, Float64Array.from(x, (v, i) => (v / 255 - IMAGENET_MEAN_RGB[i % 3]) / IMAGENET_STDDEV_RGB[i % 3]), { atol: 1e-5, rtol: 1e-5 }, 'rescaling_1');
  } finally {
    m.dispose();
  }
  assert.throws(() => efficientnet({ inputShape: [30, 40, 3] }), /EfficientNetB0: input size must be at least 32×32/);
});

for (const g of golden.cases)
  goldenTest(`against PyTorch float64: ${g.id} (output, logits, every layer, Grad-CAM of the logit at ${app.gradCamLayers.join(' and ')}; ≤ 1e-4 of the largest value)`, g.id, {
    app, path: join(dir, `${g.id}.h5`), weights: { ...g.options, seed: g.seed }, fingerprint: g.weightsDigest,
    recognised: caseRecognised(g), build: g.options, check: () => caseCheck('EfficientNetB0', g),
  });

test("the official layout (tf.keras 2.3's layer list: no rescaling_1; Normalization's count as int64); recognised with or without the top", async () => {
  const top = join(dir, 'top.h5');
  const notop = join(dir, 'notop.h5');
  await writeRandomEfficientNetWeights(top, {});
  await writeRandomEfficientNetWeights(notop, { includeTop: false });
  const ft = await readKerasWeights(top);
  const fn = await readKerasWeights(notop);
  assert.equal(ft.layers.slice(0, 4).map((l) => l.name), ['input_1', 'rescaling', 'normalization', 'stem_conv_pad']);
  assert.is(ft.layers.length, 240);
  const norm = ft.layers[2].weights;
  assert.equal(norm.map((w) => [w.name, w.shape]), [['normalization/mean:0', [3]], ['normalization/variance:0', [3]], ['normalization/count:0', []]]);
  assertClose(norm[1].data, IMAGENET_STDDEV_RGB, { atol: 1e-7 }, 'the official "variance" holds the standard deviations');
  assert.equal(app.recognise(ft), { includeTop: true, classes: 1000 });
  assert.equal(app.recognise(fn), { includeTop: false });
  assert.is(recogniseApplication(fn)?.app.name, 'efficientnetb0');
  assert.is(recogniseApplication(ft)?.app.name, 'efficientnetb0');
  // A wider stem (another EfficientNet) is not B0.
  const wide = randomEfficientNetLayers({ includeTop: false }).map((l) => (l.name === 'stem_conv' ? { ...l, weights: [{ ...l.weights[0], shape: [3, 3, 3, 40] }] } : l));
  assert.is(app.recognise({ ...fn, layers: wide }), null);
});

test('files that do not fit: a changed squeeze-excite, no top — one line naming the file, layer and shapes', async () => {
  const path = join(dir, 'b0.h5');
  await writeRandomEfficientNetWeights(path, { includeTop: false });
  const f = await readKerasWeights(path);
  const m = efficientnet({ includeTop: false, inputShape: [32, 32, 3] });
  try {
    const bad = { ...f, layers: f.layers.map((l) => (l.name === 'block3b_se_reduce' ? { ...l, weights: [{ ...l.weights[0], shape: [1, 1, 240, 6] }, l.weights[1]] } : l)) };
    assert.throws(() => app.loadWeights(m, bad, path), (e: Error) => e.message === `${path}: not EfficientNetB0 weights for this model: layer 'block3b_se_reduce' kernel is [1, 1, 240, 6] in the file ('kernel:0'), the model needs [1, 1, 240, 10]`);
    app.loadWeights(m, f, path);
    assertClose(await m.getLayer('normalization').weights[1].read(), IMAGENET_STDDEV_RGB, { atol: 1e-7 }, 'normalization variance loaded');
  } finally {
    m.dispose();
  }
  const t = efficientnet({ inputShape: [32, 32, 3] });
  try {
    assert.throws(() => app.loadWeights(t, f, path), /b0\.h5: not EfficientNetB0 weights for this model: layer 'predictions' \(kernel \[1280, 1000\], bias \[1000\]\) is missing \(a file without the top/);
  } finally {
    t.dispose();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
