// The exact 224×224 RGB pixels our engine feeds MobileNet, written as lossless PNG so that the
// PyTorch reference (torch_mobilenet.py) reads the same input: the comparison then tests the
// network, not two JPEG decoders / resizers.
//
// Pixels come from OUR loader: loadImg(path, { targetSize: [224, 224] }) = Keras
// load_img(path, target_size=(224, 224)) (PIL NEAREST). Each PNG is read back and compared
// byte for byte before the script reports success.
//
// Run (after `npx tsc -p tsconfig.json`): node scripts/reference/mobilenet_inputs.mjs [dataDir]
// dataDir defaults to $LANTERNA_DATA or ../shared/data relative to the repository.

import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { loadImg, decodeImage } from '../../dist/explain/image_io.js';
import { writeFileAtomic } from '../../dist/explain/png.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = process.argv[2] ?? process.env.LANTERNA_DATA ?? resolve(ROOT, '../shared/data');
const OUT = join(ROOT, 'test/golden/mobilenet');
const IMAGES = ['hummingbird_tonningp.jpg', 'hummingbird_perceptualBall.jpg'];

mkdirSync(OUT, { recursive: true });
for (const name of IMAGES) {
  const src = join(DATA, 'images', name);
  const img = loadImg(src, { targetSize: [224, 224] });
  if (img.channels !== 3 || img.width !== 224 || img.height !== 224) throw new Error(`${src}: loaded as ${img.width}×${img.height}×${img.channels}, expected 224×224×3`);
  const rgb = Uint8Array.from(img.pixels); // 0..255 integers already (img_to_array of uint8)
  const outPath = join(OUT, name.replace(/\.jpe?g$/i, '.224.png'));
  // Colour type 2 (RGB, 8 bit): no alpha channel, so every reader sees plain RGB.
  const png = new PNG({ width: 224, height: 224 });
  for (let i = 0; i < 224 * 224; i++) png.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
  await writeFileAtomic(outPath, PNG.sync.write(png, { colorType: 2 }));
  // Round trip: the PNG must decode to exactly these bytes.
  const back = decodeImage(readFileSync(outPath), outPath);
  const diff = back.rgb.findIndex((v, i) => v !== rgb[i]);
  if (back.width !== 224 || back.height !== 224 || back.rgb.length !== rgb.length || diff !== -1) {
    throw new Error(`${outPath}: PNG round trip not exact (first differing byte ${diff})`);
  }
  console.log(`${outPath}: 224×224 RGB from ${src} (${img.source.width}×${img.source.height}, ${img.source.progressive ? 'progressive' : 'baseline'} JPEG), round trip exact`);
}
