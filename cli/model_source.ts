// The model a command works on: a full model file (--model: Keras .h5/.keras or TF.js
// model.json), or an official Keras applications weights file (--weights, the family named by
// --arch or recognised from the file's shapes), with the pixels it takes (--pixels, else the
// file's record or the family's preprocess_input).

import { LanternaError } from '../engine/errors.ts';
import type { ImagePixels } from '../nn/applications/imagenet.ts';
import { loadApplication } from '../nn/applications/load.ts';
import { loadModel } from '../nn/model_file.ts';
import type { Model } from '../nn/model.ts';
import { imagePixelsFor } from './image_pixels.ts';
import { UsageError } from './options.ts';

export const WEIGHTS_HELP = 'an official Keras applications weights file (.h5, with or without top): VGG16 and the other registered families';
export const ARCH_HELP = 'with --weights: the architecture (vgg16, …); default: recognised from the file';

export interface ModelSource {
  model?: string;
  weights?: string;
  arch?: string;
}

export interface CliModel {
  model: Model;
  /** The file read. */
  path: string;
  /** One line for the report: file, format, family. */
  what: string;
  pixels: ImagePixels;
  pixelsFrom: string;
}

async function oneLine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
}

/** The command line's choice of model, checked before anything is read. */
export function checkModelSource(o: ModelSource): void {
  if (o.model && o.weights) throw new UsageError('give --model (a full model file) or --weights (an applications weights file), not both');
  if (o.arch && !o.weights) throw new UsageError('--arch goes with --weights (a --model file holds its own architecture)');
  if (!o.model && !o.weights) throw new UsageError('give --model FILE or --weights FILE');
}

export async function loadCliModel(o: ModelSource, flag: ImagePixels | undefined): Promise<CliModel> {
  checkModelSource(o);
  if (o.model) {
    const loaded = await oneLine(() => loadModel(o.model!));
    const { pixels, from } = imagePixelsFor(loaded, flag, o.model);
    const v = loaded.file.kerasVersion;
    return { model: loaded.model, path: o.model, what: `${o.model} (${loaded.file.format}${v ? `, Keras ${v}` : ''})`, pixels, pixelsFrom: from };
  }
  const weights = o.weights!;
  const a = await oneLine(() => loadApplication(weights, o.arch));
  const top = a.options.includeTop === false ? ', no top' : '';
  return {
    model: a.model,
    path: weights,
    what: `${a.app.kerasName}${top}, weights ${o.weights} (read ${a.readSeconds.toFixed(1)} s, upload ${a.uploadSeconds.toFixed(1)} s)`,
    pixels: flag ?? a.app.pixels,
    pixelsFrom: flag ? '--pixels' : `${a.app.kerasName}'s preprocess_input`,
  };
}
