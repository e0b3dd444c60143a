// Plain-loop float64 references for kernels/conv2d.ts (forward, input and weight gradients):
// what the tests check every variant against.

import type { ConvGeom } from './conv2d.ts';

/**
 * Every (output pixel, tap) pair whose tap lands inside the input: f gets the flat offsets of
 * x[n, iy, ix, 0], y[n, oy, ox, 0] and w[ky, kx, 0, 0]. The three passes differ only in what
 * they do with a pair.
 */
function forEachTap(g: ConvGeom, f: (xAt: number, yAt: number, wAt: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let ky = 0; ky < g.KH; ky++) {
          const iy = oy * g.SH - g.PT + ky;
          if (iy < 0 || iy >= g.H) continue;
          for (let kx = 0; kx < g.KW; kx++) {
            const ix = ox * g.SW - g.PL + kx;
            if (ix < 0 || ix >= g.W) continue;
            f(((n * g.H + iy) * g.W + ix) * g.C, ((n * g.HO + oy) * g.WO + ox) * g.O, (ky * g.KW + kx) * g.C * g.O);
          }
        }
}

/** y[n, oy, ox, o] = Σ x[n, oy·s−pt+ky, ox·s−pl+kx, c] · w[ky, kx, c, o] + bias[o]. */
export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.N * g.HO * g.WO * g.O);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % g.O];
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let o = 0; o < g.O; o++) y[ya + o] += x[xa + c] * w[wa + c * g.O + o];
  });
  return y;
}

/** dx = ∂(Σ y·dy)/∂x: each output position scatters dy·w back onto the input window. */
export function conv2dInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom): Float64Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.C);
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let o = 0; o < g.O; o++) dx[xa + c] += dy[ya + o] * w[wa + c * g.O + o];
  });
  return dx;
}

/** dW = ∂(Σ y·dy)/∂W. */
export function conv2dWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeom): Float64Array {
  const dw = new Float64Array(g.KH * g.KW * g.C * g.O);
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let o = 0; o < g.O; o++) dw[wa + c * g.O + o] += x[xa + c] * dy[ya + o];
  });
  return dw;
}
