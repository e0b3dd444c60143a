// Comparing a Keras application built in code, loaded from a seeded random weights file in its
// official layout, with a PyTorch float64 golden (scripts/reference/torch_<name>.py): logits,
// probabilities, per-channel means of some layers' outputs, and Grad-CAM maps. Used by
// test/app_resnet50.test.ts and test/app_densenet121.test.ts.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.ts';
import { GradCam } from '../explain/grad_cam.ts';
import type { Model } from '../nn/model.ts';
import { assertClose } from './helpers.ts';

/** test/golden/<name>/<file>, from the sources or from a build folder. */
export function readGolden<T>(name: string, file: string): T {
  const dirs = [new URL(`golden/${name}/`, import.meta.url), new URL(`../../test/golden/${name}/`, import.meta.url)].map((u) => fileURLToPath(u));
  const dir = dirs.find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`golden ${name}/${file} not found in ${dirs.join(' or ')}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

/** N×S×S×C inputs from the LCG the references use: s ← 1664525·s + 1013904223 mod 2³², value float32(lo + (hi − lo)·s/2³²). */
export function lcgInput(n: number, size: number, channels: number, seed: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n * size * size * channels);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround(lo + ((hi - lo) * s) / 4294967296);
  }
  return out;
}

export interface GoldenCase {
  size: number;
  batch: number;
  weightsDigest: string;
  input: { seed: number; lo: number; hi: number };
  logits: number[];
  /** Layer → per-channel mean over H, W of image 0. */
  layerMeans: Record<string, number[]>;
  gradcam: { classes: number[]; layers: Record<string, { shape: [number, number]; maps: number[] }> };
}

export interface GoldenErrors {
  /** Largest |Δ| / largest |golden| of each compared quantity. */
  logits: number;
  probs: number;
  layers: Record<string, number>;
  cams: Record<string, number>;
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

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/**
 * Runs `model` on the case's input and checks everything against the golden, each quantity to
 * `rel` of its largest golden magnitude (elementwise: |Δ| ≤ rel·max|golden| + rel·|golden|).
 * Returns the errors found, relative to those magnitudes.
 */
export async function checkGoldenCase(model: Model, g: GoldenCase, rel: number, what: string): Promise<GoldenErrors> {
  const { size, batch } = g;
  const channels = model.inputShape[2];
  const x = E.keep(E.tensor(lcgInput(batch, size, channels, g.input.seed, g.input.lo, g.input.hi), [batch, size, size, channels]));
  try {
    const names = Object.keys(g.layerMeans);
    const [out, logits, means] = await E.tidy(async () =>
      E.noGrad(async () => {
        const f = model.forward(x, { training: false }, names);
        const ms = names.map((n) => E.mean(E.slice(f.captured.get(n)!, [0, 0, 0, 0], [1, ...f.captured.get(n)!.shape.slice(1)]), [0, 1, 2]));
        return [await f.output.data(), await f.logits!.data(), await Promise.all(ms.map((m) => m.data()))] as const;
      }),
    );
    const err: GoldenErrors = { logits: 0, probs: 0, layers: {}, cams: {} };
    const scale = maxAbs(g.logits);
    err.logits = assertClose(logits, g.logits, { atol: rel * scale, rtol: rel }, `${what}: logits`) / scale;
    const p = softmax64(g.logits, batch);
    err.probs = assertClose(out, p, { atol: rel * maxAbs(p), rtol: rel }, `${what}: probabilities`) / maxAbs(p);
    names.forEach((n, i) => {
      const s = maxAbs(g.layerMeans[n]);
      err.layers[n] = assertClose(means[i], g.layerMeans[n], { atol: rel * s, rtol: rel }, `${what}: ${n} channel means`) / s;
    });
    const gc = new GradCam(model);
    for (const [layer, want] of Object.entries(g.gradcam.layers)) {
      const maps = await gc.explain(x, { layer, classes: g.gradcam.classes, score: 'logit' });
      const got = new Float32Array(maps.length * want.shape[0] * want.shape[1]);
      maps.forEach((m, i) => {
        if (m.h !== want.shape[0] || m.w !== want.shape[1] || m.classIndex !== g.gradcam.classes[i]) throw new Error(`${what}: ${layer} map ${i} is ${m.h}×${m.w} for class ${m.classIndex}, want ${want.shape.join('×')} for ${g.gradcam.classes[i]}`);
        got.set(m.raw, i * m.h * m.w);
      });
      const s = maxAbs(want.maps);
      if (!(s > 0)) throw new Error(`${what}: the golden ${layer} map is all zero: the comparison would see nothing`);
      err.cams[layer] = assertClose(got, want.maps, { atol: rel * s, rtol: rel }, `${what}: Grad-CAM ${layer}`) / s;
    }
    return err;
  } finally {
    x.dispose();
  }
}

export function formatErrors(e: GoldenErrors): string {
  const f = (v: number) => v.toExponential(1);
  return `logits ${f(e.logits)}, probabilities ${f(e.probs)}, ${Object.entries(e.layers).map(([n, v]) => `${n} ${f(v)}`).join(', ')}, Grad-CAM ${Object.entries(e.cams).map(([n, v]) => `${n} ${f(v)}`).join(', ')}`;
}
