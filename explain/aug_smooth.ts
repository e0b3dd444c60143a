// Test-time augmentation of a class-activation map (pytorch-grad-cam's aug_smooth, after ttach's
// HorizontalFlip × Multiply): the input flipped horizontally or not, times 1, 1.1 or 0.9; each of
// the six maps min–max normalised ((m − min) / (max − min + 1e-7), as its scale_cam_image),
// un-flipped at its own resolution, and the six averaged. The target classes are those of the
// plain input (given, or its top-1) for every augmentation; pytorch-grad-cam takes the top-1 of
// each augmented input anew, which can explain different classes in one average.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { CamMap, CamRequest } from './cam_base.ts';

/** The augmentations after the plain input: [flipped, factor]. */
const AUGMENTATIONS: [boolean, number][] = [[false, 1.1], [false, 0.9], [true, 1], [true, 1.1], [true, 0.9]];

/** `explain` averaged over the six augmentations of x (the plain pass gives classes, outputs, probabilities). */
export async function augmentedMaps(explain: (x: Tensor, req: CamRequest) => Promise<CamMap[]>, x: Tensor, req: CamRequest): Promise<CamMap[]> {
  const t0 = performance.now();
  const once: CamRequest = { ...req, augSmooth: false, timings: req.timings ? {} : undefined };
  const plain = await explain(x, once);
  if (req.timings) req.timings.forwardMs = once.timings?.forwardMs;
  const n = x.shape[0];
  const rounds = plain.length / n;
  const classes = Array.from({ length: n }, (_, i) => plain.slice(i * rounds, (i + 1) * rounds).map((m) => m.classIndex));
  const upWidth = req.upsample?.size[1] ?? 0;
  const sums = plain.map((m) => addNormalised(null, m, false, upWidth));
  const [, , width] = x.shape;
  for (const [flip, factor] of AUGMENTATIONS) {
    const s = E.scope();
    try {
      // The flip reverses axis 2 (W) of NHWC.
      const xa = s.run(() => (flip ? E.slice(E.scale(x, factor), [0, 0, width - 1, 0], [-1, -1, -1, -1], [1, 1, -1, 1]) : E.scale(x, factor)));
      const maps = await explain(xa, { ...once, classes, timings: undefined });
      maps.forEach((m, i) => addNormalised(sums[i], m, flip, upWidth));
    } finally {
      s.close();
    }
  }
  const count = AUGMENTATIONS.length + 1;
  const out = plain.map((m, i) => ({ ...m, raw: scaled(sums[i].raw, count), upsampled: sums[i].up ? scaled(sums[i].up!, count) : undefined }));
  if (req.timings) req.timings.totalMs = performance.now() - t0;
  return out;
}

interface Sum {
  raw: Float64Array;
  up: Float64Array | null;
}

/** Adds m's maps, normalised by the raw map's range and un-flipped, to `into` (a new sum when null). */
function addNormalised(into: Sum | null, m: CamMap, flipped: boolean, upWidth: number): Sum {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m.raw) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // Upsampling is affine-invariant (its taps sum to 1), so the upsampled map takes the raw map's
  // normalisation: normalising, then resizing, as pytorch-grad-cam does.
  const div = hi - lo + 1e-7;
  const sum = into ?? { raw: new Float64Array(m.raw.length), up: m.upsampled ? new Float64Array(m.upsampled.length) : null };
  const add = (acc: Float64Array, v: Float32Array, w: number) => {
    for (let i = 0; i < v.length; i++) {
      const col = i % w;
      acc[flipped ? i - col + (w - 1 - col) : i] += (v[i] - lo) / div;
    }
  };
  add(sum.raw, m.raw, m.w);
  if (sum.up && m.upsampled) add(sum.up, m.upsampled, upWidth);
  return sum;
}

function scaled(v: Float64Array, count: number): Float32Array {
  return Float32Array.from(v, (x) => x / count);
}
