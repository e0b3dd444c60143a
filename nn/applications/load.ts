// An official Keras applications weights file → a built model: the family named (--arch) or
// recognised from the file's layer names and shapes, its options (top or not, alpha, size) read
// from the shapes, the weights copied in.

import { LanternaError } from '../../engine/errors.ts';
import { readKerasWeights, type KerasFile } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { applicationByName, applications, recogniseApplication, type AppOptions, type Application } from './registry.ts';
import './index.ts';

/** What `loadApplication` returns: the model, its family and options, and timings. */
export interface LoadedApplication {
  /** The built model with the file's weights. */
  model: Model;
  /** The family (MobileNet, ResNet50, …). */
  app: Application;
  /** The options the file was made for (top or not, alpha, input shape, …). */
  options: AppOptions;
  /** The file read (its weight arrays are emptied once on the GPU). */
  file: KerasFile;
  /** Time to read and parse the file. */
  readSeconds: number;
  /** Time to build the model and upload the weights. */
  uploadSeconds: number;
}

/**
 * Loads an official keras.applications weights file (e.g. mobilenet_1_0_224_tf.h5) into the
 * matching architecture built in code: the family named by `arch` (as `applicationByName`), or
 * recognised from the file's layer names and shapes. Throws a `LanternaError` naming the file when
 * it matches no family (or not the one named).
 */
export async function loadApplication(path: string, arch?: string): Promise<LoadedApplication> {
  const t0 = performance.now();
  const file = await readKerasWeights(path);
  const t1 = performance.now();
  let found: { app: Application; options: AppOptions } | null;
  try {
    if (arch) {
      const app = applicationByName(arch);
      const options = app.recognise(file);
      if (!options) throw new Error(`${path}: not a ${app.kerasName} weights file (its ${file.layers.length} layers do not have ${app.kerasName}'s names and shapes)`);
      found = { app, options };
    } else found = recogniseApplication(file);
  } catch (e) {
    throw new LanternaError((e as Error).message);
  }
  if (!found)
    throw new LanternaError(`${path}: its layers match none of the known architectures (${applications().map((a) => a.name).join(', ')}); give --arch NAME, or a full model file with --model`);
  const { app, options } = found;
  let model: Model;
  try {
    if (app.fromWeights) model = app.fromWeights(file, path, options);
    else {
      model = app.build(options);
      app.loadWeights(model, file, path);
    }
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
  // The host copies are on the GPU now (553 MB for VGG16).
  for (const l of file.layers) for (const w of l.weights) w.data = new Float32Array(0);
  return { model, app, options, file, readSeconds: (t1 - t0) / 1000, uploadSeconds: (performance.now() - t1) / 1000 };
}
