// Plain-loop float64 references for kernels/conv2d_general.ts (dilation and groups): what the
// tests check the kernels against.

import type { ConvGeneralGeom } from './conv2d_general.ts';

/**
 * Every (output pixel, tap) pair whose dilated tap lands inside the input: f gets the flat offsets
 * of x[n, iy, ix, 0], y[n, oy, ox, 0] and w[ky, kx, 0, 0]. The three passes differ only in what
 * they do with a pair; eachPair walks the channel pairs a pair connects.
 */
function forEachTap(g: ConvGeneralGeom, f: (xAt: number, yAt: number, wAt: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let ky = 0; ky < g.KH; ky++) {
          const iy = oy * g.SH - g.PT + ky * g.DH;
          if (iy < 0 || iy >= g.H) continue;
          for (let kx = 0; kx < g.KW; kx++) {
            const ix = ox * g.SW - g.PL + kx * g.DW;
            if (ix < 0 || ix >= g.W) continue;
            f(((n * g.H + iy) * g.W + ix) * g.C, ((n * g.HO + oy) * g.WO + ox) * g.O, (ky * g.KW + kx) * (g.C / g.G) * g.O);
          }
        }
}

/** f(input channel, output channel, offset of w[·, ·, c mod C/G, o]) for the pairs that share a group. */
function eachPair(g: ConvGeneralGeom, f: (c: number, o: number, wOff: number) => void): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  for (let gi = 0; gi < g.G; gi++)
    for (let cl = 0; cl < Cg; cl++) for (let o = gi * Og; o < (gi + 1) * Og; o++) f(gi * Cg + cl, o, cl * g.O + o);
}

/** y[n, oy, ox, o] = Σ x[n, oy·sh−pt+ky·dh, ox·sw−pl+kx·dw, g·C/G + c] · w[ky, kx, c, o] + bias[o], g = o / (O/G). */
export function conv2dGeneralRef(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeneralGeom, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.N * g.HO * g.WO * g.O);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % g.O];
  forEachTap(g, (xa, ya, wa) => eachPair(g, (c, o, wo) => (y[ya + o] += x[xa + c] * w[wa + wo])));
  return y;
}

/** dx = ∂(Σ y·dy)/∂x. */
export function conv2dGeneralInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeneralGeom): Float64Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.C);
  forEachTap(g, (xa, ya, wa) => eachPair(g, (c, o, wo) => (dx[xa + c] += dy[ya + o] * w[wa + wo])));
  return dx;
}

/** dW = ∂(Σ y·dy)/∂W, [KH, KW, C/G, O]. */
export function conv2dGeneralWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeneralGeom): Float64Array {
  const dw = new Float64Array(g.KH * g.KW * (g.C / g.G) * g.O);
  forEachTap(g, (xa, ya, wa) => eachPair(g, (c, o, wo) => (dw[wa + wo] += x[xa + c] * dy[ya + o])));
  return dw;
}
