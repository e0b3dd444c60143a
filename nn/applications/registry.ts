// The Keras applications Lanterna builds in code (keras.applications: same layer names, same
// order, same weights layouts), each described once here: how to build it, how its official
// weights files look, its preprocessing and its default explanation layers. `--arch NAME` and the
// recognition of a weights file by its shapes (`recogniseApplication`) go through this list.

import type { KerasFile } from '../io/keras.ts';
import type { Model } from '../model.ts';
import { loadAppWeights, type MatchOptions } from './app_weights.ts';
import type { ImagePixels } from './imagenet.ts';

export interface AppOptions {
  /** The classifier at the end (Keras' include_top); default true. */
  includeTop?: boolean;
  /** Without the top: global 'avg' or 'max' pooling at the end (Keras' pooling). */
  pooling?: 'avg' | 'max' | null;
  /** [H, W, C]; default the family's size (224, or 299 for Xception and InceptionV3). */
  inputShape?: [number, number, number];
  classes?: number;
  /** Width multiplier (MobileNet 0.25–1.0, MobileNetV2 0.35–1.4). */
  alpha?: number;
  classifierActivation?: 'softmax' | 'linear';
}

/**
 * A Keras application family Lanterna builds in code (same layer names, order and weight layouts as
 * keras.applications): how to build it, recognise and load its official weights, preprocess its
 * inputs, and which layers Grad-CAM uses.
 */
export interface Application {
  /** The --arch value, Keras' module name: 'xception', 'resnet50', 'mobilenet_v2', … */
  readonly name: string;
  /** keras.applications' constructor: 'Xception', 'ResNet50', … */
  readonly kerasName: string;
  /** Its preprocess_input (EfficientNet rescales inside the model: 'raw'). */
  readonly pixels: ImagePixels;
  /** Default input side (224 or 299). */
  readonly size: number;
  /** The architecture, with Keras' layer names, built (random weights). */
  build(o?: AppOptions): Model;
  /** The options an official weights file was made for (top or not, alpha, …), or null if it is not of this family. */
  recognise(file: KerasFile): AppOptions | null;
  /** Copies an official weights file into `model` (built from recognise's options); one-line errors naming the file and layer. */
  loadWeights(model: Model, file: KerasFile, path: string): void;
  /**
   * Builds the model straight from the file's weights, skipping the random initialisation (for
   * large models: VGG16's 553 MB); when absent, build() then loadWeights().
   */
  fromWeights?(file: KerasFile, path: string, o: AppOptions): Model;
  /** The default Grad-CAM layer (the last conv block's output) and a finer one, of a model with the default options. */
  readonly gradCamLayers: readonly [string, string];
  /** Writes seeded random weights for build(o) in the layout of the family's official file (tests, golden references). */
  writeRandomWeights?(path: string, o?: RandomWeightsOptions): Promise<void>;
}

/** A family's options and the seed of its random weights (seededWeights). */
export interface RandomWeightsOptions extends AppOptions {
  seed?: number;
}

const registry: Application[] = [];

/** An application as a family registers it: its loader, or how app_weights.ts matches its official files. */
export type ApplicationSpec = Application | (Omit<Application, 'loadWeights'> & { match: MatchOptions });

/** Adds an application (each family's module calls it once). */
export function registerApplication(spec: ApplicationSpec): Application {
  const app: Application = 'match' in spec ? { ...spec, loadWeights: (model, file, path) => loadAppWeights(model, file, path, spec.match) } : spec;
  if (registry.some((a) => a.name === app.name)) throw new Error(`application '${app.name}' is registered twice`);
  registry.push(app);
  return app;
}

/** Every registered family, in registration order. */
export function applications(): readonly Application[] {
  return registry;
}

/**
 * The family named `name`: Keras' module name ('mobilenet_v2') or constructor name ('MobileNetV2'),
 * any case. Throws an error listing the known names.
 */
export function applicationByName(name: string): Application {
  const a = registry.find((x) => x.name === name.toLowerCase() || x.kerasName.toLowerCase() === name.toLowerCase());
  if (!a) throw new Error(`--arch ${name}: unknown architecture (known: ${registry.map((x) => x.name).join(', ')})`);
  return a;
}

/** The family (and options) an official weights file belongs to, from its layer names and shapes. */
export function recogniseApplication(file: KerasFile): { app: Application; options: AppOptions } | null {
  for (const app of registry) {
    const options = app.recognise(file);
    if (options) return { app, options };
  }
  return null;
}
