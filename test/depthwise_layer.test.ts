// DepthwiseConv2D as a Keras layer: built from a config, its config round trip, saved and loaded
// through a Keras HDF5 file (weights stored as '<layer>/depthwise_kernel:0'), and the real
// MobileNet v1 0.25 weights-only file loaded into a model built from the TF.js model's config.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as E from '../engine/index.ts';
import { depthwiseGeometry } from '../kernels/depthwise.ts';
import { depthwiseRef } from '../kernels/depthwise_ref.ts';
import { modelFromConfig } from '../nn/from_config.ts';
import { DepthwiseConv2D } from '../nn/layers/depthwise.ts';
import { loadModel, saveModel } from '../nn/model_file.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;
const r = rng(21);
const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'));
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-depthwise-test-'));

const relu6 = (v: Float64Array) => v.map((a) => Math.min(Math.max(a, 0), 6));

// A Keras 2 style Sequential config: InputLayer, then a DepthwiseConv2D with every option set.
const DW = { name: 'dw', kernel_size: [3, 3], strides: [2, 2], padding: 'same', depth_multiplier: 2, dilation_rate: [1, 1], use_bias: true, activation: 'relu6', data_format: 'channels_last' };
const TINY = {
  class_name: 'Sequential',
  config: { name: 'tiny', layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 7, 6, 3] } }, { class_name: 'DepthwiseConv2D', config: DW }] },
};

async function forward(model: ReturnType<typeof modelFromConfig>, x: Float32Array, shape: number[]): Promise<Float32Array> {
  return (await E.tidy(() => model.forward(E.tensor(x, shape)).output.data())) as Float32Array;
}

test('DepthwiseConv2D from a Keras config: shapes, weights, forward against the reference', async () => {
  const model = modelFromConfig(TINY).build();
  const layer = model.getLayer('dw') as DepthwiseConv2D;
  assert.instance(layer, DepthwiseConv2D);
  assert.equal(layer.weights.map((w) => [w.name, w.shape]), [['depthwise_kernel', [3, 3, 3, 2]], ['bias', [6]]]);
  assert.equal(model.outputShape, [4, 3, 6]);
  const w = r.uniform(54);
  const b = r.uniform(6);
  layer.weights[0].assign(w);
  layer.weights[1].assign(b);
  const x = r.uniform(2 * 7 * 6 * 3, -3, 3);
  const g = depthwiseGeometry([2, 7, 6, 3], [3, 3, 3, 2], [2, 2], [1, 1], 'same');
  assertClose(await forward(model, x, [2, 7, 6, 3]), relu6(depthwiseRef(x, w, g, b)), { atol: 1e-5, rtol: 1e-5 }, 'tiny model');
  model.dispose();
});

test('DepthwiseConv2D config round trip, and a Keras HDF5 save/load keeps depthwise_kernel', async () => {
  const model = modelFromConfig(TINY).build();
  const cfg = model.getLayer('dw').getConfig();
  for (const [k, v] of Object.entries(DW)) assert.equal(cfg[k], v, `config ${k}`);
  const again = modelFromConfig(model.toKerasConfig()).build();
  assert.equal(again.getLayer('dw').getConfig(), cfg);
  const path = join(TMP, 'dw.h5');
  await saveModel(model, path);
  const { model: loaded, file } = await loadModel(path);
  if (!('layers' in file)) throw new Error('a .h5 path loaded as something other than a Keras file');
  assert.equal(file.layers.find((l) => l.name === 'dw')!.weights.map((w) => w.name), ['dw/depthwise_kernel:0', 'dw/bias:0']);
  const x = r.uniform(7 * 6 * 3);
  assertClose(await forward(loaded, x, [1, 7, 6, 3]), await forward(model, x, [1, 7, 6, 3]), { atol: 0, rtol: 0 }, 'saved and loaded');
  for (const m of [model, again, loaded]) m.dispose();
});

test('DepthwiseConv2D configs Lanterna cannot run are refused naming the layer', () => {
  const bad = (over: object) => () => modelFromConfig({ ...TINY, config: { ...TINY.config, layers: [TINY.config.layers[0], { class_name: 'DepthwiseConv2D', config: { ...DW, ...over } }] } });
  assert.throws(bad({ data_format: 'channels_first' }), /'dw' \(DepthwiseConv2D\) uses channels_first/);
  assert.throws(bad({ depth_multiplier: 0 }), /DepthwiseConv2D 'dw': depth_multiplier/);
});

const TFJS = join(DATA, 'tfjs/mobilenet_v1_0.25_224');
const H5 = join(DATA, 'keras/mobilenet_2_5_224_tf_no_top.h5');
if (!existsSync(TFJS) || !existsSync(H5)) {
  console.log(`SKIPPED: MobileNet files absent (${TFJS}, ${H5}); set LANTERNA_DATA to the shared data folder`);
  test.skip('MobileNet v1 0.25 no-top weights (data absent)', () => {});
} else {
  test('MobileNet v1 0.25 no-top: Keras weights into the TF.js config minus its head; depthwise layers match the reference', async () => {
    const json = JSON.parse(readFileSync(join(TFJS, 'model.json'), 'utf8'));
    const mc = json.modelTopology.model_config;
    const layers: any[] = mc.config.layers;
    const last = layers.findIndex((l) => l.name === 'conv_pw_13_relu');
    const config = { ...mc, config: { ...mc.config, layers: layers.slice(0, last + 1), output_layers: [['conv_pw_13_relu', 0, 0]] } };
    const { model } = await loadModel(H5, config);
    assert.is(model.countParams(), 218544);
    // The TF.js shards hold the same ImageNet weights (converted from the model with a head).
    const entry = json.weightsManifest.find((g: any) => g.weights[0].name === 'conv_dw_2/depthwise_kernel');
    const shard = readFileSync(join(TFJS, entry.paths[0]));
    const tfjs = new Float32Array(shard.buffer, shard.byteOffset, 3 * 3 * 16);
    const dw2 = model.getLayer('conv_dw_2') as DepthwiseConv2D;
    assert.equal(dw2.weights[0].shape, [3, 3, 16, 1]);
    assertClose(await dw2.weights[0].read(), tfjs, { atol: 0, rtol: 0 }, 'conv_dw_2 kernel: Keras file vs TF.js shard');
    // A forward pass; the depthwise layers (stride 1 and stride 2) against the float64 reference on their captured inputs.
    const x = r.uniform(224 * 224 * 3);
    const cap = ['conv1_relu', 'conv_dw_1', 'conv_pw_1_relu', 'conv_dw_2'];
    const [out, ...got] = await E.tidy(() => {
      const f = model.forward(E.tensor(x, [1, 224, 224, 3]), { training: false }, cap);
      return Promise.all([f.output.data(), ...cap.map((n) => f.captured.get(n)!.data())]);
    });
    assert.is(out.length, 7 * 7 * 256);
    assert.ok(out.every(Number.isFinite) && out.some((v) => v > 0), 'features finite and not all zero');
    for (const [inp, lname, H] of [[0, 'conv_dw_1', 112], [2, 'conv_dw_2', 112]] as const) {
      const layer = model.getLayer(lname) as DepthwiseConv2D;
      const w = await layer.weights[0].read();
      const C = layer.weights[0].shape[2];
      const g = depthwiseGeometry([1, H, H, C], layer.weights[0].shape, layer.strides, layer.dilationRate, layer.padding);
      assertClose(got[inp + 1], depthwiseRef(got[inp], w, g), { atol: 1e-4, rtol: 1e-4 }, `${lname} on real weights`);
    }
    model.dispose();
  });
}

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
