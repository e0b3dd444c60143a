// The Keras applications Lanterna builds in code (nn/applications' registry), each as two
// workloads at batch 1: the forward pass to the softmax, and Grad-CAM at the family's default
// layer (gradCamLayers[0]). VGG16 has rows of its own (models.ts) and is left out here. Every
// family registered gets its rows: none is named in this file.
//
// Both engines run the same weights: ours builds the application (random weights, BatchNorm
// statistics calibrated, below), TF.js gets its Keras config and those weights as in-memory
// ModelArtifacts through an IOHandler (what saveTfjsModel would write, without the files, so the
// page and Deno can run it too) and loads them with tf.loadLayersModel, its own Keras loader.
// Where TF.js's layers cannot load a family (a layer class it lacks), its cells say so.
//
// Why calibrate: a freshly built application is a poor test subject. Its BatchNorm layers hold
// the identity statistics (mean 0, variance 1), so activations shrink or grow layer after layer:
// Xception's logits come out ~5e-5 (softmax uniform), ResNet50's ~150 (softmax one-hot), and
// either way the Grad-CAM maps are zero or nearly so, and a comparison of them says nothing. One
// training-mode forward pass of two seeded images (the benchmark's among them) gives every BatchNorm layer the batch
// statistics of its input; those become its moving statistics, so that in inference each
// normalises what it receives: activations stay within a few units in every family, the softmax
// is neither flat nor one-hot, and the maps have structure. Timing does not depend on the values.

import * as E from '../../engine/index.ts';
import { applications, type Application } from '../../nn/applications/index.ts';
import { preprocessPixels } from '../../nn/applications/imagenet.ts';
import { Model } from '../../nn/model.ts';
import { Rng } from '../../nn/random.ts';
import { leafLayers } from '../../nn/model_file.ts';
import type { Layer } from '../../nn/layer.ts';
import { CamMethod, type CamContext } from '../../explain/cam_base.ts';
import type { Instance, Workload } from '../harness.ts';
import { outputInstance, prod, uniform } from './kernels.ts';
import { oursGradCam, tfjsGradCam } from './models.ts';

/** Families with rows of their own elsewhere (models.ts). */
export const APPS_EXCLUDED = ['vgg16'];

/**
 * Input sides of the default suite, small enough for a CPU driver, where the Grad-CAM layer is
 * still at least 2×2: 64 (ResNet50, DenseNet121: 2×2), Xception's smallest, 71 (3×3), and 107
 * for InceptionV3 (2×2). At its smallest, 75, mixed10 is 1×1, and a calibrated network of 1×1
 * layers amplifies rounding: ours and TF.js's logits differed by 2e-3 there, by 5e-5 at 107.
 * `--large` runs the families' own sizes (224, 299), `--app-size N` any other.
 */
export const APP_SMALL_SIZE: Record<string, number> = { xception: 71, inception_v3: 107 };
export const APP_SMALL_DEFAULT = 64;

/** The applications that get rows (every registered family but APPS_EXCLUDED). */
export function benchApplications(): Application[] {
  return applications().filter((a) => !APPS_EXCLUDED.includes(a.name));
}

export const leaves = leafLayers;

/**
 * FLOPs of one image's forward pass: 2 × the multiply-adds of every kernel weight (Conv2D,
 * DepthwiseConv2D, SeparableConv2D's two, Dense), each applied once per output position of its
 * layer (a kernel's size × the output's H·W; a Dense's output has one position). BatchNorm,
 * activations, pooling and merges are not counted, as in the papers' figures.
 */
export function appFlops(m: Model): number {
  let macs = 0;
  for (const l of leaves(m)) {
    const positions = prod((l.outputShape ?? []).slice(0, -1));
    for (const w of l.weights) if (/kernel$/.test(w.name)) macs += prod(w.shape) * positions;
  }
  return 2 * macs;
}

/**
 * calibrateBatchNorm's floor on a channel's variance, as a fraction of its layer's mean square:
 * a channel on which the batch's images barely differ would otherwise divide a difference of
 * nearly equal values by its tiny spread, turning the engines' rounding differences into
 * different outputs, layer after layer.
 */
export const VARIANCE_FLOOR = 0.01;

/**
 * Sets each BatchNormalization's moving mean and variance to the batch statistics of its input
 * in one training-mode forward pass of `x` (the module's comment says why), the variance floored
 * (VARIANCE_FLOOR). Inference on an image of `x` then gives nearly that image's row of the
 * training pass, each layer's output about a z-score within the batch, at most √(N−1) for a
 * batch of N: so the image the benchmark runs is part of `x`. Statistics of other images
 * generalise badly at small sizes, where the deep layers are 1×1 to 3×3 and random images'
 * features differ little: InceptionV3 at 75 calibrated on two other images gave logits of 1e6.
 * A BatchNorm whose input is the model's input is left alone. Returns how many were set.
 */
export async function calibrateBatchNorm(m: Model, x: E.Tensor): Promise<number> {
  const sites: { layer: Layer; input: string; channels: number }[] = [];
  for (const n of m.nodes) {
    if (n.layer.className !== 'BatchNormalization' || n.inputs.length !== 1) continue;
    const from = m.nodes[n.inputs[0].node].layer;
    if (from instanceof Model || from.className === 'InputLayer') continue;
    sites.push({ layer: n.layer, input: from.name, channels: n.shapes[0][n.shapes[0].length - 1] });
  }
  if (sites.length === 0) return 0;
  // Every statistic in one tensor, read back once.
  const all = E.noGrad(() =>
    E.tidy(() => {
      // Seeded: EfficientNet's dropout layers draw masks in training mode, and Math.random's made
      // every process calibrate (and so compute) differently.
      const f = m.forward(x, { training: true, rng: new Rng(7) }, [...new Set(sites.map((s) => s.input))]);
      const parts = sites.flatMap((s) => {
        const a = f.captured.get(s.input)!;
        const axes = [...Array(a.rank - 1).keys()];
        const mean = E.mean(a, axes);
        return [mean, E.mean(E.square(E.sub(a, mean)), axes)];
      });
      return E.concat(parts, 0);
    }),
  );
  const stats = (await all.data()) as Float32Array;
  all.dispose();
  let at = 0;
  for (const s of sites) {
    const c = s.channels;
    const mean = stats.slice(at, at + c);
    const variance = stats.slice(at + c, at + 2 * c);
    at += 2 * c;
    const floor = (VARIANCE_FLOOR * mean.reduce((a, m, i) => a + m * m + variance[i], 0)) / c;
    for (let i = 0; i < c; i++) variance[i] = Math.max(variance[i], floor);
    s.layer.weights.find((w) => w.name === 'moving_mean')!.assign(mean, `calibrate '${s.layer.name}'`);
    s.layer.weights.find((w) => w.name === 'moving_variance')!.assign(variance, `calibrate '${s.layer.name}'`);
  }
  return sites.length;
}

/** The seed of the image every application row runs. */
export const IMAGE_SEED = 17;

/** Seeded pixels 0..255 (their negative 255 − p if asked), preprocessed as the family expects (caffe, tf, torch; raw where the model rescales). */
export function appImage(app: Application, size: number, seed: number, negative = false): Float32Array {
  const p = uniform(seed, size * size * 3, 0, 255);
  return preprocessPixels(negative ? p.map((v) => 255 - v) : p, app.pixels, 3);
}

/** The calibration batch: the benchmark's image, another, and both their negatives. */
export function calibrationBatch(app: Application, size: number): Float32Array {
  const n = size * size * 3;
  const out = new Float32Array(4 * n);
  [[IMAGE_SEED, false], [IMAGE_SEED, true], [101, false], [101, true]].forEach(([seed, neg], i) => out.set(appImage(app, size, seed as number, neg as boolean), i * n));
  return out;
}

/**
 * TF.js 4.22 refuses a SeparableConv2D config holding Conv's kernel_initializer,
 * kernel_regularizer and kernel_constraint keys (tfjs issue 4479), which Keras 2 writes (its
 * SeparableConv extends Conv) and ours does too; real Keras Xception files hit the same. They
 * configure no weight of the layer: dropped from TF.js's copy of the config.
 */
export function tfjsTopology(config: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config));
  const visit = (c: any): void => {
    if (Array.isArray(c)) return c.forEach(visit);
    if (!c || typeof c !== 'object') return;
    if (c.class_name === 'SeparableConv2D' && c.config) for (const k of ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) delete c.config[k];
    Object.values(c).forEach(visit);
  };
  visit(copy);
  return copy;
}

/** Layer classes of a Keras model config that TF.js's layers do not know (it could not load the model). */
export function tfjsMissingLayers(tf: any, config: Record<string, unknown>): string[] {
  const known: Record<string, unknown> = tf.serialization.SerializationMap.getMap().classNameMap;
  const names = new Set<string>();
  const visit = (c: any): void => {
    for (const l of c?.config?.layers ?? []) {
      names.add(l.class_name);
      if (Array.isArray(l.config?.layers)) visit(l);
    }
  };
  visit(config);
  return [...names].filter((n) => !(n in known) && n !== 'InputLayer').sort();
}

/** A built model as TF.js ModelArtifacts: its Keras config, and every weight as '<layer>/<weight>' float32, back to back. */
export async function appArtifacts(m: Model): Promise<Record<string, unknown>> {
  const weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[] = [];
  const parts: Float32Array[] = [];
  for (const l of leaves(m))
    for (const w of l.weights) {
      weightSpecs.push({ name: `${l.name}/${w.name}`, shape: w.shape.slice(), dtype: 'float32' });
      parts.push(await w.read());
    }
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (data.set(p, at), (at += p.length));
  return { format: 'layers-model', generatedBy: 'lanterna bench', convertedBy: null, modelTopology: m.toKerasConfig(), weightSpecs, weightData: data.buffer };
}

/** tf.loadLayersModel of the artifacts, or a one-line error saying why TF.js cannot load the family. */
export async function tfjsLoad(tf: any, app: Application, artifacts: Record<string, unknown>): Promise<any> {
  const topology = tfjsTopology(artifacts.modelTopology as Record<string, unknown>);
  const missing = tfjsMissingLayers(tf, topology);
  if (missing.length) throw new Error(`TF.js ${tf.version?.['tfjs-layers'] ?? ''} layers cannot load ${app.kerasName}: no ${missing.join(', ')} layer`);
  try {
    return await tf.loadLayersModel({ load: async () => ({ ...artifacts, modelTopology: topology }) });
  } catch (e) {
    throw new Error(`TF.js cannot load ${app.kerasName}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The input of a TF.js model's final softmax, as ours reports its logits: the softmax
 * Activation's (or Softmax layer's) input, or a softmax Dense's pre-activation (its input ×
 * kernel + bias); the output itself when there is no final softmax.
 */
export function tfjsLogits(tf: any, m: any): (x: any) => any {
  const last = m.outputLayers[0];
  const cfg = last.getConfig();
  const cls = last.getClassName();
  const upTo = () => tf.model({ inputs: m.inputs, outputs: last.input });
  if ((cls === 'Activation' && cfg.activation === 'softmax') || cls === 'Softmax') {
    const sub = upTo();
    return (x) => sub.predict(x);
  }
  if (cls === 'Dense' && cfg.activation === 'softmax') {
    const sub = upTo();
    return (x) => {
      const [kernel, bias] = last.getWeights();
      const z = tf.matMul(sub.predict(x), kernel);
      return bias ? tf.add(z, bias) : z;
    };
  }
  return (x) => m.predict(x);
}

/**
 * A TF.js functional model cut at `layer`: `head(x)` gives its activation A, `tail(a)` runs the
 * layers downstream of A on `a` (each layer applied to its node's inputs, in the model's
 * topological order) up to the output. The tail must read nothing but A and what it computes
 * itself (true of every family's Grad-CAM layer, the last block's output); otherwise an error.
 */
export function tfjsSplit(tf: any, m: any, layer: string): { head: (x: any) => any; tail: (a: any) => any } {
  const A = m.getLayer(layer).output;
  if (Array.isArray(A)) throw new Error(`TF.js model: layer '${layer}' has ${A.length} outputs; Grad-CAM needs one`);
  const down = new Set<number>([A.id]);
  const steps: { layer: any; node: any }[] = [];
  for (const l of m.layers)
    for (const node of l.inboundNodes) {
      const ins: any[] = node.inputTensors;
      if (!ins.some((t) => down.has(t.id))) continue;
      const other = ins.find((t) => !down.has(t.id));
      if (other) throw new Error(`TF.js model: layer '${l.name}' after '${layer}' also reads '${other.name}' from before it; this Grad-CAM handles a tail fed by '${layer}' alone`);
      steps.push({ layer: l, node });
      for (const t of node.outputTensors) down.add(t.id);
    }
  const out = m.outputs[0];
  if (!down.has(out.id)) throw new Error(`TF.js model: the output does not depend on layer '${layer}'`);
  const head = tf.model({ inputs: m.inputs, outputs: A });
  return {
    head: (x) => head.predict(x),
    tail: (a) => {
      const v = new Map<number, any>([[A.id, a]]);
      for (const { layer: l, node } of steps) {
        const ins = node.inputTensors.map((t: any) => v.get(t.id));
        const y = l.apply(ins.length === 1 ? ins[0] : ins, node.callArgs ?? {});
        (Array.isArray(y) ? y : [y]).forEach((t: any, i: number) => v.set(node.outputTensors[i].id, t));
      }
      return v.get(out.id);
    },
  };
}

/**
 * One application at one size, shared by the sides of a workload: ours builds and calibrates it
 * and makes TF.js's artifacts at once (so no readback of ours happens while TF.js's sides set
 * up, and our peak memory is ours alone); TF.js's sides load the artifacts; the last to let go
 * frees it.
 */
function sharedApp(app: Application, size: number) {
  let shared: Promise<{ model: Model; artifacts: Record<string, unknown> }> | null = null;
  let users = 0;
  const make = async () => {
    const model = app.build({ inputShape: [size, size, 3] });
    try {
      const x = E.keep(E.tensor(calibrationBatch(app, size), [4, size, size, 3]));
      try {
        await calibrateBatchNorm(model, x);
      } finally {
        x.dispose();
      }
      return { model, artifacts: await appArtifacts(model) };
    } catch (e) {
      model.dispose();
      throw e;
    }
  };
  return {
    acquire: () => {
      users++;
      return (shared ??= make());
    },
    release: async () => {
      if (--users > 0 || !shared) return;
      const s = shared;
      shared = null;
      (await s.catch(() => null))?.model.dispose();
    },
  };
}

export interface AppRowOptions {
  /** Input side; default the family's own (224 or 299). */
  size?: number;
}

function common(app: Application, o: AppRowOptions) {
  const size = o.size ?? app.size;
  const shape = [1, size, size, 3];
  // FLOPs from the layer shapes, when first asked for (the harness asks before set-up; listing
  // the workloads builds nothing): a model is built for them (0.1–0.3 s) and freed at once, its
  // shapes outliving its weights. A size the family refuses has none (its rows say why when run).
  let flops: number | undefined | null = null;
  const countFlops = () => {
    if (flops === null) {
      try {
        const m = app.build({ inputShape: [size, size, 3] });
        m.dispose();
        flops = appFlops(m);
      } catch {
        flops = undefined;
      }
    }
    return flops;
  };
  return { size, shape, countFlops, ...sharedApp(app, size), x: () => appImage(app, size, IMAGE_SEED) };
}

/**
 * The forward pass of one image to the softmax (timed); the probe compares the logits, the
 * softmax's input (TF.js: tfjsLogits), which a flat or saturated softmax cannot hide.
 */
export function appForwardWorkload(app: Application, o: AppRowOptions = {}): Workload {
  const c = common(app, o);
  return {
    id: `app-${app.name}-forward-${c.size}-b1`,
    family: 'app',
    title: `${app.kerasName} forward ${c.size}×${c.size}, batch 1`,
    get flops() {
      return c.countFlops();
    },
    params: { application: app.name, batch: 1, input: [c.size, c.size, 3], pixels: app.pixels, weights: 'random, BatchNorm statistics calibrated on two seeded images', output: 'softmax probabilities (timed); logits compared' },
    tolerance: 1e-3,
    async ours(): Promise<Instance> {
      const { model } = await c.acquire().catch(async (e) => (await c.release(), Promise.reject(e)));
      const X = E.keep(E.tensor(c.x(), c.shape));
      const once = (logits: boolean) => E.noGrad(() => E.tidy(() => ((f) => (logits ? (f.logits ?? f.output) : f.output))(model.forward(X, { training: false }))));
      return outputInstance(once, () => {
        X.dispose();
        void c.release();
      });
    },
    async tfjs(tf): Promise<Instance> {
      let m: any;
      try {
        m = await tfjsLoad(tf, app, (await c.acquire()).artifacts);
      } finally {
        await c.release();
      }
      const X = tf.tensor(c.x(), c.shape);
      const logits = tfjsLogits(tf, m);
      return outputInstance((probe) => tf.tidy(() => (probe ? logits(X) : m.predict(X))), () => {
        X.dispose();
        m.dispose();
      });
    },
  };
}

/** Grad-CAM's map before its ReLU: the same channel weights (mean of ∂y/∂A over H and W) and sum. */
class GradCamNoRelu extends CamMethod {
  readonly name = 'Grad-CAM (no ReLU)';
  protected readonly relu = false;
  protected override channelWeights(ctx: CamContext): E.Tensor {
    return E.mean(ctx.gradients(), [1, 2]);
  }
}

/** Classes whose maps the Grad-CAM probe compares. */
export const APP_PROBE_CLASSES = [1, 2, 3, 4];

/**
 * Grad-CAM of one image at gradCamLayers[0] for its top-1 class on the softmax score, as the
 * VGG16 and MobileNet rows: ours GradCam.explain; TF.js the activation from a sub-model, the
 * layers after it applied to it (tfjsSplit) for the probabilities (read back, top-1) and under
 * tf.grad, then the channel means, weighted sum and ReLU, the map read back.
 *
 * The probe compares the maps of APP_PROBE_CLASSES (fixed: a near tie could pick different
 * top-1s) before the ReLU: at small sizes the layer is 1×1 to 3×3, and a map of such few values
 * is often all negative, which the ReLU would turn into zeros that agree whatever the gradients.
 */
export function appGradCamWorkload(app: Application, o: AppRowOptions = {}): Workload {
  const c = common(app, o);
  const layer = app.gradCamLayers[0];
  const classes = APP_PROBE_CLASSES;
  return {
    id: `app-${app.name}-gradcam-${c.size}`,
    family: 'app',
    title: `${app.kerasName} Grad-CAM ${c.size}×${c.size} at ${layer}`,
    // A forward pass and a backward pass from the top to the layer (the last block's output):
    // nominally the forward's FLOPs, priced as a forward (as VGG16's).
    get work() {
      return c.countFlops();
    },
    params: {
      application: app.name, input: [c.size, c.size, 3], layer, score: 'softmax', class: 'top-1', probe: `maps of classes ${classes.join(', ')} before the ReLU`,
      weights: 'random, BatchNorm statistics calibrated', readbacks: 'probabilities, then the map',
    },
    tolerance: 1e-3,
    profile: true,
    async ours(): Promise<Instance> {
      const { model } = await c.acquire().catch(async (e) => (await c.release(), Promise.reject(e)));
      const X = E.keep(E.tensor(c.x(), c.shape));
      const inst = oursGradCam(model, X, layer, classes[0], () => void c.release());
      const raw = new GradCamNoRelu(model);
      inst.probe = async () => {
        const maps = await raw.explain(X, { layer, classes: [classes] });
        return Float32Array.from(maps.flatMap((m) => [...m.raw]));
      };
      return inst;
    },
    async tfjs(tf): Promise<Instance> {
      let m: any;
      try {
        m = await tfjsLoad(tf, app, (await c.acquire()).artifacts);
      } finally {
        await c.release();
      }
      const X = tf.tensor(c.x(), c.shape);
      let split: ReturnType<typeof tfjsSplit>;
      try {
        split = tfjsSplit(tf, m, layer);
      } catch (e) {
        X.dispose();
        m.dispose();
        throw e;
      }
      const inst = tfjsGradCam(tf, () => split.head(X), split.tail, classes[0], () => {
        X.dispose();
        m.dispose();
      });
      inst.probe = async () => {
        const A = tf.tidy(() => split.head(X));
        const n = m.outputs[0].shape[1];
        const out: number[] = [];
        try {
          for (const k of classes) {
            const map = tf.tidy(() => {
              const hot = tf.oneHot(tf.tensor1d([k], 'int32'), n);
              const dA = tf.grad((a: any) => tf.sum(tf.mul(split.tail(a), hot)))(A);
              return tf.sum(tf.mul(A, tf.mean(dA, [1, 2], true)), 3);
            });
            out.push(...(await map.data()));
            map.dispose();
          }
        } finally {
          A.dispose();
        }
        return Float32Array.from(out);
      };
      return inst;
    },
  };
}

/** Both rows of every benchmarked application; `size(app)` picks each one's input side. */
export function appWorkloads(size: (app: Application) => number): Workload[] {
  return benchApplications().flatMap((app) => [appForwardWorkload(app, { size: size(app) }), appGradCamWorkload(app, { size: size(app) })]);
}
