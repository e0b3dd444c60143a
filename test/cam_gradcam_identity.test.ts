// CAM on Xception (the lecture's exercise) against Grad-CAM of the logit. For a network ending in
// global average pooling and a linear classifier, y_c = Σ_k w_k^c · mean(A_k) + b_c, so
// ∂y_c/∂A_k = w_k^c / (H·W) everywhere and Grad-CAM's map is ReLU(CAM / (H·W)). This checks the
// identity on Xception (random weights, 71×71, the smallest input Keras allows).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { Cam } from '../explain/cam.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { xception } from '../nn/applications/xception.ts';
import { assertClose, ready, rng } from './helpers.ts';

await ready;

test('Xception: CAM at the GAP input equals H·W × Grad-CAM of the logit where positive', async () => {
  const model = xception({ inputShape: [71, 71, 3], classes: 7 });
  const cam = new Cam(model);
  const layer = cam.defaultLayer();
  assert.is(layer, 'block14_sepconv2_act');
  const x = E.keep(E.tensor(Float32Array.from(rng(3).uniform(2 * 71 * 71 * 3, -1, 1)), [2, 71, 71, 3]));
  const classes = [[1, 5], [6, 0]];
  const c = await cam.explain(x, { classes });
  const g = await new GradCam(model).explain(x, { layer, classes, score: 'logit' });
  assert.is(c.length, 4);
  let positive = 0;
  for (let i = 0; i < c.length; i++) {
    const hw = c[i].h * c[i].w;
    const want = c[i].raw.map((v) => Math.max(v, 0) / hw);
    positive += want.filter((v) => v > 0).length;
    const scale = Math.max(...want.map(Math.abs), 1e-12);
    assertClose(g[i].raw, want, { atol: 1e-5 * scale, rtol: 1e-4 }, `image ${c[i].image} class ${c[i].classIndex}`);
  }
  assert.ok(positive > 0 && positive < c.length * c[0].h * c[0].w, `${positive} positive cells: the ReLU must matter`);
  x.dispose();
  model.dispose();
});

test.run();
