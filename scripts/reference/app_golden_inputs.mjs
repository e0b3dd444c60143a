// Writes, for the PyTorch references of the Keras applications built in code
// (torch_mobilenet_app.py, torch_mobilenet_v2.py, torch_efficientnetb0.py), each case's seeded
// random weights file in the family's official layout (the TypeScript writers the tests use) and
// its input as raw little-endian float32 NHWC, plus cases.json listing them. The tests regenerate
// the same files and inputs and compare with the goldens the Python scripts write.
//
// Run (after `npx tsc -p tsconfig.json`): node scripts/reference/app_golden_inputs.mjs [outDir]
// outDir defaults to /tmp/lanterna-app-goldens.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRandomMobileNetWeights } from '../../dist/nn/applications/mobilenet.js';
import { writeRandomMobileNetV2Weights } from '../../dist/nn/applications/mobilenet_v2.js';
import { writeRandomEfficientNetWeights } from '../../dist/nn/applications/efficientnet.js';
import { appInput } from '../../dist/test/app_golden.js';

const OUT = process.argv[2] ?? '/tmp/lanterna-app-goldens';

// Small inputs (two images) for the fast checks; odd, non-square sizes without the top (the
// padding rules differ there); the default size once (one image).
const tf = (n, seed) => ({ n, seed, lo: -1, hi: 1 });
const raw = (n, seed) => ({ n, seed, lo: 0, hi: 255 });
export const CASES = {
  mobilenet: {
    write: writeRandomMobileNetWeights,
    cases: [
      { id: 'a0.25_top_96', options: { alpha: 0.25, includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 11, input: tf(2, 101) },
      { id: 'a0.5_notop_avg_67x75', options: { alpha: 0.5, includeTop: false, pooling: 'avg', inputShape: [67, 75, 3] }, seed: 12, input: tf(2, 102) },
      { id: 'a1.0_top_224', options: { alpha: 1, includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 13, input: tf(1, 103) },
    ],
  },
  mobilenet_v2: {
    write: writeRandomMobileNetV2Weights,
    cases: [
      { id: 'a0.35_top_96', options: { alpha: 0.35, includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 21, input: tf(2, 201) },
      { id: 'a1.3_notop_max_75x67', options: { alpha: 1.3, includeTop: false, pooling: 'max', inputShape: [75, 67, 3] }, seed: 22, input: tf(2, 202) },
      { id: 'a1.0_top_224', options: { alpha: 1, includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 23, input: tf(1, 203) },
    ],
  },
  efficientnetb0: {
    write: writeRandomEfficientNetWeights,
    cases: [
      { id: 'top_96', options: { includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 31, input: raw(2, 301) },
      { id: 'notop_avg_65x71', options: { includeTop: false, pooling: 'avg', inputShape: [65, 71, 3] }, seed: 32, input: raw(2, 302) },
      { id: 'top_224', options: { includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 33, input: raw(1, 303) },
    ],
  },
};

const listing = {};
for (const [family, { write, cases }] of Object.entries(CASES)) {
  const dir = join(OUT, family);
  mkdirSync(dir, { recursive: true });
  listing[family] = [];
  for (const c of cases) {
    const h5 = join(dir, `${c.id}.h5`);
    const f32 = join(dir, `${c.id}.f32`);
    await write(h5, { ...c.options, seed: c.seed });
    const x = appInput(c);
    writeFileSync(f32, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    listing[family].push({ ...c, weights: h5, inputFile: f32 });
    console.log(`${family} ${c.id}: ${h5}, input ${x.length} values`);
  }
}
writeFileSync(join(OUT, 'cases.json'), JSON.stringify(listing, null, 1) + '\n');
console.log(`wrote ${join(OUT, 'cases.json')}`);
