// Keras file IO: the real files in ../shared/data/keras (skipped, loudly, when that folder is
// absent), round trips through writeKerasModel / writeKerasWeightsOnly, atomic writes, and h5py
// (a second HDF5 implementation) reading what we write.
//
// Reference values were read once with h5py 3.7 (Debian's python3-h5py), e.g.
//   h5py.File('KeishiIshihara__model.hdf5')['model_weights/conv2d/conv2d/kernel:0'][0,0,0,0]
// printed as repr(float(x)): the shortest decimal of the float32 value, so equality is exact.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  kerasSnakeCase, pythonJson, readKerasWeights, writeKerasModel, writeKerasWeightsOnly,
  type KerasFile, type KerasLayerWeights,
} from '../nn/io/keras.ts';
import {
  ensureGroup, isDataset, isGroup, readStringListAttr, withH5, writeDatasetF32, writeFixedStringListAttr,
  writeH5Atomic, writeStringAttr, type H5Dataset, type H5File, type H5Group,
} from '../nn/io/h5.ts';

const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'), 'keras');
const HAVE_DATA = existsSync(DATA);
const real = (name: string) => join(DATA, name);
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-keras-test-'));
const tmp = (name: string) => join(TMP, name);

/** mulberry32 */
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weights(seed: number, shape: number[]): Float32Array {
  const r = rand(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * 2);
}

const layer = (name: string, ...ws: [string, number[]][]): KerasLayerWeights => ({
  name,
  weights: ws.map(([n, shape], i) => ({ name: n, shape, data: weights(name.length * 31 + i, shape) })),
});

const shapesOf = (f: KerasFile) => Object.fromEntries(f.layers.map((l) => [l.name, l.weights.map((w) => w.shape)]));
const namesOf = (f: KerasFile) => f.layers.map((l) => l.name);
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
function sameBits(a: Float32Array, b: Float32Array, what: string) {
  assert.is(a.length, b.length, `${what}: length`);
  const x = bits(a), y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.unreachable(`${what}[${i}]: ${a[i]} (0x${x[i].toString(16)}) != ${b[i]} (0x${y[i].toString(16)})`);
}

async function rejects(p: Promise<unknown>, expected: RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, expected);
    return (e as Error).message;
  }
  assert.unreachable(`expected an error matching ${expected}`);
  return '';
}

/** A python3 with h5py: the pyenv shim first on PATH may lack it where Debian's /usr/bin/python3 has it. */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import h5py'], { encoding: 'utf8' }).status === 0);

// ---------------------------------------------------------------------------------------------
// Real files

if (!HAVE_DATA) {
  console.log(`SKIPPED: the real Keras files: ${DATA} is absent (set LANTERNA_DATA to the shared data folder)`);
  test.skip('real Keras files (folder absent)', () => {});
} else {
  test('KeishiIshihara (Keras 2.2.4-tf full model): layout, HWIO kernels, values from h5py', async () => {
    const f = await readKerasWeights(real('KeishiIshihara__model.hdf5'));
    assert.is(f.format, 'legacy-model');
    assert.is(f.kerasVersion, '2.2.4-tf');
    assert.is(f.backend, 'tensorflow');
    assert.is(f.layerOrder, 'model');
    assert.is(f.modelConfig?.class_name, 'Sequential');
    assert.is(f.trainingConfig?.loss, 'categorical_crossentropy');
    assert.equal(namesOf(f), ['conv2d', 'dropout', 'activation', 'max_pooling2d', 'conv2d_1', 'dropout_1', 'activation_1',
      'max_pooling2d_1', 'conv2d_2', 'dropout_2', 'activation_2', 'max_pooling2d_2', 'flatten', 'dense', 'dropout_3', 'dense_1']);
    const s = shapesOf(f);
    assert.equal(s.conv2d, [[3, 3, 1, 32], [32]]);
    assert.equal(s.conv2d_1, [[3, 3, 32, 64], [64]]);
    assert.equal(s.conv2d_2, [[3, 3, 64, 128], [128]]);
    assert.equal(s.dense, [[1152, 128], [128]]);
    assert.equal(s.dense_1, [[128, 10], [10]]);
    assert.equal(s.dropout, []);
    const conv = f.layers[0].weights;
    assert.equal(conv.map((w) => w.name), ['conv2d/kernel:0', 'conv2d/bias:0']);
    assert.is(conv[0].data[0], 0.0506574846804142); // kernel[0,0,0,0]
    assert.is(conv[0].data[((2 * 3 + 2) * 1 + 0) * 32 + 31], -0.21915316581726074); // kernel[2,2,0,31]
    assert.ok(Math.abs(conv[0].data.reduce((a, b) => a + b, 0) - 1.7933866527746432) < 1e-6, 'kernel sum');
    const bias = f.layers[15].weights[1].data;
    assert.is(bias[0], -0.03562479093670845);
    assert.is(bias[9], 0.051407042890787125);
  });

  test('JanithaB (Keras 3.4.1 legacy HDF5): weight paths without :0 under sequential/', async () => {
    const f = await readKerasWeights(real('JanithaB__mnist_cnn.h5'));
    assert.is(f.format, 'legacy-model');
    assert.is(f.kerasVersion, '3.4.1');
    assert.equal(namesOf(f), ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'flatten', 'dense']);
    const dense = f.layers[5].weights;
    assert.equal(dense.map((w) => w.name), ['sequential/dense/kernel', 'sequential/dense/bias']);
    assert.equal(dense[0].shape, [1600, 10]);
    assert.is(dense[0].data[0], 0.04200464487075806);
    assert.is(dense[0].data[1599 * 10 + 9], 0.09229832142591476);
  });

  test('HimalRana: the .weights.h5 (Keras 3) holds the same floats as the legacy .h5; ordered by its config', async () => {
    const h5 = await readKerasWeights(real('HimalRana__mnist_cnn.h5'));
    assert.is(h5.kerasVersion, '3.10.0');
    const bare = await readKerasWeights(real('HimalRana__mnist_weights.weights.h5'));
    assert.is(bare.format, 'keras3-weights');
    assert.is(bare.layerOrder, 'file');
    assert.equal(namesOf(bare), ['conv2d', 'conv2d_1', 'dense', 'dense_1', 'flatten', 'max_pooling2d', 'max_pooling2d_1']);
    const w = await readKerasWeights(real('HimalRana__mnist_weights.weights.h5'), { modelConfig: h5.modelConfig });
    assert.is(w.layerOrder, 'model');
    assert.equal(namesOf(w), namesOf(h5));
    assert.equal(w.layers[0].weights.map((x) => x.name), ['vars/0', 'vars/1']);
    for (let i = 0; i < h5.layers.length; i++) {
      assert.equal(w.layers[i].weights.map((x) => x.shape), h5.layers[i].weights.map((x) => x.shape), h5.layers[i].name);
      h5.layers[i].weights.forEach((x, j) => sameBits(w.layers[i].weights[j].data, x.data, `${h5.layers[i].name} #${j}`));
    }
    const b = w.layers[6].weights[1].data;
    assert.is(b[0], 0.01039140485227108);
    assert.is(b[9], -0.010032122023403645);
  });

  test('a config that does not match Keras 3 weights is refused, naming the layer', async () => {
    const other = await readKerasWeights(real('gosolna__mnist_cnn.keras'));
    await rejects(readKerasWeights(real('HimalRana__mnist_weights.weights.h5'), { modelConfig: other.modelConfig }),
      /HimalRana__mnist_weights\.weights\.h5: layer 'dropout' \(Dropout\) of the model config should be stored at \/layers\/dropout, which is missing/);
  });

  test('gosolna (.keras zip, Keras 3.14): config.json order and names, values from h5py', async () => {
    const f = await readKerasWeights(real('gosolna__mnist_cnn.keras'));
    assert.is(f.format, 'keras3-archive');
    assert.is(f.kerasVersion, '3.14.0');
    assert.is(f.layerOrder, 'model');
    assert.is(f.modelConfig?.class_name, 'Sequential');
    assert.equal(namesOf(f), ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'flatten', 'dense', 'dropout', 'dense_1']);
    assert.equal(shapesOf(f).dense, [[1600, 128], [128]]);
    const b = f.layers[5].weights[1].data;
    assert.is(b[0], -0.00606817239895463);
    assert.is(b[127], -0.005980726331472397);
  });

  test('VitalBacon (Keras 2.2.4-tf save_weights): root layer_names, weightless layers kept', async () => {
    const f = await readKerasWeights(real('VitalBacon__mnist_weights.h5'));
    assert.is(f.format, 'legacy-weights');
    assert.is(f.kerasVersion, '2.2.4-tf');
    assert.is(f.modelConfig, undefined);
    assert.equal(namesOf(f), ['conv2d_2', 'max_pooling2d_2', 'conv2d_3', 'max_pooling2d_3', 'flatten_1', 'dropout_1', 'dense_1']);
    const k = f.layers[0].weights[0];
    assert.is(k.name, 'conv2d_2/kernel:0');
    assert.equal(k.shape, [3, 3, 1, 32]);
    assert.is(k.data[0], -0.0746321901679039);
    assert.is(k.data[((1 * 3 + 2) * 1 + 0) * 32 + 5], -0.08953353762626648); // kernel[1,2,0,5]
    const cfg = JSON.parse(readFileSync(real('VitalBacon_mnist_weights.config.json'), 'utf8'));
    const withCfg = await readKerasWeights(real('VitalBacon__mnist_weights.h5'), { modelConfig: cfg });
    assert.is(withCfg.modelConfig?.class_name, 'Sequential', 'a given config is returned when the file has none');
  });

  test('MobileNet 0.25 (Keras 2.0.4 weights): 83 layers, BatchNorm order, 218 544 parameters', async () => {
    const f = await readKerasWeights(real('mobilenet_2_5_224_tf_no_top.h5'));
    assert.is(f.format, 'legacy-weights');
    assert.is(f.kerasVersion, '2.0.4');
    assert.is(f.layers.length, 83);
    assert.is(f.layers[0].name, 'input_1');
    assert.is(f.layers.filter((l) => l.weights.length > 0).length, 54);
    assert.is(f.layers.reduce((n, l) => n + l.weights.reduce((m, w) => m + w.data.length, 0), 0), 218544);
    const bn = f.layers.find((l) => l.name === 'conv1_bn')!.weights;
    assert.equal(bn.map((w) => w.name), ['conv1_bn/gamma:0', 'conv1_bn/beta:0', 'conv1_bn/moving_mean:0', 'conv1_bn/moving_variance:0']);
    assert.is(bn[0].data[0], 0.2832702696323395);
    assert.is(bn[0].data[7], 1.1364073753356934);
    assert.equal(f.layers.find((l) => l.name === 'conv_dw_13')!.weights[0].shape, [3, 3, 256, 1]);
  });
}

// ---------------------------------------------------------------------------------------------
// Round trip through writeKerasModel

const MODEL_CONFIG = {
  class_name: 'Sequential',
  config: {
    name: 'sequential',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, 6, 6, 1], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' } },
      { class_name: 'Conv2D', config: { name: 'conv2d', trainable: true, dtype: 'float32', filters: 3, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu', use_bias: true } },
      { class_name: 'MaxPooling2D', config: { name: 'max_pooling2d', pool_size: [2, 2], strides: [2, 2], padding: 'valid' } },
      { class_name: 'Flatten', config: { name: 'flatten' } },
      { class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'softmax', use_bias: true, note: 'café ✓' } },
    ],
  },
};
const TRAINING_CONFIG = { loss: 'categorical_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } } };

function model(): KerasLayerWeights[] {
  const layers = [
    layer('conv2d', ['kernel', [3, 3, 1, 3]], ['bias', [3]]),
    layer('max_pooling2d'),
    layer('flatten'),
    layer('dense', ['kernel', [12, 4]], ['bias', [4]]),
  ];
  // Values whose bits a careless conversion would change.
  const k = layers[0].weights[0].data;
  k.set([NaN, -0, Infinity, -Infinity, 1e-45, -3.4028234663852886e38, 1 / 3]);
  return layers;
}

test('writeKerasModel → readKerasWeights: model order kept, every float bit-identical, configs and extra attrs back', async () => {
  const path = tmp('round.h5');
  const layers = model();
  await writeKerasModel(path, {
    modelConfig: MODEL_CONFIG, layers, trainingConfig: TRAINING_CONFIG,
    extraAttrs: { lanterna_preprocessing: '{"input": "unit"}' },
  });
  const f = await readKerasWeights(path);
  assert.is(f.format, 'legacy-model');
  assert.is(f.kerasVersion, '2.15.0');
  assert.is(f.backend, 'tensorflow');
  assert.equal(f.modelConfig, MODEL_CONFIG);
  assert.equal(f.trainingConfig, TRAINING_CONFIG);
  assert.equal(f.extraAttrs, { lanterna_preprocessing: '{"input": "unit"}' });
  assert.equal(namesOf(f), ['conv2d', 'max_pooling2d', 'flatten', 'dense'], 'model order, not the sorted group order');
  assert.equal(f.layers[0].weights.map((w) => w.name), ['conv2d/kernel:0', 'conv2d/bias:0'], 'kernel before bias, as weight_names says');
  layers.forEach((l, i) => l.weights.forEach((w, j) => {
    assert.equal(f.layers[i].weights[j].shape, w.shape);
    sameBits(f.layers[i].weights[j].data, w.data, `${l.name}/${w.name}`);
  }));
  // Reading back and writing again gives the same floats (full names are kept as they are).
  const again = tmp('round2.h5');
  await writeKerasModel(again, { modelConfig: f.modelConfig!, layers: f.layers });
  const g = await readKerasWeights(again);
  f.layers.forEach((l, i) => l.weights.forEach((w, j) => {
    assert.is(g.layers[i].weights[j].name, w.name);
    sameBits(g.layers[i].weights[j].data, w.data, `again ${w.name}`);
  }));
});

interface AttrKind { type: number; vlen: boolean; cset?: number; rank: number | null }

function attrKinds(path: string, spec: [string, string][]): Promise<Record<string, AttrKind>> {
  return withH5(path, (f) => Object.fromEntries(spec.map(([obj, attr]) => {
    const o = obj === '/' ? f : f.get(obj);
    if (!isGroup(o)) throw new Error(`${path}: ${obj} is not a group`);
    const m = o.attrs[attr].metadata;
    return [`${obj}@${attr}`, { type: m.type, vlen: m.vlen, cset: m.type === 3 ? m.cset : undefined, rank: m.shape ? m.shape.length : null }];
  })));
}

test('the written layout and attribute encodings are those of tf.keras (compared with the Keras 2.2.4 file where present)', async () => {
  const path = tmp('layout.h5');
  await writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: model(), trainingConfig: TRAINING_CONFIG });
  const tree = await withH5(path, (f) => ({
    root: Object.keys(f.attrs).sort(),
    keys: f.keys(),
    mw: Object.keys((f.get('model_weights') as H5Group).attrs).sort(),
    groups: (f.get('model_weights') as H5Group).keys(),
    layerNames: readStringListAttr(f.get('model_weights') as H5Group, 'layer_names', path),
    kernel: isDataset(f.get('model_weights/conv2d/conv2d/kernel:0')),
    bias: isDataset(f.get('model_weights/dense/dense/bias:0')),
    flattenNames: (f.get('model_weights/flatten') as H5Group).attrs.weight_names.value,
    dtype: (f.get('model_weights/conv2d/conv2d/kernel:0') as H5Dataset).dtype,
  }));
  assert.equal(tree.root, ['backend', 'keras_version', 'model_config', 'training_config']);
  assert.equal(tree.keys, ['model_weights']);
  assert.equal(tree.mw, ['backend', 'keras_version', 'layer_names']);
  assert.equal(tree.groups, ['conv2d', 'dense', 'flatten', 'max_pooling2d', 'top_level_model_weights']);
  assert.equal(tree.layerNames, ['conv2d', 'max_pooling2d', 'flatten', 'dense']);
  assert.ok(tree.kernel && tree.bias, 'datasets at model_weights/<layer>/<layer>/<name>:0');
  assert.instance(tree.flattenNames, Float64Array, 'weightless layer: an empty float64 array, as np.asarray([]) is');
  assert.is((tree.flattenNames as Float64Array).length, 0);
  assert.is(tree.dtype, '<f');

  const spec: [string, string][] = [
    ['/', 'keras_version'], ['/', 'backend'], ['/', 'model_config'], ['/', 'training_config'],
    ['model_weights', 'layer_names'], ['model_weights', 'backend'], ['model_weights', 'keras_version'],
    ['model_weights/conv2d', 'weight_names'], ['model_weights/dense', 'weight_names'], ['model_weights/flatten', 'weight_names'],
  ];
  const ours = await attrKinds(path, spec);
  const STR = 3, FLOAT = 1;
  assert.equal(ours['/@keras_version'], { type: STR, vlen: true, cset: 1, rank: 0 }, 'vlen UTF-8 (a Python str)');
  assert.equal(ours['/@model_config'], { type: STR, vlen: true, cset: 0, rank: 0 }, 'vlen ASCII (bytes)');
  assert.equal(ours['model_weights@layer_names'], { type: STR, vlen: false, cset: 0, rank: 1 }, 'fixed-length |S<n>');
  assert.equal(ours['model_weights/flatten@weight_names'], { type: FLOAT, vlen: false, cset: undefined, rank: 1 });
  if (HAVE_DATA) {
    const keras = await attrKinds(real('KeishiIshihara__model.hdf5'), spec);
    assert.equal(ours, keras, 'same attribute types as the file tf.keras 2.2.4 wrote');
  }
});

test('pythonJson writes what Python json.dumps writes; model_config is stored that way', async () => {
  assert.is(pythonJson({ a: [1, 2.5, 'é', null, true], b: { c: 'x"y' }, d: undefined }), '{"a": [1, 2.5, "\\u00e9", null, true], "b": {"c": "x\\"y"}}');
  assert.throws(() => pythonJson({ lr: NaN }), /\$\.lr is NaN/);
  const path = tmp('json.h5');
  await writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: model() });
  const raw = await withH5(path, (f) => f.attrs.model_config.value);
  assert.is(raw, pythonJson(MODEL_CONFIG));
  assert.match(String(raw), /"note": "caf\\u00e9 \\u2713"/);
});

test('writeKerasModel refuses bad input before touching the target, naming the layer and weight', async () => {
  const path = tmp('refused.h5');
  await writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: model() });
  const before = readFileSync(path);
  const bad = model();
  bad[3].weights[0].shape = [11, 4];
  await rejects(writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: bad }),
    /refused\.h5: layer 'dense': weight 'kernel': shape \[11,4\] needs 44 values, data has 48/);
  await rejects(writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: [...model(), layer('dense_9')] }),
    /layer 'dense_9' is not in modelConfig/);
  await rejects(writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: [layer('conv2d'), layer('conv2d')] }), /appears twice/);
  await rejects(writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: model(), extraAttrs: { model_config: '{}' } }), /may not set the Keras attribute 'model_config'/);
  assert.ok(readFileSync(path).equals(before), 'target unchanged');
});

// ---------------------------------------------------------------------------------------------
// Atomic writes

const tempsIn = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-'));

test('an error in the middle of a write leaves no file, and leaves an existing file as it was', async () => {
  const dir = mkdtempSync(join(TMP, 'atomic-'));
  const path = join(dir, 'm.h5');
  const failing = (f: H5File) => {
    writeStringAttr(f, 'keras_version', '2.15.0', 'utf8', path);
    writeDatasetF32(ensureGroup(f, 'model_weights/conv2d/conv2d', path), 'kernel:0', [2], Float32Array.of(1, 2), path);
    throw new Error('disk on fire');
  };
  await rejects(writeH5Atomic(path, failing), /disk on fire/);
  assert.not.ok(existsSync(path), 'no target');
  assert.equal(tempsIn(dir), [], 'no temporary file left');

  await writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers: model() });
  const before = readFileSync(path);
  await rejects(writeH5Atomic(path, failing), /disk on fire/);
  assert.ok(readFileSync(path).equals(before), 'existing target unchanged');
  assert.equal(tempsIn(dir), []);
  // An error inside h5.ts itself (a dataset whose name is taken) is cleaned up the same way.
  await rejects(writeH5Atomic(path, (f) => {
    writeDatasetF32(f, 'x', [1], Float32Array.of(1), path);
    writeDatasetF32(f, 'x', [1], Float32Array.of(2), path);
  }), /\/x already exists/);
  assert.ok(readFileSync(path).equals(before));
  assert.equal(tempsIn(dir), []);
});

test('a process killed (SIGKILL) in the middle of a write never leaves a partial target', () => {
  const dir = mkdtempSync(join(TMP, 'killed-'));
  const path = join(dir, 'm.h5');
  const h5url = new URL(import.meta.url.endsWith('.ts') ? '../nn/io/h5.ts' : '../nn/io/h5.js', import.meta.url).href;
  const script = `
    const h5 = await import(${JSON.stringify(h5url)});
    await h5.writeH5Atomic(${JSON.stringify(path)}, (f) => {
      h5.writeDatasetF32(f, 'w', [1000], new Float32Array(1000), 'child');
      process.kill(process.pid, 'SIGKILL');
    });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.signal, 'SIGKILL', `child should have been killed (status ${r.status}, stderr ${r.stderr})`);
  assert.not.ok(existsSync(path), 'the target was never created');
  // What a kill leaves behind is the temporary file, named for the dead process.
  assert.equal(tempsIn(dir).map((n) => n.replace(/\d+$/, 'PID')), ['m.h5.tmp-PID']);
});

// ---------------------------------------------------------------------------------------------
// Weights-only layouts

const VGG_LIKE = () => [
  layer('block1_conv1', ['kernel', [3, 3, 3, 4]], ['bias', [4]]),
  layer('block1_conv2', ['kernel', [3, 3, 4, 4]], ['bias', [4]]),
  layer('block1_pool'),
  layer('block2_conv1', ['kernel', [3, 3, 4, 5]], ['bias', [5]]),
  layer('block2_pool'),
  layer('flatten'),
  layer('fc1', ['kernel', [20, 6]], ['bias', [6]]),
  layer('fc2', ['kernel', [6, 6]], ['bias', [6]]),
  layer('predictions', ['kernel', [6, 3]], ['bias', [3]]),
];

test('vgg16-legacy weights-only file: block1_conv1/block1_conv1_W_1:0 layout, read back in layer and weight order', async () => {
  const path = tmp('vgg16_like.h5');
  const layers = VGG_LIKE();
  await writeKerasWeightsOnly(path, layers, { style: 'vgg16-legacy' });
  const layout = await withH5(path, (f) => ({
    attrs: Object.keys(f.attrs),
    w: isDataset(f.get('block1_conv1/block1_conv1_W_1:0')),
    b: isDataset(f.get('block1_conv1/block1_conv1_b_1:0')),
    poolNames: (f.get('block1_pool') as H5Group).attrs.weight_names.value,
  }));
  assert.equal(layout.attrs, ['layer_names']);
  assert.ok(layout.w && layout.b, 'datasets directly in the layer group');
  assert.is((layout.poolNames as Float64Array).length, 0, 'pooling layer listed with empty weight_names');
  const f = await readKerasWeights(path);
  assert.is(f.format, 'legacy-weights');
  assert.is(f.kerasVersion, undefined);
  assert.equal(namesOf(f), layers.map((l) => l.name), 'flatten before fc1: model order, not name order');
  assert.equal(f.layers[0].weights.map((w) => w.name), ['block1_conv1_W_1:0', 'block1_conv1_b_1:0']);
  layers.forEach((l, i) => l.weights.forEach((w, j) => {
    assert.equal(f.layers[i].weights[j].shape, w.shape);
    sameBits(f.layers[i].weights[j].data, w.data, `${l.name}/${w.name}`);
  }));
  // Round trip of the stored names.
  const again = tmp('vgg16_like2.h5');
  await writeKerasWeightsOnly(again, f.layers, { style: 'vgg16-legacy' });
  assert.equal((await readKerasWeights(again)).layers.map((l) => l.weights.map((w) => w.name)), f.layers.map((l) => l.weights.map((w) => w.name)));
});

test('keras2 weights-only file: kernel:0 read before bias:0 (weight_names order, not name order); scalar and empty weights', async () => {
  const path = tmp('keras2_weights.h5');
  const layers = VGG_LIKE();
  // Three weights whose names sort differently from their order.
  layers.push(layer('bn', ['gamma', [2]], ['beta', [2]], ['moving_mean', [2]], ['moving_variance', [2]]));
  layers.push(layer('odd_shapes', ['scalar', []], ['empty', [0, 3]]));
  await writeKerasWeightsOnly(path, layers, { style: 'keras2', kerasVersion: '2.13.1' });
  const attrs = await withH5(path, (f) => [Object.keys(f.attrs).sort(), f.keys().includes('top_level_model_weights')]);
  assert.equal(attrs, [['backend', 'keras_version', 'layer_names'], true]);
  const f = await readKerasWeights(path);
  assert.is(f.format, 'legacy-weights');
  assert.is(f.kerasVersion, '2.13.1');
  assert.equal(namesOf(f), layers.map((l) => l.name));
  assert.equal(f.layers[9].weights.map((w) => w.name), ['bn/gamma:0', 'bn/beta:0', 'bn/moving_mean:0', 'bn/moving_variance:0']);
  assert.equal(f.layers[6].weights.map((w) => w.name), ['fc1/kernel:0', 'fc1/bias:0']);
  assert.equal(f.layers[10].weights.map((w) => [w.name, w.shape, w.data.length]), [['odd_shapes/scalar:0', [], 1], ['odd_shapes/empty:0', [0, 3], 0]]);
  layers.forEach((l, i) => l.weights.forEach((w, j) => sameBits(f.layers[i].weights[j].data, w.data, `${l.name}/${w.name}`)));
});

test('string lists over 64 512 bytes are split into name0, name1, … (as Keras does) and joined on read', async () => {
  const path = tmp('chunked.h5');
  const names = Array.from({ length: 3000 }, (_, i) => `a_rather_long_layer_name_${String(i).padStart(5, '0')}`);
  await writeH5Atomic(path, (f) => writeFixedStringListAttr(f, 'layer_names', names, path));
  const [attrs, back] = await withH5(path, (f) => [Object.keys(f.attrs).sort(), readStringListAttr(f, 'layer_names', path)] as const);
  assert.equal(attrs, ['layer_names0', 'layer_names1']);
  assert.equal(back, names);
});

// ---------------------------------------------------------------------------------------------
// Errors name the file, the layer and the dataset

test('errors name the file, layer and weight at fault', async () => {
  const notKeras = tmp('plain.txt');
  writeFileSync(notKeras, 'hello');
  await rejects(readKerasWeights(notKeras), /plain\.txt: neither an HDF5 file nor a \.keras zip archive \(first bytes: 68 65 6c 6c 6f\)/);
  await rejects(readKerasWeights(tmp('absent.h5')), /absent\.h5: no such file/);

  const other = tmp('other.h5');
  await writeH5Atomic(other, (f) => writeDatasetF32(f, 'x', [2], Float32Array.of(1, 2), other));
  await rejects(readKerasWeights(other), /other\.h5: no Keras weights found: .*root holds: x/);

  const broken = tmp('broken.h5');
  await writeH5Atomic(broken, (f) => {
    writeFixedStringListAttr(f, 'layer_names', ['conv', 'gone'], broken);
    const g = ensureGroup(f, 'conv', broken);
    writeFixedStringListAttr(g, 'weight_names', ['conv/kernel:0', 'conv/bias:0'], broken);
    writeDatasetF32(g, 'conv/kernel:0', [1, 1, 1, 2], Float32Array.of(1, 2), broken);
  });
  await rejects(readKerasWeights(broken),
    /broken\.h5: layer 'conv': weight 'conv\/bias:0' is listed in weight_names but \/conv\/conv\/bias:0 is missing/);

  const noGroup = tmp('nogroup.h5');
  await writeH5Atomic(noGroup, (f) => writeFixedStringListAttr(f, 'layer_names', ['ghost'], noGroup));
  await rejects(readKerasWeights(noGroup), /nogroup\.h5: layer 'ghost': listed in \/@layer_names but \/ghost is missing/);

  const zip = tmp('empty.keras');
  writeFileSync(zip, Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
  await rejects(readKerasWeights(zip), /empty\.keras: not a readable \.keras zip archive/);
});

test('kerasSnakeCase names Keras 3 weight groups as Keras does', () => {
  const cases: [string, string][] = [
    ['Conv2D', 'conv2d'], ['MaxPooling2D', 'max_pooling2d'], ['GlobalAveragePooling2D', 'global_average_pooling2d'],
    ['BatchNormalization', 'batch_normalization'], ['DepthwiseConv2D', 'depthwise_conv2d'], ['ReLU', 're_lu'],
    ['InputLayer', 'input_layer'], ['Dense', 'dense'],
  ];
  for (const [cls, key] of cases) assert.is(kerasSnakeCase(cls), key, cls);
});

// ---------------------------------------------------------------------------------------------
// Another HDF5 implementation reads what we write

const H5PY_SCRIPT = `
import h5py, json, sys, hashlib
f = h5py.File(sys.argv[1], 'r')
dec = lambda xs: [x.decode('utf8') if hasattr(x, 'decode') else x for x in xs]
mw = f['model_weights']
out = {'keras_version': f.attrs['keras_version'], 'backend': f.attrs['backend'],
       'model_config_is_python_json': json.dumps(json.loads(f.attrs['model_config'])) == f.attrs['model_config'],
       'lanterna_preprocessing': f.attrs['lanterna_preprocessing'],
       'layer_names': dec(mw.attrs['layer_names']), 'layers': {}}
for name in out['layer_names']:
    g = mw[name]
    out['layers'][name] = [[w, list(g[w].shape), str(g[w].dtype), hashlib.sha256(g[w][()].astype('<f4').tobytes()).hexdigest()]
                           for w in dec(g.attrs['weight_names'])]
paths = []
f.visit(paths.append)
out['paths'] = sorted(paths)
print(json.dumps(out))
`;

if (!PYTHON) {
  console.log('SKIPPED: h5py cross-check: no python3 with h5py (apt-get install python3-h5py)');
  test.skip('h5py reads our files (python3 with h5py absent)', () => {});
} else {
  test('h5py reads our file: same weight paths, shapes, float32 bytes (sha256), attributes', async () => {
    const path = tmp('for_h5py.h5');
    const layers = model();
    await writeKerasModel(path, { modelConfig: MODEL_CONFIG, layers, extraAttrs: { lanterna_preprocessing: 'unit ✓' } });
    const r = spawnSync(PYTHON, ['-c', H5PY_SCRIPT, path], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout);
    assert.is(py.keras_version, '2.15.0');
    assert.is(py.backend, 'tensorflow');
    assert.ok(py.model_config_is_python_json, 'model_config is byte-identical to json.dumps of itself');
    assert.is(py.lanterna_preprocessing, 'unit ✓');
    assert.equal(py.layer_names, ['conv2d', 'max_pooling2d', 'flatten', 'dense']);
    const { createHash } = await import('node:crypto');
    const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
    for (const l of layers) {
      assert.equal(py.layers[l.name], l.weights.map((w) => [`${l.name}/${w.name}:0`, w.shape, 'float32', sha(w.data)]), l.name);
    }
    assert.equal(py.paths, [
      'model_weights', 'model_weights/conv2d', 'model_weights/conv2d/conv2d', 'model_weights/conv2d/conv2d/bias:0',
      'model_weights/conv2d/conv2d/kernel:0', 'model_weights/dense', 'model_weights/dense/dense', 'model_weights/dense/dense/bias:0',
      'model_weights/dense/dense/kernel:0', 'model_weights/flatten', 'model_weights/max_pooling2d', 'model_weights/top_level_model_weights',
    ]);
  });
}

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
