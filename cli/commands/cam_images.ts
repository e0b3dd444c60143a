// `lanterna cam --model FILE --image IMG…`: CAM (Zhou et al.) of photographs on any model ending
// in global average pooling and a Dense or 1×1 Conv2D classifier (MobileNet, ResNet, Xception…;
// nn/head.ts finds the head). One overlay per image, the map min–max normalised as the lecture;
// everything that can fail on the user's input fails before any file is written.

import { checkModelSource, loadCliModel } from '../model_source.ts';
import { chooseOutput, outputSize } from '../model_output.ts';
import { basename, extname } from 'node:path';
import { init, shutdown } from '../../engine/context.ts';
import { LanternaError } from '../../engine/errors.ts';
import * as E from '../../engine/index.ts';
import { Cam } from '../../explain/cam.ts';
import { encodeImage, loadImg, overlayHeatmap, readImage } from '../../explain/image_io.ts';
import { writeFileAtomic } from '../../explain/png.ts';
import { imagenetClasses, imagenetClassIndex, preprocessPixels, topK } from '../../nn/applications/imagenet.ts';
import { pixelsFlag } from '../image_pixels.ts';
import { emitJson, numberOption, UsageError } from '../options.ts';

export interface CamImageOpts {
  model?: string;
  weights?: string;
  arch?: string;
  image: string[];
  class?: string;
  layer?: string;
  output?: string;
  colormap: string;
  alpha?: string;
  out: string;
  pixels?: string;
  inputScale?: string;
  invert?: boolean;
  json?: boolean | string;
}

async function oneLine<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
}

/** `out.png` → `out_<stem>.png` when there are several images. */
function outFor(out: string, path: string, several: boolean): string {
  if (!several) return out;
  const ext = extname(out);
  return `${out.slice(0, out.length - ext.length)}_${basename(path, extname(path)).replace(/[^\w.-]+/g, '_')}${ext}`;
}

export async function camImages(o: CamImageOpts): Promise<void> {
  if (o.inputScale !== undefined || o.invert) throw new UsageError('with --image, give the preprocessing as --pixels (caffe, tf, torch, unit, raw or inverted)');
  const flag = pixelsFlag(o.pixels);
  checkModelSource(o);
  const alpha = numberOption('--alpha', o.alpha ?? '0.4', 0, 1);
  if (!/\.(png|jpe?g)$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the overlay is written as PNG or JPEG; name a .png, .jpg or .jpeg file`);
  const images = await oneLine(() => o.image.map((path) => ({ path, img: readImage(path) })));
  try {
    await init();
    const src = await loadCliModel({ model: o.model, weights: o.weights, arch: o.arch }, flag);
    const model = src.model;
    const where = src.path;
    const shape = model.inputShape!;
    if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) throw new LanternaError(`${where}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
    const output = chooseOutput(model, o.output, where);
    const cam = new Cam(model, { output });
    const layer = await oneLine(() => o.layer ?? cam.defaultLayer());
    const numClasses = outputSize(model, output);
    const names = numClasses === 1000 ? imagenetClasses() : null;
    let cls: number | null = null;
    if (o.class !== undefined) {
      cls = /^\d+$/.test(o.class) ? Number(o.class) : names ? await oneLine(() => imagenetClassIndex(o.class!)) : NaN;
      if (!(cls >= 0 && cls < numClasses)) throw new LanternaError(`--class ${o.class}: the model has ${numClasses} classes (0..${numClasses - 1})${names ? ' or ImageNet names' : ''}`);
    }
    const { pixels, pixelsFrom: from } = src;
    const [h, w, c] = shape;
    const x = new Float32Array(images.length * h * w * c);
    images.forEach(({ img }, i) => x.set(preprocessPixels(loadImg(img, { targetSize: [h, w], colorMode: c === 1 ? 'grayscale' : 'rgb' }).pixels, pixels, c), i * h * w * c));
    const maps = await oneLine(() =>
      E.asyncTidy((s) => cam.explain(s.run(() => E.tensor(x, [images.length, ...shape])), { layer, classes: cls === null ? null : images.map(() => cls!) })),
    );
    const say = o.json === true ? (t: string) => console.error(t) : (t: string) => console.log(t);
    say(`${where}: CAM from layer '${layer}' (${maps[0].h}×${maps[0].w}) weighted by '${cam.head().classifier.name}', ${pixels} pixels (${from})`);
    const writes = maps.map((m, i) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of m.raw) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      // Min–max normalised as the lecture (CAM keeps negative evidence; no ReLU).
      const norm = Float32Array.from(m.raw, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
      const path = outFor(o.out, images[i].path, images.length > 1);
      const label = names ? `${names[m.classIndex].name} (class ${m.classIndex})` : `class ${m.classIndex}`;
      const top = topK(m.output, 3).map((t) => `${names ? names[t.index].name : t.index} ${t.score.toFixed(4)}`).join(', ');
      say(`  ${images[i].path}: ${label} p=${m.probability.toFixed(4)} (top: ${top}) → ${path}`);
      return { path, bytes: encodeImage(path, overlayHeatmap(images[i].img, norm, m.h, m.w, { colormap: o.colormap, alpha })) };
    });
    for (const wr of writes) await writeFileAtomic(wr.path, wr.bytes);
    if (o.json)
      await emitJson(o.json, {
        model: where,
        layer,
        pixels,
        images: maps.map((m, i) => ({ image: images[i].path, class: m.classIndex, label: names ? names[m.classIndex].name : null, probability: m.probability, h: m.h, w: m.w, cam: Array.from(m.raw), file: writes[i].path })),
      });
    model.dispose();
  } finally {
    shutdown();
  }
}
