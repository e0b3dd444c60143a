// How alike two saliency maps are, as the model-randomization test (Adebayo et al., "Sanity
// Checks for Saliency Maps", 2018) measures them: Spearman's rank correlation, of the maps and of
// their absolute values, and SSIM (Wang et al. 2004) of the maps rescaled to [0, 1].

import { minMaxUnit } from './confidence.ts';

/** Ranks 1..n, ties given their average rank. */
export function ranks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const r = new Float64Array(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Pearson's correlation; 0 when either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Spearman's rank correlation of two maps of the same size. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: maps of ${a.length} and ${b.length} values`);
  return pearson(ranks(a), ranks(b));
}

/**
 * Mean SSIM of two H×W maps rescaled to [0, 1]: an 11×11 Gaussian window (σ = 1.5) over every
 * position where it fits, C1 = 0.01², C2 = 0.03² (Wang et al.'s constants for a range of 1).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, win = 11, sigma = 1.5): number {
  if (a.length !== height * width || b.length !== height * width) throw new Error(`ssim: maps of ${a.length} and ${b.length} values, not ${height}×${width}`);
  const w = Math.min(win, height, width);
  const g = new Float64Array(w * w);
  const c = (w - 1) / 2;
  let sum = 0;
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) sum += g[y * w + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  const A = minMaxUnit(a);
  const B = minMaxUnit(b);
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  let total = 0;
  let count = 0;
  for (let y0 = 0; y0 + w <= height; y0++)
    for (let x0 = 0; x0 + w <= width; x0++) {
      let ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
      for (let y = 0; y < w; y++)
        for (let x = 0; x < w; x++) {
          const k = g[y * w + x] / sum;
          const va = A[(y0 + y) * width + x0 + x];
          const vb = B[(y0 + y) * width + x0 + x];
          ma += k * va;
          mb += k * vb;
          aa += k * va * va;
          bb += k * vb * vb;
          ab += k * va * vb;
        }
      const va = aa - ma * ma;
      const vb = bb - mb * mb;
      const cov = ab - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  return total / count;
}
