// Xception (nn/applications/xception.ts) against an independent PyTorch float64 implementation
// (scripts/reference/torch_xception.py → test/golden/xception/): the seeded random-weights file is
// regenerated here in the official file's Keras 1 layout, recognised, loaded by Keras' layer order
// (the file's names are Keras 1's automatic ones; PyTorch finds the same weights by those names in
// creation order), and the logits (71×71, the minimum, two images; 299×299 once) and Grad-CAM maps
// of the logit at both gradCamLayers must match to 1e-4 of their scale. Also: architecture facts
// (parameter counts, names, Keras' order, options), the no-top file, and wrong files' errors.

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
  describeXception, randomXceptionLayers, recogniseXception, writeRandomXceptionWeights, xception, xceptionApp, xceptionKeras1Names, XCEPTION_GRAD_CAM_LAYERS,
} from '../nn/applications/xception.ts';
import { inceptionV3App } from '../nn/applications/inception_v3.ts';
import { goldenTest, readGolden, weightsSha256, xiCheck, type XiGolden } from './app_golden.ts';
import { ready } from './helpers.ts';

await ready;
const gold = readGolden<XiGolden>('xception', 'torch_xception.json');
const dir = mkdtempSync(join(tmpdir(), 'lanterna-xception-'));
const TOP = join(dir, 'xception_weights_tf_dim_ordering_tf_kernels.h5');
const NOTOP = join(dir, 'xception_weights_tf_dim_ordering_tf_kernels_notop.h5');

test("architecture: Keras' parameter counts, Keras 1 names of the official file (as public converters map them), Keras' layer order = the built model's", () => {
  assert.is(describeXception().countParams(), 22910480);
  assert.is(describeXception({ includeTop: false }).countParams(), 20861480);
  const g = describeXception();
  const k1 = xceptionKeras1Names(g);
  // Pairs read in public code loading xception_weights_tf_dim_ordering_tf_kernels.h5 by name.
  for (const [k2, k1name] of [
    ['block1_conv1', 'convolution2d_1'], ['block1_conv2_bn', 'batchnormalization_2'], ['conv2d_1', 'convolution2d_3'], ['batch_normalization_1', 'batchnormalization_3'],
    ['block2_sepconv1', 'separableconvolution2d_1'], ['block2_sepconv1_bn', 'batchnormalization_4'], ['block3_sepconv2_bn', 'batchnormalization_8'],
    ['block5_sepconv1', 'separableconvolution2d_7'], ['block5_sepconv1_bn', 'batchnormalization_12'], ['conv2d_4', 'convolution2d_6'], ['batch_normalization_4', 'batchnormalization_36'],
    ['block13_sepconv1', 'separableconvolution2d_31'], ['block14_sepconv2', 'separableconvolution2d_34'], ['block14_sepconv2_bn', 'batchnormalization_40'], ['predictions', 'dense_2'],
    ['block2_sepconv2_act', 'activation_3'], ['block2_pool', 'maxpooling2d_1'], ['add_12', 'merge_12'],
  ])
    assert.is(k1.get(k2), k1name, k2);
  // Keras' order puts each block's residual conv + BN after the main path's last BN (same depth,
  // met later by the walk from the output): by order, batch_normalization_1 ↔ batchnormalization_3.
  const order = g.layerNames();
  const at = (n: string) => order.indexOf(n);
  assert.ok(at('block2_sepconv2_bn') < at('conv2d_1') && at('conv2d_1') < at('block2_pool') && at('block2_pool') < at('batch_normalization_1') && at('batch_normalization_1') < at('add_1'));
  const m = xception({ inputShape: [71, 71, 3] });
  try {
    assert.equal(m.layers.map((l) => l.name), order);
    assert.is(m.countParams(), 22910480);
    assert.is(new Cam(m).defaultLayer(), 'block14_sepconv2_act');
    assert.is(new GradCam(m).defaultLayer(), 'block14_sepconv2_act');
    assert.equal([...XCEPTION_GRAD_CAM_LAYERS], ['block14_sepconv2_act', 'block13_sepconv1_act']);
    assert.equal(m.getLayer('block14_sepconv2_act').outputShape, [3, 3, 2048]);
    assert.equal(m.getLayer('block13_sepconv1_act').outputShape, [5, 5, 728]);
  } finally {
    m.dispose();
  }
});

test('options as keras.applications: pooling, classes, classifierActivation, any size ≥ 71, the errors', () => {
  const out = (o: Parameters<typeof describeXception>[0]) => {
    const g = describeXception(o);
    return [g.layerNames().at(-1), g.outputShape()];
  };
  assert.equal(out({}), ['predictions', [1000]]);
  assert.equal(out({ includeTop: false }), ['block14_sepconv2_act', [10, 10, 2048]]);
  assert.equal(out({ includeTop: false, pooling: 'avg', inputShape: [71, 90, 3] }), ['global_average_pooling2d_1', [2048]]);
  assert.equal(out({ includeTop: false, pooling: 'max' }), ['global_max_pooling2d_1', [2048]]);
  assert.equal(out({ classes: 7, inputShape: [150, 150, 1] }), ['predictions', [7]]);
  assert.is((describeXception({ classifierActivation: 'linear' }).layer('predictions') as unknown as { activation: string }).activation, 'linear');
  for (const [o, want] of [
    [{ inputShape: [70, 299, 3] }, /Xception: input size must be at least 71×71 \(Keras' minimum\), got 70×299/],
    [{ inputShape: [299, 299] }, /inputShape must be \[height, width, channels\]/],
    [{ alpha: 0.5 }, /Xception: has no width multiplier/],
    [{ classes: 0 }, /classes must be a positive integer/],
  ] as const)
    assert.throws(() => describeXception(o as any), want as RegExp);
  assert.is(applicationByName('Xception'), xceptionApp);
  assert.is(xceptionApp.size, 299);
  assert.is(xceptionApp.pixels, 'tf');
});

test('the seeded file in the Keras 1 layout: root attribute layer_names only, Keras 1 dataset names, the golden weights (SHA-256); recognised as Xception with the top', async () => {
  const t0 = performance.now();
  await writeRandomXceptionWeights(TOP, { seed: gold.weightsSeed });
  const file = await readKerasWeights(TOP);
  console.log(`  wrote and read ${TOP.split('/').pop()} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(file.format, 'legacy-weights');
  assert.is(file.kerasVersion, undefined);
  assert.is(file.backend, undefined);
  assert.equal(file.extraAttrs, {});
  assert.is(weightsSha256(file.layers), gold.weightsSha256);
  const byName = new Map(file.layers.map((l) => [l.name, l.weights.map((w) => `${w.name}${JSON.stringify(w.shape)}`).join(' ')]));
  assert.is(file.layers[0].name, 'input_1');
  assert.is(byName.get('convolution2d_1'), 'convolution2d_1_W:0[3,3,3,32]');
  assert.is(byName.get('separableconvolution2d_1'), 'separableconvolution2d_1_depthwise_kernel:0[3,3,64,1] separableconvolution2d_1_pointwise_kernel:0[1,1,64,128]');
  assert.is(byName.get('batchnormalization_3'), 'batchnormalization_3_gamma:0[128] batchnormalization_3_beta:0[128] batchnormalization_3_running_mean:0[128] batchnormalization_3_running_std:0[128]');
  assert.is(byName.get('dense_2'), 'dense_2_W:0[2048,1000] dense_2_b:0[1000]');
  assert.is(byName.get('merge_1'), '');
  assert.equal(recogniseXception(file), { includeTop: true, classes: 1000, inputShape: [299, 299, 3] });
  assert.is(inceptionV3App.recognise(file), null);
  assert.is(recogniseApplication(file)?.app, xceptionApp);
});

for (const run of [gold.small, gold.default])
  goldenTest(`${run.size}×${run.size} (${run.inputSeeds.length} image${run.inputSeeds.length > 1 ? 's' : ''}): the seeded file through recognise → build → loadWeights; logits vs PyTorch float64 (≤ 1e-4 of the largest)${run.gradcam ? ', Grad-CAM of the logit at both layers' : ''}`, `${run.size}×${run.size}`, {
    app: xceptionApp, path: TOP, keep: true, weights: { seed: gold.weightsSeed }, fingerprint: gold.weightsSha256,
    recognised: { includeTop: true, classes: 1000, inputShape: [299, 299, 3] }, build: { inputShape: [run.size, run.size, 3] }, check: () => xiCheck('Xception', run),
  });

test('the no-top file: recognised without the top; top and no-top files refused by the other model; a wrong shape is a one-line error naming file, layer and shapes', async () => {
  await writeRandomXceptionWeights(NOTOP, { includeTop: false, seed: 3 });
  const notop = await readKerasWeights(NOTOP);
  assert.equal(recogniseXception(notop), { includeTop: false, inputShape: [299, 299, 3] });
  assert.is(notop.layers.some((l) => l.name === 'dense_2'), false);
  assert.is(inceptionV3App.recognise(notop), null);
  const top = await readKerasWeights(TOP);
  const bad = randomXceptionLayers({ includeTop: false, seed: 3 });
  const sep5 = bad.find((l) => l.name === 'separableconvolution2d_5')!;
  sep5.weights[1] = { name: 'pointwise_kernel', shape: [1, 1, 256, 700], data: new Float32Array(256 * 700) };
  const BAD = join(dir, 'bad.h5');
  await writeAppWeights(BAD, bad, { style: 'keras1' });
  const badFile = await readKerasWeights(BAD);
  assert.is(recogniseXception(badFile), null);
  const model = xception({ includeTop: false, inputShape: [71, 71, 3] });
  try {
    const cases: [typeof top, string, RegExp][] = [
      [top, TOP, /xception_weights_tf_dim_ordering_tf_kernels\.h5: not Xception weights for this model: layer 'block1_conv1' \(kernel \[3, 3, 3, 32\]\) is missing; the file has 81 layers with weights \(convolution2d_1, batchnormalization_1, .*\), the model 80$/],
      [badFile, BAD, /bad\.h5: not Xception weights for this model: layer 'block4_sepconv1' \(file layer 'separableconvolution2d_5'\) pointwise_kernel is \[1, 1, 256, 700\] in the file \('separableconvolution2d_5_pointwise_kernel:0'\), the model needs \[1, 1, 256, 728\] \(layers matched in order/],
    ];
    for (const [f, p, want] of cases) {
      const err = (() => {
        try {
          xceptionApp.loadWeights(model, f, p);
        } catch (e) {
          return (e as Error).message;
        }
        return 'loaded';
      })();
      assert.ok(want.test(err) && !err.includes('\n'), err);
    }
    xceptionApp.loadWeights(model, notop, NOTOP);
    const w = await model.getLayer('batch_normalization_1').weights[3].read();
    const src = notop.layers.find((l) => l.name === 'batchnormalization_3')!.weights[3];
    assert.is(src.name, 'batchnormalization_3_running_std:0');
    assert.equal(Array.from(w), Array.from(src.data), 'batch_normalization_1 moving_variance = batchnormalization_3_running_std:0');
  } finally {
    model.dispose();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
