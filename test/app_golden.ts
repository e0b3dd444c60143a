// Shared by the tests of Keras applications built in code against their PyTorch goldens
// (test/app_mobilenet.test.ts, app_mobilenet_v2.test.ts, app_efficientnet.test.ts) and by
// scripts/reference/app_golden_inputs.mjs, which writes the same weights files and inputs for
// the PyTorch scripts. A case: options, a weights seed, an input; the golden holds the outputs,
// per-layer samples and Grad-CAM maps that PyTorch computed in float64 from the same file.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { readKerasWeights, type KerasFile } from '../nn/io/keras.ts';
import type { AppOptions, Application } from '../nn/applications/registry.ts';
import type { Model } from '../nn/model.ts';
import { assertClose } from './helpers.ts';

export interface AppCase {
  id: string;
  options: AppOptions;
  /** Seed of the random weights file. */
  seed: number;
  input: { n: number; seed: number; lo: number; hi: number };
}

export interface GoldenLayer {
  name: string;
  /** NHWC (or [C]) without the batch, image 0. */
  shape: number[];
  mean: number;
  std: number;
  /** Values at sampleIndices(size) of image 0, row-major NHWC. */
  sample: number[];
}

export interface GoldenCam {
  layer: string;
  class: number;
  shape: [number, number];
  map: number[];
}

export interface GoldenCase extends AppCase {
  weightsDigest: { count: number; sum: number; sumAbs: number };
  inputSum: number;
  /** The model output for all n images (probabilities with the top, else features). */
  output: number[];
  /** The input of the final softmax (with the top). */
  logits?: number[];
  layers: GoldenLayer[];
  gradcam: GoldenCam[];
}

export interface Golden {
  about: string;
  cases: GoldenCase[];
}

/** Uniform values in [lo, hi) from an LCG: the same in every runtime (and written for Python). */
export function appInput(c: AppCase): Float32Array {
  const s0 = c.options.inputShape ?? [224, 224, 3];
  const n = c.input.n * s0[0] * s0[1] * s0[2];
  let s = c.input.seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return c.input.lo + (s / 4294967296) * (c.input.hi - c.input.lo);
  });
}

/** Where the per-layer samples are taken: 16 indices spread over the flat output. */
export function sampleIndices(size: number, k = 16): number[] {
  return Array.from({ length: Math.min(k, size) }, (_, i) => Math.floor((i * size) / Math.min(k, size)));
}

/** count, Σ and Σ|·| of every weight (float64, in file order): the file's fingerprint. */
export function weightsDigest(file: KerasFile): { count: number; sum: number; sumAbs: number } {
  let count = 0, sum = 0, sumAbs = 0;
  for (const l of file.layers) for (const w of l.weights) for (const v of w.data) {
    count++;
    sum += v;
    sumAbs += Math.abs(v);
  }
  return { count, sum, sumAbs };
}

export function readGolden(dir: string, name: string): Golden {
  const path = [join(dir, name), join(dir, '..', '..', 'test', 'golden', name)].find((p) => existsSync(p));
  if (!path) throw new Error(`golden ${name} not found under ${dir}`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface CaseResult {
  /** Largest |Δ| / max |golden| of the output, the logits, each layer's samples, each map. */
  output: number;
  /** null without the top. */
  logits: number | null;
  layers: { name: string; err: number }[];
  cams: { layer: string; err: number }[];
  seconds: number;
}

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/**
 * Loads the case's weights file through the application (recognise → build → loadWeights),
 * runs the input and compares with the golden: output and logits (|Δ| ≤ 1e-4 of their largest
 * magnitude), every layer's samples and mean (≤ 1e-4 of the layer's scale), and Grad-CAM maps of
 * the logit at both layers (≤ 1e-4 of the map's maximum).
 */
export async function checkCase(app: Application, g: GoldenCase, path: string, want: AppOptions): Promise<CaseResult> {
  const t0 = performance.now();
  const file = await readKerasWeights(path);
  const d = weightsDigest(file);
  if (d.count !== g.weightsDigest.count || Math.abs(d.sum - g.weightsDigest.sum) > 1e-9 * g.weightsDigest.sumAbs || Math.abs(d.sumAbs - g.weightsDigest.sumAbs) > 1e-9 * g.weightsDigest.sumAbs)
    throw new Error(`${g.id}: the regenerated weights are not the golden's (count ${d.count} vs ${g.weightsDigest.count}, Σ ${d.sum} vs ${g.weightsDigest.sum})`);
  const o = app.recognise(file);
  if (JSON.stringify(o) !== JSON.stringify(want)) throw new Error(`${g.id}: recognise gave ${JSON.stringify(o)}, want ${JSON.stringify(want)}`);
  const model: Model = app.build({ ...o, ...g.options });
  try {
    app.loadWeights(model, file, path);
    const shape = g.options.inputShape!;
    const x = appInput(g);
    let sum = 0;
    for (const v of x) sum += v;
    if (Math.abs(sum - g.inputSum) > 1e-6 * x.length) throw new Error(`${g.id}: input sum ${sum}, golden ${g.inputSum}`);
    const names = g.layers.map((l) => l.name);
    const { out, logits, acts } = await E.tidy(() =>
      E.noGrad(async () => {
        const f = model.forward(E.tensor(x, [g.input.n, ...shape]), { training: false }, names);
        const acts = await Promise.all(names.map((nm) => f.captured.get(nm)!.data()));
        return { out: await f.output.data(), logits: f.logits ? await f.logits.data() : null, acts };
      }),
    );
    const res: CaseResult = { output: 0, logits: null, layers: [], cams: [], seconds: 0 };
    const rel = (a: ArrayLike<number>, e: number[], what: string, tol = 1e-4) => {
      const scale = Math.max(maxAbs(e), 1e-30);
      return assertClose(a, e, { atol: tol * scale, rtol: 0 }, `${g.id} ${what}`) / scale;
    };
    res.output = rel(out, g.output, 'output');
    if (g.logits) {
      if (!logits) throw new Error(`${g.id}: the model gives no logits`);
      res.logits = rel(logits, g.logits, 'logits');
    }
    g.layers.forEach((l, i) => {
      const a = acts[i];
      const size = l.shape.reduce((p, q) => p * q, 1);
      if (a.length !== g.input.n * size) throw new Error(`${g.id} ${l.name}: ${a.length} values, golden shape [${l.shape}] × ${g.input.n}`);
      const idx = sampleIndices(size);
      const got = idx.map((k) => a[k]);
      let m = 0;
      for (let k = 0; k < size; k++) m += a[k];
      m /= size;
      const scale = Math.max(maxAbs(l.sample), Math.abs(l.mean), l.std, 1e-30);
      const err = Math.max(assertClose(got, l.sample, { atol: 1e-4 * scale, rtol: 0 }, `${g.id} layer ${l.name} samples`), assertClose([m], [l.mean], { atol: 1e-4 * scale, rtol: 0 }, `${g.id} layer ${l.name} mean`));
      res.layers.push({ name: l.name, err: err / scale });
    });
    if (g.gradcam.length) {
      const n = shape[0] * shape[1] * shape[2];
      const x0 = E.keep(E.tensor(x.subarray(0, n), [1, ...shape]));
      try {
        const cam = new GradCam(model);
        for (const c of g.gradcam) {
          const [m] = await cam.explain(x0, { layer: c.layer, classes: [c.class], score: 'logit' });
          if (m.h !== c.shape[0] || m.w !== c.shape[1]) throw new Error(`${g.id} Grad-CAM ${c.layer}: ${m.h}×${m.w}, golden ${c.shape}`);
          if (!(maxAbs(c.map) > 0)) throw new Error(`${g.id} Grad-CAM ${c.layer}: the golden map is all zero; the test would see nothing`);
          res.cams.push({ layer: c.layer, err: rel(m.raw, c.map, `Grad-CAM ${c.layer} class ${c.class}`) });
        }
      } finally {
        x0.dispose();
      }
    }
    res.seconds = (performance.now() - t0) / 1000;
    return res;
  } finally {
    model.dispose();
  }
}

/** One line for the test log: worst errors and where. */
export function describeResult(id: string, r: CaseResult): string {
  const worst = r.layers.reduce((a, b) => (b.err > a.err ? b : a), { name: '-', err: 0 });
  const cams = r.cams.map((c) => `${c.layer} ${c.err.toExponential(1)}`).join(', ');
  return `  ${id}: output ${r.output.toExponential(1)}${r.logits === null ? '' : `, logits ${r.logits.toExponential(1)}`}, ${r.layers.length} layers ≤ ${worst.err.toExponential(1)} (${worst.name})${cams ? `, Grad-CAM ${cams}` : ''} (relative to the largest value; ${r.seconds.toFixed(1)} s)`;
}
