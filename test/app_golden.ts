// Shared by the tests of the Keras applications built in code (test/app_*.test.ts) and by
// scripts/reference/app_weights.mjs: the seeded weights file regenerated through the
// application (write, fingerprint, recognise, build, load), the seeded inputs, and one
// comparison of a model with a PyTorch float64 golden (scripts/reference/torch_<family>.py):
// logits, outputs, layer values and Grad-CAM maps of the logit, each to 1e-4 of its largest golden
// magnitude. The goldens come in three formats (their scripts were written apart); `xiCheck`,
// `caseCheck` and `meansCheck` turn each into the one `GoldenCheck`.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { readKerasWeights, type KerasFile, type KerasLayerWeights } from '../nn/io/keras.ts';
import type { AppOptions, Application, RandomWeightsOptions } from '../nn/applications/registry.ts';
import type { Model } from '../nn/model.ts';
import { assertClose } from './helpers.ts';

/** test/golden/<family>/<file>, from the source tree or from a build folder (dist-dev/test). */
export function readGolden<T>(family: string, file: string): T {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const path = [join(here, 'golden', family, file), join(here, '..', '..', 'test', 'golden', family, file)].find((p) => existsSync(p));
  if (!path) throw new Error(`test/golden/${family}/${file} is missing (made by scripts/reference/torch_${family}.py)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------
// Seeded inputs: the LCG s ← 1664525·s + 1013904223 mod 2³² the references use.

/** `count` values float32(lo + (hi − lo)·s/2³²). */
export function lcgUniform(count: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s / 4294967296) * (hi - lo);
  });
}

/** One image of size×size×channels per seed, values (s >> 8)/2²⁴·2 − 1 ∈ [−1, 1), exact in float32. */
export function lcg24Images(seeds: number[], size: number, channels = 3): Float32Array {
  const per = size * size * channels;
  const out = new Float32Array(seeds.length * per);
  seeds.forEach((seed, k) => {
    let s = seed >>> 0;
    for (let i = 0; i < per; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[k * per + i] = ((s >>> 8) / 16777216) * 2 - 1;
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The seeded weights file.

/** SHA-256 of every weight as float32 little-endian, in layer then weight order: the same numbers give the same digest, whatever the layout. */
export function weightsSha256(layers: readonly KerasLayerWeights[]): string {
  const h = createHash('sha256');
  for (const l of layers) for (const w of l.weights) h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return h.digest('hex');
}

/** count, Σ and Σ|·| of every weight (float64, in file order). */
export function weightsSums(layers: readonly KerasLayerWeights[]): { count: number; sum: number; sumAbs: number } {
  let count = 0, sum = 0, sumAbs = 0;
  for (const l of layers) for (const w of l.weights) for (const v of w.data) {
    count++;
    sum += v;
    sumAbs += Math.abs(v);
  }
  return { count, sum, sumAbs };
}

export type Fingerprint = string | { count: number; sum: number; sumAbs: number };

export interface SeededModel {
  model: Model;
  file: KerasFile;
  /** What app.recognise found in the file. */
  options: AppOptions;
}

/**
 * Writes the application's seeded weights file for `o` at `path` (unless `reuse` and it is there),
 * checks that it holds the golden's numbers (`want`: a SHA-256, or count and sums), recognises it,
 * builds the model with the recognised options (and `build`'s, e.g. a smaller input) and loads the
 * file into it.
 */
export async function seededModel(app: Application, path: string, o: RandomWeightsOptions, want: Fingerprint, build: AppOptions = {}, reuse = false): Promise<SeededModel> {
  if (!reuse || !existsSync(path)) await app.writeRandomWeights!(path, o);
  const file = await readKerasWeights(path);
  if (typeof want === 'string') {
    const got = weightsSha256(file.layers);
    if (got !== want) throw new Error(`${path}: the weights are not the golden's (SHA-256 ${got}, golden ${want}): the writer no longer makes the numbers the golden was computed from`);
  } else {
    const d = weightsSums(file.layers);
    if (d.count !== want.count || Math.abs(d.sum - want.sum) > 1e-9 * want.sumAbs || Math.abs(d.sumAbs - want.sumAbs) > 1e-9 * want.sumAbs)
      throw new Error(`${path}: the weights are not the golden's (count ${d.count} vs ${want.count}, Σ ${d.sum} vs ${want.sum})`);
  }
  const options = app.recognise(file);
  if (!options) throw new Error(`${path}: not recognised as ${app.kerasName}`);
  const model = app.build({ ...options, ...build });
  try {
    app.loadWeights(model, file, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, file, options };
}

// ---------------------------------------------------------------------------------------------
// The comparison.

export interface GoldenCheck {
  what: string;
  input: Float32Array;
  /** [N, H, W, C]. */
  shape: number[];
  /** The model's output for all N images. */
  output?: ArrayLike<number>;
  /** The input of the final softmax, all N images. */
  logits?: ArrayLike<number>;
  /** What a captured layer output gives (from its data and shape [N, …]), against `want`, to rel·scale (default max |want|). */
  layers?: { name: string; want: number[]; got: (a: ArrayLike<number>, shape: number[]) => number[]; scale?: number }[];
  /** Grad-CAM of the logit at `layer`, for the first classes.length images (class i for image i): maps concatenated. */
  cams?: { layer: string; classes: number[]; shape: readonly number[]; maps: number[] }[];
  /** Tolerance relative to each quantity's largest golden magnitude; default 1e-4. */
  rel?: number;
}

export interface GoldenErrors {
  /** Largest |Δ| / largest |golden|, null when not compared. */
  output: number | null;
  logits: number | null;
  layers: Record<string, number>;
  cams: Record<string, number>;
  seconds: number;
}

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** |got − want| ≤ rel·scale everywhere (throws naming the first offender); returns max |Δ| / scale. */
function compare(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string, scale = maxAbs(want)): number {
  const s = Math.max(scale, 1e-30);
  return assertClose(got, want, { atol: rel * s, rtol: 0 }, what) / s;
}

/** Runs `model` on the check's input and compares everything it names (see GoldenCheck). */
export async function checkGolden(model: Model, c: GoldenCheck): Promise<GoldenErrors> {
  const t0 = performance.now();
  const rel = c.rel ?? 1e-4;
  const names = (c.layers ?? []).map((l) => l.name);
  const x = E.keep(E.tensor(c.input, c.shape));
  try {
    const { out, logits, acts } = await E.tidy(() =>
      E.noGrad(async () => {
        const f = model.forward(x, { training: false }, names);
        const acts = await Promise.all(names.map(async (n) => ({ data: await f.captured.get(n)!.data(), shape: [...f.captured.get(n)!.shape] })));
        return { out: await f.output.data(), logits: f.logits ? await f.logits.data() : null, acts };
      }),
    );
    const e: GoldenErrors = { output: null, logits: null, layers: {}, cams: {}, seconds: 0 };
    if (c.output) e.output = compare(out, c.output, rel, `${c.what}: output`);
    if (c.logits) {
      if (!logits) throw new Error(`${c.what}: the model gives no logits`);
      e.logits = compare(logits, c.logits, rel, `${c.what}: logits`);
    }
    (c.layers ?? []).forEach((l, i) => (e.layers[l.name] = compare(l.got(acts[i].data, acts[i].shape), l.want, rel, `${c.what}: layer ${l.name}`, l.scale)));
    const gc = new GradCam(model);
    const per = c.shape.slice(1).reduce((a, b) => a * b, 1);
    for (const cam of c.cams ?? []) {
      const k = cam.classes.length;
      if (cam.maps.filter((v) => v > 0).length < 2) throw new Error(`${c.what}: the golden ${cam.layer} map has under 2 positive cells; the comparison would see little`);
      const xk = E.tensor(c.input.subarray(0, k * per), [k, ...c.shape.slice(1)]);
      try {
        const maps = await gc.explain(xk, { layer: cam.layer, classes: cam.classes, score: 'logit' });
        const got = new Float32Array(k * cam.shape[0] * cam.shape[1]);
        maps.forEach((m, i) => {
          if (m.h !== cam.shape[0] || m.w !== cam.shape[1]) throw new Error(`${c.what}: Grad-CAM ${cam.layer} map ${i} is ${m.h}×${m.w}, golden ${cam.shape.join('×')}`);
          got.set(m.raw, i * m.h * m.w);
        });
        e.cams[cam.layer] = compare(got, cam.maps, rel, `${c.what}: Grad-CAM ${cam.layer} class ${cam.classes.join(', ')}`);
      } finally {
        xk.dispose();
      }
    }
    e.seconds = (performance.now() - t0) / 1000;
    return e;
  } finally {
    x.dispose();
  }
}

/** One line for the test log: the errors and where the worst layer is. */
export function describeErrors(id: string, e: GoldenErrors): string {
  const f = (v: number) => v.toExponential(1);
  const layers = Object.entries(e.layers);
  const worst = layers.reduce((a, b) => (b[1] > a[1] ? b : a), ['-', 0]);
  const parts = [
    e.output === null ? '' : `output ${f(e.output)}`,
    e.logits === null ? '' : `logits ${f(e.logits)}`,
    layers.length > 5 ? `${layers.length} layers ≤ ${f(worst[1])} (${worst[0]})` : layers.map(([n, v]) => `${n} ${f(v)}`).join(', '),
    Object.keys(e.cams).length ? `Grad-CAM ${Object.entries(e.cams).map(([n, v]) => `${n} ${f(v)}`).join(', ')}` : '',
  ];
  return `  ${id}: ${parts.filter(Boolean).join(', ')} (largest |Δ| / largest |golden|; ${e.seconds.toFixed(1)} s)`;
}

export interface GoldenTest {
  app: Application;
  /** Where the seeded file is written (removed after the test unless `keep`; with `keep`, a file already there is read again). */
  path: string;
  keep?: boolean;
  /** The seeded file's options and the golden's fingerprint of it. */
  weights: RandomWeightsOptions;
  fingerprint: Fingerprint;
  /** What recognise must find in the file; the options the model is built with on top of them. */
  recognised: AppOptions;
  build: AppOptions;
  check: () => GoldenCheck;
  /** The Grad-CAM layers the golden must have maps for, when it has any (default app.gradCamLayers). */
  camLayers?: readonly string[];
  /** More assertions on the loaded model and file. */
  more?: (s: SeededModel) => void;
}

/** One uvu test: the seeded file through seededModel, recognised as t.recognised, against the golden (checkGolden). */
export function goldenTest(title: string, id: string, t: GoldenTest): void {
  test(title, async () => {
    const t0 = performance.now();
    const s = await seededModel(t.app, t.path, t.weights, t.fingerprint, t.build, t.keep);
    try {
      assert.equal(s.options, t.recognised);
      t.more?.(s);
      const t1 = performance.now();
      const check = t.check();
      if (check.cams?.length) assert.equal(check.cams.map((c) => c.layer), [...(t.camLayers ?? t.app.gradCamLayers)]);
      console.log(`${describeErrors(id, await checkGolden(s.model, check))}; write, read and load ${((t1 - t0) / 1000).toFixed(1)} s`);
    } finally {
      s.model.dispose();
      if (!t.keep) rmSync(t.path, { force: true });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The three golden formats.

/** Xception, InceptionV3 (scripts/reference/torch_xception.py, torch_inception_v3.py). */
export interface XiGolden {
  family: string;
  weightsSeed: number;
  weightsSha256: string;
  camLayers: string[];
  small: XiRun;
  minimum?: XiRun;
  default: XiRun;
}

export interface XiRun {
  size: number;
  inputSeeds: number[];
  /** float64 logits, one row per input. */
  logits: number[][];
  gradcam?: { class: number; maps: Record<string, { shape: number[]; map: number[] }> };
}

export function xiCheck(what: string, r: XiRun): GoldenCheck {
  return {
    what: `${what} ${r.size}×${r.size}`,
    input: lcg24Images(r.inputSeeds, r.size),
    shape: [r.inputSeeds.length, r.size, r.size, 3],
    logits: r.logits.flat(),
    cams: Object.entries(r.gradcam?.maps ?? {}).map(([layer, m]) => ({ layer, classes: [r.gradcam!.class], shape: m.shape, maps: m.map })),
  };
}

/** MobileNet, MobileNetV2, EfficientNetB0 (torch_mobilenet_app.py, torch_mobilenet_v2.py, torch_efficientnetb0.py). */
export interface AppCase {
  id: string;
  options: AppOptions;
  /** Seed of the random weights file. */
  seed: number;
  input: { n: number; seed: number; lo: number; hi: number };
}

export interface GoldenCase extends AppCase {
  weightsDigest: { count: number; sum: number; sumAbs: number };
  inputSum: number;
  output: number[];
  logits?: number[];
  /** Per layer, image 0 (NHWC or [C], no batch): mean, std and the values at sampleIndices(size). */
  layers: { name: string; shape: number[]; mean: number; std: number; sample: number[] }[];
  gradcam: { layer: string; class: number; shape: [number, number]; map: number[] }[];
}

/** The input of a case (the references read the same numbers, written by scripts/reference/app_weights.mjs). */
export function appInput(c: AppCase): Float32Array {
  const s = c.options.inputShape ?? [224, 224, 3];
  return lcgUniform(c.input.n * s[0] * s[1] * s[2], c.input.seed, c.input.lo, c.input.hi);
}

/** Where the per-layer samples are taken: 16 indices spread over the flat output. */
export function sampleIndices(size: number, k = 16): number[] {
  return Array.from({ length: Math.min(k, size) }, (_, i) => Math.floor((i * size) / Math.min(k, size)));
}

/** What recognise finds in a case's file: alpha (if any), the top and, with it, the classes. */
export function caseRecognised(g: GoldenCase): AppOptions {
  const { alpha, includeTop, classes } = g.options;
  return { ...(alpha === undefined ? {} : { alpha }), includeTop, ...(includeTop ? { classes } : {}) };
}

export function caseCheck(what: string, g: GoldenCase): GoldenCheck {
  const input = appInput(g);
  let sum = 0;
  for (const v of input) sum += v;
  if (Math.abs(sum - g.inputSum) > 1e-6 * input.length) throw new Error(`${g.id}: input sum ${sum}, golden ${g.inputSum}`);
  return {
    what: `${what} ${g.id}`,
    input,
    shape: [g.input.n, ...g.options.inputShape!],
    output: g.output,
    logits: g.logits,
    // Image 0's samples and mean, to the layer's scale.
    layers: g.layers.map((l) => {
      const size = l.shape.reduce((p, q) => p * q, 1);
      const got = (a: ArrayLike<number>) => {
        if (a.length !== g.input.n * size) throw new Error(`${g.id} ${l.name}: ${a.length} values, golden shape [${l.shape}] × ${g.input.n}`);
        let m = 0;
        for (let k = 0; k < size; k++) m += a[k];
        return [...sampleIndices(size).map((k) => a[k]), m / size];
      };
      return { name: l.name, want: [...l.sample, l.mean], got, scale: Math.max(maxAbs(l.sample), Math.abs(l.mean), l.std) };
    }),
    cams: g.gradcam.map((c) => ({ layer: c.layer, classes: [c.class], shape: c.shape, maps: c.map })),
  };
}

/** ResNet50, DenseNet121 (torch_resnet50.py, torch_densenet121.py). */
export interface MeansCase {
  size: number;
  batch: number;
  weightsDigest: string;
  input: { seed: number; lo: number; hi: number };
  logits: number[];
  /** Layer → per-channel mean over H, W of image 0. */
  layerMeans: Record<string, number[]>;
  gradcam: { classes: number[]; layers: Record<string, { shape: [number, number]; maps: number[] }> };
}

function softmax64(z: ArrayLike<number>, rows: number): Float64Array {
  const c = z.length / rows;
  const out = new Float64Array(z.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = 0; i < c; i++) m = Math.max(m, z[r * c + i]);
    let s = 0;
    for (let i = 0; i < c; i++) s += out[r * c + i] = Math.exp(z[r * c + i] - m);
    for (let i = 0; i < c; i++) out[r * c + i] /= s;
  }
  return out;
}

/** Per-channel means over H, W of image 0 of an [N, H, W, C] output, in float64. */
function channelMeans(a: ArrayLike<number>, shape: number[]): number[] {
  const c = shape[shape.length - 1];
  const hw = shape.slice(1, -1).reduce((p, q) => p * q, 1);
  const m = new Array<number>(c).fill(0);
  for (let i = 0; i < hw * c; i++) m[i % c] += a[i];
  return m.map((v) => v / hw);
}

export function meansCheck(what: string, g: MeansCase, channels = 3): GoldenCheck {
  return {
    what: `${what} ${g.size}×${g.size}`,
    input: lcgUniform(g.batch * g.size * g.size * channels, g.input.seed, g.input.lo, g.input.hi),
    shape: [g.batch, g.size, g.size, channels],
    logits: g.logits,
    output: softmax64(g.logits, g.batch),
    layers: Object.entries(g.layerMeans).map(([name, want]) => ({ name, want, got: channelMeans })),
    cams: Object.entries(g.gradcam.layers).map(([layer, m]) => ({ layer, classes: g.gradcam.classes, shape: m.shape, maps: m.maps })),
  };
}
