// MNIST models from the command line: where the architecture comes from (the file, or
// --architecture for weights-only files) and how test digits become input (the preprocessing
// recorded in our own files, else --input-scale / --invert, or --pixels).

import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { LanternaError } from '../engine/errors.ts';
import { toFloat, type PixelMode } from '../nn/data/mnist.ts';
import { readKerasWeights } from '../nn/io/keras.ts';
import { loadModel, type LoadedModel } from '../nn/model_file.ts';
import { choice, UsageError } from './options.ts';

export interface InputFlags {
  pixels?: string;
  inputScale?: string;
  invert?: boolean;
  architecture?: string;
}

/** The options shared by `evaluate` and `cam`. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .option('--architecture <file>', 'for a weights-only file: the model as a Keras model file (.h5, .keras) or a JSON config (model.to_json(), a model_config, or a .keras config.json)')
    .option('--input-scale <s>', "pixels as the model was trained, when the file does not record it: 1 feeds x/255 in [0, 1] (default), 255 the raw 0–255 values")
    .option('--invert', 'feed 1 − x/255 (white background, as the lecture trains)')
    .option('--pixels <mode>', 'the same choice in one word: unit (x/255), raw (0–255) or inverted (1 − x/255)');
}

function flagMode(f: InputFlags): { mode: PixelMode; from: string } | null {
  const scale = f.inputScale === undefined ? undefined : choice('--input-scale', f.inputScale, ['1', '255']);
  if (f.pixels !== undefined) {
    if (scale !== undefined || f.invert) throw new UsageError('--pixels cannot be combined with --input-scale or --invert: give one or the other');
    return { mode: choice('--pixels', f.pixels, ['inverted', 'unit', 'raw']) as PixelMode, from: '--pixels' };
  }
  if (f.invert) {
    if (scale === '255') throw new UsageError('--invert feeds 1 − x/255 and cannot be combined with --input-scale 255');
    return { mode: 'inverted', from: '--invert' };
  }
  if (scale !== undefined) return { mode: scale === '255' ? 'raw' : 'unit', from: `--input-scale ${scale}` };
  return null;
}

/** Flags win over the file's record; with neither, x/255 (Keras' usual MNIST preprocessing). */
export function pixelModeFor(loaded: LoadedModel, f: InputFlags, path: string): { mode: PixelMode; from: string } {
  const flagged = flagMode(f);
  if (flagged) return flagged;
  if (loaded.preprocessing) return { mode: loaded.preprocessing.pixels, from: `${path} (lanterna_preprocessing)` };
  return { mode: 'unit', from: 'default x/255 (the file does not record its preprocessing; --input-scale 255 or --invert to change)' };
}

/** A model_config from --architecture: a Keras model file, or JSON (to_json(), model_config, config.json). */
export async function architectureFrom(path: string): Promise<object> {
  if (!existsSync(path)) throw new LanternaError(`--architecture ${path}: no such file`);
  const head = readFileSync(path).subarray(0, 1).toString();
  if (head === '{') {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new LanternaError(`--architecture ${path}: not valid JSON (${(e as Error).message})`);
    }
    if (!json || typeof json !== 'object' || !('class_name' in json)) throw new LanternaError(`--architecture ${path}: JSON without "class_name": not a Keras model config`);
    return json;
  }
  const file = await readKerasWeights(path);
  if (!file.modelConfig) throw new LanternaError(`--architecture ${path}: holds weights only, no model_config: give a full model file or a JSON config`);
  return file.modelConfig as object;
}

export async function loadMnistModel(path: string, f: InputFlags): Promise<LoadedModel> {
  const config = f.architecture ? await architectureFrom(f.architecture) : undefined;
  try {
    return await loadModel(path, config);
  } catch (e) {
    if (!config && /weights only/.test((e as Error).message)) throw new LanternaError(`${path}: holds weights only (no model_config): add --architecture FILE (a Keras model file or a JSON config)`);
    throw e;
  }
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
