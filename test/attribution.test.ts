// Pixel attributions (explain/attribution/) on the engine's own gradients, against an independent
// PyTorch float64 implementation (scripts/reference/attribution_torch.py →
// test/golden/attribution/): every method on two seeded networks, the tiny VGG16 (Sequential,
// 64×64, 'caffe' pixels) and a tiny MobileNet (graph model: depthwise + BN + ReLU6 + GAP, 32×32,
// 'tf' pixels), each map to 1e-4 after normalisation (map / max |map|); the seeded noise is the
// reference's too. Also: Integrated Gradients' completeness at 256 steps, Guided Backpropagation
// leaving the model's ordinary gradients as they were (hooks gone, even after an error), batch
// size not changing results, and the errors a caller can make.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import * as A from '../explain/attribution/index.ts';
import { loadVgg16Weights } from '../nn/applications/vgg16.ts';
import { preprocessInput, preprocessPixels } from '../nn/applications/imagenet.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { DepthwiseConv2D } from '../nn/layers/depthwise.ts';
import { ZeroPadding2D } from '../nn/layers/padding.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { BatchNormalization } from '../nn/layers/regularization.ts';
import { ReLU } from '../nn/layers/activation_layers.ts';
import { Activation, Reshape } from '../nn/layers/simple.ts';
import { apply, input, Model, type SymbolicTensor } from '../nn/model.ts';
import { loadWeightsInto } from '../nn/model_file.ts';
import type { Layer } from '../nn/layer.ts';
import { assertClose, ready, throwsNaming } from './helpers.ts';

await ready;

const ROOT = [fileURLToPath(new URL('../..', import.meta.url)), fileURLToPath(new URL('..', import.meta.url))].find((r) => existsSync(join(r, 'test/golden/attribution/golden.json')))!;
const GOLD = join(ROOT, 'test/golden/attribution');
const golden = JSON.parse(readFileSync(join(GOLD, 'golden.json'), 'utf8'));
const bin = new Float32Array(new Uint8Array(readFileSync(join(GOLD, golden.bin))).buffer);
const slab = (r: { offset: number; length: number }) => bin.subarray(r.offset, r.offset + r.length);

/** The tiny MobileNet of attribution_torch.py, built as a graph model with Keras' layer names. */
function tinyMobileNet(blocks: [number, number][], classes: number): Model {
  const x0 = input([32, 32, 3], 'input_1');
  const on = (l: Layer, t: SymbolicTensor) => apply(l, t);
  const bnRelu6 = (name: string, t: SymbolicTensor) => on(new ReLU(6, 0, 0, `${name}_relu`), on(new BatchNormalization(0.99, 1e-3, true, true, `${name}_bn`), t));
  let x = bnRelu6('conv1', on(new Conv2D({ name: 'conv1', filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x0));
  blocks.forEach(([f, s], k) => {
    const i = k + 1;
    if (s === 2) x = on(new ZeroPadding2D([[0, 1], [0, 1]], `conv_pad_${i}`), x);
    x = bnRelu6(`conv_dw_${i}`, on(new DepthwiseConv2D({ name: `conv_dw_${i}`, kernelSize: 3, strides: s, padding: s === 1 ? 'same' : 'valid', useBias: false }), x));
    x = bnRelu6(`conv_pw_${i}`, on(new Conv2D({ name: `conv_pw_${i}`, filters: f, kernelSize: 1, padding: 'same', useBias: false }), x));
  });
  x = on(new GlobalAveragePooling2D({ name: 'global_average_pooling2d', keepdims: true }), x);
  x = on(new Conv2D({ name: 'conv_preds', filters: classes, kernelSize: 1, padding: 'same' }), x);
  x = on(new Activation('softmax', 'predictions'), on(new Reshape([classes], 'reshape_2'), x));
  return new Model({ inputs: x0, outputs: x, name: 'tiny_mobilenet' });
}

const gc = JSON.parse(readFileSync(join(ROOT, 'test/golden/gradcam_tiny_vgg16.json'), 'utf8'));
const { model: vgg } = await loadVgg16Weights(join(ROOT, 'test/golden/tiny_vgg16.h5'), { widths: gc.widths, units: gc.units, classes: gc.classes, inputShape: [gc.size, gc.size, 3] });
const mg = golden.networks.tiny_mobilenet;
const mobilenet = tinyMobileNet(mg.blocks, mg.classes_count);
const mobilenetH5 = join(GOLD, mg.weights);
loadWeightsInto(mobilenet, await readKerasWeights(mobilenetH5), mobilenetH5);

interface Net {
  name: string;
  model: Model;
  x: E.Tensor;
  preprocess: (p: Float32Array) => Float32Array;
  g: any;
}
const nets: Net[] = [
  { name: 'tiny_vgg16', model: vgg, preprocess: preprocessInput, g: golden.networks.tiny_vgg16 },
  { name: 'tiny_mobilenet', model: mobilenet, preprocess: (p: Float32Array) => preprocessPixels(p, 'tf', 3), g: mg },
].map((n) => ({ ...n, x: E.keep(E.tensor(slab(n.g.input), n.g.shape)) }));

/** Runs one golden case through the library. */
function run(net: Net, c: any): Promise<A.Attribution> {
  const req = { score: c.score, classes: c.top1 ? null : c.classes };
  switch (c.method) {
    case 'saliency':
      return A.saliency(net.model, net.x, req);
    case 'grad_x_input':
      return A.gradientTimesInput(net.model, net.x, req);
    case 'smoothgrad':
    case 'smoothgrad_sq':
    case 'vargrad': {
      const kind = { smoothgrad: 'smoothgrad', smoothgrad_sq: 'smoothgrad-squared', vargrad: 'vargrad' }[c.method as string] as A.NoiseTunnelKind;
      return A.noiseTunnel(kind, net.model, net.x, { ...req, samples: c.samples, noiseLevel: c.noiseLevel, seed: c.seed });
    }
    case 'ig': {
      const baseline: A.Baseline = c.baseline === 'black' ? 'black' : c.baseline.startsWith('blur') ? { blur: Number(c.baseline.slice(4)) } : { uniform: true, seed: c.seed };
      // The uniform baseline of the MobileNet case draws pixels through the preprocessing; the VGG one in the input's own range.
      const preprocess = c.baseline === 'black' || (c.baseline === 'uniform' && net.name === 'tiny_mobilenet') ? net.preprocess : undefined;
      return A.integratedGradients(net.model, net.x, { ...req, baseline, steps: c.steps, preprocess });
    }
    case 'guided_backprop':
      return A.guidedBackprop(net.model, net.x, req);
    case 'guided_gradcam':
      return A.guidedGradCam(net.model, net.x, { ...req, layer: c.layer });
    case 'occlusion':
      return A.occlusion(net.model, net.x, { ...req, window: c.window, stride: c.stride, baseline: c.value });
  }
  throw new Error(`no method ${c.method}`);
}

const table: string[] = [];
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
/** max |a/max|a| − b/max|b|| ≤ 1e-4 (throws naming the worst element); returns it. */
function compareNormalised(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  if (maxAbs(want) === 0) throw new Error(`${what}: the golden is all zeros, the comparison would see nothing`);
  return assertClose(A.normalised(got), A.normalised(want), { atol: 1e-4, rtol: 0 }, what);
}

for (const net of nets)
  test(`${net.name}: every method against PyTorch float64, maps to 1e-4 after normalisation`, async () => {
    for (const c of net.g.cases) {
      const r = await run(net, c);
      const what = `${net.name} ${c.id}`;
      assert.equal(r.classes, c.classes, `${what}: target classes`);
      assert.is(r.reduction, c.reduction, `${what}: reduction`);
      const e = compareNormalised(r.map, slab(c.map), `${what}: map`);
      let raw = '';
      if (c.raw) raw = ` raw ${compareNormalised(r.raw, slab(c.raw), `${what}: raw`).toExponential(1)}`;
      table.push(`| ${net.name} | ${c.id} | ${e.toExponential(1)}${raw} | ${r.passes} | ${r.ms.toFixed(0)} |`);
    }
  });

test('Integrated Gradients, 256 steps: completeness error as the float64 quadrature, ≤ 1e-3 where that reaches it', async () => {
  const cases: [Net, A.Baseline, string][] = [
    [nets[0], { blur: 1 }, 'blur1'],
    [nets[1], 'black', 'black'],
  ];
  for (const [net, baseline, key] of cases) {
    const ref = net.g.completeness256[key];
    const ig = await A.integratedGradients(net.model, net.x, { classes: net.g.classes, score: 'logit', steps: 256, baseline, preprocess: net.preprocess });
    const c = ig.completeness;
    for (let i = 0; i < c.ratio.length; i++) {
      const delta = Math.abs(ref.score[i] - ref.baselineScore[i]);
      // Our Σ attributions against the reference's: float32 accumulation of 256·H·W·C terms.
      assertClose([c.total[i], c.score[i], c.baselineScore[i]], [ref.total[i], ref.score[i], ref.baselineScore[i]], { atol: 2e-4 * delta, rtol: 0 }, `${net.name} ${key} image ${i}: Σ IG, S(x), S(x′)`);
      if (ref.ratio[i] <= 1e-3) assert.ok(c.ratio[i] <= 1e-3, `${net.name} ${key} image ${i}: completeness ratio ${c.ratio[i]} > 1e-3`);
    }
    table.push(`| ${net.name} | IG 256 steps, ${key} baseline, logit | completeness ratio ${c.ratio.map((v) => v.toExponential(2)).join(', ')} (float64 reference ${ref.ratio.map((v: number) => v.toExponential(2)).join(', ')}) | ${ig.passes} | ${ig.ms.toFixed(0)} |`);
  }
});

test('Guided Backpropagation leaves the ordinary gradients unchanged, its hooks removed even when backward throws', async () => {
  for (const net of nets) {
    const before = await A.saliency(net.model, net.x, { classes: net.g.classes, score: 'logit' });
    const guided = await A.guidedBackprop(net.model, net.x, { classes: net.g.classes, score: 'logit' });
    assert.ok(guided.raw.some((v, i) => v !== before.raw[i]), `${net.name}: guided gradients differ from the ordinary ones`);
    // A backward pass that fails half-way: every hook must still be gone.
    const names = A.reluFamilyLayers(net.model);
    const held: E.Tensor[] = E.tidy(() => {
      const x = E.view(net.x, net.x.shape).requireGrad();
      const f = net.model.forward(x, { training: false }, names);
      const acts = [...f.captured.values()];
      throwsNaming(() => A.withGuidedRelus(acts, () => E.grad(f.output, [x])), 'not a scalar');
      assert.ok(acts.every((t) => t.hooks.length === 0), `${net.name}: hooks left after an error`);
      return [];
    });
    assert.is(held.length, 0);
    const after = await A.saliency(net.model, net.x, { classes: net.g.classes, score: 'logit' });
    assert.equal(Array.from(after.raw), Array.from(before.raw), `${net.name}: ordinary gradients after Guided Backpropagation`);
  }
});

test('ReLU-family layers found by name (13 convs + fc1, fc2 in VGG16; 7 ReLU6 layers in the tiny MobileNet); offGrad removes a hook', () => {
  const v = A.reluFamilyLayers(vgg);
  assert.is(v.length, 15);
  assert.ok(v.includes('block1_conv1') && v.includes('fc2') && !v.includes('predictions'));
  assert.equal(A.reluFamilyLayers(mobilenet), ['conv1_relu', 'conv_dw_1_relu', 'conv_pw_1_relu', 'conv_dw_2_relu', 'conv_pw_2_relu', 'conv_dw_3_relu', 'conv_pw_3_relu']);
  let calls = 0;
  const hook = () => {
    calls++;
  };
  E.tidy(() => {
    const x = E.tensor([1, -2, 3], [3]).requireGrad();
    const y = E.relu(x).onGrad(hook).onGrad(hook).offGrad(hook);
    E.grad(E.sum(y), [x]);
  });
  assert.is(calls, 0);
});

test('batch size changes nothing: SmoothGrad and Integrated Gradients with rows split across passes and images', async () => {
  const net = nets[1];
  const o = { classes: net.g.classes, score: 'logit' as const };
  const sg = await A.smoothGrad(net.model, net.x, { ...o, samples: 5, seed: 3 });
  const sg3 = await A.smoothGrad(net.model, net.x, { ...o, samples: 5, seed: 3, batchSize: 3 });
  assert.is(sg.passes, 1);
  assert.is(sg3.passes, 4);
  assertClose(sg3.raw, sg.raw, { atol: 1e-6 * maxAbs(sg.raw), rtol: 0 }, 'SmoothGrad, batch 3 vs one pass');
  const ig = await A.integratedGradients(net.model, net.x, { ...o, steps: 9, quadrature: 'gausslegendre' });
  const ig4 = await A.integratedGradients(net.model, net.x, { ...o, steps: 9, quadrature: 'gausslegendre', batchSize: 4 });
  assertClose(ig4.raw, ig.raw, { atol: 1e-6 * maxAbs(ig.raw), rtol: 0 }, 'Integrated Gradients, batch 4 vs one pass');
});

test('nothing left on the GPU: every method frees what it made (after a first run fills the caches)', async () => {
  const net = nets[1];
  const pool = E.gpu().pool;
  for (const c of net.g.cases) {
    await run(net, c);
    const before = pool.stats().liveBuffers;
    await run(net, c);
    assert.is(pool.stats().liveBuffers, before, `${c.id}: GPU buffers still held after the call`);
  }
});

test('quadratures: Gauss–Legendre nodes and weights as numpy leggauss; trapezoid and right sums', () => {
  for (const [m, [nodes, weights]] of Object.entries(golden.gaussLegendre) as [string, [number[], number[]]][]) {
    const q = A.quadrature('gausslegendre', Number(m));
    assertClose(q.alphas, nodes.map((t) => (t + 1) / 2), { atol: 1e-14, rtol: 0 }, `Gauss–Legendre ${m} nodes`);
    assertClose(q.weights, weights.map((w) => w / 2), { atol: 1e-14, rtol: 0 }, `Gauss–Legendre ${m} weights`);
  }
  assert.equal(A.quadrature('trapezoid', 3), { alphas: [0, 0.5, 1], weights: [0.25, 0.5, 0.25] });
  assert.equal(A.quadrature('right', 4), { alphas: [0.25, 0.5, 0.75, 1], weights: [0.25, 0.25, 0.25, 0.25] });
  throwsNaming(() => A.quadrature('trapezoid', 1), 'trapezoid', '≥ 2');
});

test('bad requests: one line naming what is wrong', async () => {
  const net = nets[1];
  const rejects = async (p: Promise<unknown>, ...parts: string[]) => {
    let msg = '';
    await p.catch((e: Error) => (msg = e.message));
    for (const s of parts) if (!msg.includes(s)) throw new Error(`"${msg}" does not name ${s}`);
  };
  await rejects(A.saliency(net.model, net.x, { classes: [1] }), 'Saliency', '1 target classes for 2 images');
  await rejects(A.saliency(net.model, net.x, { classes: [1, 10] }), 'class 10 is outside 0..9');
  await rejects(A.occlusion(net.model, net.x, { window: 4, stride: 6 }), 'Occlusion', 'stride 6', '1..4');
  await rejects(A.integratedGradients(net.model, net.x, { baseline: E.zeros([2, 16, 16, 3]) }), 'baseline tensor [2, 16, 16, 3]', '[1, 32, 32, 3]');
  await rejects(A.smoothGrad(net.model, net.x, { samples: 0 }), 'SmoothGrad', 'samples');
  await rejects(A.saliency(net.model, E.zeros([32, 32, 3])), 'Saliency', '[N, H, W, C]', '[32, 32, 3]');
});

test.after(() => {
  console.log(['| network | case | max |Δ| after normalisation | passes | ms |', '| --- | --- | --- | --- | --- |', ...table].join('\n'));
  for (const n of nets) n.x.dispose();
  vgg.dispose();
  mobilenet.dispose();
});

test.run();
