// The input preprocessing of an image model, shared by `predict`, `gradcam` and `cam` so that
// the same model gets the same pixels from every command: --pixels, else the model file's
// recorded preprocessing, else a known Keras application recognised by its layer names
// (MobileNet → tf, VGG → caffe). An unknown 1000-class RGB model has no safe default (caffe, tf
// and torch models all exist and a wrong guess gives confident nonsense), so it asks for
// --pixels; other models (MNIST-like) default to unit x/255.

import { LanternaError } from '../engine/errors.ts';
import { IMAGE_PIXELS, type ImagePixels } from '../nn/applications/imagenet.ts';
import type { LoadedModel } from '../nn/model_file.ts';
import { choice } from './options.ts';

export const PIXELS_HELP =
  `input preprocessing: caffe (VGG, ResNet), tf x/127.5−1 (MobileNet, Xception), torch (x/255−mean)/std (DenseNet), unit x/255, raw, inverted 1−x/255. ` +
  `Default: the file's record; else MobileNet tf and VGG caffe by their layer names; other 1000-class models must give it; else unit`;

/** Keras applications whose layer names give their preprocess_input away. */
export function knownApplication(model: { readonly layers: readonly { readonly name: string }[] }): { name: string; pixels: ImagePixels } | null {
  const has = (n: string) => model.layers.some((l) => l.name === n);
  if (has('conv_pw_1') && has('conv_dw_1')) return { name: 'MobileNet', pixels: 'tf' };
  if (has('block1_conv1') && has('fc1') && has('predictions')) return { name: 'VGG', pixels: 'caffe' };
  return null;
}

/** --pixels checked alone, before anything is loaded. */
export function pixelsFlag(flag: string | undefined): ImagePixels | undefined {
  return flag === undefined ? undefined : (choice('--pixels', flag, IMAGE_PIXELS) as ImagePixels);
}

/**
 * The pixels a loaded model takes without a flag, and where that comes from: the file's record,
 * else a known application; null for an unknown 1000-class RGB model (no safe default); else unit.
 * The web app's Explain view starts from this too.
 */
export function defaultImagePixels(loaded: Pick<LoadedModel, 'model' | 'preprocessing'>): { pixels: ImagePixels; from: string } | null {
  const recorded = loaded.preprocessing?.pixels as ImagePixels | undefined;
  if (recorded) return { pixels: recorded, from: 'recorded in the file' };
  const app = knownApplication(loaded.model);
  if (app) return { pixels: app.pixels, from: `${app.name}'s preprocess_input, from its layer names` };
  const shape = loaded.model.inputShape ?? [];
  const classes = loaded.model.outputShape.reduce((a, b) => a * b, 1);
  if (classes === 1000 && shape[2] === 3) return null;
  return { pixels: 'unit', from: 'default' };
}

/** The pixels for `loaded` (from `path`) and where that choice comes from, for the report. */
export function imagePixelsFor(loaded: LoadedModel, flag: ImagePixels | undefined, path: string): { pixels: ImagePixels; from: string } {
  if (flag) return { pixels: flag, from: '--pixels' };
  const d = defaultImagePixels(loaded);
  if (!d)
    throw new LanternaError(`${path}: a 1000-class model with no recorded preprocessing: give --pixels (caffe for VGG/ResNet, tf for MobileNet/Xception, torch for DenseNet)`);
  return d.from === 'default' ? { pixels: d.pixels, from: 'default; --pixels to change' } : d;
}
