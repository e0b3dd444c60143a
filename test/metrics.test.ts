// The faithfulness metrics (explain/metrics/) against an independent implementation
// (scripts/reference/metrics_torch.py: PyTorch float64, NumPy, SciPy) on the tiny VGG16 of
// test/golden/tiny_vgg16.h5 with fixed 64×64 maps: deletion and insertion curves and AUCs, ROAD
// (noise 0: the imputation solved by CG here, densely there), Average Drop / Increase, Spearman,
// SSIM. Then properties the goldens do not cover: ROAD's noise, the pointing game, and the
// randomization cascade (weights restored; a map that ignores the weights fails, Grad-CAM passes).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from '../engine/index.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { confidenceChange, deletion, imageAt, insertion, noisyLinearImpute, pointingGame, randomizationCascade, road, spearman, ssim } from '../explain/metrics/index.ts';
import { loadVgg16Weights } from '../nn/applications/vgg16.ts';
import { Rng } from '../nn/random.ts';
import { assertClose, ready } from './helpers.ts';

await ready;
const G = JSON.parse(readFileSync('test/golden/gradcam_tiny_vgg16.json', 'utf8'));
const M = JSON.parse(readFileSync('test/golden/metrics/tiny_vgg16.json', 'utf8'));
const S = G.size as number;
const { model } = await loadVgg16Weights('test/golden/tiny_vgg16.h5', { widths: G.widths, units: G.units, classes: G.classes, inputShape: [S, S, 3] });
const X = Float32Array.from(G.input as number[]);
const maps = (M.maps as number[][]).map((m) => Float32Array.from(m));
const cls = M.classes as number[];
const TOL = { atol: 2e-5, rtol: 1e-4 };

test('deletion and insertion curves and AUCs match the reference', async () => {
  for (let i = 0; i < 2; i++) {
    const img = imageAt(model, X, i);
    const d = await deletion(model, img, cls[i], maps[i], { step: M.step });
    assertClose(d.curve, M.images[i].deletion, TOL, `deletion curve ${i}`);
    assert.ok(Math.abs(d.auc - M.images[i].deletionAuc) < 2e-5, `deletion AUC ${d.auc} vs ${M.images[i].deletionAuc}`);
    const ins = await insertion(model, img, cls[i], maps[i], { step: M.step });
    assertClose(ins.curve, M.images[i].insertion, TOL, `insertion curve ${i}`);
    assert.ok(Math.abs(ins.auc - M.images[i].insertionAuc) < 2e-5, `insertion AUC ${ins.auc} vs ${M.images[i].insertionAuc}`);
  }
});

test('ROAD (noise 0): MoRF and LeRF at 10–90 % match the dense reference solve', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await road(model, imageAt(model, X, i), cls[i], maps[i], { noise: 0, percentiles: M.percentiles });
    assertClose(r.morf, M.images[i].morf, TOL, `MoRF ${i}`);
    assertClose(r.lerf, M.images[i].lerf, TOL, `LeRF ${i}`);
    assert.ok(Math.abs(r.combined - (r.lerfMean - r.morfMean) / 2) < 1e-7);
  }
});

test('ROAD imputation: removed pixels are their neighbours’ weighted mean; noise has the asked deviation', () => {
  const H = 6, W = 7;
  const img = { x: Float32Array.from({ length: H * W }, (_, i) => Math.sin(i)), height: H, width: W, channels: 1 };
  const removed = new Uint8Array(H * W);
  for (const p of [8, 9, 16, 30, 41]) removed[p] = 1; // 41: a corner
  const out = noisyLinearImpute(img, removed, 0);
  const nb: [number, number, number][] = [[-1, -1, 1 / 12], [-1, 0, 1 / 6], [-1, 1, 1 / 12], [0, -1, 1 / 6], [0, 1, 1 / 6], [1, -1, 1 / 12], [1, 0, 1 / 6], [1, 1, 1 / 12]];
  for (let p = 0; p < H * W; p++) {
    if (!removed[p]) {
      assert.is(out[p], img.x[p], `kept pixel ${p} changed`);
      continue;
    }
    let s = 0, w = 0;
    for (const [dy, dx, k] of nb) {
      const y = Math.floor(p / W) + dy, x = (p % W) + dx;
      if (y < 0 || y >= H || x < 0 || x >= W) continue;
      s += k * out[y * W + x];
      w += k;
    }
    assert.ok(Math.abs(out[p] - s / w) < 1e-6, `pixel ${p}: ${out[p]} is not its neighbours' mean ${s / w}`);
  }
  const big = { x: new Float32Array(64 * 64), height: 64, width: 64, channels: 1 };
  const half = Uint8Array.from({ length: 64 * 64 }, (_, i) => i % 2);
  const noisy = noisyLinearImpute(big, half, 0.5, new Rng(3));
  const vals = Array.from(noisy).filter((_, i) => half[i]);
  const sd = Math.sqrt(vals.reduce((a, v) => a + v * v, 0) / vals.length);
  assert.ok(Math.abs(sd - 0.5) < 0.03, `noise deviation ${sd}, asked 0.5`);
});

test('Average Drop and Increase in Confidence match the reference', async () => {
  const r = await confidenceChange(model, [imageAt(model, X, 0), imageAt(model, X, 1)], cls, maps);
  assertClose(r.original, M.confidence.original, TOL, 'Y');
  assertClose(r.masked, M.confidence.masked, TOL, 'O');
  assert.ok(Math.abs(r.averageDrop - M.confidence.averageDrop) < 1e-3, `average drop ${r.averageDrop} vs ${M.confidence.averageDrop}`);
  assert.is(r.increase, M.confidence.increase);
});

test('Spearman and SSIM match SciPy and the reference SSIM; identical maps score 1', () => {
  assert.ok(Math.abs(spearman(maps[0], maps[1]) - M.similarity.spearman) < 1e-6, `spearman ${spearman(maps[0], maps[1])}`);
  assert.ok(Math.abs(spearman(maps[0].map(Math.abs), maps[1].map(Math.abs)) - M.similarity.spearmanAbs) < 1e-6);
  assert.ok(Math.abs(ssim(maps[0], maps[1], S, S) - M.similarity.ssim) < 1e-6, `ssim ${ssim(maps[0], maps[1], S, S)} vs ${M.similarity.ssim}`);
  assert.ok(Math.abs(ssim(maps[0], maps[0], S, S) - 1) < 1e-9);
  assert.ok(Math.abs(spearman(maps[1], Array.from(maps[1], (v) => 3 * v + 1)) - 1) < 1e-12, 'a monotone transform keeps rank correlation 1');
});

test('pointing game: the peak, a box, the tolerance', () => {
  const m = new Float32Array(20 * 30);
  m[5 * 30 + 25] = 1;
  assert.equal(pointingGame(m, 20, 30, { x0: 20, y0: 0, x1: 30, y1: 10 }, 0), { hit: true, x: 25, y: 5 });
  assert.is(pointingGame(m, 20, 30, { x0: 0, y0: 0, x1: 10, y1: 10 }, 0).hit, false);
  assert.is(pointingGame(m, 20, 30, { x0: 0, y0: 0, x1: 10, y1: 10 }, 15).hit, false);
  assert.is(pointingGame(m, 20, 30, { x0: 0, y0: 0, x1: 11, y1: 10 }, 15).hit, true);
  assert.throws(() => pointingGame(m, 10, 10, { x0: 0, y0: 0, x1: 1, y1: 1 }), /600 values, not 10×10/);
});

test('randomization cascade: Grad-CAM changes, a weight-blind map does not, the weights come back', async () => {
  const x = E.keep(E.tensor(X, [2, S, S, 3]));
  const before = await model.predict(X);
  const gc = new GradCam(model);
  const gradcam = async () => {
    const r = await gc.explain(x, { layer: 'block4_conv3', classes: cls, upsample: { size: [S, S], mode: 'bilinear' } });
    return { maps: r.map((m) => m.upsampled!), height: S, width: S };
  };
  const blind = async () => ({ maps: [0, 1].map((i) => Float32Array.from(imageAt(model, X, i).x.filter((_, k) => k % 3 === 0), Math.abs)), height: S, width: S });
  const layers = ['predictions', 'fc2', 'fc1', 'block5_conv3', 'block5_conv2'];
  const g = await randomizationCascade(model, gradcam, { layers });
  assert.is(g.steps.length, 5);
  assert.ok(g.passes, `Grad-CAM should change: ${g.verdict} ${JSON.stringify(g.steps)}`);
  const b = await randomizationCascade(model, blind, { layers: layers.slice(0, 2) });
  assert.ok(!b.passes && Math.abs(b.steps[1].spearmanAbs - 1) < 1e-9, `a map of the input alone must fail: ${b.verdict}`);
  assert.match(b.verdict, /^fails/);
  const e = await randomizationCascade(model, blind, { layers: layers.slice(0, 3), every: 2 });
  assert.equal(e.steps.map((s) => s.randomised), [2, 3], 'every: 2 compares after the 2nd and the last layer');
  assertClose(await model.predict(X), before, { atol: 0, rtol: 0 }, 'predictions after the cascade');
  x.dispose();
});

test('bad input: a map of the wrong size is refused naming both sizes', async () => {
  try {
    await road(model, imageAt(model, X, 0), 0, new Float32Array(10));
    assert.unreachable('accepted a 10-value map');
  } catch (e) {
    assert.match((e as Error).message, /ROAD: the saliency map has 10 values; the model's input is 64×64/);
  }
});

test.run();
