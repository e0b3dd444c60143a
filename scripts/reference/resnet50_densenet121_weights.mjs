// Writes the seeded random ResNet50 / DenseNet121 weights files (the official layouts) that the
// PyTorch references read: the same TypeScript writers the tests call, so the goldens and the
// tests see the same numbers (the references record a digest of them; the tests check it).
//
// Run (after `npx tsc -p tsconfig.json --outDir dist-dev`, or a build to dist/):
//   node scripts/reference/resnet50_densenet121_weights.mjs resnet50 OUT.h5 '{"layout": "2016", "seed": 1}'
//   node scripts/reference/resnet50_densenet121_weights.mjs densenet121 OUT.h5 '{"seed": 2}'
// The options are those of writeRandomResNet50Weights / writeRandomDenseNet121Weights.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = ['dist-dev', 'dist'].map((d) => resolve(ROOT, d)).find((d) => existsSync(resolve(d, 'nn/applications/resnet50.js')));
if (!BUILD) throw new Error(`no build of nn/applications/resnet50 under ${ROOT}/dist-dev or dist: run npx tsc -p tsconfig.json --outDir dist-dev`);
const load = (p) => import(pathToFileURL(resolve(BUILD, p)).href);

const [family, out, json] = process.argv.slice(2);
if (!family || !out) throw new Error('usage: resnet50_densenet121_weights.mjs resnet50|densenet121 OUT.h5 [JSON options]');
const opts = json ? JSON.parse(json) : {};
const { init } = await load('engine/index.js');
await init();
if (family === 'resnet50') await (await load('nn/applications/resnet50.js')).writeRandomResNet50Weights(out, opts);
else if (family === 'densenet121') await (await load('nn/applications/densenet121.js')).writeRandomDenseNet121Weights(out, opts);
else throw new Error(`unknown family '${family}' (resnet50 or densenet121)`);
console.log(`wrote ${out} (${family} ${JSON.stringify(opts)})`);
process.exit(0);
