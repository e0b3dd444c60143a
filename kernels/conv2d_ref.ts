// Plain-loop float64 references for kernels/conv2d.ts (forward, input and weight gradients):
// what the tests check every variant against.

import type { ConvGeom } from './conv2d.ts';


/** y[n, oy, ox, o] = Σ x[n, oy·s−pt+ky, ox·s−pl+kx, c] · w[ky, kx, c, o] + bias[o]. */
export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.N * g.HO * g.WO * g.O);
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let o = 0; o < g.O; o++) {
          let s = bias ? bias[o] : 0;
          for (let ky = 0; ky < g.KH; ky++) {
            const iy = oy * g.SH - g.PT + ky;
            if (iy < 0 || iy >= g.H) continue;
            for (let kx = 0; kx < g.KW; kx++) {
              const ix = ox * g.SW - g.PL + kx;
              if (ix < 0 || ix >= g.W) continue;
              for (let c = 0; c < g.C; c++) s += x[((n * g.H + iy) * g.W + ix) * g.C + c] * w[((ky * g.KW + kx) * g.C + c) * g.O + o];
            }
          }
          y[((n * g.HO + oy) * g.WO + ox) * g.O + o] = s;
        }
  return y;
}

/** dx = ∂(Σ y·dy)/∂x: each output position scatters dy·w back onto the input window. */
export function conv2dInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom): Float64Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.C);
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let ky = 0; ky < g.KH; ky++) {
          const iy = oy * g.SH - g.PT + ky;
          if (iy < 0 || iy >= g.H) continue;
          for (let kx = 0; kx < g.KW; kx++) {
            const ix = ox * g.SW - g.PL + kx;
            if (ix < 0 || ix >= g.W) continue;
            for (let c = 0; c < g.C; c++) {
              let s = 0;
              for (let o = 0; o < g.O; o++) s += dy[((n * g.HO + oy) * g.WO + ox) * g.O + o] * w[((ky * g.KW + kx) * g.C + c) * g.O + o];
              dx[((n * g.H + iy) * g.W + ix) * g.C + c] += s;
            }
          }
        }
  return dx;
}

/** dW = ∂(Σ y·dy)/∂W. */
export function conv2dWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeom): Float64Array {
  const dw = new Float64Array(g.KH * g.KW * g.C * g.O);
  for (let n = 0; n < g.N; n++)
    for (let oy = 0; oy < g.HO; oy++)
      for (let ox = 0; ox < g.WO; ox++)
        for (let ky = 0; ky < g.KH; ky++) {
          const iy = oy * g.SH - g.PT + ky;
          if (iy < 0 || iy >= g.H) continue;
          for (let kx = 0; kx < g.KW; kx++) {
            const ix = ox * g.SW - g.PL + kx;
            if (ix < 0 || ix >= g.W) continue;
            for (let c = 0; c < g.C; c++) {
              const xv = x[((n * g.H + iy) * g.W + ix) * g.C + c];
              for (let o = 0; o < g.O; o++) dw[((ky * g.KW + kx) * g.C + c) * g.O + o] += xv * dy[((n * g.HO + oy) * g.WO + ox) * g.O + o];
            }
          }
        }
  return dw;
}
