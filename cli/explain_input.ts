// What the explaining commands (gradcam, explain, metrics) share: the layer, the classes and the
// model input from the command line, each failing as a one-line error naming the option.

import { LanternaError } from '../engine/errors.ts';
import { convLayers, defaultCamLayer } from '../explain/layers.ts';
import { loadImg, readImage, type DecodedImage } from '../explain/image_io.ts';
import { imagenetClasses, imagenetClassIndex, preprocessPixels, type ImagePixels } from '../nn/applications/imagenet.ts';
import type { Layer } from '../nn/layer.ts';
import type { Model } from '../nn/model.ts';
import { extname } from 'node:path';
import { UsageError } from './options.ts';
import { pixelsFlag } from './image_pixels.ts';
import { loadCliModel } from './model_source.ts';
import { chooseOutput, outputSize } from './model_output.ts';

/** Fails as a one-line LanternaError (the CLI prints no stack for those). */
export async function userStep<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LanternaError) throw e;
    throw new LanternaError((e as Error).message);
  }
}

export function pickLayer(model: Model, name: string | undefined, where: string): string {
  const convs = convLayers(model);
  if (name === undefined) {
    if (!convs.length) throw new LanternaError(`${where}: the model has no spatial conv layer to explain (layers: ${model.layers.map((l) => l.name).join(', ')})`);
    return defaultCamLayer(model)!;
  }
  let l: Layer | undefined;
  try {
    l = model.findLayer(name)?.layer;
  } catch (e) {
    throw new LanternaError(`--layer ${name}: ${(e as Error).message}`);
  }
  if (!l) throw new LanternaError(`--layer ${name}: ${where} has no such layer; its conv layers are ${convs.join(', ')}`);
  if (l.outputShape?.length !== 3)
    throw new LanternaError(`--layer ${name}: its output [${l.outputShape}] is not a spatial map [H, W, K]; conv layers: ${convs.join(', ')}`);
  return name;
}

/** --class: indices or (1000-class models) ImageNet names, comma-separated. */
export function parseClasses(spec: string | undefined, numClasses: number): number[] | null {
  if (spec === undefined) return null;
  const parts = spec.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--class ${spec}: an empty entry in the list`);
  return parts.map((p) => {
    if (/^\d+$/.test(p)) {
      const k = Number(p);
      if (k >= numClasses) throw new LanternaError(`--class ${p}: the model has ${numClasses} classes (0..${numClasses - 1})`);
      return k;
    }
    if (numClasses !== 1000) throw new LanternaError(`--class ${p}: class names are ImageNet's; this model has ${numClasses} classes, give indices 0..${numClasses - 1}`);
    try {
      return imagenetClassIndex(p);
    } catch (e) {
      throw new LanternaError(`--class ${(e as Error).message}`);
    }
  });
}

export function className(k: number, numClasses: number): string {
  return numClasses === 1000 ? imagenetClasses()[k].name : String(k);
}

/** `out.png` → `out_<suffix>.png`. */
export function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}_${suffix.replace(/[^\w.-]+/g, '_')}${ext}`;
}

/** Model input from an image, as Keras would feed it: load_img at the model's size, then the preprocessing. */
export function modelInput(img: DecodedImage, shape: number[], pixels: ImagePixels): Float32Array {
  const [h, w, c] = shape;
  return preprocessPixels(loadImg(img, { targetSize: [h, w], colorMode: c === 1 ? 'grayscale' : 'rgb' }).pixels, pixels, c);
}

/** Shown by `lanterna gradcam --help` (the first also by `lanterna --help`). */

/** The model, its input and output, the layer, classes and images that an explaining command works on. */
export interface ExplainSetup {
  model: Model;
  what: string;
  pixels: ImagePixels;
  pixelsFrom: string;
  /** [H, W, C] of the model's input. */
  shape: number[];
  output: number;
  numClasses: number;
  /** The layer CAM-family methods weigh. */
  layer: string;
  /** Given classes (one per image, or one for all), or null for each image's top-1. */
  classes: number[] | null;
  images: { path: string; img: DecodedImage; x: Float32Array }[];
}

/** Options the explaining commands share. */
export interface ExplainOptions {
  model?: string;
  weights?: string;
  arch?: string;
  image: string[];
  layer?: string;
  class?: string;
  output?: string;
  pixels?: string;
}

/** Reads the images, loads the model (after init()), and checks the layer and classes against it. */
export async function setupExplain(o: ExplainOptions): Promise<ExplainSetup> {
  const images0 = await userStep(() => o.image.map((p) => ({ path: p, img: readImage(p) })));
  const src = await userStep(() => loadCliModel({ model: o.model, weights: o.weights, arch: o.arch }, pixelsFlag(o.pixels)));
  const model = src.model;
  const shape = model.inputShape!;
  const source = o.model ?? o.weights!;
  if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) throw new LanternaError(`${source}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
  const output = chooseOutput(model, o.output, source);
  if (model.outputShapes[output].length !== 1) throw new LanternaError(`${source}: the model's output is [${model.outputShapes[output]}], not class scores: explanations need a classifier`);
  const numClasses = outputSize(model, output);
  const classes = parseClasses(o.class, numClasses);
  if (classes && classes.length !== 1 && classes.length !== images0.length)
    throw new UsageError(`--class ${o.class}: give one class for all images or one per image (${images0.length})`);
  const layer = pickLayer(model, o.layer, source);
  const images = images0.map((i) => ({ ...i, x: modelInput(i.img, shape, src.pixels) }));
  return { model, what: src.what, pixels: src.pixels, pixelsFrom: src.pixelsFrom, shape, output, numClasses, layer, classes, images };
}

/** The classes of images `from`..`from + n`: the given ones (one for all, or one each), else null (top-1). */
export function classesFor(s: ExplainSetup, from: number, n: number): number[] | null {
  if (!s.classes) return null;
  return Array.from({ length: n }, (_, i) => (s.classes!.length === 1 ? s.classes![0] : s.classes![from + i]));
}

/** Image pixels → the model's input, as this setup preprocesses (Integrated Gradients' black baseline). */
export function preprocessFor(s: ExplainSetup): (pixels: Float32Array) => Float32Array {
  return (px) => preprocessPixels(px, s.pixels, s.shape[2]);
}
