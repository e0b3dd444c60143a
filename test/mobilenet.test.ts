// A real ImageNet network end to end (issue 14 item 5): MobileNet v1 0.25 from its TF.js layers
// files, on the exact pixels our loader makes of two hummingbird photos, against an independent
// PyTorch float64 forward pass and its Grad-CAM (test/golden/mobilenet/, made by
// scripts/reference/torch_mobilenet.py); and the same weights from the Keras HDF5 twin giving
// bit-identical activations. Skipped, loudly, without ../shared/data (or LANTERNA_DATA).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import * as E from '../engine/index.ts';
import { Cam } from '../explain/cam.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { loadImg } from '../explain/image_io.ts';
import { preprocessPixels } from '../nn/applications/imagenet.ts';
import { loadModel } from '../nn/model_file.ts';
import { assertClose, ready } from './helpers.ts';

await ready;
const here = dirname(fileURLToPath(import.meta.url));
const GOLD = [join(here, 'golden', 'mobilenet'), join(here, '..', '..', 'test', 'golden', 'mobilenet')].find((d) => existsSync(join(d, 'torch_mobilenet.json')))!;
const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'));
const TFJS = join(DATA, 'tfjs/mobilenet_v1_0.25_224/model.json');
const H5 = join(DATA, 'keras/mobilenet_2_5_224_tf_no_top.h5');

interface GoldMap { class: number; shape: number[]; map: number[]; preRelu: number[] }
interface GoldImage { image: string; source: string; top5: { index: number; prob: number }[]; probs: number[]; logits: number[]; gradcam: { softmax: Record<string, GoldMap>; logit: Record<string, GoldMap> } }
const gold: { images: GoldImage[]; camLayers: string[] } = JSON.parse(readFileSync(join(GOLD, 'torch_mobilenet.json'), 'utf8'));

function png224(file: string): Float32Array {
  const p = PNG.sync.read(readFileSync(join(GOLD, file)));
  const out = new Float32Array(224 * 224 * 3);
  for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = p.data[4 * i + c];
  return out;
}

if (!existsSync(TFJS) || !existsSync(H5)) {
  console.log(`SKIPPED: the real MobileNet files are absent (${TFJS}); set LANTERNA_DATA to the shared data folder`);
  test.skip('MobileNet v1 0.25 end to end (data absent)', () => {});
} else {
  const { model } = await loadModel(TFJS);
  const inputs = gold.images.map((g) => png224(g.image));

  test('the golden inputs are the pixels our load_img makes of the photos', () => {
    gold.images.forEach((g, k) => {
      const px = loadImg(join(DATA, 'images', g.source.split('/').pop()!), { targetSize: [224, 224] }).pixels;
      assertClose(px, inputs[k], { atol: 0, rtol: 0 }, g.image);
    });
  });

  test('the hummingbirds come out as hummingbird with PyTorch float64 probabilities (all 1000, atol 1e-4)', async () => {
    for (const [k, g] of gold.images.entries()) {
      const x = preprocessPixels(inputs[k], 'tf', 3);
      const p = await E.tidy(() => E.noGrad(() => model.forward(E.tensor(x, [1, 224, 224, 3]), { training: false }).output.data()));
      const err = assertClose(p, g.probs, { atol: 1e-4, rtol: 0 }, `${g.image} probabilities`);
      let top = 0;
      for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
      assert.is(top, 94, `${g.image}: top-1 is ${top}, not hummingbird (94)`);
      console.log(`  ${g.image}: hummingbird ${p[94].toFixed(7)} (PyTorch ${g.probs[94].toFixed(7)}), largest |error| over 1000 classes ${err.toExponential(2)}`);
    }
  });

  test('Grad-CAM at conv_pw_13_relu (7×7) and conv_pw_11_relu (14×14) matches the PyTorch maps (atol 2e-3 of the map maximum: the softmax score at p = 0.989 differs by 7e-4 of it between PyTorch float32 and float64)', async () => {
    const cam = new GradCam(model);
    for (const [k, g] of gold.images.entries()) {
      const x = E.tensor(preprocessPixels(inputs[k], 'tf', 3), [1, 224, 224, 3]);
      try {
        for (const layer of gold.camLayers) {
          const want = g.gradcam.softmax[layer];
          const [m] = await cam.explain(x, { layer, classes: [want.class] });
          assert.equal([m.h, m.w], want.shape.slice(0, 2), `${g.image} ${layer} shape`);
          const scale = Math.max(...want.preRelu.map(Math.abs));
          const err = assertClose(m.raw, want.map, { atol: 2e-3 * scale, rtol: 0 }, `${g.image} ${layer} Grad-CAM`);
          console.log(`  ${g.image} ${layer}: largest |error| ${err.toExponential(2)} (map scale ${scale.toExponential(2)})`);
        }
      } finally {
        x.dispose();
      }
    }
  });

  test("Grad-CAM of the logit (the input of act_softmax, before Reshape(1000)) at conv_pw_13_relu and conv_pw_11_relu matches PyTorch (atol 1e-4 of the map scale)", async () => {
    const cam = new GradCam(model);
    for (const [k, g] of gold.images.entries()) {
      const x = E.tensor(preprocessPixels(inputs[k], 'tf', 3), [1, 224, 224, 3]);
      try {
        const logits = await E.tidy(() => E.noGrad(() => model.forward(x, { training: false }).logits!.data()));
        assertClose(logits, g.logits, { atol: 1e-3, rtol: 0 }, `${g.image} logits`);
        for (const layer of gold.camLayers) {
          const want = g.gradcam.logit[layer];
          const [m] = await cam.explain(x, { layer, classes: [want.class], score: 'logit' });
          assert.equal([m.h, m.w], want.shape.slice(0, 2), `${g.image} ${layer} shape`);
          const scale = Math.max(...want.preRelu.map(Math.abs));
          if (!want.map.some((v) => v > 0.1 * scale)) throw new Error(`${g.image} ${layer}: the golden map is nearly empty; the test would see nothing`);
          const err = assertClose(m.raw, want.map, { atol: 1e-4 * scale, rtol: 0 }, `${g.image} ${layer} Grad-CAM (logit)`);
          console.log(`  ${g.image} ${layer} logit: largest |error| ${err.toExponential(2)} (map scale ${scale.toExponential(2)}, ${(err / scale).toExponential(1)} of it)`);
        }
      } finally {
        x.dispose();
      }
    }
  });

  test('CAM at conv_pw_13_relu (GAP → Reshape → Dropout → 1×1 conv_preds → softmax → Reshape) is Σ_k W[0,0,k,94]·A_k, and Grad-CAM of the logit is ReLU(CAM)/49 (atol 1e-5 of the map scale)', async () => {
    const cam = new Cam(model);
    assert.is(cam.defaultLayer(), 'conv_pw_13_relu');
    const W = await model.getLayer('conv_preds').weights[0].read(); // [1, 1, 256, 1000]
    const x = E.tensor(preprocessPixels(inputs[0], 'tf', 3), [1, 224, 224, 3]);
    try {
      const A = await E.tidy(() => E.noGrad(() => model.forward(x, { training: false }, ['conv_pw_13_relu']).captured.get('conv_pw_13_relu')!.data()));
      const expected = (cls: number) =>
        Float64Array.from({ length: 49 }, (_, p) => {
          let s = 0;
          for (let k = 0; k < 256; k++) s += W[k * 1000 + cls] * A[p * 256 + k];
          return s;
        });
      // Class 94's map is positive everywhere here: a second class whose map has both signs
      // (the one with the most negative cells) makes the ReLU of the identity matter.
      const mixed = Array.from({ length: 1000 }, (_, c) => c).reduce((best, c) => {
        const neg = (cls: number) => expected(cls).filter((v) => v < 0).length;
        return neg(c) > neg(best) && neg(c) < 49 ? c : best;
      }, 0);
      const classes = [94, mixed];
      const maps = await cam.explain(x, { classes: [classes] });
      const grads = await new GradCam(model).explain(x, { layer: 'conv_pw_13_relu', classes: [classes], score: 'logit' });
      const all = await cam.allClasses(x);
      for (const [i, cls] of classes.entries()) {
        const want = expected(cls);
        const scale = Math.max(...want.map(Math.abs));
        const m = maps[i];
        assert.equal([m.h, m.w, m.classIndex], [7, 7, cls]);
        const err = assertClose(m.raw, want, { atol: 1e-5 * scale, rtol: 0 }, `CAM conv_pw_13_relu class ${cls}`);
        const err2 = assertClose(grads[i].raw, Float32Array.from(m.raw, (v) => Math.max(v, 0) / 49), { atol: 1e-5 * (scale / 49), rtol: 0 }, `class ${cls}: Grad-CAM logit vs ReLU(CAM)/49`);
        assertClose(all.maps.subarray(cls * 49, (cls + 1) * 49), m.raw, { atol: 1e-5 * scale, rtol: 0 }, `allClasses class ${cls}`);
        const neg = want.filter((v) => v < 0).length;
        console.log(`  CAM class ${cls} (${neg}/49 cells negative): largest |error| ${err.toExponential(2)} (scale ${scale.toExponential(2)}); Grad-CAM(logit) vs ReLU(CAM)/49 ${err2.toExponential(2)}`);
      }
      if (!expected(mixed).some((v) => v < 0)) throw new Error('no class has a CAM with both signs: the ReLU identity is untested');
    } finally {
      x.dispose();
    }
  });

  test('the TF.js file and the Keras HDF5 twin give bit-identical activations at conv_pw_13_relu', async () => {
    const json = JSON.parse(readFileSync(TFJS, 'utf8'));
    const mc = json.modelTopology.model_config;
    const last = mc.config.layers.findIndex((l: any) => l.name === 'conv_pw_13_relu');
    const { model: noTop } = await loadModel(H5, { ...mc, config: { ...mc.config, layers: mc.config.layers.slice(0, last + 1), output_layers: [['conv_pw_13_relu', 0, 0]] } });
    try {
      const x = preprocessPixels(inputs[0], 'tf', 3);
      const run = (m: typeof model) =>
        E.tidy(() => E.noGrad(() => m.forward(E.tensor(x, [1, 224, 224, 3]), { training: false }, ['conv_pw_13_relu']).captured.get('conv_pw_13_relu')!.data()));
      assertClose(await run(noTop), await run(model), { atol: 0, rtol: 0 }, 'conv_pw_13_relu: HDF5 vs TF.js');
    } finally {
      noTop.dispose();
    }
  });
}

test.run();
