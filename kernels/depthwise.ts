// Depthwise 2-D convolution (Keras DepthwiseConv2D), forward and both gradients, as its own
// kernels: each input channel c is convolved with its own M filters (M = depth_multiplier), so
// there is no reduction over channels and no GEMM to speak of. Layouts: x NHWC [N, H, W, C],
// kernel [KH, KW, C, M] (Keras' depthwise_kernel), y NHWC [N, HO, WO, C·M] with output channel
// o = c·M + m, bias [C·M]. Strides, dilation, padding 'same' | 'valid' (Keras/TF semantics).
//
//   forward  y[n,oy,ox,o] = Σ_{ky,kx} x[n, oy·sh + ky·dh − pt, ox·sw + kx·dw − pl, o/M] · W[ky,kx,o] (+ b[o])
//
// One thread per output element, taps in a loop. The flat index runs fastest along channels, so
// neighbouring threads read neighbouring channels of x and W: coalesced in NHWC. The gradients
// are the grouped conv's (below).

import { windowPads } from './conv2d.ts';
import { conv2dGeneralWeightGradSplits, type ConvGeneralGeom } from './conv2d_general.ts';
import type { Kernel } from './program.ts';
import { defineKernel, type UniformValues } from './spec.ts';

const WG = 256;

export interface DepthwiseGeom {
  N: number;
  H: number;
  W: number;
  C: number;
  KH: number;
  KW: number;
  /** Depth multiplier: filters per input channel. */
  M: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  PT: number;
  PB: number;
  PL: number;
  PR: number;
  HO: number;
  WO: number;
}

/**
 * Output size and pads for x [N, H, W, C] and kernel [KH, KW, C, M] (windowPads, with the dilated
 * window's span). HO or WO ≤ 0: the window does not fit (the op reports it).
 */
export function depthwiseGeometry(
  x: readonly number[],
  w: readonly number[],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  padding: 'same' | 'valid',
): DepthwiseGeom {
  const [N, H, W, C] = x;
  const [KH, KW, , M] = w;
  const [SH, SW] = strides;
  const [DH, DW] = dilation;
  return { N, H, W, C, KH, KW, M, SH, SW, DH, DW, ...windowPads(H, W, (KH - 1) * DH + 1, (KW - 1) * DW + 1, SH, SW, padding) };
}

const DW_UNIFORMS = {
  n: 'u32',
  H: 'u32', W: 'u32', C: 'u32', M: 'u32',
  KH: 'u32', KW: 'u32', SH: 'u32', SW: 'u32', DH: 'u32', DW: 'u32',
  PT: 'u32', PL: 'u32', HO: 'u32', WO: 'u32',
  hasBias: 'u32',
} as const;

type DwValues = UniformValues<typeof DW_UNIFORMS>;

function uniforms(g: DepthwiseGeom, n: number, extra: Partial<DwValues> = {}): DwValues {
  return {
    n, H: g.H, W: g.W, C: g.C, M: g.M,
    KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW,
    PT: g.PT, PL: g.PL, HO: g.HO, WO: g.WO,
    hasBias: 0, ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Forward: thread i = ((n·HO + oy)·WO + ox)·CM + o.

const forward = defineKernel({
  name: 'depthwiseConv2d',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Wk', access: 'read' },
    { name: 'Bias', access: 'read', optional: true },
    { name: 'Y', access: 'write' },
  ],
  uniforms: DW_UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => `let CM = u.C * u.M;
  let o = i % CM;
  let c = o / u.M;
  let p = i / CM;
  let ox = p % u.WO;
  let oy = (p / u.WO) % u.HO;
  let b = p / (u.WO * u.HO);
  let xb = b * u.H * u.W * u.C + c;
  let iy0 = i32(oy * u.SH) - i32(u.PT);
  let ix0 = i32(ox * u.SW) - i32(u.PL);
  var s = 0.0;
  if (u.hasBias != 0u) { s = Bias[o]; }
  for (var ky = 0u; ky < u.KH; ky++) {
    let iy = iy0 + i32(ky * u.DH);
    if (iy < 0 || iy >= i32(u.H)) { continue; }
    for (var kx = 0u; kx < u.KW; kx++) {
      let ix = ix0 + i32(kx * u.DW);
      if (ix < 0 || ix >= i32(u.W)) { continue; }
      s += X[xb + (u32(iy) * u.W + u32(ix)) * u.C] * Wk[(ky * u.KW + kx) * CM + o];
    }
  }
  Y[i] = s;`,
});

// The same with four channels per thread, where M = 1 and C is a multiple of 4 (MobileNet's
// every depthwise layer): x, W and y read and written as vec4. On lavapipe this quarters the
// per-thread index arithmetic, which dominated the scalar kernel. Thread i = pixel·(C/4) + quad.
const forwardVec4 = defineKernel({
  name: 'depthwiseConv2d',
  bindings: [
    { name: 'X', access: 'read', type: 'vec4<f32>' },
    { name: 'Wk', access: 'read', type: 'vec4<f32>' },
    { name: 'Bias', access: 'read', optional: true },
    { name: 'Y', access: 'write', type: 'vec4<f32>' },
  ],
  uniforms: DW_UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (_: { vec4: boolean }) => `let C4 = u.C / 4u;
  let o = i % C4;
  let p = i / C4;
  let ox = p % u.WO;
  let oy = (p / u.WO) % u.HO;
  let b = p / (u.WO * u.HO);
  let xb = b * u.H * u.W * C4 + o;
  let iy0 = i32(oy * u.SH) - i32(u.PT);
  let ix0 = i32(ox * u.SW) - i32(u.PL);
  var s = vec4<f32>(0.0);
  if (u.hasBias != 0u) { s = vec4<f32>(Bias[4u * o], Bias[4u * o + 1u], Bias[4u * o + 2u], Bias[4u * o + 3u]); }
  for (var ky = 0u; ky < u.KH; ky++) {
    let iy = iy0 + i32(ky * u.DH);
    if (iy < 0 || iy >= i32(u.H)) { continue; }
    for (var kx = 0u; kx < u.KW; kx++) {
      let ix = ix0 + i32(kx * u.DW);
      if (ix < 0 || ix >= i32(u.W)) { continue; }
      s += X[xb + (u32(iy) * u.W + u32(ix)) * C4] * Wk[(ky * u.KW + kx) * C4 + o];
    }
  }
  Y[i] = s;`,
});

/** y = depthwise(x, W) (+ bias). Bindings: x, W [KH, KW, C, M], bias (null when absent), y. */
export function depthwiseKernel(g: DepthwiseGeom, bias: boolean): Kernel {
  const hasBias = bias ? 1 : 0;
  if (g.M === 1 && g.C % 4 === 0) return forwardVec4({ vec4: true }, uniforms(g, (g.N * g.HO * g.WO * g.C) / 4, { hasBias }));
  return forward({}, uniforms(g, g.N * g.HO * g.WO * g.C * g.M, { hasBias }));
}

// ---------------------------------------------------------------------------------------------
// Gradients: a depthwise conv is the grouped conv with G = C groups of one channel and M outputs
// each, and [KH, KW, C, M] is the grouped kernel [KH, KW, 1, C·M] in the same memory, so dx and dW
// run on kernels/conv2d_general.ts's direct kernels with this geometry.

/** The grouped-conv geometry of a depthwise conv (G = C, O = C·M). */
export function depthwiseAsGrouped(g: DepthwiseGeom): ConvGeneralGeom {
  return { ...g, O: g.C * g.M, G: g.C };
}

/** Pixel splits of dW (as the grouped conv's). */
export function depthwiseWeightGradSplits(g: DepthwiseGeom): number {
  return conv2dGeneralWeightGradSplits(depthwiseAsGrouped(g));
}
