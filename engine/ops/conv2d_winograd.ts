// The forward of a 3×3 stride-1 convolution by Winograd F(2×2, 3×3) (kernels/winograd.ts), for
// CPU drivers where the plan asks for it: input and filter transforms, 16 products through the
// register GEMM, the output transform with bias and relu. Only the forward: conv2d records its
// usual node, whose gradients do not depend on how y was computed.

import type { ConvGeom } from '../../kernels/conv2d.ts';
import { winogradInputKernel, winogradOutputKernel, winogradTiles, winogradWeightKernel } from '../../kernels/winograd.ts';
import { dispatch } from '../run.ts';
import { empty, type Tensor } from '../tensor.ts';
import { bindableElements, bindElements, launchGemm } from './matmul.ts';

/** Fewer input channels leave the GEMM too short to pay for the transforms (measured: see docs/PERFORMANCE.md). */
export const WINOGRAD_MIN_C = 8;

/** Whether y = conv(x, w) of geometry g may take the Winograd path on this plan. */
export function winogradApplies(g: ConvGeom, x: Tensor): boolean {
  const p = x.storage.gpu.plan;
  return p.winograd && p.gemm === 'register' && g.KH === 3 && g.KW === 3 && g.SH === 1 && g.SW === 1 && g.C % 4 === 0 && g.O % 4 === 0 && g.C >= WINOGRAD_MIN_C;
}

/** y = conv(x, w) (+ b) (relu) by Winograd, a chunk of images at a time; false where nothing fits one binding. */
export function forwardWinograd(g: ConvGeom, x: Tensor, w: Tensor, b: Tensor | null, relu: boolean, y: Tensor): boolean {
  const op = 'conv2d';
  const L = bindableElements(x.storage.gpu);
  const { C, O, H, W, HO, WO } = g;
  const per = winogradTiles(HO, WO, 1);
  const tpi = per.tilesH * per.tilesW;
  const wide = 16 * Math.max(C, O);
  const nb = Math.min(g.N, Math.floor((L / wide - 3) / tpi), Math.floor(L / (H * W * C)), Math.floor(L / (HO * WO * O)));
  if (nb < 1 || 16 * C * O > L || w.size > L) return false;
  const V = empty([16, C, O]);
  try {
    const wb = bindElements(w, 0, w.size);
    dispatch(op, winogradWeightKernel(C, O, wb.rest), [wb.slice], [V]);
    const bb = b ? bindElements(b, 0, b.size) : null;
    for (let n0 = 0; n0 < g.N; n0 += nb) {
      const n = Math.min(nb, g.N - n0);
      const t = winogradTiles(HO, WO, n);
      const U = empty([16, C, t.TP]);
      const M = empty([16, t.TP, O]);
      try {
        const xb = bindElements(x, n0 * H * W * C, n * H * W * C);
        dispatch(op, winogradInputKernel(C, H, W, g.PT, g.PL, t, xb.rest), [xb.slice], [U]);
        launchGemm({
          op, a: U, b: V, c: M, batch: 16, M: t.TP, N: O, K: C, transA: true, transB: false,
          batchA: C * t.TP, batchB: C * O, alpha: 1, beta: 0,
        });
        const yb = bindElements(y, n0 * HO * WO * O, n * HO * WO * O);
        dispatch(op, winogradOutputKernel(O, HO, WO, t, !!bb, bb ? bb.rest : 0, yb.rest, relu), [M, bb ? bb.slice : null], [yb.slice]);
      } finally {
        // Safe before the GPU ran: the queue executes in order (as launchGemm's temporaries).
        U.dispose();
        M.dispose();
      }
    }
  } finally {
    V.dispose();
  }
  return true;
}
