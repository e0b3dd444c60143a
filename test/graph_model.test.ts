// The graph model: Keras 2 list and Keras 3 dict configs of the same graph, a layer called twice
// (its weight gradient is the sum over calls), a model nested as a layer (captures inside it,
// CAM on it, .h5 and TF.js round trips), several inputs and outputs (explanations must choose
// one), summary's "Connected to", and one-line errors for missing inputs and cycles.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { Cam } from '../explain/cam.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { modelFromConfig } from '../nn/from_config.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { apply, input, Model } from '../nn/model.ts';
import { loadModel, saveModel, saveTfjsModel } from '../nn/model_file.ts';
import { Trainer } from '../nn/fit.ts';
import { summary } from '../nn/summary.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;
const r = rng(5);
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-graph-test-'));

const conv = (name: string, filters: number, activation = 'relu') => ({ name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation, use_bias: true });
const k2 = (name: string, className: string, config: object, inputs: [string, number, number][][]) => ({
  class_name: className, name, config: { name, ...config }, inbound_nodes: inputs.map((call) => call.map((ref) => [...ref, {}])),
});
const k3tensor = (ref: [string, number, number]) => ({ class_name: '__keras_tensor__', config: { shape: [null], dtype: 'float32', keras_history: ref } });
const k3 = (name: string, className: string, config: object, inputs: [string, number, number][][]) => ({
  module: 'keras.layers', class_name: className, name, registered_name: null, config: { name, ...config },
  inbound_nodes: inputs.map((call) => ({ args: call.length === 1 ? [k3tensor(call[0])] : [call.map(k3tensor)], kwargs: {} })),
});

// One input, two outputs: img → trunk → (gap → probs softmax), (gap2 → score linear).
function twoHeads(k: typeof k2, keras3 = false) {
  const inputLayer = keras3
    ? { module: 'keras.layers', class_name: 'InputLayer', name: 'img', config: { name: 'img', batch_shape: [null, 6, 5, 2], dtype: 'float32' }, inbound_nodes: [] }
    : { class_name: 'InputLayer', name: 'img', config: { name: 'img', batch_input_shape: [null, 6, 5, 2], dtype: 'float32' }, inbound_nodes: [] };
  return {
    class_name: 'Functional',
    config: {
      name: 'two_heads',
      layers: [
        inputLayer,
        k('trunk', 'Conv2D', conv('trunk', 4), [[['img', 0, 0]]]),
        k('gap', 'GlobalAveragePooling2D', {}, [[['trunk', 0, 0]]]),
        k('gap2', 'GlobalAveragePooling2D', {}, [[['trunk', 0, 0]]]),
        k('probs', 'Dense', { units: 3, activation: 'softmax' }, [[['gap', 0, 0]]]),
        k('score', 'Dense', { units: 1, activation: 'linear' }, [[['gap2', 0, 0]]]),
      ],
      input_layers: keras3 ? ['img', 0, 0] : [['img', 0, 0]],
      output_layers: [['probs', 0, 0], ['score', 0, 0]],
    },
  };
}

const X = Float32Array.from(r.uniform(2 * 6 * 5 * 2, -1, 1));
const read = async (t: () => E.Tensor) => (await E.tidy(() => t().data())) as Float32Array;

test('a Keras 2 list config and a Keras 3 dict config give the same graph and the same outputs', async () => {
  const a = modelFromConfig(twoHeads(k2));
  const b = modelFromConfig(twoHeads(k3 as unknown as typeof k2, true));
  assert.equal(a.outputNames, ['probs', 'score']);
  assert.equal(b.outputNames, ['probs', 'score']);
  assert.equal(a.outputShapes, [[3], [1]]);
  for (const [i, w] of b.weights.entries()) w.assign((await a.weights[i].read()).slice());
  const x = () => E.tensor(X, [2, 6, 5, 2]);
  // Keras 3's .keras of the Keras 2 config reads back as the same graph, bit for bit.
  const k3path = join(TMP, 'two_heads.keras');
  await saveModel(a, k3path);
  const c = (await loadModel(k3path)).model;
  assert.equal(c.outputNames, ['probs', 'score']);
  for (const o of [0, 1]) assertClose(await read(() => c.forward(x()).outputs[o]), await read(() => a.forward(x()).outputs[o]), { atol: 0 }, `.keras output ${o}`);
  c.dispose();
  // The graph's outputs are the layers composed by hand.
  const byHand = await read(() => {
    const t = (a.getLayer('trunk') as Conv2D).call(x(), { training: false });
    return (a.getLayer('score') as Dense).call((a.getLayer('gap2') as GlobalAveragePooling2D).call(t, { training: false }), { training: false });
  });
  assertClose(await read(() => a.forward(x()).outputs[1]), byHand, { atol: 0 }, 'score output');
  assertClose(await read(() => b.forward(x(), undefined, [], { output: 'score' }).output), byHand, { atol: 0 }, 'Keras 3 score output');
  assertClose(await read(() => b.forward(x()).output), await read(() => a.forward(x()).output), { atol: 0 }, 'probs output');
  a.dispose();
  b.dispose();
});

test('explanations of a two-output model must name the output; the chosen one is explained', async () => {
  const m = modelFromConfig(twoHeads(k2));
  const x = E.keep(E.tensor(X, [2, 6, 5, 2]));
  let msg = '';
  await new GradCam(m).explain(x).catch((e: Error) => (msg = e.message));
  assert.ok(msg.includes('2 outputs') && msg.includes('probs') && msg.includes('score'), msg);
  const maps = await new GradCam(m).explain(x, { output: 'probs', layer: 'trunk' });
  assert.is(maps.length, 2);
  assert.is(maps[0].h * maps[0].w, 30);
  // CAM finds the GAP → Dense head of the chosen output.
  const cam = new Cam(m);
  assert.throws(() => cam.defaultLayer(), /2 outputs/);
  const s = summary(m).split('\n');
  // Keras 2's functional layout: 98 columns at [.3, .6, .7, 1.], one row per layer.
  assert.is(s[2], ' Layer (type)                Output Shape                 Param #   Connected to                  ');
  assert.ok(s.includes(" gap2 (GlobalAveragePooling  (None, 4)                    0         ['trunk[0][0]']               "), s.join('\n'));
  const logits = await read(() => m.forward(x, undefined, [], { output: 'probs' }).logits!);
  const probs = await read(() => m.forward(x).output);
  assertClose(Float32Array.from(probs.slice(0, 3)), softmax(logits.slice(0, 3)), { atol: 1e-6 }, 'probs = softmax(logits)');
  x.dispose();
  m.dispose();
});

function softmax(v: Float32Array): Float32Array {
  const m = Math.max(...v);
  const e = v.map((a) => Math.exp(a - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((a) => a / s);
}

test('a layer called twice: one set of weights, its gradient the sum over both calls', async () => {
  const a = input([5, 4, 2], 'left');
  const b = input([5, 4, 2], 'right');
  const shared = new Conv2D({ name: 'shared', filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' });
  const gl = apply(new GlobalAveragePooling2D({ name: 'gl' }), apply(shared, a));
  const gr = apply(new GlobalAveragePooling2D({ name: 'gr' }), apply(shared, b));
  const both = new Model({ inputs: [a, b], outputs: [gl, gr], name: 'siamese' });
  const onlyLeft = new Model({ inputs: [a], outputs: [gl] });
  const onlyRight = new Model({ inputs: [b], outputs: [gr] });
  assert.is(both.weights.length, 2);
  assert.is(both.countParams(), 3 * 3 * 2 * 3 + 3);
  assert.throws(() => both.forward([E.zeros([1, 5, 4, 2]), E.zeros([1, 5, 4, 2])], undefined, ['shared']), /called 2 times.*shared\[0\], shared\[1\]/);
  const xl = Float32Array.from(r.uniform(2 * 40, -1, 1));
  const xr = Float32Array.from(r.uniform(2 * 40, -1, 1));
  const kernel = shared.weights[0].value;
  const gradOf = (m: Model, xs: Float32Array[]) =>
    read(() => {
      const outs = m.forward(xs.map((v) => E.tensor(v, [2, 5, 4, 2]))).outputs;
      return E.grad(outs.map((o) => E.sum(o)).reduce((p, q) => E.add(p, q)), [kernel])[0];
    });
  const total = await gradOf(both, [xl, xr]);
  const left = await gradOf(onlyLeft, [xl]);
  const right = await gradOf(onlyRight, [xr]);
  assertClose(total, left.map((v, i) => v + right[i]), { atol: 1e-6, rtol: 1e-5 }, 'shared kernel gradient');
  assert.ok(left.some((v) => Math.abs(v) > 1e-4) && right.some((v) => Math.abs(v) > 1e-4), 'both calls contribute');
  const caps = await E.tidy(async () => {
    const f = both.forward([E.tensor(xl, [2, 5, 4, 2]), E.tensor(xr, [2, 5, 4, 2])], undefined, ['shared[0]', 'shared[1]']);
    return Promise.all([f.captured.get('shared[0]')!.data(), f.captured.get('shared[1]')!.data()]);
  });
  assert.not.equal(Array.from(caps[0]), Array.from(caps[1]));
  both.dispose();
});

// A model nested as a layer: the transfer-learning pattern, base → GAP → Dense.
const NESTED = {
  class_name: 'Functional',
  config: {
    name: 'outer',
    layers: [
      { class_name: 'InputLayer', name: 'pic', config: { name: 'pic', batch_input_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
      {
        class_name: 'Sequential', name: 'features',
        config: { name: 'features', layers: [
          { class_name: 'InputLayer', config: { name: 'features_in', batch_input_shape: [null, 8, 8, 3] } },
          { class_name: 'Conv2D', config: conv('c1', 4) },
          { class_name: 'BatchNormalization', config: { name: 'bn' } },
          { class_name: 'Conv2D', config: conv('c2', 5) },
        ] },
        inbound_nodes: [[['pic', 0, 0, {}]]],
      },
      k2('pool', 'GlobalAveragePooling2D', {}, [[['features', 0, 0]]]),
      k2('head', 'Dense', { units: 3, activation: 'softmax' }, [[['pool', 0, 0]]]),
    ],
    input_layers: [['pic', 0, 0]],
    output_layers: [['head', 0, 0]],
  },
};

test('a nested model: captures inside it, CAM on its output, .h5 and TF.js round trips, summary', async () => {
  const m = modelFromConfig(NESTED);
  assert.equal(m.layers.map((l) => l.name), ['features', 'pool', 'head']);
  assert.is(m.weights.length, 2 + 4 + 2 + 2);
  // BatchNorm statistics that are not the defaults, so that the file's order matters.
  const bn = m.getLayer('bn');
  bn.weights[2].assign(Float32Array.from([0.1, -0.2, 0.3, 0.05]));
  bn.weights[3].assign(Float32Array.from([1.5, 0.7, 2, 1.1]));
  const xv = Float32Array.from(r.uniform(2 * 8 * 8 * 3, 0, 1));
  const x = E.keep(E.tensor(xv, [2, 8, 8, 3]));
  const out = await read(() => m.forward(x).output);
  const inner = await read(() => m.forward(x, undefined, ['c1']).captured.get('c1')!);
  const innerPath = await read(() => m.forward(x, undefined, ['features/c1']).captured.get('features/c1')!);
  assert.is(inner.length, 2 * 8 * 8 * 4);
  assertClose(innerPath, inner, { atol: 0 }, 'features/c1 = c1');
  const cam = new Cam(m);
  assert.is(cam.defaultLayer(), 'features');
  const maps = await cam.explain(x);
  assert.is(maps[0].h, 8);
  const gmaps = await new GradCam(m).explain(x, { layer: 'c1' });
  assert.is(gmaps[0].w, 8);

  // A chain-shaped Functional model prints in Keras' Sequential layout, its input included.
  const s = summary(m);
  assert.ok(s.includes('features (Sequential)') && s.includes('[(None, 8, 8, 3)]') && !s.includes('Connected to'), s);

  const h5 = join(TMP, 'nested.h5');
  await saveModel(m, h5);
  const back = (await loadModel(h5)).model;
  assertClose(await read(() => back.forward(x).output), out, { atol: 0 }, 'output after .h5 round trip');
  const k3 = join(TMP, 'nested.keras');
  await saveModel(m, k3, { preprocessing: { pixels: 'unit' } });
  const back3 = await loadModel(k3);
  assert.is(back3.file.format, 'keras3-archive');
  assert.equal(back3.preprocessing, { pixels: 'unit' });
  assertClose(await read(() => back3.model.forward(x).output), out, { atol: 0 }, 'output after .keras round trip');
  back3.model.dispose();
  const dir = join(TMP, 'nested_tfjs');
  await saveTfjsModel(m, dir);
  const back2 = (await loadModel(dir)).model;
  assertClose(await read(() => back2.forward(x).output), out, { atol: 0 }, 'output after TF.js round trip');
  x.dispose();
  [m, back, back2].forEach((v) => v.dispose());
});

test('fit trains a graph model (loss falls) and refuses a model of two outputs', async () => {
  const m = modelFromConfig(NESTED);
  const n = 40;
  const xs = Float32Array.from(r.uniform(n * 8 * 8 * 3, 0, 1));
  const ys = Array.from({ length: n }, (_, i) => i % 3);
  // Class = which third of the image is brighter: learnable from the pooled features.
  for (let i = 0; i < n; i++) for (let p = 0; p < 64; p++) xs[i * 192 + p * 3 + ys[i]] += 1;
  const t = new Trainer(m, { optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  const hist = await t.fit({ x: xs, y: ys }, { batchSize: 20, epochs: 8, shuffle: false });
  assert.ok(hist[hist.length - 1].loss < hist[0].loss * 0.9, `loss ${hist.map((h) => h.loss.toFixed(3)).join(' → ')}`);
  assert.throws(() => new Trainer(modelFromConfig(twoHeads(k2))), /2 outputs.*probs, score/);
  m.dispose();
});

const bad = (layers: object[], outputs = [['b', 0, 0]]) => ({
  class_name: 'Functional',
  config: { name: 'bad', layers: [{ class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 4] }, inbound_nodes: [] }, ...layers], input_layers: [['in', 0, 0]], output_layers: outputs },
});

test('configs naming a missing layer or call, or with a cycle, are refused in one line', () => {
  const dense = (name: string, from: [string, number, number]) => k2(name, 'Dense', { units: 4 }, [[from]]);
  const cases: [object, RegExp][] = [
    [bad([dense('b', ['nope', 0, 0])]), /layer 'b' takes input from 'nope', which model 'bad' does not have/],
    [bad([dense('a', ['in', 0, 0]), dense('b', ['a', 1, 0])]), /takes call 1 of 'a', which is called 1 time/],
    [bad([dense('a', ['b', 0, 0]), dense('b', ['a', 0, 0])]), /cycle: 'a', 'b'/],
    [bad([dense('a', ['in', 0, 0])], [['zz', 0, 0]]), /output_layers takes input from 'zz'/],
  ];
  for (const [cfg, want] of cases) {
    let msg = '';
    try {
      modelFromConfig(cfg, 'm.json');
    } catch (e) {
      msg = (e as Error).message;
    }
    assert.match(msg, want);
    assert.ok(msg.startsWith('m.json: ') && !msg.includes('\n'), msg);
  }
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
