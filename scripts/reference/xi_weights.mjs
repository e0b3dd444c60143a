// Writes the seeded random-weights files the Xception / InceptionV3 goldens are made from, in the
// official files' layouts, with OUR writers (the tests regenerate the same files and check their
// weights' SHA-256 against the golden's):
//   xception      writeRandomXceptionWeights    Keras 1 layout, seed 1 (top, 1000 classes)
//   inception_v3  writeRandomInceptionV3Weights Keras 2.0 layout, seed 2 (top, 1000 classes)
//
// Run (after `npx tsc -p tsconfig.json`): node scripts/reference/xi_weights.mjs FAMILY OUT.h5
// The PyTorch references (torch_xception.py, torch_inception_v3.py) call it themselves.

import { writeRandomXceptionWeights } from '../../dist/nn/applications/xception.js';
import { writeRandomInceptionV3Weights } from '../../dist/nn/applications/inception_v3.js';

export const SEEDS = { xception: 1, inception_v3: 2 };

const [family, out] = process.argv.slice(2);
if (!out || !(family in SEEDS)) {
  console.error('usage: node scripts/reference/xi_weights.mjs xception|inception_v3 OUT.h5');
  process.exit(2);
}
if (family === 'xception') await writeRandomXceptionWeights(out, { seed: SEEDS.xception });
else await writeRandomInceptionV3Weights(out, { seed: SEEDS.inception_v3 });
console.log(`${out}: ${family} random weights (seed ${SEEDS[family]})`);
