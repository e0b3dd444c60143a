// LayerNormalization and the preprocessing Normalization, built from Keras configs: forward against
// float64 references written from Keras' definitions (and Keras' documentation examples), the
// input's and every trainable weight's gradient against finite differences, config round trips,
// a Keras HDF5 save/load, and the one-line errors for axes and values that do not fit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { layerFromConfig, modelFromConfig } from '../nn/from_config.ts';
import type { Layer } from '../nn/layer.ts';
import { LayerNormalization, Normalization } from '../nn/layers/normalization.ts';
import { loadModel, saveModel } from '../nn/model_file.ts';
import { Rng } from '../nn/random.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(41);
const ctx = { training: false };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-norm-test-'));

function built(cls: string, cfg: object, inShape: number[]): Layer {
  const l = layerFromConfig(cls, { name: 'n', ...cfg }, 'test');
  l.build(inShape, new Rng(1));
  return l;
}

async function forward(layer: Layer, x: Float32Array, shape: number[]): Promise<Float32Array> {
  return (await E.tidy(() => layer.call(E.tensor(x, shape), ctx).data())) as Float32Array;
}

/** The layer called with its weights replaced by `ts[1..]`, so checkGrad differentiates them too. */
function withWeights(layer: Layer, call: (x: Tensor) => Tensor) {
  return (ts: Tensor[]) => {
    const kept = layer.weights.map((w) => w.value);
    layer.weights.forEach((w, k) => (w.value = ts[k + 1]));
    try {
      return call(ts[0]);
    } finally {
      layer.weights.forEach((w, k) => (w.value = kept[k]));
    }
  };
}

/** Row-major index → multi-index. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Keras LayerNormalization in float64: mean and biased variance per example over `axes` (of the
 * batch tensor), γ and β stored in `axes` order and reshaped onto the kept sizes in tensor order.
 */
function layerNormRef(x: ArrayLike<number>, shape: number[], axes: number[], eps: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null): Float64Array {
  const sorted = [...axes].sort((a, b) => a - b);
  const group = (idx: number[]) => idx.reduce((g, v, d) => (sorted.includes(d) ? g : g * shape[d] + v), 0);
  const param = (idx: number[]) => sorted.reduce((p, a) => p * shape[a] + idx[a], 0);
  const groups = size(shape) / size(sorted.map((a) => shape[a]));
  const n = size(shape) / groups;
  const sum = new Float64Array(groups);
  const sq = new Float64Array(groups);
  for (let i = 0; i < x.length; i++) sum[group(unravel(i, shape))] += x[i];
  for (let i = 0; i < x.length; i++) {
    const g = group(unravel(i, shape));
    sq[g] += (x[i] - sum[g] / n) ** 2;
  }
  return Float64Array.from(x, (v, i) => {
    const idx = unravel(i, shape);
    const g = group(idx);
    let y = (v - sum[g] / n) / Math.sqrt(sq[g] / n + eps);
    if (gamma) y *= gamma[param(idx)];
    if (beta) y += beta[param(idx)];
    return y;
  });
}

// [config, batch-excluded input shape, the axes in the batch tensor]
const LN: [object, number[], number[]][] = [
  [{}, [7], [1]],
  [{}, [4, 4, 3], [3]],
  [{ axis: [1, 2, 3] }, [3, 2, 5], [1, 2, 3]],
  [{ axis: [-2, -1], epsilon: 1e-5 }, [3, 4, 5], [2, 3]],
  // Unsorted: γ is [C, H] as Keras builds it, reshaped (not transposed) onto [1, H, 1, C].
  [{ axis: [3, 1] }, [3, 2, 4], [3, 1]],
  [{ axis: 2, center: false }, [3, 5, 2], [2]],
  [{ axis: [2], scale: false }, [3, 5, 2], [2]],
  [{ axis: -1, center: false, scale: false }, [6], [1]],
];

test(`LayerNormalization: forward against the float64 reference on ${LN.length} axis / option cases (atol 1e-5)`, async () => {
  let worst = 0;
  for (const [cfg, inShape, axes] of LN) {
    const layer = built('LayerNormalization', cfg, inShape) as LayerNormalization;
    const wshape = axes.map((a) => inShape[a - 1]);
    const scale = (cfg as any).scale ?? true;
    const center = (cfg as any).center ?? true;
    assert.equal(layer.weights.map((w) => [w.name, w.shape]), [...(scale ? [['gamma', wshape]] : []), ...(center ? [['beta', wshape]] : [])], `${JSON.stringify(cfg)} weights`);
    const g = r.uniform(size(wshape), 0.5, 1.5);
    const b = r.uniform(size(wshape));
    if (scale) layer.weights[0].assign(g);
    if (center) layer.weights[scale ? 1 : 0].assign(b);
    const shape = [3, ...inShape];
    const x = r.uniform(size(shape), -3, 3);
    const want = layerNormRef(x, shape, axes, layer.epsilon, scale ? g : null, center ? b : null);
    worst = Math.max(worst, assertClose(await forward(layer, x, shape), want, { atol: 1e-5, rtol: 1e-5 }, `LayerNormalization ${JSON.stringify(cfg)}`));
    layer.dispose();
  }
  console.log(`  LayerNormalization: max |err| ${worst.toExponential(2)}`);
});

test('LayerNormalization: the gradients of x, gamma and beta against finite differences', async () => {
  for (const [cfg, inShape, axes] of [LN[1], LN[3], LN[4], LN[5]]) {
    const layer = built('LayerNormalization', cfg, inShape) as LayerNormalization;
    const shape = [2, ...inShape];
    const wshape = axes.map((a) => inShape[a - 1]);
    const ws = layer.weights.map(() => ({ data: r.uniform(size(wshape), 0.5, 1.5), shape: wshape }));
    const hasGamma = layer.weights[0]?.name === 'gamma';
    const hasBeta = layer.weights.some((w) => w.name === 'beta');
    await checkGrad(
      `LayerNormalization ${JSON.stringify(cfg)}`,
      withWeights(layer, (x) => layer.call(x, ctx)),
      ([x, ...w]) => layerNormRef(x, shape, axes, layer.epsilon, hasGamma ? w[0] : null, hasBeta ? w[hasGamma ? 1 : 0] : null),
      [{ data: r.uniform(size(shape), -3, 3), shape }, ...ws],
      { atol: 2e-3, rtol: 2e-3 },
    );
    layer.dispose();
  }
});

/** Keras' Normalization in float64; mean and variance already broadcast-indexed by `at`. */
function normRef(x: ArrayLike<number>, mean: (i: number) => number, variance: (i: number) => number, invert: boolean): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const s = Math.max(Math.sqrt(variance(i)), 1e-7);
    return invert ? mean(i) + v * s : (v - mean(i)) / s;
  });
}

test("Normalization: Keras' documentation examples (adapted weights, invert, mean and variance in the config)", async () => {
  const adapted = built('Normalization', { axis: -1 }, [3]);
  assert.equal(adapted.weights.map((w) => [w.name, w.shape, w.trainable]), [['mean', [3], false], ['variance', [3], false], ['count', [], false]]);
  // adapt([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]]) gives mean [1, 8, 5], variance [1, 1, 1], count 4.
  const stats = [Float32Array.of(1, 8, 5), Float32Array.of(1, 1, 1), Float32Array.of(4)];
  adapted.weights.forEach((w, k) => w.assign(stats[k]));
  assert.equal(Array.from(await forward(adapted, Float32Array.of(0, 7, 4), [1, 3])), [-1, -1, -1]);
  const inverse = built('Normalization', { axis: -1, invert: true }, [3]);
  inverse.weights.forEach((w, k) => w.assign(stats[k]));
  assert.equal(Array.from(await forward(inverse, Float32Array.of(1, 2, 3), [1, 3])), [2, 10, 8]);
  const given = built('Normalization', { mean: 3, variance: 2 }, [1]);
  assert.equal(given.weights.length, 0, 'mean and variance in the config: no weights');
  assertClose(await forward(given, Float32Array.of(1, 2, 3), [3, 1]), [-1.4142135, -0.70710677, 0], { atol: 1e-6, rtol: 0 }, 'mean=3, variance=2');
  for (const l of [adapted, inverse, given]) l.dispose();
});

test('Normalization: axes, broadcast config values, invert and the 1e-7 floor against the float64 reference', async () => {
  // [config, input shape, kept axes (tensor), mean/variance weight shape or null for config values]
  const cases: [object, number[], number[]][] = [
    [{ axis: -1 }, [4, 4, 3], [3]],
    [{ axis: [1, 3] }, [2, 3, 4], [1, 3]],
    [{ axis: [3, 1], invert: true }, [2, 3, 4], [1, 3]],
    [{ axis: null }, [5, 2], []],
    [{ axis: [] }, [5, 2], []],
  ];
  let worst = 0;
  for (const [cfg, inShape, keep] of cases) {
    const layer = built('Normalization', cfg, inShape);
    const mshape = keep.map((a) => inShape[a - 1]);
    assert.equal(layer.weights.map((w) => w.shape), [mshape, mshape, []], `${JSON.stringify(cfg)} weight shapes`);
    const m = r.uniform(size(mshape), -1, 1);
    const v = r.uniform(size(mshape), 0.2, 2);
    v[0] = 0; // a constant feature: divided by 1e-7, as Keras does
    layer.weights[0].assign(m);
    layer.weights[1].assign(v);
    const shape = [2, ...inShape];
    const x = r.uniform(size(shape), -3, 3);
    const at = (i: number) => keep.reduce((p, a) => p * shape[a] + unravel(i, shape)[a], 0);
    const want = normRef(x, (i) => m[at(i)], (i) => v[at(i)], (cfg as any).invert ?? false);
    const got = await forward(layer, x, shape);
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `Normalization ${JSON.stringify(cfg)}`);
    worst = Math.max(worst, ...Array.from(got, (g, i) => Math.abs(g - want[i]) / Math.max(1, Math.abs(want[i]))));
    await checkGrad(`Normalization ${JSON.stringify(cfg)} dx`, (ts) => layer.call(ts[0], ctx), ([x]) => normRef(x, (i) => m[at(i)], (i) => v[at(i)], (cfg as any).invert ?? false), [{ data: x, shape }], {
      atol: 1e-2,
      rtol: 1e-3,
    });
    layer.dispose();
  }
  // Config values of rank < the kept axes align to the right and broadcast (Keras' build).
  const given = built('Normalization', { axis: [1, 3], mean: [1, 2, 3], variance: [4, 1, 0.25] }, [2, 5, 3]);
  const shape = [2, 2, 5, 3];
  const x = r.uniform(size(shape), -3, 3);
  const c = (i: number) => i % 3;
  worst = Math.max(worst, assertClose(await forward(given, x, shape), normRef(x, (i) => [1, 2, 3][c(i)], (i) => [4, 1, 0.25][c(i)], false), { atol: 1e-5, rtol: 1e-5 }, 'Normalization config values'));
  given.dispose();
  console.log(`  Normalization: max |err|/max(1, |expected|) ${worst.toExponential(2)} (outputs up to 3e7 where variance is 0)`);
});

test('configs round trip through layerFromConfig; a Sequential with both saves to HDF5 and loads back', async () => {
  const cfgs: [string, object][] = [
    ['LayerNormalization', { axis: [1, 2, 3], epsilon: 1e-5, center: false, scale: true }],
    ['LayerNormalization', { axis: -1 }],
    ['Normalization', { axis: [-1], invert: true, mean: null, variance: null }],
    ['Normalization', { axis: null, mean: 0.5, variance: 4 }],
  ];
  for (const [cls, cfg] of cfgs) {
    const c = layerFromConfig(cls, { name: 'n', ...cfg }, 'test').getConfig();
    for (const [k, v] of Object.entries(cfg)) assert.equal(c[k], v, `${cls} config ${k}`);
    assert.equal(layerFromConfig(cls, c, 'test').getConfig(), c, `${cls} round trip`);
  }
  const model = modelFromConfig({
    class_name: 'Sequential',
    config: {
      name: 'norms',
      layers: [
        { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 4, 3] } },
        { class_name: 'Normalization', config: { name: 'pre', axis: -1 } },
        { class_name: 'LayerNormalization', config: { name: 'ln', axis: [1, 2] } },
      ],
    },
  }).build();
  model.getLayer('pre').weights.forEach((w, k) => w.assign([Float32Array.of(1, 2, 3), Float32Array.of(4, 1, 9), Float32Array.of(10)][k]));
  model.getLayer('ln').weights.forEach((w) => w.assign(r.uniform(12)));
  const again = modelFromConfig(model.toKerasConfig()).build();
  for (const n of ['pre', 'ln']) assert.equal(again.getLayer(n).getConfig(), model.getLayer(n).getConfig(), `${n} through toKerasConfig`);
  const path = join(TMP, 'norms.h5');
  await saveModel(model, path);
  const { model: loaded } = await loadModel(path);
  for (const n of ['pre', 'ln'])
    for (const [k, w] of model.getLayer(n).weights.entries()) assert.equal(Array.from(await loaded.getLayer(n).weights[k].read()), Array.from(await w.read()), `${n}/${w.name} saved and loaded`);
  const x = r.uniform(2 * 12, -3, 3);
  const run = (m: typeof model) => E.tidy(() => m.forward(E.tensor(x, [2, 4, 3])).output.data());
  assertClose(await run(loaded), await run(model), { atol: 0, rtol: 0 }, 'loaded model');
  for (const m of [model, again, loaded]) m.dispose();
});

test('axes and values that do not fit: one-line errors naming the layer', () => {
  const b = (cls: string, cfg: object, s: number[]) => () => built(cls, cfg, s);
  throwsNaming(b('LayerNormalization', { axis: 0 }, [4, 3]), "LayerNormalization 'n'", 'axis 0 is the batch axis', '[4,3]');
  throwsNaming(b('LayerNormalization', { axis: 3 }, [4, 3]), "LayerNormalization 'n'", 'axis 3 is out of range');
  throwsNaming(b('LayerNormalization', { axis: [1, -2] }, [4, 3]), "LayerNormalization 'n'", 'repeated axis');
  throwsNaming(b('LayerNormalization', { axis: [] }, [4, 3]), "LayerNormalization 'n'", 'non-empty list');
  throwsNaming(b('LayerNormalization', { rms_scaling: true }, [4, 3]), "'n' (LayerNormalization) uses rms_scaling");
  throwsNaming(b('Normalization', { axis: 0 }, [3]), "Normalization 'n'", 'axis 0 is the batch axis');
  throwsNaming(b('Normalization', { mean: 1 }, [3]), "Normalization 'n'", 'must be given together');
  throwsNaming(b('Normalization', { mean: [1, 2], variance: [1, 2, 3] }, [3]), "Normalization 'n'", 'equal-shaped');
  throwsNaming(b('Normalization', { mean: [1, 2], variance: [1, 2] }, [3]), "Normalization 'n'", 'mean of shape [2] does not broadcast', '[3]');
  // Called on another shape than the one built for.
  const ln = built('LayerNormalization', { axis: [1, 2] }, [4, 3]);
  throwsNaming(() => ln.call(E.zeros([2, 4, 2]), ctx), "LayerNormalization 'n'", 'built for inputs [4,3]', '[2,4,2]');
  const norm = built('Normalization', {}, [4, 3]);
  throwsNaming(() => norm.call(E.zeros([2, 3]), ctx), "Normalization 'n'", 'built for inputs [4,3]', '[2,3]');
  for (const l of [ln, norm]) l.dispose();
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
