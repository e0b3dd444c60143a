// MobileNet v1 built in code (nn/applications/mobilenet.ts):
// - Keras' layer names, order and parameter counts; the minimum input size;
// - seeded random weights in the official file layout, regenerated here, loaded through
//   recognise → build → loadWeights, against an independent PyTorch float64 implementation
//   (test/golden/mobilenet/torch_mobilenet_app.json, scripts/reference/torch_mobilenet_app.py):
//   outputs, logits, every layer, Grad-CAM maps at both gradCamLayers;
// - files that do not fit (wrong width, no top) fail naming the file, layer and shapes;
// - the real weights (../shared/data, LANTERNA_DATA): keras/mobilenet_2_5_224_tf_no_top.h5 through
//   the loader against the TF.js model (loadModel), and with the TF.js classifier copied in, the
//   PyTorch golden of the real network (test/golden/mobilenet/torch_mobilenet.json).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import * as E from '../engine/index.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import { describeMobileNet, mobilenet, mobilenetWeightsFile, randomMobileNetLayers, writeRandomMobileNetWeights } from '../nn/applications/mobilenet.ts';
import { preprocessPixels } from '../nn/applications/imagenet.ts';
import { readKerasWeights, writeKerasModel } from '../nn/io/keras.ts';
import { loadModel } from '../nn/model_file.ts';
import { caseCheck, caseRecognised, goldenTest, readGolden, type GoldenCase } from './app_golden.ts';
import { assertClose, ready } from './helpers.ts';

await ready;
const here = dirname(fileURLToPath(import.meta.url));
const GOLD = [join(here, 'golden', 'mobilenet'), join(here, '..', '..', 'test', 'golden', 'mobilenet')].find((d) => existsSync(join(d, 'torch_mobilenet_app.json')))!;
const golden = readGolden<{ cases: GoldenCase[] }>('mobilenet', 'torch_mobilenet_app.json');
const app = applicationByName('mobilenet');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-mobilenet-'));

test("Keras' layer names, order and parameter counts (4 253 864 at α 1 with the top, 3 228 864 without; 475 544 / 218 544 at α 0.25)", () => {
  const names = describeMobileNet().layerNames();
  assert.equal(names.slice(0, 7), ['conv1', 'conv1_bn', 'conv1_relu', 'conv_dw_1', 'conv_dw_1_bn', 'conv_dw_1_relu', 'conv_pw_1']);
  assert.equal(names.slice(-5), ['global_average_pooling2d', 'dropout', 'conv_preds', 'reshape_2', 'predictions']);
  assert.ok(names.includes('conv_pad_2') && names.includes('conv_pad_12') && !names.includes('conv_pad_3'), 'conv_pad_N before the stride-2 blocks only');
  assert.is(names.length, 90);
  const count = (o: object) => describeMobileNet(o).countParams();
  assert.is(count({}), 4253864);
  assert.is(count({ includeTop: false }), 3228864);
  assert.is(count({ alpha: 0.25 }), 475544);
  assert.is(count({ alpha: 0.25, includeTop: false }), 218544);
  assert.equal(describeMobileNet({ includeTop: false, pooling: 'max' }).layerNames().slice(-2), ['conv_pw_13_relu', 'global_max_pooling2d']);
  assert.is(mobilenetWeightsFile(0.25, 224, false), 'mobilenet_2_5_224_tf_no_top.h5');
  assert.is(mobilenetWeightsFile(1, 160, true), 'mobilenet_1_0_160_tf.h5');
});

test('the built model has the description’s layers, order and weights; 32×32 is the smallest input', async () => {
  const m = mobilenet({ alpha: 0.25, inputShape: [32, 32, 3], classes: 10 });
  try {
    assert.equal(m.layers.map((l) => l.name), describeMobileNet({ alpha: 0.25, classes: 10, inputShape: [32, 32, 3] }).layerNames());
    const want = describeMobileNet({ alpha: 0.25, classes: 10 });
    for (const { layer, weights } of want.weightShapes()) assert.equal(m.getLayer(layer).weights.map((w) => [w.name, w.shape]), weights.map((w) => [w.name, w.shape]), layer);
    assert.is(m.countParams(), want.countParams());
    const y = await E.tidy(() => E.noGrad(() => m.forward(E.ones([2, 32, 32, 3])).output.data()));
    assert.is(y.length, 20);
    assertClose([y[0] + y[1] + y[2] + y[3] + y[4] + y[5] + y[6] + y[7] + y[8] + y[9]], [1], { atol: 1e-5 }, 'softmax sums to 1');
  } finally {
    m.dispose();
  }
  assert.throws(() => mobilenet({ inputShape: [31, 64, 3] }), /MobileNet: input size must be at least 32×32 \(Keras' minimum\), got 31×64/);
  const lin = mobilenet({ alpha: 0.25, inputShape: [32, 32, 3], classes: 3, classifierActivation: 'linear' });
  assert.is((lin.getLayer('predictions') as unknown as { fn: string }).fn, 'linear');
  lin.dispose();
});

for (const g of golden.cases)
  goldenTest(`against PyTorch float64: ${g.id} (output, logits, every layer, Grad-CAM of the logit at ${app.gradCamLayers.join(' and ')}; ≤ 1e-4 of the largest value)`, g.id, {
    app, path: join(dir, `${g.id}.h5`), weights: { ...g.options, seed: g.seed }, fingerprint: g.weightsDigest,
    recognised: caseRecognised(g), build: g.options, check: () => caseCheck('MobileNet', g),
  });

test('the official layout: layer list of the Keras 2.0 model; recognised by shapes, with or without the top, via the registry too', async () => {
  const top = join(dir, 'top.h5');
  const notop = join(dir, 'notop.h5');
  await writeRandomMobileNetWeights(top, { alpha: 0.5 });
  await writeRandomMobileNetWeights(notop, { alpha: 0.5, includeTop: false });
  const ft = await readKerasWeights(top);
  const fn = await readKerasWeights(notop);
  assert.is(ft.format, 'legacy-weights');
  assert.is(ft.kerasVersion, '2.0.4');
  assert.equal(ft.layers.slice(-6).map((l) => l.name), ['global_average_pooling2d_1', 'reshape_1', 'dropout', 'conv_preds', 'act_softmax', 'reshape_2']);
  assert.equal(ft.layers[1].weights.map((w) => w.name), ['conv1/kernel:0']);
  assert.equal(ft.layers[2].weights.map((w) => w.name), ['conv1_bn/gamma:0', 'conv1_bn/beta:0', 'conv1_bn/moving_mean:0', 'conv1_bn/moving_variance:0']);
  assert.equal(app.recognise(ft), { alpha: 0.5, includeTop: true, classes: 1000 });
  assert.equal(app.recognise(fn), { alpha: 0.5, includeTop: false });
  const r = recogniseApplication(fn);
  assert.is(r?.app.name, 'mobilenet');
  // Not MobileNet: a layer with another width.
  const odd = randomMobileNetLayers({ alpha: 0.5, includeTop: false });
  odd.find((l) => l.name === 'conv_pw_7')!.weights[0].shape = [1, 1, 256, 255];
  assert.is(app.recognise({ ...fn, layers: odd }), null);
});

test('files that do not fit: wrong width, no top, too few weights — one line naming the file, layer and shapes', async () => {
  const half = join(dir, 'half.h5');
  await writeRandomMobileNetWeights(half, { alpha: 0.5, includeTop: false });
  const f = await readKerasWeights(half);
  const m = mobilenet({ alpha: 0.25, includeTop: false, inputShape: [32, 32, 3] });
  try {
    assert.throws(() => app.loadWeights(m, f, half), (e: Error) => e.message === `${half}: not MobileNet weights for this model: layer 'conv1' kernel is [3, 3, 3, 16] in the file ('kernel:0'), the model needs [3, 3, 3, 8]`);
  } finally {
    m.dispose();
  }
  const withTop = mobilenet({ alpha: 0.5, inputShape: [32, 32, 3] });
  try {
    assert.throws(() => app.loadWeights(withTop, f, half), /half\.h5: not MobileNet weights for this model: layer 'conv_preds' \(kernel \[1, 1, 512, 1000\], bias \[1000\]\) is missing \(a file without the top, such as the _no_top weights: use includeTop false \/ --no-top\)/);
    const cut = { ...f, layers: f.layers.map((l) => (l.name === 'conv_dw_3_bn' ? { ...l, weights: l.weights.slice(0, 3) } : l)) };
    const noTop = mobilenet({ alpha: 0.5, includeTop: false, inputShape: [32, 32, 3] });
    try {
      assert.throws(() => app.loadWeights(noTop, cut, half), /layer 'conv_dw_3_bn' has 3 weights in the file \(gamma:0 \[64\], beta:0 \[64\], moving_mean:0 \[64\]\), the model needs 4/);
    } finally {
      noTop.dispose();
    }
  } finally {
    withTop.dispose();
  }
});

test('a whole-model file (model.save layout) of the same weights loads alike', async () => {
  const o = { alpha: 0.25, includeTop: false, inputShape: [32, 32, 3] as [number, number, number] };
  const m = mobilenet(o);
  const path = join(dir, 'whole.h5');
  try {
    const layers = randomMobileNetLayers({ ...o, seed: 5 }).filter((l) => l.name !== 'global_average_pooling2d_1' && l.name !== 'input_1');
    await writeKerasModel(path, { modelConfig: m.toKerasConfig(), layers: layers.map((l) => ({ name: l.name, weights: l.weights.map((w) => ({ ...w, name: w.name })) })) });
    const f = await readKerasWeights(path);
    assert.is(f.format, 'legacy-model');
    assert.equal(app.recognise(f), { alpha: 0.25, includeTop: false });
    app.loadWeights(m, f, path);
    assertClose(await m.getLayer('conv_pw_9_bn').weights[3].read(), layers.find((l) => l.name === 'conv_pw_9_bn')!.weights[3].data, { atol: 0, rtol: 0 }, 'conv_pw_9_bn moving_variance');
  } finally {
    m.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// The real MobileNet v1 0.25 weights.

const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'));
const TFJS = join(DATA, 'tfjs/mobilenet_v1_0.25_224/model.json');
const H5 = join(DATA, 'keras/mobilenet_2_5_224_tf_no_top.h5');

if (!existsSync(TFJS) || !existsSync(H5)) {
  console.log(`SKIPPED: the real MobileNet files are absent (${H5}); set LANTERNA_DATA to the shared data folder`);
  test.skip('the real MobileNet v1 0.25 weights (data absent)', () => {});
} else {
  interface GoldImage { image: string; probs: number[] }
  const real: { images: GoldImage[] } = JSON.parse(readFileSync(join(GOLD, 'torch_mobilenet.json'), 'utf8'));
  const png224 = (file: string) => {
    const p = PNG.sync.read(readFileSync(join(GOLD, file)));
    const out = new Float32Array(224 * 224 * 3);
    for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = p.data[4 * i + c];
    return preprocessPixels(out, 'tf', 3);
  };

  test('the real mobilenet_2_5_224_tf_no_top.h5: recognised (α 0.25, no top), the same layer list as our official layout, conv_pw_13_relu as the TF.js model (≤ 1e-5 of its range)', async () => {
    const f = await readKerasWeights(H5);
    assert.equal(app.recognise(f), { alpha: 0.25, includeTop: false });
    assert.is(recogniseApplication(f)?.app.name, 'mobilenet');
    assert.equal(f.layers.map((l) => l.name), randomMobileNetLayers({ alpha: 0.25, includeTop: false }).map((l) => l.name));
    const mine = app.build({ alpha: 0.25, includeTop: false });
    const { model: tfjs } = await loadModel(TFJS);
    try {
      app.loadWeights(mine, f, H5);
      const x = png224(real.images[0].image);
      const at = (m: typeof tfjs) => E.tidy(() => E.noGrad(() => m.forward(E.tensor(x, [1, 224, 224, 3]), { training: false }, ['conv_pw_13_relu']).captured.get('conv_pw_13_relu')!.data()));
      const a = await at(mine);
      const b = await at(tfjs);
      const err = assertClose(a, b, { atol: 1e-5 * 6, rtol: 0 }, 'conv_pw_13_relu: ours (conv_pad + valid) vs TF.js (same)');
      console.log(`  conv_pw_13_relu [7, 7, 256]: largest |Δ| ${err.toExponential(2)} against the TF.js model`);
    } finally {
      mine.dispose();
      tfjs.dispose();
    }
  });

  test('the real weights with the TF.js classifier copied in: the PyTorch probabilities of the real network (all 1000, atol 1e-4), hummingbird first', async () => {
    const f = await readKerasWeights(H5);
    const { model: tfjs } = await loadModel(TFJS);
    const mine = app.build({ alpha: 0.25 });
    try {
      const preds = tfjs.getLayer('conv_preds');
      const w = await Promise.all(preds.weights.map((x) => x.read()));
      const withTop = { ...f, layers: [...f.layers, { name: 'conv_preds', weights: preds.weights.map((x, i) => ({ name: `conv_preds/${x.name}:0`, shape: x.shape, data: w[i] })) }] };
      assert.equal(app.recognise(withTop), { alpha: 0.25, includeTop: true, classes: 1000 });
      app.loadWeights(mine, withTop, H5);
      for (const g of real.images) {
        const p = await mine.predict(png224(g.image), 1);
        const err = assertClose(p, g.probs, { atol: 1e-4, rtol: 0 }, `${g.image} probabilities`);
        let top = 0;
        for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
        assert.is(top, 94, `${g.image}: top-1 ${top}`);
        console.log(`  ${g.image}: hummingbird ${p[94].toFixed(6)} (PyTorch ${g.probs[94].toFixed(6)}), largest |Δ| ${err.toExponential(2)}`);
      }
    } finally {
      mine.dispose();
      tfjs.dispose();
    }
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
