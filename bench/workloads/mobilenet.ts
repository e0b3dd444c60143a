// The real MobileNet v1 0.25 (224×224, ImageNet weights) from its TF.js layers files, beside
// TF.js's own loader of the same files: the forward pass and Grad-CAM at conv_pw_13_relu.
// Ours: nn/model_file.ts `loadModel(model.json)`. TF.js: `tf.loadLayersModel` through an
// IOHandler that reads model.json and its shards with the host's file reader (no tfjs-node, no
// HTTP), so both engines run the very same bytes. The files live outside the repository
// (../shared/data or LANTERNA_DATA): without them, or in a runtime that reads no files (Deno,
// the page), both workloads are listed but not run, and every cell says why.

import * as E from '../../engine/index.ts';
import { loadModel } from '../../nn/model_file.ts';
import type { Model } from '../../nn/model.ts';
import type { Instance, Workload } from '../harness.ts';
import { outputInstance, uniform } from './kernels.ts';
import { oursGradCam, tfjsGradCam } from './models.ts';

/** Files the real-model workloads read: the data folder, and how to read a file in it. */
export interface BenchData {
  /** The shared data folder (holds tfjs/mobilenet_v1_0.25_224/model.json). */
  dir: string;
  read(path: string): Promise<Uint8Array>;
}

export const MOBILENET_JSON = 'tfjs/mobilenet_v1_0.25_224/model.json';
export const MOBILENET_CAM_LAYER = 'conv_pw_13_relu';

/**
 * model.json and its shards as TF.js ModelArtifacts: every manifest group's shards concatenated
 * in `paths` order, the groups one after another, and the weight specs in the same order (what
 * TF.js's own http handler does). Shard paths are relative to model.json's folder.
 */
export async function tfjsArtifacts(modelJson: string, read: (path: string) => Promise<Uint8Array>): Promise<Record<string, unknown>> {
  let json: any;
  try {
    json = JSON.parse(new TextDecoder().decode(await read(modelJson)));
  } catch (e) {
    throw new Error(`${modelJson}: not a readable model.json (${e instanceof Error ? e.message : e})`);
  }
  if (!json?.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error(`${modelJson}: no modelTopology or weightsManifest (not a TF.js layers model)`);
  const dir = modelJson.slice(0, modelJson.lastIndexOf('/') + 1);
  const weightSpecs: unknown[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) parts.push(await read(dir + p));
  }
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (weightData.set(p, at), (at += p.length));
  const { modelTopology, format, generatedBy, convertedBy, userDefinedMetadata, trainingConfig } = json;
  return { modelTopology, format, generatedBy, convertedBy, userDefinedMetadata, trainingConfig, weightSpecs, weightData: weightData.buffer };
}

/**
 * Multiply-adds ×2 of MobileNet v1's convolutions (3×3/2 stem, 13 depthwise 3×3 + pointwise 1×1
 * blocks, the 1×1 classifier), width multiplier `alpha`; BN, ReLU6 and pooling not counted.
 * Alpha 0.25 at 224: 41 M multiply-adds, the paper's (Howard et al. 2017, table 7) figure.
 */
export function mobilenetV1Flops(alpha = 0.25, size = 224, classes = 1000): number {
  const blocks: [number, number][] = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  let s = Math.ceil(size / 2);
  let c = 32 * alpha;
  let macs = s * s * 9 * 3 * c;
  for (const [f, stride] of blocks) {
    s = Math.ceil(s / stride);
    macs += s * s * 9 * c + s * s * c * f * alpha;
    c = f * alpha;
  }
  return 2 * (macs + c * classes);
}

/** One 224×224 image, seeded pixels 0..255 preprocessed as MobileNet's x/127.5 − 1. */
const image = () => uniform(23, 224 * 224 * 3, 0, 255).map((p) => p / 127.5 - 1);
const SHAPE = [1, 224, 224, 3];

function common(data: BenchData | string) {
  const unavailable = typeof data === 'string' ? data : undefined;
  const path = typeof data === 'string' ? '' : `${data.dir.replace(/\/$/, '')}/${MOBILENET_JSON}`;
  const ours = async (): Promise<Model> => (await loadModel(path)).model;
  const theirs = async (tf: any): Promise<any> => tf.loadLayersModel({ load: () => tfjsArtifacts(path, (data as BenchData).read) });
  const params = { model: MOBILENET_JSON, input: 'seeded pixels, x/127.5 − 1', loaders: 'ours: loadModel; TF.js: tf.loadLayersModel (same files)' };
  return { unavailable, ours, theirs, params };
}

export function mobilenetForwardWorkload(data: BenchData | string): Workload {
  const c = common(data);
  return {
    id: 'mobilenet-v1-0.25-forward-224-b1',
    family: 'model',
    title: 'MobileNet v1 0.25 forward 224×224, batch 1',
    flops: mobilenetV1Flops(),
    params: { ...c.params, batch: 1, output: 'softmax probabilities (compared)' },
    tolerance: 1e-3,
    ...(c.unavailable ? { unavailable: c.unavailable } : {}),
    async ours(): Promise<Instance> {
      const m = await c.ours();
      const X = E.keep(E.tensor(image(), SHAPE));
      const once = () => E.noGrad(() => E.tidy(() => m.forward(X, { training: false }).output));
      return outputInstance(once, () => {
        X.dispose();
        m.dispose();
      });
    },
    async tfjs(tf): Promise<Instance> {
      const m = await c.theirs(tf);
      const X = tf.tensor(image(), SHAPE);
      return outputInstance(() => tf.tidy(() => m.predict(X)), () => {
        X.dispose();
        m.dispose();
      });
    },
  };
}

/**
 * Grad-CAM at conv_pw_13_relu (7×7×256) for the top-1 class on the softmax score, as
 * models.ts's VGG16 one: ours GradCam.explain; TF.js the activation from a sub-model, the rest
 * of the layers applied to it for the probabilities (read back, top-1), tf.grad of the class's
 * probability with respect to the activation, mean over H and W, weighted sum, ReLU, the map
 * read back. The probe uses a fixed class, so a near tie cannot pick different classes.
 */
export function mobilenetGradCamWorkload(data: BenchData | string): Workload {
  const c = common(data);
  const PROBE_CLASS = 94; // hummingbird
  return {
    id: 'gradcam-mobilenet-v1-0.25-224',
    family: 'model',
    title: `MobileNet v1 0.25 Grad-CAM at ${MOBILENET_CAM_LAYER}`,
    work: mobilenetV1Flops(),
    params: { ...c.params, layer: MOBILENET_CAM_LAYER, score: 'softmax', class: `top-1 (probe: class ${PROBE_CLASS})`, readbacks: 'probabilities, then the map' },
    tolerance: 1e-3,
    profile: true,
    ...(c.unavailable ? { unavailable: c.unavailable } : {}),
    async ours(): Promise<Instance> {
      const m = await c.ours();
      return oursGradCam(m, E.keep(E.tensor(image(), SHAPE)), MOBILENET_CAM_LAYER, PROBE_CLASS, () => m.dispose());
    },
    async tfjs(tf): Promise<Instance> {
      const m = await c.theirs(tf);
      const X = tf.tensor(image(), SHAPE);
      const at = m.layers.findIndex((l: any) => l.name === MOBILENET_CAM_LAYER);
      if (at < 0) throw new Error(`${MOBILENET_JSON}: no layer '${MOBILENET_CAM_LAYER}'`);
      const head = tf.model({ inputs: m.inputs, outputs: m.layers[at].output });
      const rest = m.layers.slice(at + 1);
      return tfjsGradCam(tf, () => head.predict(X), (a) => rest.reduce((h: any, l: any) => l.apply(h), a), PROBE_CLASS, () => {
        X.dispose();
        m.dispose();
      });
    },
  };
}
