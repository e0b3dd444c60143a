// SeparableConv2D, and Conv2D with dilation_rate / groups, as Keras layers: built from configs,
// forward against float64 references (SeparableConv2D: depthwise, then 1×1 pointwise, bias,
// activation), the layers' own backward against finite differences, config round trips, a Keras
// HDF5 save/load, and the configs Keras itself refuses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { convGeometry } from '../kernels/conv2d.ts';
import { convGeneralGeometry } from '../kernels/conv2d_general.ts';
import { conv2dGeneralRef } from '../kernels/conv2d_general_ref.ts';
import { conv2dRef } from '../kernels/conv2d_ref.ts';
import { depthwiseGeometry } from '../kernels/depthwise.ts';
import { depthwiseRef } from '../kernels/depthwise_ref.ts';
import { modelFromConfig } from '../nn/from_config.ts';
import { hasPreActivation, type Layer } from '../nn/layer.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { SeparableConv2D } from '../nn/layers/separable.ts';
import { loadModel, saveModel } from '../nn/model_file.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(47);
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-separable-test-'));
const TOL = { atol: 1e-4, rtol: 1e-4 };

type Cfg = Record<string, unknown>;
const relu = (v: Float64Array) => v.map((a) => Math.max(a, 0));

function sequential(input: number[], cls: string, config: Cfg) {
  return {
    class_name: 'Sequential',
    config: { name: 'tiny', layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, ...input] } }, { class_name: cls, config }] },
  };
}

/** SeparableConv2D in float64: depthwise (no bias), 1×1 pointwise with the bias, no activation. */
function separableRef(x: ArrayLike<number>, xs: number[], dk: ArrayLike<number>, dkShape: number[], pk: ArrayLike<number>, b: ArrayLike<number> | undefined, c: Cfg) {
  const strides = c.strides as [number, number];
  const dg = depthwiseGeometry(xs, dkShape, strides, c.dilation_rate as [number, number], c.padding as 'same' | 'valid');
  const d = depthwiseRef(x, dk, dg);
  const pg = convGeometry([dg.N, dg.HO, dg.WO, dg.C * dg.M], [1, 1, dg.C * dg.M, c.filters as number], [1, 1], 'valid');
  return { y: conv2dRef(d, pk, pg, b), shape: [dg.N, dg.HO, dg.WO, c.filters as number] };
}

async function forward(model: ReturnType<typeof modelFromConfig>, x: Float32Array, shape: number[]): Promise<Float32Array> {
  return (await E.tidy(() => model.forward(E.tensor(x, shape)).output.data())) as Float32Array;
}

/** Runs `layer.call` with its weights replaced by `ws` (so that checkGrad differentiates the layer's own path). */
function callWith(layer: Layer, x: E.Tensor, ws: E.Tensor[]): E.Tensor {
  const saved = layer.weights.map((w) => w.value);
  layer.weights.forEach((w, i) => (w.value = ws[i]));
  try {
    return layer.call(x, { training: false });
  } finally {
    layer.weights.forEach((w, i) => (w.value = saved[i]));
  }
}

// Keras 2 style configs with every option set: stride 2 'same' with depth_multiplier 2 and a fused
// relu; dilation 2 'valid' with linear and with swish (the unfused activation path), no bias.
const SEP: { input: number[]; cfg: Cfg; act: (v: Float64Array) => Float64Array }[] = [
  {
    input: [7, 6, 3],
    cfg: { name: 'sep', filters: 5, kernel_size: [3, 3], strides: [2, 2], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], depth_multiplier: 2, activation: 'relu', use_bias: true },
    act: relu,
  },
  {
    input: [9, 8, 4],
    cfg: { name: 'sep', filters: 3, kernel_size: [3, 2], strides: [1, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [2, 2], depth_multiplier: 1, activation: 'linear', use_bias: false },
    act: (v) => v,
  },
  {
    input: [6, 6, 2],
    cfg: { name: 'sep', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [2, 2], depth_multiplier: 3, activation: 'swish', use_bias: true },
    act: (v) => v.map((a) => a / (1 + Math.exp(-a))),
  },
];

test('SeparableConv2D from a Keras config: weights in Keras order, output shape, forward against depthwise → pointwise → bias → activation', async () => {
  for (const { input, cfg, act } of SEP) {
    const model = modelFromConfig(sequential(input, 'SeparableConv2D', cfg)).build();
    const layer = model.getLayer('sep') as SeparableConv2D;
    assert.instance(layer, SeparableConv2D);
    const C = input[2];
    const M = cfg.depth_multiplier as number;
    const F = cfg.filters as number;
    const k = cfg.kernel_size as [number, number];
    const want = [['depthwise_kernel', [k[0], k[1], C, M]], ['pointwise_kernel', [1, 1, C * M, F]], ...(cfg.use_bias ? [['bias', [F]]] : [])];
    assert.equal(layer.weights.map((w) => [w.name, w.shape]), want);
    assert.ok(hasPreActivation(layer), 'SeparableConv2D implements HasPreActivation');
    const vals = layer.weights.map((w) => r.uniform(w.shape.reduce((a, b) => a * b, 1)));
    layer.weights.forEach((w, i) => w.assign(vals[i]));
    const xs = [2, ...input];
    const x = r.uniform(xs.reduce((a, b) => a * b, 1), -2, 2);
    const ref = separableRef(x, xs, vals[0], want[0][1] as number[], vals[1], cfg.use_bias ? vals[2] : undefined, cfg);
    assert.equal(model.outputShape, ref.shape.slice(1), `output shape ${JSON.stringify(cfg)}`);
    assertClose(await forward(model, x, xs), act(ref.y), TOL, `forward ${cfg.activation} d${cfg.dilation_rate}`);
    const pre = await E.tidy(() => layer.preActivation(E.tensor(x, xs)).data());
    assertClose(pre, ref.y, TOL, `preActivation ${cfg.activation}`);
    model.dispose();
  }
});

test('SeparableConv2D backward (input, depthwise_kernel, pointwise_kernel, bias) matches finite differences', async () => {
  for (const { input, cfg, act } of [SEP[0], SEP[2]]) {
    const model = modelFromConfig(sequential(input, 'SeparableConv2D', cfg)).build();
    const layer = model.getLayer('sep');
    const xs = [2, ...input];
    const inputs = [{ data: r.uniform(xs.reduce((a, b) => a * b, 1)), shape: xs }, ...layer.weights.map((w) => ({ data: r.uniform(w.shape.reduce((a, b) => a * b, 1)), shape: w.shape }))];
    await checkGrad(
      `SeparableConv2D ${cfg.activation}`,
      ([tx, ...ws]) => callWith(layer, tx, ws),
      ([xx, dk, pk, b]) => act(separableRef(xx, xs, dk, inputs[1].shape, pk, b, cfg).y),
      inputs,
    );
    model.dispose();
  }
});

const SEP_FULL = SEP[0].cfg;

test('SeparableConv2D config round trip (Keras 2 keys), and a Keras HDF5 save/load keeps its three weights', async () => {
  const model = modelFromConfig(sequential(SEP[0].input, 'SeparableConv2D', SEP_FULL)).build();
  const cfg = model.getLayer('sep').getConfig();
  for (const [k, v] of Object.entries(SEP_FULL)) assert.equal(cfg[k], v, `config ${k}`);
  for (const k of ['depthwise_initializer', 'pointwise_initializer', 'depthwise_regularizer', 'pointwise_constraint', 'groups']) assert.ok(k in cfg, `config has ${k}`);
  const again = modelFromConfig(model.toKerasConfig()).build();
  assert.equal(again.getLayer('sep').getConfig(), cfg);
  const path = join(TMP, 'sep.h5');
  await saveModel(model, path);
  const { model: loaded, file } = await loadModel(path);
  if (!('layers' in file)) throw new Error('a .h5 path loaded as something other than a Keras file');
  assert.equal(file.layers.find((l) => l.name === 'sep')!.weights.map((w) => w.name), ['sep/depthwise_kernel:0', 'sep/pointwise_kernel:0', 'sep/bias:0']);
  const x = r.uniform(7 * 6 * 3);
  assertClose(await forward(loaded, x, [1, 7, 6, 3]), await forward(model, x, [1, 7, 6, 3]), { atol: 0, rtol: 0 }, 'saved and loaded');
  for (const m of [model, again, loaded]) m.dispose();
});

const CONV: { input: number[]; cfg: Cfg }[] = [
  {
    input: [8, 8, 6],
    cfg: { name: 'conv', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [2, 2], groups: 2, activation: 'relu', use_bias: true },
  },
  {
    input: [9, 7, 4],
    cfg: { name: 'conv', filters: 8, kernel_size: [3, 2], strides: [2, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], groups: 4, activation: 'linear', use_bias: true },
  },
  {
    input: [10, 10, 3],
    cfg: { name: 'conv', filters: 2, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [3, 2], groups: 1, activation: 'tanh', use_bias: false },
  },
];

test('Conv2D with dilation_rate / groups from a Keras config: kernel [kh, kw, C/groups, filters], forward, backward, config round trip', async () => {
  for (const { input, cfg } of CONV) {
    const model = modelFromConfig(sequential(input, 'Conv2D', cfg)).build();
    const layer = model.getLayer('conv') as Conv2D;
    const G = cfg.groups as number;
    const F = cfg.filters as number;
    const k = cfg.kernel_size as [number, number];
    const kshape = [k[0], k[1], input[2] / G, F];
    assert.equal(layer.weights.map((w) => w.shape), cfg.use_bias ? [kshape, [F]] : [kshape]);
    const vals = layer.weights.map((w) => r.uniform(w.shape.reduce((a, b) => a * b, 1)));
    layer.weights.forEach((w, i) => w.assign(vals[i]));
    const xs = [2, ...input];
    const x = r.uniform(xs.reduce((a, b) => a * b, 1), -2, 2);
    const g = convGeneralGeometry(xs, kshape, cfg.strides as [number, number], cfg.dilation_rate as [number, number], G, cfg.padding as 'same' | 'valid');
    const act = cfg.activation === 'relu' ? relu : cfg.activation === 'tanh' ? (v: Float64Array) => v.map(Math.tanh) : (v: Float64Array) => v;
    const ref = (xx: ArrayLike<number>, w: ArrayLike<number>, b?: ArrayLike<number>) => act(conv2dGeneralRef(xx, w, g, b));
    assert.equal(model.outputShape, [g.HO, g.WO, F]);
    assertClose(await forward(model, x, xs), ref(x, vals[0], vals[1]), TOL, `Conv2D forward ${JSON.stringify(cfg)}`);
    await checkGrad(`Conv2D ${cfg.activation} g${G} d${cfg.dilation_rate}`, ([tx, ...ws]) => callWith(layer, tx, ws), ([xx, w, b]) => ref(xx, w, b), [
      { data: x, shape: xs },
      ...layer.weights.map((w, i) => ({ data: vals[i], shape: w.shape })),
    ]);
    const got = layer.getConfig();
    for (const [key, v] of Object.entries(cfg)) assert.equal(got[key], v, `config ${key}`);
    const again = modelFromConfig(model.toKerasConfig()).build();
    assert.equal(again.getLayer('conv').getConfig(), got);
    for (const m of [model, again]) m.dispose();
  }
});

test('configs Keras refuses are refused naming the layer: strides with dilation, groups not dividing channels or filters', () => {
  const bad = (cls: string, input: number[], cfg: Cfg, over: Cfg) => () => modelFromConfig(sequential(input, cls, { ...cfg, ...over })).build();
  const conv = CONV[0];
  assert.throws(bad('Conv2D', conv.input, conv.cfg, { strides: [2, 2] }), /Conv2D 'conv': strides \[2,2\] with dilation_rate \[2,2\]/);
  assert.throws(bad('Conv2D', conv.input, conv.cfg, { groups: 3 }), /Conv2D 'conv': filters 4 are not divisible by groups 3/);
  assert.throws(bad('Conv2D', conv.input, conv.cfg, { groups: 4 }), /Conv2D 'conv': input channels 6 are not divisible by groups 4/);
  assert.throws(bad('Conv2D', conv.input, conv.cfg, { groups: 0 }), /Conv2D 'conv': groups must be a positive integer/);
  const sep = SEP[0];
  assert.throws(bad('SeparableConv2D', sep.input, sep.cfg, { dilation_rate: [2, 2] }), /SeparableConv2D 'sep': strides \[2,2\] with dilation_rate \[2,2\]/);
  assert.throws(bad('SeparableConv2D', sep.input, sep.cfg, { depth_multiplier: 0 }), /SeparableConv2D 'sep': depth_multiplier/);
  assert.throws(bad('SeparableConv2D', sep.input, sep.cfg, { data_format: 'channels_first' }), /'sep' \(SeparableConv2D\) uses channels_first/);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
