// The Keras applications' benchmark rows (bench/workloads/apps.ts): FLOP counts by hand, the
// BatchNorm calibration against float64 statistics, TF.js's copy of a model (artifacts, logits,
// the Grad-CAM tail after a layer) against ours and its own predict, a family TF.js cannot load
// reported in its cell, and one real family's two rows through the harness on both engines,
// with our peak GPU memory.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { DEFAULT_SUITE, runWorkload, type Instance, type Workload } from '../bench/harness.ts';
import { oursEngine, setupTfjs, type TfjsSetup } from '../bench/tfjs.ts';
import { select, workloads } from '../bench/suite.ts';
import {
  appArtifacts, appFlops, appForwardWorkload, appGradCamWorkload, APP_PROBE_CLASSES, benchApplications, calibrateBatchNorm, tfjsLoad, tfjsLogits, tfjsMissingLayers,
  tfjsSplit, tfjsTopology, VARIANCE_FLOOR,
} from '../bench/workloads/apps.ts';
import { applications, type Application } from '../nn/applications/index.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { DepthwiseConv2D } from '../nn/layers/depthwise.ts';
import { Add, Subtract } from '../nn/layers/merge.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { BatchNormalization } from '../nn/layers/regularization.ts';
import { SeparableConv2D } from '../nn/layers/separable.ts';
import { Activation } from '../nn/layers/simple.ts';
import { apply, input, Model } from '../nn/model.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;
const r = rng(5);

/**
 * in [9,9,3] → c1 conv 3×3 same (4) → bn1 → r1 relu → s1 sepconv 3×3/2 valid (6, 4×4) → d1
 * depthwise 3×3 same ×2 (12) → cam relu → p conv 1×1 (12) → add(cam, p) → gap → pred dense 5
 * softmax. `merge` swaps the Add for another merge layer.
 */
function tiny(merge: () => Add | Subtract = () => new Add('add')): Model {
  const x = input([9, 9, 3], 'in');
  const c1 = apply(new Conv2D({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same' }), x);
  const b1 = apply(new BatchNormalization(0.99, 1e-3, true, true, 'bn1'), c1);
  const a1 = apply(new Activation('relu', 'r1'), b1);
  const s1 = apply(new SeparableConv2D({ name: 's1', filters: 6, kernelSize: 3, strides: 2, padding: 'valid' }), a1);
  const d1 = apply(new DepthwiseConv2D({ name: 'd1', kernelSize: 3, padding: 'same', depthMultiplier: 2 }), s1);
  const cam = apply(new Activation('relu', 'cam'), d1);
  const p = apply(new Conv2D({ name: 'p', filters: 12, kernelSize: 1 }), cam);
  const sum = apply(merge(), cam, p);
  const g = apply(new GlobalAveragePooling2D({ name: 'gap' }), sum);
  const out = apply(new Dense({ name: 'pred', units: 5, activation: 'softmax' }), g);
  return new Model({ inputs: x, outputs: out, name: 'tiny' }).build();
}

let tfjs: TfjsSetup;
const cpuTf = async () => {
  tfjs ??= await setupTfjs({ backends: ['webgpu', 'cpu'] });
  await tfjs.others[0].engine.activate!();
  return tfjs.tf;
};

test('appFlops: 2 × multiply-adds of every kernel (conv, separable, depthwise, dense) at its output positions', () => {
  const m = tiny();
  // c1 9·9·(3·3·3·4), s1 4·4·(3·3·4·1 + 1·1·4·6), d1 4·4·(3·3·6·2), p 4·4·(12·12), pred 12·5.
  const macs = 81 * 108 + 16 * (36 + 24) + 16 * 108 + 16 * 144 + 60;
  assert.is(appFlops(m), 2 * macs);
  m.dispose();
  // ResNet50 at 224: 3.86 G multiply-adds in its convolutions and classifier (He et al. 2016
  // count 3.8 G for the convolutions).
  const resnet = applications().find((a) => a.name === 'resnet50')!.build();
  resnet.dispose();
  assert.ok(Math.abs(appFlops(resnet) / 2e9 - 3.86) < 0.02, `ResNet50: ${appFlops(resnet) / 2e9} G multiply-adds`);
});

test('calibrateBatchNorm: moving statistics are the float64 batch statistics of the BatchNorm inputs, variance floored', async () => {
  const m = tiny();
  const c1 = m.getLayer('c1');
  // Output channel 0 of c1 constant (kernel 0, bias 0.5): its variance is 0 and gets the floor.
  const k = r.uniform(3 * 3 * 3 * 4);
  for (let i = 0; i < k.length; i += 4) k[i] = 0;
  c1.weights[0].assign(k);
  c1.weights[1].assign(Float32Array.from([0.5, 0.1, -0.2, 0.3]));
  const N = 4;
  const x = E.keep(E.tensor(r.uniform(N * 9 * 9 * 3, 0, 2), [N, 9, 9, 3]));
  assert.is(await calibrateBatchNorm(m, x), 1);
  // Inference now reproduces the training pass: c1's output (bn1's input) is the same in both.
  const a = (await E.noGrad(() => E.tidy(() => m.forward(x, { training: false }, ['c1']).captured.get('c1')!.data()))) as Float32Array;
  const C = 4;
  const mean = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let i = 0; i < a.length; i++) mean[i % C] += a[i] / (a.length / C);
  for (let i = 0; i < a.length; i++) sq[i % C] += (a[i] - mean[i % C]) ** 2 / (a.length / C);
  const floor = (VARIANCE_FLOOR * [...mean].reduce((s, v, c) => s + v * v + sq[c], 0)) / C;
  const bn = m.getLayer('bn1').weights;
  const read = async (n: string) => bn.find((w) => w.name === n)!.read();
  assertClose(await read('moving_mean'), mean, { atol: 1e-5, rtol: 1e-4 }, 'moving mean');
  assertClose(await read('moving_variance'), [...sq].map((v) => Math.max(v, floor)), { atol: 1e-6, rtol: 1e-4 }, 'moving variance');
  assert.ok(sq[0] < 1e-10 && floor > 1e-4, `channel 0 constant (variance ${sq[0]}), floored to ${floor}`);
  assert.ok(sq.slice(1).every((v) => v > floor), 'the other channels keep their own variance');
  x.dispose();
  m.dispose();
});

test('TF.js copy: artifacts load, logits and predict match ours, the Grad-CAM tail after a layer equals predict', async () => {
  const tf = await cpuTf();
  const m = tiny();
  const app = { kerasName: 'Tiny' } as Application;
  const tm = await tfjsLoad(tf, app, await appArtifacts(m));
  const xs = r.uniform(2 * 9 * 9 * 3, -1, 1);
  const X = E.keep(E.tensor(xs, [2, 9, 9, 3]));
  const f = E.noGrad(() => m.forward(X, { training: false }));
  const [ours, oursLogits] = [(await f.output.data()) as Float32Array, (await f.logits!.data()) as Float32Array];
  const tx = tf.tensor(xs, [2, 9, 9, 3]);
  const probs = await tm.predict(tx).data();
  const logits = await tfjsLogits(tf, tm)(tx).data();
  assertClose(probs, ours, { atol: 1e-6, rtol: 1e-4 }, 'probabilities');
  assertClose(logits, oursLogits, { atol: 1e-5, rtol: 1e-4 }, 'logits');
  // softmax of TF.js's logits, in float64, is its own output.
  for (let i = 0; i < 2; i++) {
    const z = [...logits.slice(i * 5, i * 5 + 5)];
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    assertClose(probs.slice(i * 5, i * 5 + 5), e.map((v) => v / e.reduce((a, b) => a + b)), { atol: 1e-6, rtol: 1e-5 }, `softmax row ${i}`);
  }
  // The tail after 'cam' (p, add, gap, pred: a branch and a merge) and after 'd1' run on the head's activation.
  for (const at of ['cam', 'd1']) {
    const split = tfjsSplit(tf, tm, at);
    const viaTail = await split.tail(split.head(tx)).data();
    assertClose(viaTail, probs, { atol: 1e-7, rtol: 1e-6 }, `tail after ${at}`);
  }
  // After 'p' the Add also reads 'cam', computed before it: refused, naming both.
  assert.throws(() => tfjsSplit(tf, tm, 'p'), /layer 'add' after 'p' also reads 'cam/);
  tm.dispose();
  X.dispose();
  m.dispose();
});

test('TF.js config: SeparableConv2D loses kernel_* keys; a layer class TF.js lacks is named', async () => {
  const tf = await cpuTf();
  const m = tiny(() => new Subtract('sub'));
  const cfg = m.toKerasConfig() as any;
  const s1 = (c: any) => c.config.layers.find((l: any) => l.config.name === 's1').config;
  assert.ok('kernel_initializer' in s1(cfg), 'ours writes Keras 2 keys');
  const fixed = tfjsTopology(cfg) as any;
  for (const k of ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) assert.not.ok(k in s1(fixed), k);
  assert.ok('depthwise_initializer' in s1(fixed) && 'kernel_initializer' in s1(cfg), 'the copy only');
  assert.equal(tfjsMissingLayers(tf, fixed), ['Subtract']);
  await tfjsLoad(tf, { kerasName: 'Tiny' } as Application, await appArtifacts(m)).then(
    () => assert.unreachable('TF.js 4.22 has no Subtract layer'),
    (e: Error) => assert.match(e.message, /^TF\.js 4\.22\.0 layers cannot load Tiny: no Subtract layer$/),
  );
  m.dispose();
});

/** Keeps what a side's probe returned. */
function keepProbes(w: Workload, into: Map<string, Float32Array>): Workload {
  const wrap = (side: string, make: () => Promise<Instance>) => async () => {
    const inst = await make();
    const probe = inst.probe.bind(inst);
    inst.probe = async () => {
      const p = await probe();
      into.set(side, p);
      return p;
    };
    return inst;
  };
  return { ...w, ours: wrap('ours', () => w.ours()), tfjs: (tf: any) => wrap('tfjs', () => w.tfjs(tf))() };
}

test('a family TF.js cannot load: our side runs, the TF.js cell says why, nothing throws', async () => {
  await cpuTf();
  const fake: Application = {
    ...applications()[0],
    name: 'tiny_sub', kerasName: 'TinySub', size: 9, pixels: 'tf', gradCamLayers: ['cam', 'd1'],
    build: () => tiny(() => new Subtract('sub')),
  };
  await tfjs.tf.setBackend('webgpu');
  for (const w of [appForwardWorkload(fake), appGradCamWorkload(fake)]) {
    const res = await runWorkload(w, oursEngine(), [{ engine: tfjs.engine, tf: tfjs.tf }], { ...DEFAULT_SUITE, runs: 1, warmup: 0, warmupMs: 0 });
    assert.ok(res.ours.ms, `${w.id}: ours ran (${res.ours.error})`);
    assert.match(res.tfjs.error!, /TF\.js 4\.22\.0 layers cannot load TinySub: no Subtract layer/);
    assert.is(res.ratio, undefined);
  }
});

test('DenseNet121 at 64: forward and Grad-CAM rows on both engines, agreeing on non-trivial probes; peak GPU memory', async () => {
  await cpuTf();
  await tfjs.tf.setBackend('webgpu');
  const app = benchApplications().find((a) => a.name === 'densenet121')!;
  const fwd = new Map<string, Float32Array>();
  const cam = new Map<string, Float32Array>();
  const rows = [keepProbes(appForwardWorkload(app, { size: 64 }), fwd), keepProbes(appGradCamWorkload(app, { size: 64 }), cam)];
  for (const w of rows) {
    const res = await runWorkload(w, oursEngine(), [{ engine: tfjs.engine, tf: tfjs.tf }], { ...DEFAULT_SUITE, runs: 1, warmup: 0, warmupMs: 0 });
    assert.not.ok(res.ours.error ?? res.tfjs.error, `${w.id}: ${res.ours.error ?? res.tfjs.error}`);
    assert.ok(res.agreement?.ok, `${w.id}: engines differ by ${res.agreement?.maxRelDiff}`);
    assert.ok(res.agreement!.maxRelDiff < 1e-4, `${w.id}: ${res.agreement!.maxRelDiff}`);
    // DenseNet121's 8 062 504 weights (32 MB) are live once set up; activations come on top.
    const mem = res.ours.memory!;
    assert.ok(mem.setupBytes >= 8_062_504 * 4 && mem.peakBytes > mem.setupBytes, JSON.stringify(mem));
  }
  // The logits: neither flat nor saturated. The maps before ReLU: 4 classes × 2×2, of both signs.
  const z = fwd.get('ours')!;
  const spread = Math.max(...z) - Math.min(...z);
  assert.ok(spread > 1 && spread < 30, `logits spread ${spread}`);
  const maps = cam.get('ours')!;
  assert.is(maps.length, APP_PROBE_CLASSES.length * 4);
  assert.ok(maps.some((v) => v > 0) && maps.some((v) => v < 0), `maps ${[...maps]}`);
  assertClose(cam.get('tfjs')!, maps, { atol: 1e-3 * Math.max(...maps.map(Math.abs)), rtol: 0 }, 'maps');
});

test('the suite: application rows at small sizes by default, the families\' own with --large, --app-size; none at tiny sizes', () => {
  const ids = (o: Parameters<typeof workloads>[0]) => select(workloads(o), ['app']).map((w) => w.id);
  const names = benchApplications().map((a) => a.name);
  assert.not.ok(names.includes('vgg16'), 'VGG16 has its own rows');
  assert.ok(names.length >= 4);
  const small = ids({});
  assert.is(small.length, 2 * names.length);
  assert.ok(small.includes('app-xception-forward-71-b1') && small.includes('app-inception_v3-gradcam-107') && small.includes('app-resnet50-forward-64-b1'), small.join());
  const large = ids({ large: true });
  assert.ok(large.includes('app-xception-forward-299-b1') && large.includes('app-densenet121-gradcam-224'), large.join());
  assert.ok(ids({ appSize: 96 }).every((id) => /-96(-b1)?$/.test(id)));
  assert.is(ids({ tiny: true }).length, 0);
});

test.after(() => tfjs?.dispose());

test.run();
