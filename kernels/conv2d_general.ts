// 2-D convolution with dilation and groups (Keras Conv2D(dilation_rate, groups)), forward and
// both gradients, as plain direct kernels: one thread per output element, taps and channels in
// loops. The implicit-GEMM kernels of kernels/conv2d.ts stay the path for dilation 1, groups 1;
// these serve only the layers that ask for more (DeepLab's atrous convs, ResNeXt's groups).
//
// Layouts: x NHWC [N, H, W, C], kernel HWIO [KH, KW, C/G, O] (Keras' own: each group of C/G input
// channels has its own O/G filters), y NHWC [N, HO, WO, O]. Output channel o belongs to group
// g = o / (O/G) and reads input channels g·(C/G) … (g+1)·(C/G) − 1. A dilated window spans
// (k − 1)·d + 1 pixels, and 'same' pads that span as TF does (windowPads).
//
//   forward  y[n,oy,ox,o]    = Σ_{ky,kx,c<C/G} x[n, oy·sh + ky·dh − pt, ox·sw + kx·dw − pl, g·C/G + c] · W[ky,kx,c,o] (+ b[o])
//   dx       dx[n,iy,ix,c]   = Σ_{ky,kx,o in g} dy[n,oy,ox,o] · W[ky,kx,c mod C/G,o]   where oy·sh = iy + pt − ky·dh
//   dW       dW[ky,kx,c,o]   = Σ_{n,oy,ox} x[n, iy, ix, g·C/G + c] · dy[n,oy,ox,o]     (in S pixel splits)
//
// The flat index runs fastest along channels, so neighbouring threads read neighbouring channels
// of W and dy: coalesced in NHWC. dW, with few outputs and a reduction over every pixel of the
// batch, writes S partial sums over pixel ranges that the op adds up (as depthwise's dW does).
// Tensors are bound whole: dispatch reports one above the binding limit, naming the op.

import { type Padding, windowPads } from './conv2d.ts';
import type { Kernel } from './program.ts';
import { defineKernel, type UniformValues } from './spec.ts';

const WG = 256;

export interface ConvGeneralGeom {
  N: number;
  H: number;
  W: number;
  C: number;
  KH: number;
  KW: number;
  O: number;
  /** Groups: C and O are multiples of G. */
  G: number;
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
 * Output size and pads for x [N, H, W, C] and kernel [KH, KW, C/G, O] (windowPads with the
 * dilated window's span). HO or WO ≤ 0: the window does not fit (the op reports it).
 */
export function convGeneralGeometry(
  x: readonly number[],
  w: readonly number[],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  groups: number,
  padding: Padding,
): ConvGeneralGeom {
  const [N, H, W, C] = x;
  const [KH, KW, , O] = w;
  const [SH, SW] = strides;
  const [DH, DW] = dilation;
  return { N, H, W, C, KH, KW, O, G: groups, SH, SW, DH, DW, ...windowPads(H, W, (KH - 1) * DH + 1, (KW - 1) * DW + 1, SH, SW, padding) };
}

const GEN_UNIFORMS = {
  n: 'u32',
  H: 'u32', W: 'u32', C: 'u32', O: 'u32',
  /** Channels per group: input C/G, output O/G. */
  Cg: 'u32', Og: 'u32',
  KH: 'u32', KW: 'u32', SH: 'u32', SW: 'u32', DH: 'u32', DW: 'u32',
  PT: 'u32', PL: 'u32', HO: 'u32', WO: 'u32',
  /** Forward only: add Bias[o]; relu(conv + bias) (a uniform, not a fact: one pipeline fewer to compile). */
  hasBias: 'u32', relu: 'u32',
  /** dW only: pixels per split (the last split may hold fewer), and pixels in the batch. */
  chunk: 'u32',
  pixels: 'u32',
} as const;

type GenValues = UniformValues<typeof GEN_UNIFORMS>;

function uniforms(g: ConvGeneralGeom, n: number, extra: Partial<GenValues> = {}): GenValues {
  return {
    n, H: g.H, W: g.W, C: g.C, O: g.O, Cg: g.C / g.G, Og: g.O / g.G,
    KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW,
    PT: g.PT, PL: g.PL, HO: g.HO, WO: g.WO,
    hasBias: 0, relu: 0, chunk: 0, pixels: g.N * g.HO * g.WO, ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Forward: thread i = ((n·HO + oy)·WO + ox)·O + o.

const forward = defineKernel({
  name: 'conv2d_general',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Wk', access: 'read' },
    { name: 'Bias', access: 'read', optional: true },
    { name: 'Y', access: 'write' },
  ],
  uniforms: GEN_UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => `let o = i % u.O;
  let p = i / u.O;
  let ox = p % u.WO;
  let oy = (p / u.WO) % u.HO;
  let b = p / (u.WO * u.HO);
  let xb = b * u.H * u.W * u.C + (o / u.Og) * u.Cg;
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
      let xr = xb + (u32(iy) * u.W + u32(ix)) * u.C;
      let wr = (ky * u.KW + kx) * u.Cg * u.O + o;
      for (var c = 0u; c < u.Cg; c++) { s += X[xr + c] * Wk[wr + c * u.O]; }
    }
  }
  if (u.relu != 0u) { s = max(s, 0.0); }
  Y[i] = s;`,
});

/** y = conv(x, W) (+ bias), relu of it with `relu`. Bindings: x, W [KH, KW, C/G, O], bias (null when absent), y. */
export function conv2dGeneralKernel(g: ConvGeneralGeom, bias: boolean, relu: boolean): Kernel {
  return forward({}, uniforms(g, g.N * g.HO * g.WO * g.O, { hasBias: bias ? 1 : 0, relu: relu ? 1 : 0 }));
}

// ---------------------------------------------------------------------------------------------
// Input gradient: thread i = ((n·H + iy)·W + ix)·C + c. A tap (ky, kx) reaches output row oy
// only where iy + pt − ky·dh is a non-negative multiple of sh below HO·sh (likewise columns);
// it sums over the O/G output channels of c's group.

const inputGrad = defineKernel({
  name: 'conv2d_general.dx',
  bindings: [
    { name: 'Dy', access: 'read' },
    { name: 'Wk', access: 'read' },
    { name: 'Dx', access: 'write' },
  ],
  uniforms: GEN_UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => `let c = i % u.C;
  let p = i / u.C;
  let ix = p % u.W;
  let iy = (p / u.W) % u.H;
  let b = p / (u.W * u.H);
  let o0 = (c / u.Cg) * u.Og;
  let cl = c % u.Cg;
  let db = b * u.HO * u.WO * u.O + o0;
  let ty = i32(iy + u.PT);
  let tx = i32(ix + u.PL);
  var s = 0.0;
  for (var ky = 0u; ky < u.KH; ky++) {
    let dy = ty - i32(ky * u.DH);
    let oy = dy / i32(u.SH);
    if (dy < 0 || oy * i32(u.SH) != dy || oy >= i32(u.HO)) { continue; }
    for (var kx = 0u; kx < u.KW; kx++) {
      let dx = tx - i32(kx * u.DW);
      let ox = dx / i32(u.SW);
      if (dx < 0 || ox * i32(u.SW) != dx || ox >= i32(u.WO)) { continue; }
      let dr = db + (u32(oy) * u.WO + u32(ox)) * u.O;
      let wr = ((ky * u.KW + kx) * u.Cg + cl) * u.O + o0;
      for (var m = 0u; m < u.Og; m++) { s += Dy[dr + m] * Wk[wr + m]; }
    }
  }
  Dx[i] = s;`,
});

/** dx from dy and W. Bindings: dy, W, dx. */
export function conv2dGeneralInputGradKernel(g: ConvGeneralGeom): Kernel {
  return inputGrad({}, uniforms(g, g.N * g.H * g.W * g.C));
}

// ---------------------------------------------------------------------------------------------
// Weight gradient: thread i = z·E + ((ky·KW + kx)·(C/G) + c)·O + o, E = KH·KW·(C/G)·O and z the
// pixel split; it sums over pixels [z·chunk, min((z+1)·chunk, N·HO·WO)) of the batch.

const weightGrad = defineKernel({
  name: 'conv2d_general.dW',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Dy', access: 'read' },
    { name: 'Dw', access: 'write' },
  ],
  uniforms: GEN_UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => `let E = u.KH * u.KW * u.Cg * u.O;
  let z = i / E;
  let e = i % E;
  let o = e % u.O;
  let c = (o / u.Og) * u.Cg + (e / u.O) % u.Cg;
  let kx = (e / (u.O * u.Cg)) % u.KW;
  let ky = e / (u.O * u.Cg * u.KW);
  let P = u.WO * u.HO;
  let p0 = z * u.chunk;
  let p1 = min(p0 + u.chunk, u.pixels);
  var s = 0.0;
  for (var p = p0; p < p1; p++) {
    let ox = p % u.WO;
    let oy = (p / u.WO) % u.HO;
    let b = p / P;
    let iy = i32(oy * u.SH + ky * u.DH) - i32(u.PT);
    let ix = i32(ox * u.SW + kx * u.DW) - i32(u.PL);
    if (iy < 0 || iy >= i32(u.H) || ix < 0 || ix >= i32(u.W)) { continue; }
    s += X[((b * u.H + u32(iy)) * u.W + u32(ix)) * u.C + c] * Dy[p * u.O + o];
  }
  Dw[i] = s;`,
});

/** Pixel splits of dW: enough threads to fill a GPU, at least 64 pixels per thread. */
export function conv2dGeneralWeightGradSplits(g: ConvGeneralGeom): number {
  const E = g.KH * g.KW * (g.C / g.G) * g.O;
  const pixels = g.N * g.HO * g.WO;
  return Math.max(1, Math.min(Math.ceil(pixels / 64), Math.floor(16384 / E)));
}

/** `splits` partial dW ([splits, KH, KW, C/G, O], to be summed) from x and dy. Bindings: x, dy, partials. */
export function conv2dGeneralWeightGradKernel(g: ConvGeneralGeom, splits: number): Kernel {
  const E = g.KH * g.KW * (g.C / g.G) * g.O;
  const chunk = Math.ceil((g.N * g.HO * g.WO) / splits);
  return weightGrad({}, uniforms(g, splits * E, { chunk }));
}
