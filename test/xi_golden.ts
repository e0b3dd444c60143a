// Shared by test/app_xception.test.ts and test/app_inception_v3.test.ts: the goldens made by
// scripts/reference/torch_xception.py / torch_inception_v3.py, their seeded inputs, and the
// SHA-256 of a weights file's values (to know a regenerated file holds the golden's weights).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KerasFile } from '../nn/io/keras.ts';

export interface GoldRun {
  size: number;
  inputSeeds: number[];
  /** float64 logits, one row per input. */
  logits: number[][];
  gradcam?: { class: number; maps: Record<string, { shape: number[]; map: number[] }> };
}

export interface Gold {
  family: string;
  weightsSeed: number;
  weightsSha256: string;
  camLayers: string[];
  small: GoldRun;
  minimum?: GoldRun;
  default: GoldRun;
}

/** test/golden/<family>/torch_<family>.json, from the source tree or from dist-dev/test. */
export function readGold(family: string): Gold {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const file = [join(here, 'golden', family), join(here, '..', '..', 'test', 'golden', family)].map((d) => join(d, `torch_${family}.json`)).find(existsSync);
  if (!file) throw new Error(`test/golden/${family}/torch_${family}.json is missing (run scripts/reference/torch_${family}.py)`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** xi_torch_common.inputs: [n·size·size·c] in [−1, 1), exact in float32. */
export function seededInputs(seeds: number[], size: number, channels = 3): Float32Array {
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

/** SHA-256 of every weight as float32 little-endian, in the file's layer then weight order. */
export function weightsSha256(file: KerasFile): string {
  const h = createHash('sha256');
  for (const l of file.layers) for (const w of l.weights) h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return h.digest('hex');
}

/** Largest |a − b| over the largest |b|. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return e / m;
}
