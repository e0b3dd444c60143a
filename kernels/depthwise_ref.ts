// Plain-loop float64 references for kernels/depthwise.ts: what the tests check the kernels against.

import type { DepthwiseGeom } from './depthwise.ts';

/**
 * Every (output pixel, tap) pair whose dilated tap lands inside the input: f gets the flat offsets
 * of x[n, iy, ix, 0], y[n, oy, ox, 0] and w[ky, kx, 0, 0]. The three passes differ only in what
 * they do with a pair (for every c, m: output channel c·M + m reads input channel c).
 */
function forEachTap(g: DepthwiseGeom, f: (xAt: number, yAt: number, wAt: number) => void): void {
  const CM = g.C * g.M;
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let ky = 0; ky < g.KH; ky++) {
          const iy = oy * g.SH - g.PT + ky * g.DH;
          if (iy < 0 || iy >= g.H) continue;
          for (let kx = 0; kx < g.KW; kx++) {
            const ix = ox * g.SW - g.PL + kx * g.DW;
            if (ix < 0 || ix >= g.W) continue;
            f(((n * g.H + iy) * g.W + ix) * g.C, ((n * g.HO + oy) * g.WO + ox) * CM, (ky * g.KW + kx) * CM);
          }
        }
}

/** y[n, oy, ox, c·M+m] = Σ x[n, oy·sh−pt+ky·dh, ox·sw−pl+kx·dw, c] · w[ky, kx, c, m] + bias[c·M+m]. */
export function depthwiseRef(x: ArrayLike<number>, w: ArrayLike<number>, g: DepthwiseGeom, bias?: ArrayLike<number>): Float64Array {
  const CM = g.C * g.M;
  const y = new Float64Array(g.N * g.HO * g.WO * CM);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % CM];
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let m = 0; m < g.M; m++) y[ya + c * g.M + m] += x[xa + c] * w[wa + c * g.M + m];
  });
  return y;
}

/** dx = ∂(Σ y·dy)/∂x. */
export function depthwiseInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: DepthwiseGeom): Float64Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.C);
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let m = 0; m < g.M; m++) dx[xa + c] += dy[ya + c * g.M + m] * w[wa + c * g.M + m];
  });
  return dx;
}

/** dW = ∂(Σ y·dy)/∂W, [KH, KW, C, M]. */
export function depthwiseWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, g: DepthwiseGeom): Float64Array {
  const dw = new Float64Array(g.KH * g.KW * g.C * g.M);
  forEachTap(g, (xa, ya, wa) => {
    for (let c = 0; c < g.C; c++) for (let m = 0; m < g.M; m++) dw[wa + c * g.M + m] += x[xa + c] * dy[ya + c * g.M + m];
  });
  return dw;
}
