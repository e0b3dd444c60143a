// Test digits as model input: the preprocessing recorded in our own files, else --pixels.

import { LanternaError } from '../engine/errors.ts';
import { toFloat, type PixelMode } from '../nn/data/mnist.ts';
import type { LoadedModel } from '../nn/model_file.ts';
import { choice } from './options.ts';

export function pixelModeFor(loaded: LoadedModel, flag: string | undefined, path: string): { mode: PixelMode; from: string } {
  if (flag) return { mode: choice('--pixels', flag, ['inverted', 'unit', 'raw']) as PixelMode, from: '--pixels' };
  if (loaded.preprocessing) return { mode: loaded.preprocessing.pixels, from: `${path} (lanterna_preprocessing)` };
  return { mode: 'unit', from: 'default x/255 (the file does not record its preprocessing; use --pixels to change)' };
}

/** Checks the model takes 28×28 digits (as [28,28,1], [28,28] or [784]) and returns its input shape. */
export function mnistInputShape(shape: number[] | null, path: string): number[] {
  if (!shape || shape.reduce((a, b) => a * b, 1) !== 784)
    throw new LanternaError(`${path}: the model's input is [${shape}], not a 28×28 MNIST digit`);
  return shape;
}

export function digitsAsInput(images: Uint8Array, mode: PixelMode): Float32Array {
  return toFloat(images, mode);
}
