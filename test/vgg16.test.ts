// VGG16 with Keras weights, and Grad-CAM on it through the engine's own backward pass:
// - the golden 'tiny VGG16' (test/golden/tiny_vgg16.h5: Keras' exact layer and dataset names,
//   fewer channels) against PyTorch (scripts/reference/gradcam_golden.py): probabilities and
//   Grad-CAM maps for two layers, two scores and several classes;
// - the forward pass against a plain-TypeScript float64 reference, on the tiny model and on the
//   real VGG16 convolution stack (full channel counts) at 32×32;
// - Grad-CAM against central finite differences of the class score w.r.t. the layer;
// - a file in the full VGG16 layout (553 MB, random weights): names and shapes through the
//   importer, and the top (fc1's 411 MB kernel split over bindings) against the reference. The
//   whole 224×224 forward + Grad-CAM on it takes ≈ 50 s on lavapipe: set LANTERNA_TEST_FULL_VGG16=1;
// - files that are not VGG16 weights.
// Node only (files).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { loadImg, overlayHeatmap, readImage, writeImage } from '../explain/image_io.ts';
import { PNG } from 'pngjs';
import { loadMnist } from '../nn/data/mnist.ts';
import { readKerasWeights, writeKerasWeightsOnly, type KerasLayerWeights } from '../nn/io/keras.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { MaxPooling2D } from '../nn/layers/pooling.ts';
import { Flatten } from '../nn/layers/simple.ts';
import type { Model } from '../nn/model.ts';
import {
  expectedWeightShapes, loadVgg16Weights, randomVgg16Layers, vgg16, vgg16LayerNames, vgg16OptionsFromWeights, VGG16_WEIGHTS_ENV, vgg16WeightsPath, type Vgg16Options,
} from '../nn/applications/vgg16.ts';
import { decodePredictions, imagenetClassIndex, imagenetClasses, preprocessInput } from '../nn/applications/imagenet.ts';
import { assertClose, ready, withBindingLimit } from './helpers.ts';

await ready;

const ROOT = [fileURLToPath(new URL('../..', import.meta.url)), fileURLToPath(new URL('..', import.meta.url))].find((r) =>
  existsSync(join(r, 'test/golden/gradcam_tiny_vgg16.json')),
)!;
const GOLDEN = JSON.parse(readFileSync(join(ROOT, 'test/golden/gradcam_tiny_vgg16.json'), 'utf8'));
const TINY_H5 = join(ROOT, 'test/golden/tiny_vgg16.h5');
const TINY: Vgg16Options = { widths: GOLDEN.widths, units: GOLDEN.units, classes: GOLDEN.classes, inputShape: [GOLDEN.size, GOLDEN.size, 3] };
const dir = mkdtempSync(join(tmpdir(), 'lanterna-vgg16-'));

// ---------------------------------------------------------------------------------------------
// A plain float64 reference of the layers VGG16 uses (NHWC, HWIO, [in, out]), batch 1.

interface Act {
  v: Float64Array;
  shape: number[]; // [H, W, C] or [F]
}

function convRef(x: Act, k: Float32Array, b: Float32Array, O: number): Act {
  const [H, W, C] = x.shape;
  const out = new Float64Array(H * W * O);
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++) {
      const acc = new Float64Array(O);
      for (let o = 0; o < O; o++) acc[o] = b[o];
      for (let dy = 0; dy < 3; dy++) {
        const sy = y + dy - 1;
        if (sy < 0 || sy >= H) continue;
        for (let dx = 0; dx < 3; dx++) {
          const sx = xx + dx - 1;
          if (sx < 0 || sx >= W) continue;
          const xi = (sy * W + sx) * C;
          const ki = (dy * 3 + dx) * C * O;
          for (let c = 0; c < C; c++) {
            const xv = x.v[xi + c];
            if (xv === 0) continue;
            const kr = ki + c * O;
            for (let o = 0; o < O; o++) acc[o] += xv * k[kr + o];
          }
        }
      }
      for (let o = 0; o < O; o++) out[(y * W + xx) * O + o] = Math.max(acc[o], 0);
    }
  return { v: out, shape: [H, W, O] };
}

function poolRef(x: Act): Act {
  const [H, W, C] = x.shape;
  const h = H >> 1;
  const w = W >> 1;
  const out = new Float64Array(h * w * C);
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++)
      for (let c = 0; c < C; c++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m = Math.max(m, x.v[((2 * y + dy) * W + 2 * xx + dx) * C + c]);
        out[(y * w + xx) * C + c] = m;
      }
  return { v: out, shape: [h, w, C] };
}

function denseRef(x: Act, k: Float32Array, b: Float32Array, units: number, act: string): Act {
  const n = x.v.length;
  const out = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const xv = x.v[i];
    if (xv === 0) continue;
    for (let o = 0; o < units; o++) out[o] += xv * k[i * units + o];
  }
  if (act === 'relu') for (let o = 0; o < units; o++) out[o] = Math.max(out[o], 0);
  return { v: out, shape: [units] };
}

function softmaxRef(z: Float64Array): Float64Array {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

type HostWeights = Map<string, Float32Array[]>;

async function hostWeights(m: Model): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const l of m.layers) if (l.weights.length) out.set(l.name, await Promise.all(l.weights.map((w) => w.read())));
  return out;
}

/**
 * Runs layers [from, to) of `m` on `x` in float64; `logit` stops the last Dense before its
 * softmax. Returns the output (and each layer's output in `trace`).
 */
function refRun(m: Model, w: HostWeights, x: Act, from = 0, to = m.layers.length, logit = false, trace?: Map<string, Act>): Act {
  let h = x;
  for (let i = from; i < to; i++) {
    const l = m.layers[i];
    if (l instanceof Conv2D) h = convRef(h, w.get(l.name)![0], w.get(l.name)![1], l.filters);
    else if (l instanceof MaxPooling2D) h = poolRef(h);
    else if (l instanceof Flatten) h = { v: h.v, shape: [h.v.length] };
    else if (l instanceof Dense) {
      const last = l.activation === 'softmax';
      h = denseRef(h, w.get(l.name)![0], w.get(l.name)![1], l.units, last ? 'linear' : l.activation);
      if (last && !logit) h = { v: softmaxRef(h.v), shape: h.shape };
    } else throw new Error(`no reference for ${l.className}`);
    trace?.set(l.name, h);
  }
  return h;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

// ---------------------------------------------------------------------------------------------

test("the builder has Keras' VGG16 layer names and parameter counts (138 357 544 with the top, 14 714 688 without)", () => {
  const names = vgg16LayerNames();
  if (names.length !== 22 || names[0] !== 'block1_conv1' || names[17] !== 'block5_pool' || names[21] !== 'predictions') throw new Error(names.join());
  const m = vgg16();
  if (m.layers.map((l) => l.name).join() !== names.join()) throw new Error('builder names differ');
  let params = 0;
  for (const [, s] of expectedWeightShapes(m)) params += s.reduce((a, x) => a + x.reduce((p, q) => p * q, 1), 0);
  if (params !== 138357544) throw new Error(`params ${params}`);
  const shapes = expectedWeightShapes(m);
  if (shapes.get('fc1')![0].join() !== '25088,4096' || shapes.get('block3_conv1')![0].join() !== '3,3,128,256') throw new Error('shapes');
  let notop = 0;
  for (const [, s] of expectedWeightShapes(vgg16({ includeTop: false }))) notop += s.reduce((a, x) => a + x.reduce((p, q) => p * q, 1), 0);
  if (notop !== 14714688) throw new Error(`notop params ${notop}`);
});

test('tiny VGG16 (Keras layout, golden file): the importer reads all 23 layer names and Keras dataset names', async () => {
  const f = await readKerasWeights(TINY_H5);
  if (f.format !== 'legacy-weights') throw new Error(f.format);
  const names = f.layers.map((l) => l.name);
  if (names.length !== 23 || names[0] !== 'input_1' || names.slice(1).join() !== vgg16LayerNames().join()) throw new Error(names.join());
  if (f.layers[1].weights.map((w) => w.name).join() !== 'block1_conv1_W_1:0,block1_conv1_b_1:0') throw new Error('dataset names');
  if (f.layers[3].weights.length !== 0) throw new Error('block1_pool has weights');
  // The architecture follows from the shapes alone (what the browser app does with a weights-only file).
  const o = vgg16OptionsFromWeights(f);
  if (JSON.stringify(o) !== JSON.stringify({ includeTop: true, ...TINY })) throw new Error(`inferred ${JSON.stringify(o)}, want ${JSON.stringify(TINY)}`);
  if (vgg16OptionsFromWeights({ ...f, layers: f.layers.filter((l) => l.name !== 'block3_conv1') }) !== null) throw new Error('a file without block3_conv1 is not VGG16');
});

let goldenErr = { probs: 0, maps: 0, relMaps: 0 };

test('tiny VGG16 against PyTorch (golden): probabilities (atol 1e-5) and Grad-CAM maps of 3 layers × 2 scores × 2 class sets (atol 1e-4 of the map range)', async () => {
  const { model } = await loadVgg16Weights(TINY_H5, TINY);
  const x = E.keep(E.tensor(Float32Array.from(GOLDEN.input), [2, GOLDEN.size, GOLDEN.size, 3]));
  const probs = (await E.tidy(() => E.noGrad(() => model.forward(x).output.data()))) as Float32Array;
  goldenErr.probs = assertClose(probs, GOLDEN.probs, { atol: 1e-5, rtol: 1e-4 }, 'probabilities');
  const gc = new GradCam(model);
  for (const c of GOLDEN.cases) {
    const maps = await gc.explain(x, { layer: c.layer, score: c.score, classes: c.classes });
    const got = new Float32Array(maps.length * c.h * c.w);
    maps.forEach((m, i) => {
      if (m.h !== c.h || m.w !== c.w || m.classIndex !== c.classes[i]) throw new Error(`${c.layer}: map ${m.h}×${m.w} class ${m.classIndex}`);
      got.set(m.raw, i * c.h * c.w);
    });
    const range = Math.max(...c.maps) || 1;
    const e = assertClose(got, c.maps, { atol: 1e-4 * range, rtol: 1e-3 }, `${c.layer} ${c.score} classes ${c.classes}`);
    goldenErr.maps = Math.max(goldenErr.maps, e);
    goldenErr.relMaps = Math.max(goldenErr.relMaps, e / range);
  }
  console.log(`  vs PyTorch: max |Δ| probabilities ${goldenErr.probs.toExponential(2)}, maps ${goldenErr.maps.toExponential(2)} (${goldenErr.relMaps.toExponential(2)} of the map's maximum) over ${GOLDEN.cases.length} cases`);
  x.dispose();
  model.dispose();
});

test('several classes per image: one forward, one backward per class, same maps as one class at a time', async () => {
  const { model } = await loadVgg16Weights(TINY_H5, TINY);
  const x = E.keep(E.tensor(Float32Array.from(GOLDEN.input), [2, GOLDEN.size, GOLDEN.size, 3]));
  const gc = new GradCam(model);
  const both = await gc.explain(x, { layer: 'block4_conv3', classes: [[3, 7], [1, 9]], score: 'logit' });
  if (both.map((m) => `${m.image}:${m.classIndex}`).join() !== '0:3,0:7,1:1,1:9') throw new Error('order');
  const one = await gc.explain(x, { layer: 'block4_conv3', classes: [7, 1], score: 'logit' });
  assertClose(both[1].raw, one[0].raw, { atol: 1e-6 }, 'image 0 class 7');
  assertClose(both[2].raw, one[1].raw, { atol: 1e-6 }, 'image 1 class 1');
  x.dispose();
  model.dispose();
});

test('forward vs the float64 reference: tiny VGG16 with its top, every layer (atol 1e-4·scale)', async () => {
  const { model } = await loadVgg16Weights(TINY_H5, TINY);
  const w = await hostWeights(model);
  const n = GOLDEN.size * GOLDEN.size * 3;
  const x0 = Float32Array.from(GOLDEN.input.slice(0, n));
  const trace = new Map<string, Act>();
  refRun(model, w, { v: Float64Array.from(x0), shape: [GOLDEN.size, GOLDEN.size, 3] }, 0, model.layers.length, false, trace);
  const names = model.layers.map((l) => l.name);
  const got = await E.tidy(async () =>
    E.noGrad(async () => {
      const f = model.forward(E.tensor(x0, [1, GOLDEN.size, GOLDEN.size, 3]), { training: false }, names);
      return Promise.all(names.map((nm) => f.captured.get(nm)!.data()));
    }),
  );
  names.forEach((nm, i) => {
    const ref = trace.get(nm)!.v;
    const scale = Math.max(1, ...Array.from(ref, Math.abs));
    assertClose(got[i], ref, { atol: 1e-4 * scale, rtol: 1e-4 }, nm);
  });
  model.dispose();
});

test('forward vs the float64 reference: the real VGG16 convolution stack (64…512 channels, random weights) at 32×32 (atol 1e-4·scale)', async () => {
  const m = vgg16({ includeTop: false, inputShape: [32, 32, 3] });
  m.build();
  const w = await hostWeights(m);
  let s = 7;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296) * 255 - 120;
  const x0 = Float32Array.from({ length: 32 * 32 * 3 }, rnd);
  const ref = refRun(m, w, { v: Float64Array.from(x0), shape: [32, 32, 3] });
  const got = await E.tidy(() => E.noGrad(() => m.forward(E.tensor(x0, [1, 32, 32, 3])).output.data()));
  const scale = Math.max(...Array.from(ref.v, Math.abs));
  if (!(scale > 0)) throw new Error('the reference output is all zero: the test would not see errors');
  const e = assertClose(got, ref.v, { atol: 1e-4 * scale, rtol: 1e-4 }, 'block5_pool');
  console.log(`  block5_pool [1, 1, 512]: max |Δ| ${e.toExponential(2)} (output scale ${scale.toFixed(2)})`);
  m.dispose();
});

/** Grad-CAM that also hands out the gradient it used (to compare it where finite differences are defined). */
class GradProbe extends GradCam {
  grads: E.Tensor | null = null;
  protected override channelWeights(ctx: Parameters<GradCam['channelWeights']>[0]): E.Tensor {
    const g = ctx.gradients();
    this.grads = E.keep(g);
    return E.mean(g, [1, 2]);
  }
}

for (const [layer, score] of [['block5_conv3', 'softmax'], ['block5_conv3', 'logit'], ['block4_conv3', 'softmax'], ['block4_conv3', 'logit']] as const) {
  test(`Grad-CAM (${layer}, ${score}) on the tiny VGG16: gradient = finite differences of the float64 class score; map = ReLU(Σ mean(∂y/∂A)·A) (atol 1e-3 of the range)`, async () => {
    const { model } = await loadVgg16Weights(TINY_H5, TINY);
    const w = await hostWeights(model);
    const n = GOLDEN.size * GOLDEN.size * 3;
    const x0 = Float32Array.from(GOLDEN.input.slice(n, 2 * n));
    const x = E.keep(E.tensor(x0, [1, GOLDEN.size, GOLDEN.size, 3]));
    const li = model.layers.findIndex((l) => l.name === layer);
    const A = (await E.tidy(() => E.noGrad(() => model.forward(x, { training: false }, [layer]).captured.get(layer)!.data()))) as Float32Array;
    const [H, W, K] = model.layers[li].outputShape!;
    const cls = 5;
    const probe = new GradProbe(model);
    const [map] = await probe.explain(x, { layer, score, classes: [cls] });
    const g = (await probe.grads!.data()) as Float32Array;
    probe.grads!.dispose();
    const a = Float64Array.from(A);
    const f = () => refRun(model, w, { v: a, shape: [H, W, K] }, li + 1, model.layers.length, score === 'logit').v[cls];
    const f0 = f();
    // Central differences where the score is differentiable. At kinks (ReLU at 0, max-pool
    // windows of equal values, mostly zeros) one-sided slopes differ and any value between is a
    // valid subgradient: there the engine's choice is kept, and counted.
    const eps = 1e-4;
    const right = new Float64Array(a.length);
    const left = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const keep = a[i];
      a[i] = keep + eps;
      right[i] = (f() - f0) / eps;
      a[i] = keep - eps;
      left[i] = (f0 - f()) / eps;
      a[i] = keep;
    }
    const slope = Math.max(...Array.from(right, Math.abs), ...Array.from(left, Math.abs));
    const fd = new Float64Array(a.length);
    let kinks = 0;
    for (let i = 0; i < a.length; i++) {
      if (Math.abs(right[i] - left[i]) > 1e-4 * slope) {
        kinks++;
        fd[i] = g[i];
      } else fd[i] = (right[i] + left[i]) / 2;
    }
    const gScale = Math.max(...Array.from(fd, Math.abs));
    if (!(gScale > 0)) throw new Error('the gradient is all zero: the test would not see errors');
    assertClose(g, fd, { atol: 1e-3 * gScale, rtol: 1e-3 }, `∂y/∂A ${layer} ${score}`);
    const alpha = new Float64Array(K);
    for (let i = 0; i < a.length; i++) alpha[i % K] += fd[i] / (H * W);
    const ref = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += alpha[k] * A[i * K + k];
      ref[i] = Math.max(s, 0);
    }
    const range = Math.max(...ref) || 1;
    if (!map.raw.some((v) => v > 0)) throw new Error('the map is all zero: the test would not see errors');
    assertClose(map.raw, ref, { atol: 1e-3 * range, rtol: 1e-3 }, `${layer} ${score} class ${cls}`);
    console.log(`  ${layer} ${score}: ${a.length - kinks} of ${a.length} gradient entries checked by finite differences (${kinks} at kinks)`);
    x.dispose();
    model.dispose();
  });
}

test('dense weights split over bindings: the top of the tiny VGG16 gives the same logits with a 1 KiB binding limit', async () => {
  const { model } = await loadVgg16Weights(TINY_H5, TINY);
  const x0 = Float32Array.from(GOLDEN.input.slice(0, GOLDEN.size * GOLDEN.size * 3));
  const feat = await E.tidy(() => E.noGrad(() => model.forward(E.tensor(x0, [1, GOLDEN.size, GOLDEN.size, 3]), { training: false }, ['block5_pool']).captured.get('block5_pool')!.data()));
  const top = model.layers.slice(-4);
  const shape = [1, ...model.layers[model.layers.length - 5].outputShape!];
  const run = () =>
    E.tidy(() =>
      E.noGrad(() => {
        const ctx = { training: false };
        return (top[3] as Dense).preActivation(top[2].call(top[1].call(top[0].call(E.tensor(feat, shape), ctx), ctx), ctx)).data();
      }),
    );
  const whole = await run();
  await withBindingLimit(1024, async () => {
    assertClose(await run(), whole, { atol: 1e-5, rtol: 1e-5 }, 'split');
  });
  model.dispose();
});

// ---------------------------------------------------------------------------------------------
// The full VGG16 layout.

/** The VGG16 file layout with seeded weights, optionally without one layer or with one kernel reshaped. */
function fullLayers(opts: Vgg16Options = {}, seed = 12345, skip?: string, reshape?: [string, number[]]): KerasLayerWeights[] {
  const layers = randomVgg16Layers({ ...opts, seed, predictionsScale: 1 }).filter((l) => l.name !== skip);
  if (reshape) {
    const l = layers.find((x) => x.name === reshape[0])!;
    const n = reshape[1].reduce((p, q) => p * q, 1);
    l.weights = [{ name: 'kernel', shape: reshape[1], data: new Float32Array(n) }, { name: 'bias', shape: [reshape[1][reshape[1].length - 1]], data: new Float32Array(reshape[1][reshape[1].length - 1]) }];
  }
  return layers;
}

test('the full VGG16 layout (553 MB, random weights): importer names and shapes; fc1 [25088, 4096] split over bindings; fc1…predictions vs the reference', async () => {
  const path = join(dir, 'vgg16_weights_tf_dim_ordering_tf_kernels.h5');
  const t0 = performance.now();
  const layers = fullLayers();
  await writeKerasWeightsOnly(path, layers, { style: 'vgg16-legacy' });
  const t1 = performance.now();
  E.gpu().pool.resetPeak();
  const { model, file, readSeconds, uploadSeconds } = await loadVgg16Weights(path);
  const names = file.layers.map((l) => l.name);
  if (names.join() !== ['input_1', ...vgg16LayerNames()].join()) throw new Error(names.join());
  if (file.layers.find((l) => l.name === 'fc1')!.weights.map((w) => `${w.name}${JSON.stringify(w.shape)}`).join() !== 'fc1_W_1:0[25088,4096],fc1_b_1:0[4096]')
    throw new Error('fc1 datasets');
  if (model.countParams() !== 138357544) throw new Error(`params ${model.countParams()}`);
  const limit = E.gpu().limits.maxStorageBufferBindingSize;
  // The top on a random block5_pool output: fc1's kernel is 411 MB, above lavapipe's 128 MiB.
  const top = model.layers.slice(-4);
  let s = 99;
  const feat = Float32Array.from({ length: 7 * 7 * 512 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2);
  const got = await E.tidy(() =>
    E.noGrad(() => {
      const ctx = { training: false };
      const h = top[2].call(top[1].call(top[0].call(E.tensor(feat, [1, 7, 7, 512]), ctx), ctx), ctx); // flatten, fc1, fc2
      return (top[3] as Dense).preActivation(h).data(); // logits
    }),
  );
  const fc = new Map(layers.filter((l) => l.weights.length).map((l) => [l.name, l.weights.map((w) => w.data)]));
  const ref = refRun(model, fc, { v: Float64Array.from(feat), shape: [7, 7, 512] }, model.layers.length - 4, model.layers.length, true).v;
  const scale = Math.max(...Array.from(ref, Math.abs));
  const e = assertClose(got, ref, { atol: 1e-4 * scale, rtol: 1e-4 }, 'predictions (logits)');
  const st = E.gpu().pool.stats();
  console.log(
    `  write ${((t1 - t0) / 1000).toFixed(1)} s, read ${readSeconds.toFixed(1)} s, upload ${uploadSeconds.toFixed(1)} s; binding limit ${(limit / 2 ** 20).toFixed(0)} MiB; ` +
      `logits max |Δ| ${e.toExponential(2)} (scale ${scale.toFixed(1)}); GPU memory: weights ${(st.liveBytes / 2 ** 20).toFixed(0)} MiB, peak ${(st.peakLiveBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  if (process.env.LANTERNA_TEST_FULL_VGG16 === '1') {
    const x = E.keep(E.tensor(Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => (i % 251) - 120), [1, 224, 224, 3]));
    const timings: { forwardMs?: number; totalMs?: number } = {};
    E.gpu().pool.resetPeak();
    const [m14] = await new GradCam(model).explain(x, { layer: 'block5_conv3', timings });
    const [m28] = await new GradCam(model).explain(x, { layer: 'block4_conv3', classes: [m14.classIndex] });
    if (m14.h !== 14 || m28.h !== 28) throw new Error(`maps ${m14.h}, ${m28.h}`);
    console.log(`  224×224 forward ${timings.forwardMs!.toFixed(0)} ms, Grad-CAM ${timings.totalMs!.toFixed(0)} ms; peak GPU ${(E.gpu().pool.stats().peakLiveBytes / 2 ** 20).toFixed(0)} MiB`);
    x.dispose();
  }
  model.dispose();
  rmSync(path, { force: true });
});

test('not VGG16: missing layer, wrong shape, the notop file with the top, not HDF5, truncated, missing file: errors name the file, layer and shapes', async () => {
  const small: Vgg16Options = { widths: [2, 2, 2, 2, 2], units: 4, classes: 3, inputShape: [32, 32, 3] };
  const cases: [string, () => Promise<void>, RegExp][] = [
    ['missing.h5', async () => writeKerasWeightsOnly(join(dir, 'missing.h5'), fullLayers(small, 1, 'block3_conv2'), { style: 'vgg16-legacy' }), /missing\.h5: not VGG16 weights: layer 'block3_conv2' \(kernel \[3, 3, 2, 2\]\) is missing/],
    ['shape.h5', async () => writeKerasWeightsOnly(join(dir, 'shape.h5'), fullLayers(small, 1, undefined, ['block4_conv1', [3, 3, 2, 5]]), { style: 'vgg16-legacy' }), /shape\.h5: not VGG16 weights: layer 'block4_conv1' kernel 'block4_conv1_W_1:0' is \[3, 3, 2, 5\] in the file, VGG16 needs \[3, 3, 2, 2\]/],
    ['notop.h5', async () => writeKerasWeightsOnly(join(dir, 'notop.h5'), fullLayers({ ...small, includeTop: false }), { style: 'vgg16-legacy' }), /notop\.h5: not VGG16 weights: layer 'fc1' .* is missing \(a file without the top/],
    ['text.h5', async () => writeFileSync(join(dir, 'text.h5'), 'not a weights file'), /text\.h5: neither an HDF5 file/],
    ['cut.h5', async () => writeFileSync(join(dir, 'cut.h5'), readFileSync(TINY_H5).subarray(0, 5000)), /cut\.h5/],
  ];
  for (const [name, make, want] of cases) {
    await make();
    try {
      const r = await loadVgg16Weights(join(dir, name), small);
      r.model.dispose();
      throw new Error(`${name}: loaded`);
    } catch (e) {
      const msg = (e as Error).message;
      if (!want.test(msg) || msg.includes('\n')) throw new Error(`${name}: unexpected error: ${msg}`);
    }
  }
  try {
    await loadVgg16Weights(join(dir, 'absent.h5'));
    throw new Error('loaded');
  } catch (e) {
    if (!/absent\.h5: no such file/.test((e as Error).message)) throw e;
  }
  const saved = process.env[VGG16_WEIGHTS_ENV];
  delete process.env[VGG16_WEIGHTS_ENV];
  try {
    vgg16WeightsPath();
    throw new Error('no error');
  } catch (e) {
    if (!/LANTERNA_VGG16_WEIGHTS/.test((e as Error).message)) throw e;
  } finally {
    if (saved !== undefined) process.env[VGG16_WEIGHTS_ENV] = saved;
  }
  process.env[VGG16_WEIGHTS_ENV] = TINY_H5;
  try {
    const { model, path } = await loadVgg16Weights(undefined, TINY);
    if (path !== TINY_H5) throw new Error(path);
    model.dispose();
  } finally {
    if (saved === undefined) delete process.env[VGG16_WEIGHTS_ENV];
    else process.env[VGG16_WEIGHTS_ENV] = saved;
  }
});

test('ImageNet classes: Keras index, lookup by name / index / WordNet id, close names, decode_predictions order', () => {
  const c = imagenetClasses();
  if (c.length !== 1000 || c[281].name !== 'tabby' || c[243].name !== 'bull_mastiff' || c[94].name !== 'hummingbird') throw new Error('index');
  if (imagenetClassIndex('tabby') !== 281 || imagenetClassIndex('Bull Mastiff') !== 243 || imagenetClassIndex('282') !== 282 || imagenetClassIndex('n01833805') !== 94)
    throw new Error('lookup');
  for (const [q, want] of [['tabbycat', /did you mean .*tabby \(281\)/], ['crane', /ambiguous.*134.*517/], ['1000', /outside 0\.\.999/]] as const) {
    try {
      imagenetClassIndex(q);
      throw new Error(`${q}: no error`);
    } catch (e) {
      if (!want.test((e as Error).message)) throw e;
    }
  }
  const p = new Float32Array(2000);
  p[281] = 0.5;
  p[282] = 0.3;
  p[243] = 0.2;
  p[1000 + 94] = 0.9;
  const d = decodePredictions(p, 3);
  if (d[0].map((q) => q.name).join() !== 'tabby,tiger_cat,bull_mastiff' || d[1][0].name !== 'hummingbird' || d[0][0].wnid !== 'n02123045') throw new Error(JSON.stringify(d));
});

// ---------------------------------------------------------------------------------------------
// Real images through the whole pipeline (decode, load_img, caffe preprocessing, Grad-CAM on the
// tiny VGG16 at 64×64, overlay at the image's own size, PNG / JPEG written and read back).

const IMAGES = join(ROOT, '../shared/data/images');

test('real images (progressive JPEG, RGBA PNG, 1200×1200 JPEG): Grad-CAM on the tiny VGG16, overlays at the original size', async () => {
  if (!existsSync(IMAGES)) return console.log(`  skipped: ${IMAGES} is absent`);
  const { model } = await loadVgg16Weights(TINY_H5, TINY);
  const gc = new GradCam(model);
  for (const name of ['gradcam_paper_cat_dog.jpg', 'both.png', 'hummingbird_tonningp.jpg', 'hummingbird_perceptualBall.jpg', 'ukb_spider.png']) {
    const img = readImage(join(IMAGES, name));
    const x = preprocessInput(loadImg(img, { targetSize: [GOLDEN.size, GOLDEN.size] }).pixels);
    const maps = await E.tidy(async () => gc.explain(E.tensor(x, [1, GOLDEN.size, GOLDEN.size, 3]), { layer: 'block4_conv3', classes: [[2, 5]], score: 'logit' }));
    if (maps.length !== 2 || maps[0].h !== 8) throw new Error(`${name}: ${maps.length} maps of ${maps[0].h}×${maps[0].w}`);
    for (const [i, m] of maps.entries()) {
      const o = overlayHeatmap(img, m.raw, m.h, m.w);
      const out = join(dir, `${name}.${i}.${i ? 'jpg' : 'png'}`);
      await writeImage(out, o);
      const back = readImage(out);
      if (back.width !== img.width || back.height !== img.height) throw new Error(`${name}: overlay ${back.width}×${back.height}`);
    }
  }
  model.dispose();
});

// ---------------------------------------------------------------------------------------------
// The command line.

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const KERAS = join(ROOT, '../shared/data/keras');

function lanterna(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, ...env } });
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('lanterna:'));
  return { status: r.status, stdout: r.stdout, errors: ours };
}

async function digitPng(path: string, index: number): Promise<number> {
  const t = await loadMnist({ split: 'test', limit: index + 1 });
  const png = new PNG({ width: 28, height: 28 });
  for (let k = 0; k < 784; k++) {
    const v = t.images[index * 784 + k];
    png.data.set([v, v, v, 255], 4 * k);
  }
  writeFileSync(path, PNG.sync.write(png, { colorType: 0 }));
  return t.labels[index];
}

test('lanterna gradcam --model (a real Keras MNIST model) on two digit PNGs: top-k, maps, one overlay per image, --json', async () => {
  const model = join(KERAS, 'KeishiIshihara__model.hdf5');
  if (!existsSync(model)) return console.log(`  skipped: ${model} is absent`);
  const labels = [await digitPng(join(dir, 'd0.png'), 0), await digitPng(join(dir, 'd1.png'), 1)];
  const r = lanterna(['gradcam', '--model', model, '--image', 'd0.png', 'd1.png', '--out', 'mnist.png', '--json', 'mnist.json', '--top', '3']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.errors.join('\n')}\n${r.stdout}`);
  for (const s of ['layer conv2d_2 7×7', 'score softmax', '1. class', 'forward', 'GPU memory', 'mnist_d0.png'])
    if (!r.stdout.includes(s)) throw new Error(`no "${s}" in:\n${r.stdout}`);
  const doc = JSON.parse(readFileSync(join(dir, 'mnist.json'), 'utf8'));
  doc.images.forEach((im: any, i: number) => {
    if (im.predictions[0].index !== labels[i]) throw new Error(`image ${i}: predicted ${im.predictions[0].index}, label ${labels[i]}`);
    if (im.maps[0].h !== 7 || im.maps[0].map.length !== 49) throw new Error('map');
    const back = readImage(join(dir, im.maps[0].file));
    if (back.width !== 28 || back.height !== 28) throw new Error('overlay size');
  });
});

test('lanterna gradcam bad input: one-line errors, exit ≠ 0, no output file (weights missing / not HDF5 / truncated / other architecture, layer, class, image)', async () => {
  const model = join(KERAS, 'KeishiIshihara__model.hdf5');
  const img = join(dir, 'ok.png');
  await digitPng(img, 0);
  writeFileSync(join(dir, 'bad.jpg'), 'this is not a JPEG');
  writeFileSync(join(dir, 'text.h5'), 'not HDF5 at all');
  writeFileSync(join(dir, 'cut.h5'), readFileSync(TINY_H5).subarray(0, 4000));
  const cases: [string[], RegExp][] = [
    [['--weights', 'absent.h5', '--image', img], /absent\.h5: no such file/],
    [['--weights', 'text.h5', '--image', img], /text\.h5: neither an HDF5 file/],
    [['--weights', 'cut.h5', '--image', img], /cut\.h5/],
    [['--weights', TINY_H5, '--image', img], /tiny_vgg16\.h5: not VGG16 weights: layer 'block1_conv1' kernel 'block1_conv1_W_1:0' is \[3, 3, 3, 4\] in the file, VGG16 needs \[3, 3, 3, 64\]/],
    [['--weights', TINY_H5, '--image', img, '--class', 'tabbycat'], /unknown ImageNet class 'tabbycat'; did you mean .*tabby \(281\)/],
    [['--weights', TINY_H5, '--image', 'bad.jpg'], /bad\.jpg: not a JPEG or PNG image/],
    [['--weights', TINY_H5, '--image', img, '--out', 'x.gif'], /--out x\.gif: .* PNG or JPEG/],
    [['--image', img], /no model: give --weights/],
  ];
  if (existsSync(model))
    cases.push(
      [['--model', model, '--image', img, '--layer', 'block5_conv3'], /--layer block5_conv3: .* has no such layer; its conv layers are conv2d, conv2d_1, conv2d_2/],
      [['--model', model, '--image', img, '--layer', 'flatten'], /not a spatial map/],
      [['--model', model, '--image', img, '--class', 'tabby'], /this model has 10 classes/],
    );
  for (const [args, want] of cases) {
    const r = lanterna(['gradcam', ...args, ...(args.includes('--out') ? [] : ['--out', 'never.png'])], { [VGG16_WEIGHTS_ENV]: undefined });
    if (r.status === 0 || r.errors.length !== 1 || !want.test(r.errors[0])) throw new Error(`${args.join(' ')}: exit ${r.status}, errors:\n${r.errors.join('\n')}`);
    if (existsSync(join(dir, 'never.png')) || readdirSync(dir).some((f) => f.includes('.tmp-'))) throw new Error(`${args.join(' ')}: left an output file`);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
