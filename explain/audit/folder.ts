// The audit's data from a labelled image folder (Node only): DIR/<class>/*.png|jpg|jpeg. Folders
// named by numbers are those classes (a folder of MNIST digits may lack a class); otherwise classes
// are numbered by the sorted order of the folder names, as Keras' image_dataset_from_directory
// does. And a mask image naming where a suspected cue lives (white, or
// any grey ≥ 128, inside), resized to the model's input. The counterfactual blanks the region:
// each image's region is filled with the image's mean colour outside it, before preprocessing.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LanternaError } from '../../engine/errors.ts';
import { preprocessPixels, type ImagePixels } from '../../nn/applications/imagenet.ts';
import type { RgbImage } from '../grid.ts';
import { loadImg, readImage } from '../image_io.ts';
import { resizeNearestPil, rgbToGray } from '../image_ops.ts';
import type { AuditData } from './audit.ts';

const IMAGE = /\.(png|jpe?g)$/i;

/** A labelled folder read for an audit. */
export interface FolderAudit {
  /** The inputs, labels, region mask and counterfactual (region blanked). */
  data: AuditData;
  /** The class folders, in sorted order. */
  classes: string[];
  /** The class index of each folder of `classes`. */
  classIndex: number[];
  /** Each image's path, in data order. */
  files: string[];
  /** Image i at the model's input size, as shown. */
  shown: (i: number) => RgbImage;
  /** Image i with the region blanked, as shown. */
  shownBlanked: (i: number) => RgbImage;
  /** The region mask at the model's input size (1 inside). */
  region: Uint8Array;
}

/** Options of `folderAuditData`. */
export interface FolderOptions {
  /** At most this many images per class (the first by name); default all. */
  perClass?: number;
}

/** The region of a mask image at h×w: 1 where its grey value is at least 128. Throws naming the file when the region is empty. */
export function regionMask(path: string, h: number, w: number): Uint8Array {
  const img = readImage(path);
  const grey = resizeNearestPil(img.gray16 ? Uint8Array.from(img.gray16, (v) => v >> 8) : rgbToGray(img.rgb), img.width, img.height, 1, w, h);
  const m = Uint8Array.from(grey, (v) => (v >= 128 ? 1 : 0));
  if (!m.some((v) => v)) throw new LanternaError(`--region ${path}: no pixel of the mask is white (≥ 128) at ${w}×${h}: nothing names the region`);
  return m;
}

/**
 * Reads DIR/<class>/*.png|jpg|jpeg at the model's input size [h, w, channels] (grey for one
 * channel), preprocessed with `pixels`, labelled by class folder (a number, or the place in the
 * sorted order of the names), with `regionPath` as the cue
 * region and the region blanked as the counterfactual. Throws a one-line error naming the folder
 * or file at fault (no class folders, a class without images, an image that cannot be read).
 */
export function folderAuditData(dir: string, regionPath: string, shape: [number, number, number], pixels: ImagePixels, o: FolderOptions = {}): FolderAudit {
  const [h, w, channels] = shape;
  if (channels !== 1 && channels !== 3) throw new LanternaError(`--data: the model takes ${channels} channels; folders of images feed 1 (grey) or 3 (RGB)`);
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    throw new LanternaError(`--data ${dir}: no such folder`);
  }
  const classes = entries.filter((e) => statSync(join(dir, e)).isDirectory());
  if (!classes.length) throw new LanternaError(`--data ${dir}: no class folders (expected ${dir}/<class>/*.png|jpg)`);
  // Numbered folders are their numbers; named ones their place in the sorted order.
  const numbered = classes.every((c) => /^\d+$/.test(c));
  const classIndex = classes.map((c, k) => (numbered ? Number(c) : k));
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((c, k0) => {
    const k = classIndex[k0];
    const imgs = readdirSync(join(dir, c)).filter((f) => IMAGE.test(f)).sort().slice(0, o.perClass ?? Infinity);
    if (!imgs.length) throw new LanternaError(`--data ${join(dir, c)}: no .png or .jpg images in class folder '${c}'`);
    for (const f of imgs) {
      files.push(join(dir, c, f));
      labels.push(k);
    }
  });
  const region = regionMask(regionPath, h, w);
  const per = h * w * channels;
  const raw = new Float32Array(files.length * per);
  files.forEach((f, i) => {
    try {
      raw.set(loadImg(f, { targetSize: [h, w], colorMode: channels === 1 ? 'grayscale' : 'rgb' }).pixels, i * per);
    } catch (e) {
      throw new LanternaError(`${f}: ${(e as Error).message}`);
    }
  });
  const blanked = raw.slice();
  for (let i = 0; i < files.length; i++) {
    const img = blanked.subarray(i * per, (i + 1) * per);
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      let count = 0;
      for (let j = 0; j < h * w; j++)
        if (!region[j]) {
          sum += img[j * channels + c];
          count++;
        }
      const fill = count ? sum / count : 0;
      for (let j = 0; j < h * w; j++) if (region[j]) img[j * channels + c] = fill;
    }
  }
  const show = (src: Float32Array, i: number): RgbImage => {
    const rgb = new Uint8Array(h * w * 3);
    for (let j = 0; j < h * w; j++)
      for (let c = 0; c < 3; c++) rgb[3 * j + c] = Math.max(0, Math.min(255, Math.round(src[i * per + j * channels + (channels === 1 ? 0 : c)])));
    return { rgb, width: w, height: h };
  };
  return {
    data: {
      x: preprocessPixels(raw, pixels, channels),
      labels,
      cue: () => region,
      counterfactual: { x: preprocessPixels(blanked, pixels, channels) },
    },
    classes,
    classIndex,
    files,
    shown: (i) => show(raw, i),
    shownBlanked: (i) => show(blanked, i),
    region,
  };
}
