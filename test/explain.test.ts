// CAM and Grad-CAM through the engine's own backward pass: the GAP identity, and Grad-CAM
// against finite differences of the class score with respect to the layer's activations.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { Cam } from '../explain/cam.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D, MaxPooling2D } from '../nn/layers/pooling.ts';
import { Activation, Flatten, Reshape } from '../nn/layers/simple.ts';
import { Dropout } from '../nn/layers/regularization.ts';
import { Sequential } from '../nn/sequential.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;
const r = rng(21);

function gapNet(seed: number): Sequential {
  const m = new Sequential('gap', seed);
  m.add(new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(new MaxPooling2D({ poolSize: 2 }));
  m.add(new Conv2D({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(new GlobalAveragePooling2D());
  m.add(new Dense({ units: 5, activation: 'softmax' }));
  return m.build([10, 10, 2]);
}

test('for GAP → Dense, Grad-CAM of the logit equals ReLU(CAM)/(H·W) (atol 1e-6)', async () => {
  const m = gapNet(1);
  const x = E.keep(E.tensor(r.uniform(3 * 10 * 10 * 2), [3, 10, 10, 2]));
  const classes = [0, 3, 4];
  const cam = await new Cam(m).explain(x, { classes });
  const gc = await new GradCam(m).explain(x, { classes, score: 'logit', layer: 'conv2d_1' });
  for (let i = 0; i < 3; i++) {
    const hw = cam[i].h * cam[i].w;
    if (cam[i].h !== 5 || gc[i].h !== 5) throw new Error(`map size ${cam[i].h}`);
    assertClose(gc[i].raw, Float32Array.from(cam[i].raw, (v) => Math.max(v, 0) / hw), { atol: 1e-6, rtol: 1e-4 }, `image ${i}`);
  }
  x.dispose();
  m.dispose();
});

test('Cam.allClasses: every class in one readback equals explain() per class, maps and upsampling (atol 1e-5)', async () => {
  const m = gapNet(3);
  const x = E.keep(E.tensor(r.uniform(2 * 10 * 10 * 2), [2, 10, 10, 2]));
  const cam = new Cam(m);
  const all = await cam.allClasses(x, { upsample: { size: [10, 10], mode: 'nearest' } });
  if (all.n !== 2 || all.classes !== 5 || all.h !== 5 || all.w !== 5) throw new Error(`dims ${all.n} ${all.classes} ${all.h} ${all.w}`);
  const per = await cam.explain(x, { classes: [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]], upsample: { size: [10, 10], mode: 'nearest' } });
  for (const p of per) {
    const at = (p.image * 5 + p.classIndex);
    assertClose(all.maps.subarray(at * 25, (at + 1) * 25), p.raw, { atol: 1e-5, rtol: 1e-4 }, `image ${p.image} class ${p.classIndex}`);
    assertClose(all.upsampled!.subarray(at * 100, (at + 1) * 100), p.upsampled!, { atol: 1e-5, rtol: 1e-4 }, `upsampled ${p.image}/${p.classIndex}`);
    assertClose(all.output.subarray(p.image * 5, p.image * 5 + 5), p.output, { atol: 1e-6, rtol: 1e-5 }, 'output');
  }
  x.dispose();
  m.dispose();
});

/** Class score as a function of the layer's activations, run through the remaining layers. */
async function tailScore(m: Sequential, from: number, a: Float32Array, shape: number[], cls: number, score: 'softmax' | 'logit'): Promise<number> {
  return E.tidy(async () =>
    E.noGrad(async () => {
      let h = E.tensor(a, shape);
      const tail = m.layers.slice(from + 1);
      tail.forEach((l, i) => {
        h = i === tail.length - 1 && score === 'logit' ? (l as Dense).preActivation(h) : l.call(h, { training: false });
      });
      return (await h.data())[cls];
    }),
  );
}

for (const [name, build, layerIdx] of [
  ['GAP → Dense', () => gapNet(2), 2],
  [
    'Flatten → Dense (VGG-like head)',
    () => {
      const m = new Sequential('flat', 4);
      m.add(new Conv2D({ filters: 3, kernelSize: 3, padding: 'valid', activation: 'relu' }));
      m.add(new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', strides: 2 }));
      m.add(new Flatten());
      m.add(new Dense({ units: 6, activation: 'softmax' }));
      return m.build([9, 9, 1]);
    },
    1,
  ],
] as [string, () => Sequential, number][]) {
  for (const score of ['softmax', 'logit'] as const) {
    test(`Grad-CAM (${name}, ${score}) matches finite differences of the class score (atol 2e-3 of the map's range)`, async () => {
      const m = build();
      const inShape = m.inputShape!;
      const x0 = r.uniform(inShape.reduce((a, b) => a * b, 1), 0, 1);
      const x = E.keep(E.tensor(x0, [1, ...inShape]));
      const layer = m.layers[layerIdx].name;
      const cls = 1;
      const [map] = await new GradCam(m).explain(x, { classes: [cls], layer, score });
      const A = await E.tidy(() => E.noGrad(() => m.forward(x, { training: false }, [layer]).captured.get(layer)!.data()));
      const shape = [1, ...m.layers[layerIdx].outputShape!];
      const [, H, W, K] = shape;
      const eps = 1e-2;
      const g = new Float64Array(A.length);
      const a = Float32Array.from(A);
      for (let i = 0; i < a.length; i++) {
        const keep = a[i];
        a[i] = keep + eps;
        const up = await tailScore(m, layerIdx, a, shape, cls, score);
        a[i] = keep - eps;
        const down = await tailScore(m, layerIdx, a, shape, cls, score);
        a[i] = keep;
        g[i] = (up - down) / (2 * eps);
      }
      const alpha = new Float64Array(K);
      for (let i = 0; i < H * W; i++) for (let k = 0; k < K; k++) alpha[k] += g[i * K + k] / (H * W);
      const ref = new Float64Array(H * W);
      for (let i = 0; i < H * W; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += alpha[k] * A[i * K + k];
        ref[i] = Math.max(s, 0);
      }
      const range = Math.max(...ref) - Math.min(...ref) || 1;
      assertClose(map.raw, ref, { atol: 2e-3 * range, rtol: 1e-2 }, `${name} ${score}`);
      if (!map.raw.some((v) => v > 0)) throw new Error('the map is all zero: the test would not see errors');
      x.dispose();
      m.dispose();
    });
  }
}

test('Grad-CAM for several classes per image and upsampling', async () => {
  const m = gapNet(3);
  const x = E.keep(E.tensor(r.uniform(2 * 10 * 10 * 2), [2, 10, 10, 2]));
  const maps = await new GradCam(m).explain(x, { classes: [2, 2], upsample: { size: [10, 10], mode: 'bilinear' } });
  if (maps[0].upsampled?.length !== 100) throw new Error('no upsampled map');
  const other = await new GradCam(m).explain(x, { classes: [4, 4] });
  if (maps[0].raw.every((v, i) => v === other[0].raw[i])) throw new Error('maps of different classes are identical');
  x.dispose();
  m.dispose();
});

/** A MobileNet-like head: GAP → Reshape(1, 1, K) → Dropout → Conv2D 1×1 (bias) → Activation(softmax) → Reshape(C). */
function convHeadNet(seed: number, classifier: 'softmax-activation' | 'linear' = 'softmax-activation'): Sequential {
  const m = new Sequential('convhead', seed);
  m.add(new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(new Conv2D({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }));
  m.add(new GlobalAveragePooling2D());
  m.add(new Reshape([1, 1, 6]));
  m.add(new Dropout(0.5));
  m.add(new Conv2D({ filters: 5, kernelSize: 1, padding: 'same', name: 'preds' }));
  if (classifier === 'softmax-activation') m.add(new Activation('softmax'));
  m.add(new Reshape([5]));
  return m.build([6, 6, 2]);
}

test('CAM on GAP → Reshape → Dropout → 1×1 Conv2D → softmax → Reshape: Σ_k W[0,0,k,c]·A_k, and Grad-CAM of the logit is ReLU(CAM)/(H·W) (atol 1e-6)', async () => {
  const m = convHeadNet(5);
  const x = E.keep(E.tensor(r.uniform(2 * 6 * 6 * 2), [2, 6, 6, 2]));
  const classes = [1, 4];
  const cam = new Cam(m);
  if (cam.defaultLayer() !== 'feat') throw new Error(`default CAM layer ${cam.defaultLayer()}, expected feat`);
  const maps = await cam.explain(x, { classes });
  const A = await E.tidy(() => E.noGrad(() => m.forward(x, { training: false }, ['feat']).captured.get('feat')!.data()));
  const W = await m.getLayer('preds').weights[0].read(); // [1, 1, 6, 5]
  const gc = await new GradCam(m).explain(x, { classes, score: 'logit', layer: 'feat' });
  for (let i = 0; i < 2; i++) {
    const want = Float64Array.from({ length: 36 }, (_, p) => {
      let s = 0;
      for (let k = 0; k < 6; k++) s += W[k * 5 + classes[i]] * A[(i * 36 + p) * 6 + k];
      return s;
    });
    if (!want.some((v) => v < 0) || !want.some((v) => v > 0)) throw new Error('the map needs both signs for the test to see a ReLU');
    assertClose(maps[i].raw, want, { atol: 1e-6, rtol: 1e-5 }, `CAM image ${i}`);
    assertClose(gc[i].raw, Float32Array.from(maps[i].raw, (v) => Math.max(v, 0) / 36), { atol: 1e-6, rtol: 1e-4 }, `Grad-CAM logit image ${i}`);
  }
  const all = await cam.allClasses(x);
  assertClose(all.maps.subarray((0 * 5 + classes[0]) * 36, (0 * 5 + classes[0] + 1) * 36), maps[0].raw, { atol: 1e-5, rtol: 1e-4 }, 'allClasses, image 0');
  x.dispose();
  m.dispose();
});

test("score 'logit' is refused, before any computation, for a model without a softmax, in one line naming it", async () => {
  const m = convHeadNet(6, 'linear');
  const x = E.keep(E.tensor(r.uniform(6 * 6 * 2), [1, 6, 6, 2]));
  try {
    await new GradCam(m).explain(x, { classes: [0], score: 'logit' });
    throw new Error('no error');
  } catch (e) {
    const msg = (e as Error).message;
    if (!/no final softmax/.test(msg) || !/convhead/.test(msg) || !/Conv2D\(linear\) → Reshape/.test(msg) || msg.includes('\n')) throw e;
  }
  // CAM itself needs no softmax: the linear 1×1 classifier is a CAM head too.
  const [c] = await new Cam(m).explain(x, { classes: [0] });
  if (c.h !== 6) throw new Error(`CAM map ${c.h}×${c.w}`);
  x.dispose();
  m.dispose();
});

test('CAM refuses a classifier that is not 1×1 or not after global average pooling, naming the layer', () => {
  const m = new Sequential('k3', 1);
  m.add(new Conv2D({ filters: 2, kernelSize: 3 }));
  m.add(new GlobalAveragePooling2D());
  m.add(new Reshape([1, 1, 2]));
  m.add(new Conv2D({ filters: 3, kernelSize: 1, strides: 2, name: 'strided' }));
  m.add(new Flatten());
  m.build([5, 5, 1]);
  try {
    new Cam(m).defaultLayer();
    throw new Error('no error');
  } catch (e) {
    if (!/'strided'/.test((e as Error).message) || !/1×1 convolution with stride 1/.test((e as Error).message)) throw e;
  }
  m.dispose();
});

test('CAM refuses a model without global average pooling, naming the layers', () => {
  const m = new Sequential('noGap', 1);
  m.add(new Conv2D({ filters: 2, kernelSize: 3 }));
  m.add(new Flatten());
  m.add(new Dense({ units: 3, activation: 'softmax' }));
  m.build([5, 5, 1]);
  try {
    new Cam(m).defaultLayer();
    throw new Error('no error');
  } catch (e) {
    if (!/GlobalAveragePooling2D/.test((e as Error).message) || !/Conv2D → Flatten → Dense/.test((e as Error).message)) throw e;
  }
  m.dispose();
});

test.run();
