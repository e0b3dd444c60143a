// InceptionV3 (nn/applications/inception_v3.ts) against an independent PyTorch float64
// implementation (scripts/reference/torch_inception_v3.py → test/golden/inception_v3/): the seeded
// random-weights file is regenerated here in the official file's Keras 2.0 layout, recognised and
// loaded, and the logits (139×139 two images, 75×75 the minimum, 299×299 once) and Grad-CAM maps of
// the logit at mixed10 and mixed7 must match to 1e-4 of their scale. Also: parameter counts, the
// layer order Keras 2 lists for InceptionV3 (a public printout of base_model.layers), options, the
// no-top file, a file with tf.keras' names (loaded by order), and a wrong shape's error.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cam } from '../explain/cam.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { applicationByName, recogniseApplication } from '../nn/applications/index.ts';
import { writeAppWeights } from '../nn/applications/weights_file.ts';
import {
  describeInceptionV3, inceptionV3, inceptionV3App, randomInceptionV3Layers, recogniseInceptionV3, writeRandomInceptionV3Weights,
} from '../nn/applications/inception_v3.ts';
import { xceptionApp } from '../nn/applications/xception.ts';
import { goldenTest, readGolden, weightsSha256, xiCheck, type XiGolden } from './app_golden.ts';
import { ready } from './helpers.ts';

await ready;
const gold = readGolden<XiGolden>('inception_v3', 'torch_inception_v3.json');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-inception-v3-'));
const TOP = join(dir, 'inception_v3_weights_tf_dim_ordering_tf_kernels.h5');
const NOTOP = join(dir, 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5');

/** keras.applications.InceptionV3(include_top=False).layers as Keras 2.0–2.2 print them (public fine-tuning script output). */
const KERAS_ORDER = 'input_1 conv2d_1 batch_normalization_1 activation_1 conv2d_2 batch_normalization_2 activation_2 conv2d_3 batch_normalization_3 activation_3 max_pooling2d_1 conv2d_4 batch_normalization_4 activation_4 conv2d_5 batch_normalization_5 activation_5 max_pooling2d_2 conv2d_9 batch_normalization_9 activation_9 conv2d_7 conv2d_10 batch_normalization_7 batch_normalization_10 activation_7 activation_10 average_pooling2d_1 conv2d_6 conv2d_8 conv2d_11 conv2d_12 batch_normalization_6 batch_normalization_8 batch_normalization_11 batch_normalization_12 activation_6 activation_8 activation_11 activation_12 mixed0 conv2d_16 batch_normalization_16 activation_16 conv2d_14 conv2d_17 batch_normalization_14 batch_normalization_17 activation_14 activation_17 average_pooling2d_2 conv2d_13 conv2d_15 conv2d_18 conv2d_19 batch_normalization_13 batch_normalization_15 batch_normalization_18 batch_normalization_19 activation_13 activation_15 activation_18 activation_19 mixed1 conv2d_23 batch_normalization_23 activation_23 conv2d_21 conv2d_24 batch_normalization_21 batch_normalization_24 activation_21 activation_24 average_pooling2d_3 conv2d_20 conv2d_22 conv2d_25 conv2d_26 batch_normalization_20 batch_normalization_22 batch_normalization_25 batch_normalization_26 activation_20 activation_22 activation_25 activation_26 mixed2 conv2d_28 batch_normalization_28 activation_28 conv2d_29 batch_normalization_29 activation_29 conv2d_27 conv2d_30 batch_normalization_27 batch_normalization_30 activation_27 activation_30 max_pooling2d_3 mixed3 conv2d_35 batch_normalization_35 activation_35 conv2d_36 batch_normalization_36 activation_36 conv2d_32 conv2d_37 batch_normalization_32 batch_normalization_37 activation_32 activation_37 conv2d_33 conv2d_38 batch_normalization_33 batch_normalization_38 activation_33 activation_38 average_pooling2d_4 conv2d_31 conv2d_34 conv2d_39 conv2d_40 batch_normalization_31 batch_normalization_34 batch_normalization_39 batch_normalization_40 activation_31 activation_34 activation_39 activation_40 mixed4 conv2d_45 batch_normalization_45 activation_45 conv2d_46 batch_normalization_46 activation_46 conv2d_42 conv2d_47 batch_normalization_42 batch_normalization_47 activation_42 activation_47 conv2d_43 conv2d_48 batch_normalization_43 batch_normalization_48 activation_43 activation_48 average_pooling2d_5 conv2d_41 conv2d_44 conv2d_49 conv2d_50 batch_normalization_41 batch_normalization_44 batch_normalization_49 batch_normalization_50 activation_41 activation_44 activation_49 activation_50 mixed5 conv2d_55 batch_normalization_55 activation_55 conv2d_56 batch_normalization_56 activation_56 conv2d_52 conv2d_57 batch_normalization_52 batch_normalization_57 activation_52 activation_57 conv2d_53 conv2d_58 batch_normalization_53 batch_normalization_58 activation_53 activation_58 average_pooling2d_6 conv2d_51 conv2d_54 conv2d_59 conv2d_60 batch_normalization_51 batch_normalization_54 batch_normalization_59 batch_normalization_60 activation_51 activation_54 activation_59 activation_60 mixed6 conv2d_65 batch_normalization_65 activation_65 conv2d_66 batch_normalization_66 activation_66 conv2d_62 conv2d_67 batch_normalization_62 batch_normalization_67 activation_62 activation_67 conv2d_63 conv2d_68 batch_normalization_63 batch_normalization_68 activation_63 activation_68 average_pooling2d_7 conv2d_61 conv2d_64 conv2d_69 conv2d_70 batch_normalization_61 batch_normalization_64 batch_normalization_69 batch_normalization_70 activation_61 activation_64 activation_69 activation_70 mixed7 conv2d_73 batch_normalization_73 activation_73 conv2d_74 batch_normalization_74 activation_74 conv2d_71 conv2d_75 batch_normalization_71 batch_normalization_75 activation_71 activation_75 conv2d_72 conv2d_76 batch_normalization_72 batch_normalization_76 activation_72 activation_76 max_pooling2d_4 mixed8 conv2d_81 batch_normalization_81 activation_81 conv2d_78 conv2d_82 batch_normalization_78 batch_normalization_82 activation_78 activation_82 conv2d_79 conv2d_80 conv2d_83 conv2d_84 average_pooling2d_8 conv2d_77 batch_normalization_79 batch_normalization_80 batch_normalization_83 batch_normalization_84 conv2d_85 batch_normalization_77 activation_79 activation_80 activation_83 activation_84 batch_normalization_85 activation_77 mixed9_0 concatenate_1 activation_85 mixed9 conv2d_90 batch_normalization_90 activation_90 conv2d_87 conv2d_91 batch_normalization_87 batch_normalization_91 activation_87 activation_91 conv2d_88 conv2d_89 conv2d_92 conv2d_93 average_pooling2d_9 conv2d_86 batch_normalization_88 batch_normalization_89 batch_normalization_92 batch_normalization_93 conv2d_94 batch_normalization_86 activation_88 activation_89 activation_92 activation_93 batch_normalization_94 activation_86 mixed9_1 concatenate_2 activation_94 mixed10'.split(' ');

test("architecture: Keras' parameter counts, Keras' printed layer order (311 layers), the built model in that order, CAM's layer", () => {
  assert.is(describeInceptionV3().countParams(), 23851784);
  assert.is(describeInceptionV3({ includeTop: false }).countParams(), 21802784);
  assert.is(KERAS_ORDER.length, 311);
  assert.equal(['input_1', ...describeInceptionV3({ includeTop: false }).layerNames()], KERAS_ORDER);
  assert.equal(['input_1', ...describeInceptionV3().layerNames()], [...KERAS_ORDER, 'avg_pool', 'predictions']);
  const m = inceptionV3({ inputShape: [75, 75, 3] });
  try {
    assert.equal(m.layers.map((l) => l.name), [...KERAS_ORDER.slice(1), 'avg_pool', 'predictions']);
    assert.is(m.countParams(), 23851784);
    assert.is(new Cam(m).defaultLayer(), 'mixed10');
    assert.is(new GradCam(m).defaultLayer(), 'mixed10');
    assert.equal([...inceptionV3App.gradCamLayers], ['mixed10', 'mixed7']);
    assert.equal(m.getLayer('mixed10').outputShape, [1, 1, 2048]);
    assert.equal(m.getLayer('batch_normalization_1').weights.map((w) => w.name), ['beta', 'moving_mean', 'moving_variance']);
  } finally {
    m.dispose();
  }
});

test('options as keras.applications: pooling, classes, classifierActivation, any size ≥ 75, the errors', () => {
  const out = (o: Parameters<typeof describeInceptionV3>[0]) => {
    const g = describeInceptionV3(o);
    return [g.layerNames().at(-1), g.outputShape()];
  };
  assert.equal(out({}), ['predictions', [1000]]);
  assert.equal(out({ includeTop: false }), ['mixed10', [8, 8, 2048]]);
  assert.equal(describeInceptionV3().outputShape('mixed7'), [17, 17, 768]);
  assert.equal(out({ includeTop: false, pooling: 'avg', inputShape: [75, 100, 3] }), ['global_average_pooling2d_1', [2048]]);
  assert.equal(out({ includeTop: false, pooling: 'max' }), ['global_max_pooling2d_1', [2048]]);
  assert.equal(out({ classes: 5, inputShape: [139, 139, 1] }), ['predictions', [5]]);
  assert.is((describeInceptionV3({ classifierActivation: 'linear' }).layer('predictions') as unknown as { activation: string }).activation, 'linear');
  for (const [o, want] of [
    [{ inputShape: [74, 299, 3] }, /InceptionV3: input size must be at least 75×75 \(Keras' minimum\), got 74×299/],
    [{ alpha: 1 }, /InceptionV3: has no width multiplier/],
    [{ pooling: 'sum' }, /pooling must be 'avg', 'max' or null/],
  ] as const)
    assert.throws(() => describeInceptionV3(o as any), want as RegExp);
  assert.is(applicationByName('inception_v3'), inceptionV3App);
  assert.is(applicationByName('InceptionV3'), inceptionV3App);
});

test('the seeded file in the Keras 2.0 layout: layer_names + backend + keras_version, nested conv2d_N/kernel:0 datasets, no gamma, the golden weights (SHA-256); recognised with the top', async () => {
  const t0 = performance.now();
  await writeRandomInceptionV3Weights(TOP, { seed: gold.weightsSeed });
  const file = await readKerasWeights(TOP);
  console.log(`  wrote and read ${TOP.split('/').pop()} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(file.format, 'legacy-weights');
  assert.is(file.backend, 'tensorflow');
  assert.ok(file.kerasVersion?.startsWith('2.0'));
  assert.is(weightsSha256(file.layers), gold.weightsSha256);
  const byName = new Map(file.layers.map((l) => [l.name, l.weights.map((w) => `${w.name}${JSON.stringify(w.shape)}`).join(' ')]));
  assert.equal(file.layers.map((l) => l.name), [...KERAS_ORDER, 'avg_pool', 'predictions']);
  assert.is(byName.get('conv2d_1'), 'conv2d_1/kernel:0[3,3,3,32]');
  assert.is(byName.get('batch_normalization_94'), 'batch_normalization_94/beta:0[192] batch_normalization_94/moving_mean:0[192] batch_normalization_94/moving_variance:0[192]');
  assert.is(byName.get('predictions'), 'predictions/kernel:0[2048,1000] predictions/bias:0[1000]');
  assert.equal(recogniseInceptionV3(file), { includeTop: true, classes: 1000, inputShape: [299, 299, 3] });
  assert.is(xceptionApp.recognise(file), null);
  assert.is(recogniseApplication(file)?.app, inceptionV3App);
});

for (const run of [gold.small, gold.minimum!, gold.default])
  goldenTest(`${run.size}×${run.size} (${run.inputSeeds.length} image${run.inputSeeds.length > 1 ? 's' : ''}): the seeded file through recognise → build → loadWeights; logits vs PyTorch float64 (≤ 1e-4 of the largest)${run.gradcam ? ', Grad-CAM of the logit at mixed10 and mixed7' : ''}`, `${run.size}×${run.size}`, {
    app: inceptionV3App, path: TOP, keep: true, weights: { seed: gold.weightsSeed }, fingerprint: gold.weightsSha256,
    recognised: { includeTop: true, classes: 1000, inputShape: [299, 299, 3] }, build: { inputShape: [run.size, run.size, 3] }, check: () => xiCheck('InceptionV3', run),
  });

test("the no-top file; tf.keras' names (conv2d, conv2d_1, …) load by order; refusals: top into no-top, a wrong shape (one line naming file, layer, shapes)", async () => {
  await writeRandomInceptionV3Weights(NOTOP, { includeTop: false, seed: 3 });
  const notop = await readKerasWeights(NOTOP);
  assert.equal(recogniseInceptionV3(notop), { includeTop: false, inputShape: [299, 299, 3] });
  assert.is(xceptionApp.recognise(notop), null);
  // tf.keras counts automatic names from 0 (conv2d, conv2d_1, …): every name but the last exists
  // in our model, shifted by one; matching by name would be wrong, by order is right.
  const shifted = randomInceptionV3Layers({ includeTop: false, seed: 3 }).map((l) => ({
    ...l,
    name: l.name.replace(/^(conv2d|batch_normalization|activation|max_pooling2d|average_pooling2d|concatenate)_(\d+)$/, (_, p, k) => (k === '1' ? p : `${p}_${Number(k) - 1}`)),
  }));
  const TFK = join(dir, 'tf_keras_names.h5');
  await writeAppWeights(TFK, shifted, { style: 'keras2', kerasVersion: '2.4.0' });
  const tfk = await readKerasWeights(TFK);
  assert.ok(tfk.layers.some((l) => l.name === 'conv2d') && tfk.layers.some((l) => l.name === 'conv2d_1'));
  assert.equal(recogniseInceptionV3(tfk), { includeTop: false, inputShape: [299, 299, 3] });
  const bad = randomInceptionV3Layers({ includeTop: false, seed: 3 });
  const c40 = bad.find((l) => l.name === 'conv2d_40')!;
  c40.weights[0] = { name: 'kernel', shape: [1, 1, 768, 190], data: new Float32Array(768 * 190) };
  const BAD = join(dir, 'bad.h5');
  await writeAppWeights(BAD, bad, { style: 'keras2', kerasVersion: '2.0.2' });
  const badFile = await readKerasWeights(BAD);
  assert.is(recogniseInceptionV3(badFile), null);
  const top = await readKerasWeights(TOP);
  const model = inceptionV3({ includeTop: false, inputShape: [75, 75, 3] });
  try {
    const cases: [typeof top, string, RegExp][] = [
      [top, TOP, /inception_v3_weights_tf_dim_ordering_tf_kernels\.h5: not InceptionV3 weights for this model: the file has 189 layers with weights \(conv2d_1, .*\), the model 188: 'predictions' is not in this model \(a file with the top: use includeTop true\)$/],
      [badFile, BAD, /bad\.h5: not InceptionV3 weights for this model: layer 'conv2d_40' kernel is \[1, 1, 768, 190\] in the file \('kernel:0'\), the model needs \[1, 1, 768, 192\]$/],
    ];
    for (const [f, p, want] of cases) {
      let err = 'loaded';
      try {
        inceptionV3App.loadWeights(model, f, p);
      } catch (e) {
        err = (e as Error).message;
      }
      assert.ok(want.test(err) && !err.includes('\n'), err);
    }
    const first = async (f: typeof top) => {
      inceptionV3App.loadWeights(model, f, 'x.h5');
      return [await model.getLayer('conv2d_1').weights[0].read(), await model.getLayer('batch_normalization_94').weights[2].read()];
    };
    const [a1, a2] = await first(notop);
    const [b1, b2] = await first(tfk);
    assert.equal(Array.from(b1), Array.from(a1), "conv2d_1 ← the tf.keras file's 'conv2d'");
    assert.equal(Array.from(b2), Array.from(a2), "batch_normalization_94 ← the tf.keras file's 'batch_normalization_93'");
    assert.equal(Array.from(a1), Array.from(notop.layers.find((l) => l.name === 'conv2d_1')!.weights[0].data));
  } finally {
    model.dispose();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
