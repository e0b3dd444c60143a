// Score-CAM and Ablation-CAM time against the number of perturbed copies per forward pass, on the
// tiny VGG16 of the goldens (test/golden/tiny_vgg16.h5, 64×64, block4_conv3: 16 channels, so 32
// copies for a batch of 2 images). One warm-up call per batch size (pipelines), then the median and the
// minimum of `repeats` calls. Run: npx tsc -p tsconfig.json --outDir dist-dev && node dist-dev/bench/cam_batch.js [repeats]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.ts';
import { AblationCam } from '../explain/ablation_cam.ts';
import { ScoreCam } from '../explain/score_cam.ts';
import { batchSizeFor } from '../explain/perturbation.ts';
import { loadVgg16Weights } from '../nn/applications/vgg16.ts';

await E.init();
const root = fileURLToPath(new URL('../..', import.meta.url));
const golden = JSON.parse(readFileSync(join(root, 'test/golden/gradcam_tiny_vgg16.json'), 'utf8'));
const size = golden.size;
const { model } = await loadVgg16Weights(join(root, 'test/golden/tiny_vgg16.h5'), { widths: golden.widths, units: golden.units, classes: golden.classes, inputShape: [size, size, 3] });
const x = E.keep(E.tensor(Float32Array.from(golden.input), [2, size, size, 3]));
const layer = 'block4_conv3';
const repeats = Number(process.argv[2] ?? 3);
const copies = 2 * model.getLayer(layer).outputShape![2];
console.log(`${E.gpu().adapterInfo.description || E.gpu().adapterInfo.device}; ${copies} copies; default batch ${batchSizeFor(model, copies, {})}`);
for (const [name, Method] of [['Score-CAM', ScoreCam], ['Ablation-CAM', AblationCam]] as const) {
  for (const batchSize of [1, 4, 8, 16, copies]) {
    const cam = new Method(model, { batchSize });
    await cam.explain(x, { layer });
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await cam.explain(x, { layer });
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    console.log(`${name.padEnd(13)} batch ${String(batchSize).padStart(3)}: median ${ms[Math.floor(ms.length / 2)].toFixed(0).padStart(5)} ms, min ${ms[0].toFixed(0).padStart(5)} ms (${Math.ceil(copies / batchSize)} passes)`);
  }
}
x.dispose();
model.dispose();
