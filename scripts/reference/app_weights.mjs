// Writes the seeded random-weights files the applications' goldens are made from, in each
// family's official layout, with OUR writers (the registry's writeRandomWeights: the tests
// regenerate the same files and check that they hold the golden's numbers):
//
//   node scripts/reference/app_weights.mjs FAMILY OUT.h5 ['{"seed": 1, "inputShape": [64, 64, 3]}']
//     one file (FAMILY: xception, inception_v3, resnet50, densenet121, mobilenet, …; the options
//     are the family's, e.g. ResNet50's layout); torch_xception.py, torch_inception_v3.py,
//     torch_resnet50.py and torch_densenet121.py call it through keras_app_torch.write_seeded.
//   node scripts/reference/app_weights.mjs --cases [OUT_DIR]
//     the cases of torch_mobilenet_app.py, torch_mobilenet_v2.py and torch_efficientnetb0.py:
//     each case's weights file, its input as raw little-endian float32 NHWC, and cases.json
//     listing them (OUT_DIR defaults to /tmp/lanterna-app-goldens).
//
// Run after building: npx tsc -p tsconfig.json --outDir dist-dev (or a build to dist/).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = ['dist-dev', 'dist'].map((d) => resolve(ROOT, d)).find((d) => existsSync(resolve(d, 'nn/applications/index.js')));
if (!BUILD) throw new Error(`no build under ${ROOT}/dist-dev or dist: run npx tsc -p tsconfig.json --outDir dist-dev`);
const load = (p) => import(pathToFileURL(resolve(BUILD, p)).href);
const { applicationByName } = await load('nn/applications/index.js');

async function write(family, out, opts) {
  const app = applicationByName(family);
  if (!app.writeRandomWeights) throw new Error(`${family}: no seeded weights writer`);
  await app.writeRandomWeights(out, opts);
}

// Small inputs (two images) for the fast checks; odd, non-square sizes without the top (the
// padding rules differ there); the default size once (one image).
const tf = (n, seed) => ({ n, seed, lo: -1, hi: 1 });
const raw = (n, seed) => ({ n, seed, lo: 0, hi: 255 });
export const CASES = {
  mobilenet: [
    { id: 'a0.25_top_96', options: { alpha: 0.25, includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 11, input: tf(2, 101) },
    { id: 'a0.5_notop_avg_67x75', options: { alpha: 0.5, includeTop: false, pooling: 'avg', inputShape: [67, 75, 3] }, seed: 12, input: tf(2, 102) },
    { id: 'a1.0_top_224', options: { alpha: 1, includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 13, input: tf(1, 103) },
  ],
  mobilenet_v2: [
    { id: 'a0.35_top_96', options: { alpha: 0.35, includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 21, input: tf(2, 201) },
    { id: 'a1.3_notop_max_75x67', options: { alpha: 1.3, includeTop: false, pooling: 'max', inputShape: [75, 67, 3] }, seed: 22, input: tf(2, 202) },
    { id: 'a1.0_top_224', options: { alpha: 1, includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 23, input: tf(1, 203) },
  ],
  efficientnetb0: [
    { id: 'top_96', options: { includeTop: true, classes: 1000, inputShape: [96, 96, 3] }, seed: 31, input: raw(2, 301) },
    { id: 'notop_avg_65x71', options: { includeTop: false, pooling: 'avg', inputShape: [65, 71, 3] }, seed: 32, input: raw(2, 302) },
    { id: 'top_224', options: { includeTop: true, classes: 1000, inputShape: [224, 224, 3] }, seed: 33, input: raw(1, 303) },
  ],
};

const args = process.argv.slice(2);
if (args[0] === '--cases') {
  const { appInput } = await load('test/app_golden.js');
  const OUT = args[1] ?? '/tmp/lanterna-app-goldens';
  const listing = {};
  for (const [family, cases] of Object.entries(CASES)) {
    const dir = join(OUT, family);
    mkdirSync(dir, { recursive: true });
    listing[family] = [];
    for (const c of cases) {
      const h5 = join(dir, `${c.id}.h5`);
      const f32 = join(dir, `${c.id}.f32`);
      await write(family, h5, { ...c.options, seed: c.seed });
      const x = appInput(c);
      writeFileSync(f32, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      listing[family].push({ ...c, weights: h5, inputFile: f32 });
      console.log(`${family} ${c.id}: ${h5}, input ${x.length} values`);
    }
  }
  writeFileSync(join(OUT, 'cases.json'), JSON.stringify(listing, null, 1) + '\n');
  console.log(`wrote ${join(OUT, 'cases.json')}`);
} else {
  const [family, out, json] = args;
  if (!family || !out) throw new Error('usage: app_weights.mjs FAMILY OUT.h5 [JSON options] | --cases [OUT_DIR]');
  const opts = json ? JSON.parse(json) : {};
  await write(family, out, opts);
  console.log(`wrote ${out} (${family} ${JSON.stringify(opts)})`);
}
