// Images as Keras' load_img gives them, checked against PIL (the golden file comes from
// scripts/reference/load_img_golden.py, Pillow 9.4 + libjpeg-turbo 2.1.5 on Debian 12), and the
// overlay / output files. Node only (files).

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import {
  decodeImage, ImageDecodeError, loadImg, overlayHeatmap, pilNearestIndex, readImage, resizeBilinear, sideBySide, writeImage,
} from '../explain/image_io.ts';
import { deprocessInput, preprocessInput } from '../nn/applications/imagenet.ts';
import { assertClose, assertEqualArrays } from './helpers.ts';

// Source tree paths (tests run from dist-*/test/, the golden files stay in test/golden/).
const ROOT = [fileURLToPath(new URL('../..', import.meta.url)), fileURLToPath(new URL('..', import.meta.url))].find((r) =>
  existsSync(join(r, 'test/golden/load_img.json')),
)!;
const GOLDEN = JSON.parse(readFileSync(join(ROOT, 'test/golden/load_img.json'), 'utf8'));
const IMAGES = join(ROOT, '../shared/data/images');
const haveImages = existsSync(IMAGES);
if (!haveImages) console.log(`image_io: ${IMAGES} is absent: the real-image checks are skipped`);

const tmp = mkdtempSync(join(tmpdir(), 'lanterna-image-io-'));

test('PIL NEAREST source indices, as ImagingScaleAffine sums them (12 size pairs from PIL 9.4)', () => {
  for (const [pair, want] of Object.entries(GOLDEN.nearest as Record<string, number[]>)) {
    const [src, dst] = pair.split('>').map(Number);
    assertEqualArrays(pilNearestIndex(src, dst), want, `nearest ${pair}`);
  }
  // The test can fail: the textbook floor((d + 0.5)·src/dst) is not PIL's (2 → 7 differs at d = 3).
  const naive = Array.from({ length: 7 }, (_, d) => Math.floor(((d + 0.5) * 2) / 7));
  if (naive.every((v, d) => v === GOLDEN.nearest['2>7'][d])) throw new Error('the golden table does not tell the two formulas apart');
});

for (const [name, g] of Object.entries(GOLDEN.png as Record<string, { mode: string; size: number[]; rgb: number[]; grayscale: number[]; grayscale_10x3: number[] }>)) {
  test(`PNG ${name} (PIL mode ${g.mode}): RGB and grayscale load_img pixels equal PIL's exactly`, () => {
    const path = join(ROOT, 'test/golden/png', `${name}.png`);
    const img = readImage(path);
    if (img.width !== g.size[0] || img.height !== g.size[1]) throw new Error(`size ${img.width}×${img.height}`);
    assertEqualArrays(loadImg(img).pixels, g.rgb, `${name} rgb`);
    assertEqualArrays(loadImg(img, { colorMode: 'grayscale' }).pixels, g.grayscale, `${name} grayscale`);
    assertEqualArrays(loadImg(img, { colorMode: 'grayscale', targetSize: [3, 10] }).pixels, g.grayscale_10x3, `${name} grayscale 3×10`);
  });
}

for (const [name, g] of Object.entries(GOLDEN.jpeg as Record<string, { mode: string; size: number[]; rgb: number[] }>)) {
  test(`JPEG ${name} (37×23, written by PIL): pixels within ±3 of PIL's (libjpeg fancy upsampling and colour tables; IDCT rounding differs)`, () => {
    const img = readImage(join(ROOT, 'test/golden/jpeg', `${name}.jpg`));
    if (img.width !== g.size[0] || img.height !== g.size[1]) throw new Error(`size ${img.width}×${img.height}`);
    if ((name === 'grey') !== (img.mode === 'L') || (name.includes('progressive') && !img.progressive)) throw new Error(`mode ${img.mode}`);
    const px = loadImg(img).pixels;
    let max = 0;
    let sum = 0;
    px.forEach((v, i) => {
      max = Math.max(max, Math.abs(v - g.rgb[i]));
      sum += Math.abs(v - g.rgb[i]);
    });
    console.log(`  ${name}: sampling ${JSON.stringify(img.sampling)}, max |Δ| ${max}, mean ${(sum / px.length).toFixed(3)}`);
    if (max > 3 || sum / px.length > 0.3) throw new Error(`${name}: max |Δ| ${max}, mean ${sum / px.length}`);
  });
}

test('real images: every file decodes; PNGs equal PIL exactly, JPEGs within ±4 (IDCT rounding), 224×224 load_img', () => {
  if (!haveImages) return console.log('  skipped: no ../shared/data/images');
  const names = readdirSync(IMAGES).sort();
  const lines: string[] = [];
  let worst = 0;
  for (const name of names) {
    const g = GOLDEN.images[name];
    if (!g) throw new Error(`${name}: not in the golden file (rerun scripts/reference/load_img_golden.py)`);
    const img = readImage(join(IMAGES, name));
    if (img.width !== g.size[0] || img.height !== g.size[1]) throw new Error(`${name}: ${img.width}×${img.height}, PIL ${g.size}`);
    const x = loadImg(img, { targetSize: [224, 224] });
    const bytes = Uint8Array.from(x.pixels);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const sub: number[] = [];
    for (let y = 0; y < 224; y += 7) for (let xx = 0; xx < 224; xx += 7) for (let c = 0; c < 3; c++) sub.push(bytes[(y * 224 + xx) * 3 + c]);
    let max = 0;
    let sum = 0;
    let exact = 0;
    sub.forEach((v, i) => {
      const d = Math.abs(v - g.rgb224_every7[i]);
      max = Math.max(max, d);
      sum += d;
      if (d === 0) exact++;
    });
    const grey = loadImg(img, { colorMode: 'grayscale', targetSize: [28, 28] }).pixels;
    const greyMax = Math.max(...Array.from(grey, (v, i) => Math.abs(v - g.grey28[i])));
    if (img.format === 'png' && sha !== g.rgb224_sha256) throw new Error(`${name}: PNG pixels differ from PIL's (max ${max})`);
    if (max > 4 || sum / sub.length > 0.3 || greyMax > 4) throw new Error(`${name}: max |Δ| ${max}, mean ${sum / sub.length}, grey max ${greyMax}`);
    worst = Math.max(worst, max);
    lines.push(`  ${name.padEnd(32)} ${img.format} ${img.mode}${img.progressive ? ' progressive' : ''} ${img.width}×${img.height}: 224² vs PIL ${sha === g.rgb224_sha256 ? 'identical' : `max |Δ| ${max}, mean ${(sum / sub.length).toFixed(3)}, ${((100 * exact) / sub.length).toFixed(1)}% exact`}`);
  }
  console.log(lines.join('\n'));
  console.log(`  worst JPEG pixel difference from PIL: ${worst} (of 255)`);
});

test('the progressive JPEG and the RGBA PNGs are recognised as such', () => {
  if (!haveImages) return;
  const p = readImage(join(IMAGES, 'hummingbird_perceptualBall.jpg'));
  if (!p.progressive || p.width !== 480 || p.height !== 360) throw new Error(`progressive ${p.progressive} ${p.width}×${p.height}`);
  for (const f of ['ukb_snake.png', 'ukb_spider.png']) if (readImage(join(IMAGES, f)).mode !== 'RGBA') throw new Error(`${f} is not RGBA`);
  const hb = readImage(join(IMAGES, 'hummingbird_tonningp.jpg'));
  if (hb.exifOrientation !== 1) throw new Error(`EXIF orientation ${hb.exifOrientation}`);
});

test('known pixels of both.png (PIL: img_to_array(load_img(...))) and caffe preprocessing of them', () => {
  if (!haveImages) return;
  const x = loadImg(join(IMAGES, 'both.png'), { targetSize: [224, 224] }).pixels;
  // Pixels at multiples of 7 are in the golden file's every-7th-row-and-column sample (PIL's values).
  const g = GOLDEN.images['both.png'].rgb224_every7 as number[];
  const at = (y: number, xx: number) => [0, 1, 2].map((c) => x[(y * 224 + xx) * 3 + c]);
  const want = (y: number, xx: number) => [0, 1, 2].map((c) => g[((y / 7) * 32 + xx / 7) * 3 + c]);
  for (const [y, xx] of [[0, 0], [112, 105], [217, 217]]) assertEqualArrays(at(y, xx), want(y, xx), `both.png (${y}, ${xx})`);
  // preprocess_input(mode='caffe'): RGB → BGR, minus [103.939, 116.779, 123.68].
  const [r, gg, b] = at(112, 105);
  const p = preprocessInput([r, gg, b]);
  assertClose(p, [b - 103.939, gg - 116.779, r - 123.68], { atol: 1e-4, rtol: 0 }, 'caffe');
  assertClose(deprocessInput(p), [r, gg, b], { atol: 1e-4, rtol: 0 }, 'inverse');
});

test('preprocess_input (caffe) on hand-made values: [255, 0, 10] → [10 − 103.939, 0 − 116.779, 255 − 123.68]', () => {
  const p = preprocessInput(Float32Array.from([255, 0, 10, 1, 2, 3]));
  assertClose(p, [-93.939, -116.779, 131.32, 3 - 103.939, 2 - 116.779, 1 - 123.68], { atol: 1e-4, rtol: 0 }, 'caffe');
});

test('bilinear map resize uses half-pixel centres (cv2.INTER_LINEAR): [0, 4] → [0, 1, 3, 4]', () => {
  assertClose(resizeBilinear([0, 4], 1, 2, 1, 4), [0, 1, 3, 4], { atol: 1e-6 }, '1×2 → 1×4');
  assertClose(resizeBilinear([0, 4, 8, 12], 2, 2, 2, 2), [0, 4, 8, 12], { atol: 1e-6 }, 'identity');
});

test('overlay at the original size: jet at alpha 0.4 over the image, rescaled to 0..255; PNG and JPEG written whole', async () => {
  const base = { width: 9, height: 6, rgb: Uint8Array.from({ length: 9 * 6 * 3 }, (_, i) => (i * 7) % 256) };
  const map = Float32Array.from([0, 0, 0, 1]); // 2×2, hot in the bottom-right
  const o = overlayHeatmap(base, map, 2, 2, { colormap: 'jet', alpha: 0.4 });
  if (o.width !== 9 || o.height !== 6) throw new Error(`size ${o.width}×${o.height}`);
  // The bottom-right pixel gets jet(1) = dark red, the top-left jet(0) = dark blue.
  const px = (x: number, y: number) => [0, 1, 2].map((c) => o.rgb[(y * 9 + x) * 3 + c]);
  const sumBase = (x: number, y: number) => [0, 1, 2].map((c) => base.rgb[(y * 9 + x) * 3 + c]);
  const br = px(8, 5), tl = px(0, 0);
  if (!(br[0] - sumBase(8, 5)[0] * (255 / 400) > tl[0] - sumBase(0, 0)[0] * (255 / 400))) throw new Error(`no red at the hot corner: ${br} vs ${tl}`);
  let max = 0;
  for (const v of o.rgb) max = Math.max(max, v);
  if (max !== 255) throw new Error(`not rescaled: max ${max}`);
  for (const ext of ['png', 'jpg']) {
    const path = join(tmp, `o.${ext}`);
    await writeImage(path, sideBySide([o, o]));
    const back = readImage(path);
    if (back.width !== 9 * 2 + 8 || back.height !== 6) throw new Error(`${ext}: ${back.width}×${back.height}`);
  }
  if (readdirSync(tmp).some((f) => f.includes('.tmp-'))) throw new Error('a temporary file was left behind');
});

test('bad input: not an image, truncated JPEG and PNG, missing file: one error naming the file', () => {
  const cases: [string, Uint8Array][] = [['text.jpg', new TextEncoder().encode('hello, not a picture')], ['empty.png', new Uint8Array(0)]];
  if (haveImages) {
    const j = readFileSync(join(IMAGES, 'gradcam_paper_cat_dog.jpg'));
    const p = readFileSync(join(IMAGES, 'both.png'));
    cases.push(['half.jpg', j.subarray(0, j.length >> 1)], ['half.png', p.subarray(0, p.length >> 1)], ['head.jpg', j.subarray(0, 300)]);
  }
  for (const [name, bytes] of cases) {
    const path = join(tmp, name);
    writeFileSync(path, bytes);
    try {
      readImage(path);
      throw new Error(`${name}: decoded`);
    } catch (e) {
      if (!(e instanceof ImageDecodeError) || !e.message.startsWith(path) || e.message.includes('\n')) throw e;
    }
  }
  try {
    decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]), 'tiny.jpg');
    throw new Error('decoded');
  } catch (e) {
    if (!(e instanceof ImageDecodeError) || !/tiny\.jpg/.test(e.message)) throw e;
  }
  try {
    readImage(join(tmp, 'nope.png'));
    throw new Error('no error');
  } catch (e) {
    if (!/nope\.png: no such image file/.test((e as Error).message)) throw e;
  }
  if (statSync(tmp).isDirectory()) rmSync(tmp, { recursive: true, force: true });
});

test.run();
