// The CAM family (explain/methods.ts) against an independent PyTorch float64 implementation of
// every method (scripts/reference/cam_methods_torch.py → test/golden/cam_methods/): Grad-CAM,
// Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM, Score-CAM, Ablation-CAM, Eigen-CAM, Eigen-Grad-CAM,
// FullGrad (and CAM), the augSmooth / eigenSmooth options and the logit score, on two seeded
// networks: the tiny VGG16 (test/golden/tiny_vgg16.h5, VGG16's layout) and a three-block
// MobileNet (depthwise + BatchNormalization + ReLU6 + GAP, Keras' MobileNet names), a batch of two
// images, for each image's top-1 and for given classes. Each map, divided by its largest |value|,
// is within 1e-4 of PyTorch's. Then: Score-CAM's and Ablation-CAM's batching (batch 1, 3, all:
// the same maps), Model.forward's `replace` option, the registry, FullGrad's refusal, and a
// mutant (Grad-CAM++ without the ReLU of its weights) that the golden comparison catches.
// Node only (files).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { AblationCam } from '../explain/ablation_cam.ts';
import type { CamContext, CamMap, CamRequest } from '../explain/cam_base.ts';
import { firstComponent, topEigen } from '../explain/eigen.ts';
import { GradCamPlusPlus } from '../explain/grad_cam_plusplus.ts';
import { CAM_METHODS, camMethod } from '../explain/methods.ts';
import { pickRows } from '../explain/perturbation.ts';
import { ScoreCam } from '../explain/score_cam.ts';
import { loadVgg16Weights } from '../nn/applications/vgg16.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { ReLU } from '../nn/layers/activation_layers.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { DepthwiseConv2D } from '../nn/layers/depthwise.ts';
import { Add } from '../nn/layers/merge.ts';
import { ZeroPadding2D } from '../nn/layers/padding.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { BatchNormalization, Dropout } from '../nn/layers/regularization.ts';
import { Activation, Flatten, Reshape } from '../nn/layers/simple.ts';
import { apply, input, Model, type SymbolicTensor } from '../nn/model.ts';
import { loadWeightsInto } from '../nn/model_file.ts';
import { Sequential } from '../nn/sequential.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;

const here = dirname(fileURLToPath(import.meta.url));
const GOLDEN = [join(here, 'golden'), join(here, '..', '..', 'test', 'golden')].find((d) => existsSync(join(d, 'cam_methods', 'cam_methods.json')))!;
const read = (f: string) => JSON.parse(readFileSync(join(GOLDEN, f), 'utf8'));

interface Case {
  method: string;
  layer: string;
  options: { augSmooth?: boolean; eigenSmooth?: boolean; score?: 'softmax' | 'logit' };
  given: boolean;
  classes: number[];
  h: number;
  w: number;
  maps: number[];
}
interface NetGolden {
  layer: string;
  top1: number[];
  given: number[];
  cases: Case[];
  input?: number[];
  blocks?: [number, number][];
  classes?: number;
}
const gold: { nets: Record<string, NetGolden> } = read('cam_methods/cam_methods.json');

/** The three-block MobileNet of the reference script, by Keras' MobileNet layer names. */
function miniMobileNet(blocks: [number, number][], classes: number): Model {
  const x0 = input([32, 32, 3], 'input_1');
  const bnRelu = (name: string, t: SymbolicTensor) => apply(new ReLU(6, 0, 0, `${name}_relu`), apply(new BatchNormalization(0.99, 1e-3, true, true, `${name}_bn`), t));
  let x = bnRelu('conv1', apply(new Conv2D({ name: 'conv1', filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x0));
  blocks.forEach(([f, s], i) => {
    const id = i + 1;
    if (s === 2) x = apply(new ZeroPadding2D([[0, 1], [0, 1]], `conv_pad_${id}`), x);
    x = bnRelu(`conv_dw_${id}`, apply(new DepthwiseConv2D({ name: `conv_dw_${id}`, kernelSize: 3, strides: s, padding: s === 1 ? 'same' : 'valid', useBias: false }), x));
    x = bnRelu(`conv_pw_${id}`, apply(new Conv2D({ name: `conv_pw_${id}`, filters: f, kernelSize: 1, padding: 'same', useBias: false }), x));
  });
  x = apply(new GlobalAveragePooling2D({ name: 'global_average_pooling2d', keepdims: true }), x);
  x = apply(new Conv2D({ name: 'conv_preds', filters: classes, kernelSize: 1, padding: 'same' }), apply(new Dropout(1e-3, 'dropout'), x));
  const y = apply(new Activation('softmax', 'predictions'), apply(new Reshape([classes], 'reshape_2'), x));
  return new Model({ inputs: x0, outputs: y, name: 'mini_mobilenet' });
}

interface Net {
  model: Model;
  x: E.Tensor;
  golden: NetGolden;
}

async function loadNets(): Promise<Record<string, Net>> {
  const vggGold = read('gradcam_tiny_vgg16.json');
  const size = vggGold.size;
  const { model: vgg } = await loadVgg16Weights(join(GOLDEN, 'tiny_vgg16.h5'), { widths: vggGold.widths, units: vggGold.units, classes: vggGold.classes, inputShape: [size, size, 3] });
  const m = gold.nets.mini_mobilenet;
  const mobile = miniMobileNet(m.blocks!, m.classes!);
  const path = join(GOLDEN, 'cam_methods', 'mini_mobilenet.h5');
  loadWeightsInto(mobile, await readKerasWeights(path), path);
  return {
    tiny_vgg16: { model: vgg, x: E.keep(E.tensor(Float32Array.from(vggGold.input), [2, size, size, 3])), golden: gold.nets.tiny_vgg16 },
    mini_mobilenet: { model: mobile, x: E.keep(E.tensor(Float32Array.from(m.input!), [2, 32, 32, 3])), golden: m },
  };
}
const nets = await loadNets();

/** max over the images of max_i |a_i / max|a| − e_i / max|e||, the maps compared per image. */
function normalisedError(maps: CamMap[], c: Case): number {
  const hw = c.h * c.w;
  let worst = 0;
  maps.forEach((m, i) => {
    if (m.h !== c.h || m.w !== c.w) throw new Error(`${c.method}: map ${m.h}×${m.w}, PyTorch's ${c.h}×${c.w}`);
    if (m.classIndex !== c.classes[i]) throw new Error(`${c.method}: image ${i} explains class ${m.classIndex}, PyTorch's ${c.classes[i]}`);
    const want = c.maps.slice(i * hw, (i + 1) * hw);
    const scale = (v: ArrayLike<number>) => Math.max(...Array.from(v, Math.abs));
    const sa = scale(m.raw);
    const se = scale(want);
    if (!(se > 0)) throw new Error(`${c.method}: PyTorch's map of image ${i} is all zero: the case tests nothing`);
    for (let j = 0; j < hw; j++) worst = Math.max(worst, Math.abs(m.raw[j] / (sa || 1) - want[j] / se));
  });
  return worst;
}

function requestFor(c: Case): CamRequest {
  return { layer: c.method === 'fullgrad' ? undefined : c.layer, classes: c.given ? c.classes : null, ...c.options };
}

const label = (c: Case) => `${c.method}${Object.entries(c.options).map(([k, v]) => ` ${k}=${v}`).join('')}`;
const table = new Map<string, Record<string, string>>();

for (const [netName, net] of Object.entries(nets)) {
  const groups = new Map<string, Case[]>();
  for (const c of net.golden.cases) groups.set(label(c), [...(groups.get(label(c)) ?? []), c]);
  for (const [name, cs] of groups)
    test(`${netName}: ${name}, top-1 and given classes, within 1e-4 of PyTorch after map / max|map|`, async () => {
      const method = camMethod(cs[0].method, net.model);
      const errs: string[] = [];
      for (const c of cs) {
        const err = normalisedError(await method.explain(net.x, requestFor(c)), c);
        errs.push(err.toExponential(1));
        if (!(err <= 1e-4)) throw new Error(`${netName} ${name} (${c.given ? `classes ${c.classes}` : 'top-1'}): normalised error ${err.toExponential(2)} > 1e-4`);
      }
      table.set(name, { ...(table.get(name) ?? {}), [netName]: errs.join(' / ') });
    });
}

/** Grad-CAM++ without the ReLU on the gradient in its weights: the golden comparison must see it. */
class GradCamPlusPlusNoRelu extends GradCamPlusPlus {
  protected override channelWeights(ctx: CamContext): E.Tensor {
    const g = ctx.gradients();
    const g2 = E.square(g);
    const a = E.div(g2, E.affine(E.add(E.scale(g2, 2), E.mul(E.sum(ctx.activations, [1, 2], true), E.mul(g2, g))), 1, 1e-6));
    return E.sum(E.mul(a, g), [1, 2]);
  }
}

test('a mutant, Grad-CAM++ without the ReLU in its weights, fails the golden comparison on both networks', async () => {
  for (const [netName, net] of Object.entries(nets)) {
    const c = net.golden.cases.find((k) => k.method === 'gradcam++' && !k.given && !Object.keys(k.options).length)!;
    const err = normalisedError(await new GradCamPlusPlusNoRelu(net.model).explain(net.x, requestFor(c)), c);
    assert.ok(err > 1e-2, `${netName}: the mutant is within ${err.toExponential(2)} of the golden`);
  }
});

for (const [Method, netName] of [[ScoreCam, 'tiny_vgg16'], [AblationCam, 'mini_mobilenet'], [AblationCam, 'tiny_vgg16']] as const)
  test(`${netName}: ${Method.name} gives the same maps with 1, 3 and all copies per pass, and two classes per image at once`, async () => {
    const net = nets[netName];
    const layer = net.golden.layer;
    const copies = 2 * net.model.getLayer(layer).outputShape![2];
    const runs: Float32Array[][] = [];
    for (const batchSize of [1, 3, copies]) {
      const maps = await new Method(net.model, { batchSize }).explain(net.x, { layer, classes: [[1, 4], [3, 0]] });
      runs.push(maps.map((m) => m.raw));
    }
    runs.slice(1).forEach((r, k) => r.forEach((m, i) => assertClose(m, runs[0][i], { atol: 1e-6 * Math.max(...Array.from(runs[0][i], Math.abs)), rtol: 0 }, `batch ${[3, copies][k]} map ${i}`)));
    const bitwise = runs.slice(1).every((r) => r.every((m, i) => m.every((v, j) => v === runs[0][i][j])));
    const single = await new Method(net.model).explain(net.x, { layer, classes: [4, 0] });
    single.forEach((m, i) => assertClose(m.raw, runs[0][2 * i + 1], { atol: 1e-6 * Math.max(...Array.from(m.raw, Math.abs)), rtol: 0 }, `class ${m.classIndex} alone`));
    console.log(`  ${Method.name} on ${netName}: ${copies} copies; batches 1, 3, ${copies} ${bitwise ? 'bit for bit equal' : 'equal to 1e-6'}`);
  });

test('Model.forward replace: a chain runs only the layers after the replaced one; a branch beside it still runs', async () => {
  const r = rng(5);
  // A chain: the replaced output decides everything, the input nothing.
  const seq = new Sequential('chain', 3);
  seq.add(new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }));
  seq.add(new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  seq.add(new Flatten());
  seq.add(new Dense({ units: 5, activation: 'softmax' }));
  seq.build([6, 6, 2]);
  const a = r.uniform(2 * 6 * 6 * 4);
  const first = seq.layers[0];
  const call = first.call.bind(first);
  let firstCalls = 0;
  first.call = (x, ctx) => (firstCalls++, call(x, ctx));
  await E.tidy(async () => {
    const given = E.tensor(a, [2, 6, 6, 4]);
    const viaReplace = seq.forward(E.zeros([2, 6, 6, 2]), { training: false }, [], { replace: new Map([['conv2d_1', given]]) });
    let h = given;
    for (const l of seq.layers.slice(2)) h = l.call(h, { training: false });
    assertClose((await viaReplace.output.data()) as Float32Array, (await h.data()) as Float32Array, { atol: 1e-6, rtol: 1e-5 }, 'chain');
    assert.ok(viaReplace.logits, 'the logits are still found');
  });
  assert.is(firstCalls, 0, 'the layer before the replaced one did not run');
  // A residual graph: in → c1 → c2 → add(c1, c2) → GAP → dense; replacing c2 keeps c1 from the input.
  const x0 = input([5, 5, 2]);
  const c1 = apply(new Conv2D({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), x0);
  const c2 = apply(new Conv2D({ name: 'c2', filters: 3, kernelSize: 3, padding: 'same' }), c1);
  const y = apply(new Dense({ name: 'out', units: 4 }), apply(new GlobalAveragePooling2D(), apply(new Add('sum'), c1, c2)));
  const g = new Model({ inputs: x0, outputs: y, name: 'residual' });
  await E.tidy(async () => {
    const x = E.tensor(r.uniform(2 * 5 * 5 * 2), [2, 5, 5, 2]);
    const b = E.tensor(r.uniform(2 * 5 * 5 * 3), [2, 5, 5, 3]);
    const got = g.forward(x, { training: false }, ['c1'], { replace: new Map([['c2', b]]) });
    const h1 = got.captured.get('c1')!;
    const want = g.getLayer('out').call(g.getLayer('global_average_pooling2d').call(E.add(h1, b), { training: false }), { training: false });
    assertClose((await got.output.data()) as Float32Array, (await want.data()) as Float32Array, { atol: 1e-6, rtol: 1e-5 }, 'residual');
    assert.throws(() => g.forward(x, { training: false }, [], { replace: new Map([['c2', E.zeros([2, 5, 5, 4])]]) }), /replacement of layer 'c2' is \[2, 5, 5, 4\], its output is \[2, 5, 5, 3\]/);
    assert.throws(() => g.forward(x, { training: false }, [], { replace: new Map([['nope', b]]) }), /has no layer 'nope' to replace/);
  });
  // Inside a nested model ('outer/inner' names): base = conv → conv, used as a layer.
  const bx = input([5, 5, 2]);
  const b1 = apply(new Conv2D({ name: 'b1', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), bx);
  const base = new Model({ inputs: bx, outputs: apply(new Conv2D({ name: 'b2', filters: 2, kernelSize: 1 }), b1), name: 'base' });
  const ox = input([5, 5, 2]);
  const outer = new Model({ inputs: ox, outputs: apply(new Dense({ name: 'head', units: 3 }), apply(new Flatten(), apply(base, ox))), name: 'outer' });
  await E.tidy(async () => {
    const x = E.tensor(r.uniform(5 * 5 * 2), [1, 5, 5, 2]);
    const b = E.tensor(r.uniform(5 * 5 * 3), [1, 5, 5, 3]);
    const got = outer.forward(x, { training: false }, [], { replace: new Map([['base/b1', b]]) });
    const want = outer.getLayer('head').call(E.reshape(base.getLayer('b2').call(b, { training: false }), [1, 50]), { training: false });
    assertClose((await got.output.data()) as Float32Array, (await want.data()) as Float32Array, { atol: 1e-6, rtol: 1e-5 }, 'nested');
  });
  seq.dispose();
  g.dispose();
  outer.dispose();
});

test('augSmooth: the upsampled map is the raw map upsampled (nearest, ×2), un-flipped at either resolution alike', async () => {
  const net = nets.mini_mobilenet;
  const [m] = await camMethod('gradcam', net.model).explain(net.x, { layer: net.golden.layer, augSmooth: true, upsample: { size: [16, 16], mode: 'nearest' } });
  const want = Float32Array.from({ length: 256 }, (_, i) => m.raw[Math.floor(i / 32) * 8 + Math.floor((i % 16) / 2)]);
  assertClose(m.upsampled!, want, { atol: 1e-6, rtol: 0 }, 'upsampled');
});

test('the registry: pytorch-grad-cam names; unknown names listed; FullGrad refuses a model without biases', async () => {
  assert.equal(Object.keys(CAM_METHODS).sort(), ['ablationcam', 'cam', 'eigencam', 'eigengradcam', 'fullgrad', 'gradcam', 'gradcam++', 'hirescam', 'layercam', 'scorecam', 'xgradcam']);
  for (const name of Object.keys(CAM_METHODS)) assert.ok(camMethod(name, nets.tiny_vgg16.model).name, name);
  assert.throws(() => camMethod('gradcam+++', nets.tiny_vgg16.model), /unknown CAM method 'gradcam\+\+\+' \(methods: gradcam, gradcam\+\+,/);
  const m = new Sequential('nobias', 1);
  m.add(new Conv2D({ filters: 2, kernelSize: 3, padding: 'same', useBias: false, activation: 'relu' }));
  m.add(new Flatten());
  m.add(new Dense({ units: 3, activation: 'softmax' }));
  m.build([4, 4, 1]);
  const x = E.keep(E.ones([1, 4, 4, 1]));
  let message = '';
  await camMethod('fullgrad', m).explain(x).catch((e: Error) => (message = e.message));
  assert.match(message, /FullGrad: model 'nobias' has no convolution with a bias and no BatchNormalization/);
  x.dispose();
  m.dispose();
});

test('topEigen (Jacobi) finds the largest eigenpair of a symmetric matrix', () => {
  // Q diag(5, 2, −1, 0.5) Qᵀ with Q a rotation: the top eigenvector is Q's first column.
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const q = [c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  const d = [5, 2, -1, 0.5];
  const a = new Float64Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) a[i * 4 + j] += q[i * 4 + k] * d[k] * q[j * 4 + k];
  const { value, vector } = topEigen(a, 4);
  assertClose([value], [5], { atol: 1e-12, rtol: 0 }, 'eigenvalue');
  const sign = Math.sign(vector[0]);
  assertClose(vector.map((v) => v * sign), [c, s, 0, 0], { atol: 1e-12, rtol: 0 }, 'eigenvector');
});

test('firstComponent: X̄·v₁ with v₁·1 ≥ 0, through either Gram matrix (fewer positions than channels, and more)', () => {
  const r = rng(9);
  for (const [m, k] of [[6, 10], [12, 5]]) {
    // A dominant rank-one part plus noise, so that power iteration (the reference) converges.
    const u = r.uniform(m);
    const v = r.uniform(k);
    const x = Float32Array.from({ length: m * k }, (_, i) => 4 * u[Math.floor(i / k)] * v[i % k] + 0.3 * (r.next() - 0.5));
    const xc = Float64Array.from(x);
    for (let c = 0; c < k; c++) {
      let mean = 0;
      for (let i = 0; i < m; i++) mean += xc[i * k + c] / m;
      for (let i = 0; i < m; i++) xc[i * k + c] -= mean;
    }
    let w = new Float64Array(k).fill(1);
    for (let it = 0; it < 2000; it++) {
      const p = Array.from({ length: m }, (_, i) => w.reduce((s, wc, c) => s + xc[i * k + c] * wc, 0));
      const next = Float64Array.from({ length: k }, (_, c) => p.reduce((s, pi, i) => s + xc[i * k + c] * pi, 0));
      const norm = Math.hypot(...next);
      w = next.map((e) => e / norm);
    }
    if (w.reduce((s, e) => s + e, 0) < 0) w = w.map((e) => -e);
    const want = Array.from({ length: m }, (_, i) => w.reduce((s, wc, c) => s + xc[i * k + c] * wc, 0));
    const got = firstComponent(x, 1, m, k);
    assertClose(got, want, { atol: 1e-5 * Math.max(...want.map(Math.abs)), rtol: 0 }, `${m} positions × ${k} channels`);
  }
});

test.after(() => {
  const names = Object.keys(nets);
  console.log(`\n  normalised error vs PyTorch (top-1 / given classes):\n  ${'method'.padEnd(28)}${names.map((n) => n.padEnd(22)).join('')}`);
  for (const [m, row] of table) console.log(`  ${m.padEnd(28)}${names.map((n) => (row[n] ?? '—').padEnd(22)).join('')}`);
  for (const n of Object.values(nets)) {
    n.x.dispose();
    n.model.dispose();
  }
});

test.run();

test('pickRows: runs of consecutive rows and repeated rows, exact; a row out of range is named', async () => {
  const m = 7, per = 6;
  const data = Float32Array.from({ length: m * per }, (_, i) => Math.sin(i * 1.7) * 100);
  const rowSets = [[0, 1, 2, 3, 4, 5, 6], [2], [3, 3, 3, 4, 4, 4, 5], [0, 1, 2, 2, 2, 6, 5, 5], [6, 0, 3, 3]];
  for (const rows of rowSets) {
    const got = await E.tidy(() => pickRows(E.tensor(data, [m, 2, 3]), rows)).data();
    const want = Float32Array.from(rows.flatMap((r) => Array.from(data.subarray(r * per, (r + 1) * per))));
    assert.equal(Array.from(got), Array.from(want), `rows ${rows}`);
  }
  assert.throws(() => E.tidy(() => pickRows(E.tensor(data, [m, per]), [1, 7])), /row 7 is outside 0\.\.6/);
});
