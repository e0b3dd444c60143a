// Layers, Sequential, Keras config round trip, model files, and a short MNIST training run.

import { test } from 'uvu';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { loadMnist, toFloat } from '../nn/data/mnist.ts';
import { Trainer, evaluate } from '../nn/fit.ts';
import { modelFromConfig } from '../nn/from_config.ts';
import { loadModel, saveModel } from '../nn/model_file.ts';
import { preset } from '../nn/presets.ts';
import { summary, summaryRow } from '../nn/summary.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { ready } from './helpers.ts';

await ready;
const tmp = mkdtempSync(join(tmpdir(), 'lanterna-nn-'));

test('cam1 and cam2 have the lecture architecture and Keras parameter counts', () => {
  const m1 = preset('cam1');
  const s1 = summary(m1);
  // Keras: conv 160 + 4 640 + 18 496 + 73 856, dense 1 290 = 98 442
  for (const want of ['conv2d (Conv2D)', '(None, 28, 28, 16)', '(None, 3, 3, 128)', 'global_average_pooling2d', 'dense (Dense)', 'Total params: 98,442'])
    if (!s1.includes(want)) throw new Error(`cam1 summary lacks "${want}":\n${s1}`);
  const m2 = preset('cam2');
  const s2 = summary(m2);
  for (const want of ['(None, 28, 28, 128)', 'Total params: 98,442']) if (!s2.includes(want)) throw new Error(`cam2 summary lacks "${want}":\n${s2}`);
  if (s2.includes('MaxPooling2D')) throw new Error('cam2 must not pool');
  m1.dispose();
  m2.dispose();
});

test('summary rows wrap inside their columns exactly as Keras 2.12+ prints them', () => {
  // Expected lines from Keras' print_row (keras/utils/layer_utils.py) run on the same cells.
  const want = [
    ' Layer (type)                Output Shape              Param #   ',
    ' max_pooling2d (MaxPooling2  (None, 14, 14, 16)        0         ',
    ' D)                                                              ',
    ' global_average_pooling2d (  (None, 128)               0         ',
    ' GlobalAveragePooling2D)                                         ',
    ' conv2d (Conv2D)             (None, 28, 28, 16)        160       ',
  ];
  const got = [
    ...summaryRow(['Layer (type)', 'Output Shape', 'Param #']),
    ...summaryRow(['max_pooling2d (MaxPooling2D)', '(None, 14, 14, 16)', '0']),
    ...summaryRow(['global_average_pooling2d (GlobalAveragePooling2D)', '(None, 128)', '0']),
    ...summaryRow(['conv2d (Conv2D)', '(None, 28, 28, 16)', '160']),
  ];
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`line ${i}:\n got  ${JSON.stringify(got[i])}\n want ${JSON.stringify(want[i])}`);
  if (got.length !== want.length) throw new Error(`${got.length} lines, want ${want.length}`);
  const m = preset('cam1');
  const s = summary(m);
  m.dispose();
  if (!s.includes(want[1] + '\n' + want[2])) throw new Error(`cam1's summary does not wrap its first pool row:\n${s}`);
});

test('a Keras config round trip rebuilds the same model', () => {
  const m = preset('cam1');
  const cfg = m.toKerasConfig();
  const back = modelFromConfig(JSON.parse(JSON.stringify(cfg))).build();
  if (summary(back) !== summary(m)) throw new Error(`summaries differ:\n${summary(back)}`);
  m.dispose();
  back.dispose();
});

// fit records up to inFlight steps ahead of their results: the steps and their order are the
// same, so the numbers must be too, bit for bit.
test('fit gives the same batches, losses and weights whatever inFlight (1, 2, 4)', async () => {
  const n = 550;
  const x = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const y = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const runs: { steps: number[]; losses: number[]; w: Float32Array }[] = [];
  for (const inFlight of [1, 2, 4]) {
    const model = preset('cam1', 5);
    const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
    const steps: number[] = [], losses: number[] = [];
    const [info] = await trainer.fit({ x, y }, { batchSize: 100, epochs: 1, seed: 9, inFlight, onBatchEnd: (b) => (steps.push(b.step), losses.push(b.batchLoss)) });
    if (info.epoch !== 1 || !(info.loss > 0)) throw new Error(`inFlight ${inFlight}: epoch info ${JSON.stringify(info)}`);
    runs.push({ steps, losses, w: (await model.trainableWeights[0].value.data()) as Float32Array });
    trainer.optimizer.dispose();
    model.dispose();
  }
  for (const [i, r] of runs.entries()) {
    if (r.steps.join() !== '1,2,3,4,5,6') throw new Error(`run ${i}: batches reported ${r.steps}`);
    if (r.losses.join() !== runs[0].losses.join()) throw new Error(`run ${i}: losses ${r.losses} vs ${runs[0].losses}`);
    for (let j = 0; j < r.w.length; j++) if (r.w[j] !== runs[0].w[j]) throw new Error(`run ${i}: weight ${j} differs`);
  }
});

// PyTorch, same architecture and recipe (scripts/reference/torch_cam1_short.py): 64% after these 40 steps.
test('a short cam1 training run learns MNIST (≥ 50% on 1 000 test digits after 40 steps of 100)', async () => {
  const train = await loadMnist({ split: 'train', limit: 4000 });
  const testSet = await loadMnist({ split: 'test', limit: 1000 });
  const model = preset('cam1', 3);
  const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
  const losses: number[] = [];
  await trainer.fit({ x: toFloat(train.images, 'unit'), y: train.labels }, { batchSize: 100, epochs: 1, seed: 3, onBatchEnd: (b) => losses.push(b.loss) });
  const r = await evaluate(model, { x: toFloat(testSet.images, 'unit'), y: testSet.labels });
  console.log(`    cam1, 40 steps on 4 000 digits: test accuracy ${r.accuracy.toFixed(4)} on 1 000, loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)}`);
  if (!(r.accuracy >= 0.5)) throw new Error(`accuracy ${r.accuracy}`);
  // Saved and reloaded, the model gives the same predictions bit for bit.
  const path = join(tmp, 'cam1.h5');
  await saveModel(model, path, { preprocessing: { pixels: 'unit' } });
  const loaded = await loadModel(path);
  if (loaded.preprocessing?.pixels !== 'unit') throw new Error('preprocessing not recorded');
  const x = toFloat(testSet.images.subarray(0, 20 * 784), 'unit');
  const [a, b] = await Promise.all([model.predict(x), loaded.model.predict(x)]);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`prediction ${i} differs after reload: ${a[i]} vs ${b[i]}`);
  const file = await readKerasWeights(path);
  const names = file.layers.map((l) => l.name).join(',');
  if (names !== 'conv2d,max_pooling2d,conv2d_1,max_pooling2d_1,conv2d_2,max_pooling2d_2,conv2d_3,global_average_pooling2d,dense') throw new Error(names);
  model.dispose();
  loaded.model.dispose();
  trainer.optimizer.dispose();
});

test('a training step allocates no GPU buffer after warm-up', async () => {
  const model = preset('cam2', 5);
  const trainer = new Trainer(model, {});
  const x = E.keep(E.tensor(new Float32Array(8 * 784).map((_, i) => (i % 7) / 7), [8, 28, 28, 1]));
  const y = E.keep(E.tensor(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [8], 'int32'));
  const g = E.gpu();
  const step = async () => {
    const { loss, correct } = trainer.step(x, y, model.rng);
    await loss.data();
    loss.dispose();
    correct.dispose();
  };
  await step();
  await step();
  const before = g.pool.stats();
  for (let i = 0; i < 5; i++) await step();
  const after = g.pool.stats();
  if (after.created !== before.created || after.liveBuffers !== before.liveBuffers)
    throw new Error(`created ${before.created}→${after.created}, live ${before.liveBuffers}→${after.liveBuffers}`);
  x.dispose();
  y.dispose();
  model.dispose();
  trainer.optimizer.dispose();
});

// The shipped models, on the first test digits (the full 10 000: `lanterna evaluate`, README).
for (const [file, n, floor] of [
  ['models/cam1.h5', 1000, 0.99], // 0.9930 when measured
  ['models/cam2.h5', 500, 0.93], // 0.9380 when measured
] as [string, number, number][]) {
  test(`the shipped ${file} reads its preprocessing and scores ≥ ${floor} on the first ${n} test digits`, async () => {
    const loaded = await loadModel(file);
    if (loaded.preprocessing?.pixels !== 'inverted') throw new Error(`preprocessing ${JSON.stringify(loaded.preprocessing)}`);
    const t = await loadMnist({ split: 'test', limit: n });
    const r = await evaluate(loaded.model, { x: toFloat(t.images, 'inverted'), y: t.labels });
    console.log(`    ${file}: ${r.accuracy.toFixed(4)} on ${n} digits`);
    if (!(r.accuracy >= floor)) throw new Error(`accuracy ${r.accuracy}`);
    loaded.model.dispose();
  });
}

test.after(() => {
  if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
});

test.run();
