// 2-D convolution as implicit GEMM (nothing is unfolded in memory), forward and both gradients.
// Layouts: input x NHWC [N, H, W, C], kernel HWIO [KH, KW, C, O] (Keras' own), output y NHWC
// [N, HO, WO, O], bias [O]. Dilation 1. Padding as Keras/TF: 'same' pads max((⌈H/s⌉−1)·s+k−H, 0)
// in total, the odd one at the bottom/right; explicit [top, bottom, left, right] pads for ONNX.
//
//   forward  y  = im2col(x)[N·HO·WO, KH·KW·C] · W[KH·KW·C, O]        (HWIO flattened is B as is)
//   dx       dx = col(dy)[N·H·W, KH·KW·O] · Wᵗ[KH·KW·O, C]            (a transposed conv, gathered
//                 per input pixel: a tap contributes where (i + pad − k) is a multiple of the stride;
//                 Wᵗ is W transposed per tap, [KH, KW, O, C], made by the op)
//   dW       dW = im2colᵀ(x)[KH·KW·C, N·HO·WO] · dy[N·HO·WO, O]
//
// Every output is a row-major [M, N] matrix (NHWC y, NHWC dx, HWIO dW). The register pieces come
// from kernels/matmul.ts, the tiled template from kernels/tiled.ts with the gathers of
// kernels/conv2d_tiled.ts; references are in kernels/conv2d_ref.ts. In the register kernels each
// step is a rank-1 update whose B row (W, Wᵗ or dy) is contiguous along the output columns, read
// in vec4. Forward and dx loop over taps outside and channels inside, so the bounds test of a tap
// is paid once per tap; their gathered rows are read one value per pixel (channels are the
// reduction axis there). dW reads x along channels, its free axis, in vec4 too.
//
// Each kernel is declared once per variant (kernels/spec.ts) under the label of the op that
// dispatches it: 'conv2d', 'conv2d.dx', 'conv2d.dW'.

import type { DevicePlan } from './plan.ts';
import {
  REG_WG,
  type RegBlock,
  regAccDecl,
  regAccStep,
  regBlock,
  regEpilogue,
  regLoads,
  regPrelude,
  regTilesN,
  regWorkgroups,
} from './matmul.ts';
import type { Kernel } from './program.ts';
import { type BindingDecl, defineKernel, type UniformValues } from './spec.ts';
import { forwardSlots, GATHERS, gatherDy, inputGradSlots, WEIGHT_GRAD_SLOTS } from './conv2d_tiled.ts';
import { kSplitOf, type TiledSource, type TileFacts, tiledParts, tiledWorkgroups, tilesFor, TK } from './tiled.ts';

/**
 * Convolution padding: 'valid' (none), 'same' (Keras/TF SAME: output size ⌈input / stride⌉, the extra pixel
 * at the bottom and right), or explicit [top, bottom, left, right].
 */
export type Padding = 'same' | 'valid' | readonly [number, number, number, number];

export interface ConvGeom {
  N: number;
  H: number;
  W: number;
  C: number;
  KH: number;
  KW: number;
  O: number;
  SH: number;
  SW: number;
  PT: number;
  PB: number;
  PL: number;
  PR: number;
  HO: number;
  WO: number;
}

/** Output size and pads; HO or WO ≤ 0 means the window does not fit (the op reports it). */
export function convGeometry(
  x: readonly number[],
  w: readonly number[],
  strides: readonly [number, number],
  padding: Padding,
): ConvGeom {
  const [N, H, W, C] = x;
  const [KH, KW, , O] = w;
  const [SH, SW] = strides;
  return { N, H, W, C, KH, KW, O, SH, SW, ...windowPads(H, W, KH, KW, SH, SW, padding) };
}

/**
 * Pads and output size of a window spanning spanH×spanW (a dilated window spans (k − 1)·d + 1)
 * moved by strides SH, SW. 'same' (TF/Keras) pads max((⌈H/s⌉ − 1)·s + span − H, 0) in total, the
 * odd one at the bottom/right; explicit pads are [top, bottom, left, right].
 */
export function windowPads(H: number, W: number, spanH: number, spanW: number, SH: number, SW: number, padding: Padding) {
  let PT = 0, PB = 0, PL = 0, PR = 0, HO: number, WO: number;
  if (padding === 'same') {
    HO = Math.ceil(H / SH);
    WO = Math.ceil(W / SW);
    const ph = Math.max((HO - 1) * SH + spanH - H, 0);
    const pw = Math.max((WO - 1) * SW + spanW - W, 0);
    PT = Math.floor(ph / 2);
    PB = ph - PT;
    PL = Math.floor(pw / 2);
    PR = pw - PL;
  } else {
    if (padding !== 'valid') [PT, PB, PL, PR] = padding;
    HO = Math.floor((H + PT + PB - spanH) / SH) + 1;
    WO = Math.floor((W + PL + PR - spanW) / SW) + 1;
  }
  return { PT, PB, PL, PR, HO, WO };
}

/** A dispatch over NB images: element offsets of the bindings (inputs 0, 1; output C; bias). */
export interface ConvChunk {
  NB: number;
  off0: number;
  off1: number;
  offC: number;
  offBias: number;
  /** Adds beta·(old output): the weight gradient accumulates over batch chunks. */
  beta: number;
  /** Forward only: add bias[offBias + o]. Its binding is optional (null when false). */
  bias: boolean;
  /** Forward only: relu(conv + bias) in the store, sparing a dispatch and a pass over y. */
  relu?: boolean;
}

const CONV_UNIFORMS = {
  M: 'u32', N: 'u32', K: 'u32', NB: 'u32',
  H: 'u32', W: 'u32', C: 'u32', O: 'u32',
  KH: 'u32', KW: 'u32', SH: 'u32', SW: 'u32',
  PT: 'u32', PL: 'u32', HO: 'u32', WO: 'u32',
  off0: 'u32', off1: 'u32', offC: 'u32', offBias: 'u32',
  alpha: 'f32', beta: 'f32', hasBias: 'u32', tilesN: 'u32',
  kSplit: 'u32',
  /** Partial outputs written (split-K; 1 otherwise): the grid's z. */
  splits: 'u32',
} as const;

type GemmDims = { M: number; N: number; K: number };

type ConvValues = UniformValues<typeof CONV_UNIFORMS>;

function convUniforms(g: ConvGeom, c: ConvChunk, d: GemmDims, v: Pick<ConvValues, 'tilesN' | 'kSplit' | 'splits'>): ConvValues {
  return {
    M: d.M, N: d.N, K: d.K, NB: c.NB,
    H: g.H, W: g.W, C: g.C, O: g.O,
    KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW,
    PT: g.PT, PL: g.PL, HO: g.HO, WO: g.WO,
    off0: c.off0, off1: c.off1, offC: c.offC, offBias: c.offBias,
    alpha: 1, beta: c.beta, hasBias: c.bias ? 1 : 0,
    ...v,
  };
}

const tiledUniforms = (g: ConvGeom, c: ConvChunk, d: GemmDims, splits: number) =>
  convUniforms(g, c, d, { tilesN: 0, kSplit: kSplitOf(d.K, splits).kSplit, splits });
const regUniforms = (g: ConvGeom, c: ConvChunk, d: GemmDims, blk: RegBlock) => convUniforms(g, c, d, { tilesN: regTilesN(d.N, blk), kSplit: 0, splits: 1 });

const range = (n: number) => [...Array(n).keys()];
const el = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');

/** The two inputs, the forward's optional bias, the output C. */
function convBindings(in0: string, in1: string, vec0: boolean, vec1: boolean, cVec: boolean, bias: boolean): BindingDecl[] {
  return [
    { name: in0, access: 'read', type: el(vec0) },
    { name: in1, access: 'read', type: el(vec1) },
    ...(bias ? [{ name: 'Bias', access: 'read', optional: true } as const] : []),
    { name: 'C', access: 'write', type: el(cVec) },
  ];
}

/** A register-variant conv kernel (workgroup REG_WG, one dispatch per batch chunk). */
function regConv<F extends RegBlock>(name: string, bindings: (f: F) => BindingDecl[], main: (f: F) => string) {
  return defineKernel({
    name,
    bindings,
    uniforms: CONV_UNIFORMS,
    workgroupSize: REG_WG,
    dispatch: (u, f: F) => regWorkgroups(u.M, u.N, 1, f, name),
    main,
  });
}

/** A tiled-variant conv kernel; every one of u.splits partials is written (a split past K writes zeros + beta·old). */
function tiledConv<F extends TileFacts>(name: string, bindings: BindingDecl[], source: (f: F) => TiledSource) {
  return defineKernel({
    name,
    bindings,
    uniforms: CONV_UNIFORMS,
    dispatch: (u, f: F) => tiledWorkgroups(u.M, u.N, u.splits, name, f),
    ...tiledParts(source),
  });
}

/** B = a row-major [K, N] matrix at off1 (W in the forward, Wᵗ in dx, dy in dW). */
function bRows(blk: RegBlock, vec: boolean, name: string, row: string) {
  const setup = vec
    ? range(blk.RN).map((c) => `let bc${c} = min(n0 / 4u + ${c}u, (u.N - 1u) / 4u);`)
    : range(4 * blk.RN).map((j) => `let bn${j} = min(n0 + ${j}u, u.N - 1u);`);
  const loads = regLoads(blk.RN, vec, 'b', (i) => (vec ? `${name}[(u.off1 + (${row}) * u.N) / 4u + bc${i}]` : `${name}[u.off1 + (${row}) * u.N + bn${i}]`));
  return { setup, loads };
}

/**
 * Forward and dx share one shape: rows are pixels gathered through taps, the reduction runs over
 * taps (outer loops, validity decided once per tap) and channels (inner loop, one rank-1 step per
 * channel: 4·RM scalar loads of the gathered rows, RN vec4 loads of a row of B).
 */
interface TapGemm {
  in0: string;
  /** Per-row setup, `q` = row within the block. */
  row: (q: number) => string;
  /** Per tap (ky, kx) and row: defines ok{q} and xr{q}, the row's element index at channel 0 (0 when invalid). */
  tap: (q: number) => string;
  /** Length of the channel loop, and the first row of B for this tap. */
  chan: string;
  bRow0: string;
}

function regTapMain(t: TapGemm, bVec: boolean, cVec: boolean, bias: boolean, blk: RegBlock, relu = false): string {
  const TM = 4 * blk.RM;
  const B = bRows(blk, bVec, 'Wt', 'wr + c');
  const A = regLoads(blk.RM, false, 'a', (q) => `select(0.0, ${t.in0}[xr${q} + c], ok${q})`);
  return `${regPrelude(blk)}
  ${range(TM).map(t.row).join('\n  ')}
  ${B.setup.join('\n  ')}
  ${regAccDecl(blk)}
  for (var ky = 0u; ky < u.KH; ky++) {
    for (var kx = 0u; kx < u.KW; kx++) {
      ${range(TM).map(t.tap).join('\n      ')}
      let wr = ${t.bRow0};
      for (var c = 0u; c < ${t.chan}; c++) {
        ${A.code}
        ${B.loads.code}
        ${regAccStep(blk, A.at, B.loads.vec)}
      }
    }
  }
  ${regEpilogue(blk, cVec, bias, 'u.offC + m * u.N + n', relu)}`;
}

// ---------------------------------------------------------------------------------------------
// Forward: rows are output pixels, columns output channels, B = W as stored.

const FORWARD: TapGemm = {
  in0: 'X',
  row: (q) => `let p${q} = min(m0 + ${q}u, u.M - 1u);
  let oy${q} = i32((p${q} / u.WO) % u.HO * u.SH) - i32(u.PT);
  let ox${q} = i32(p${q} % u.WO * u.SW) - i32(u.PL);
  let xb${q} = u.off0 + p${q} / (u.WO * u.HO) * u.H * u.W * u.C;`,
  tap: (q) => `let iy${q} = oy${q} + i32(ky); let ix${q} = ox${q} + i32(kx);
      let ok${q} = iy${q} >= 0 && iy${q} < i32(u.H) && ix${q} >= 0 && ix${q} < i32(u.W);
      let xr${q} = select(0u, xb${q} + (u32(iy${q}) * u.W + u32(ix${q})) * u.C, ok${q});`,
  chan: 'u.C',
  bRow0: '(ky * u.KW + kx) * u.C',
};

// B of the tiled forward and dx: W (or Wᵗ) rows as stored. A is gathered through the slots below.
const W_LOADS = /* wgsl */ `
fn loadB(z: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return Wt[u.off1 + k * u.N + n];
}`;

// Split-K partials (z > 0 only then) lie one [M, N] matrix after another.
const tiledStore = (bias: boolean, relu = false) => `
fn store(z: u32, m: u32, n: u32, v: f32) {
  let ci = u.offC + (z * u.M + m) * u.N + n;
  var s = v;
  if (u.beta != 0.0) { s += u.beta * C[ci]; }
  ${bias ? 'if (u.hasBias != 0u) { s += Bias[u.offBias + n]; }' : ''}
  ${relu ? 's = max(s, 0.0);' : ''}
  C[ci] = s;
}`;

/** Facts of the tiled forward and dx: whether the reduced channel count is a multiple of TK (see conv2d_tiled.ts). */
type Aligned = { aligned: boolean };

const forwardTiled = tiledConv('conv2d', convBindings('X', 'Wt', false, false, false, true), (f: TileFacts & Aligned & { relu: boolean; splitK: boolean }) => {
  const slots = forwardSlots(f.aligned);
  return { loads: W_LOADS + GATHERS + (slots.loadA ?? ''), store: tiledStore(true, f.relu), aKFast: true, bKFast: false, splitK: f.splitK, aSlots: slots.code };
});

const forwardReg = regConv(
  'conv2d',
  (f: RegBlock & { wVec: boolean; cVec: boolean; relu: boolean }) => convBindings('X', 'Wt', false, f.wVec, f.cVec, true),
  (f) => regTapMain(FORWARD, f.wVec, f.cVec, true, f, f.relu),
);

/**
 * y = conv(x, W) (+ bias). Bindings: x, W [KH, KW, C, O], bias (null when c.bias is false), y.
 * `splits` > 1 (tiled only; c.bias and c.relu off): `splits` partial y one after another.
 */
export function conv2dKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan, splits = 1): Kernel {
  const d = { M: c.NB * g.HO * g.WO, N: g.O, K: g.KH * g.KW * g.C };
  const relu = !!c.relu;
  if (plan.gemm === 'tiled') {
    const { TM, TN } = tilesFor(d.M, d.N, plan);
    return forwardTiled({ TM, TN, aligned: g.C % TK === 0, relu, splitK: splits > 1 }, tiledUniforms(g, c, d, splits));
  }
  const wVec = g.O % 4 === 0 && c.off1 % 4 === 0;
  const cVec = g.O % 4 === 0 && c.offC % 4 === 0;
  const blk = regBlock(d.M, true, plan.regTile);
  return forwardReg({ ...blk, wVec, cVec, relu }, regUniforms(g, c, d, blk));
}

// ---------------------------------------------------------------------------------------------
// Input gradient: rows are input pixels, columns input channels; the reduction runs over taps
// and output channels. B is W transposed per tap, [KH, KW, O, C] (the op makes it: W is small),
// so that a row of B is contiguous along the columns.

const INPUT_GRAD: TapGemm = {
  in0: 'Dy',
  row: (q) => `let p${q} = min(m0 + ${q}u, u.M - 1u);
  let ty${q} = i32((p${q} / u.W) % u.H + u.PT);
  let tx${q} = i32(p${q} % u.W + u.PL);
  let db${q} = u.off0 + p${q} / (u.W * u.H) * u.HO * u.WO * u.O;`,
  // The tap reaches output (oy, ox) only if (i + pad − k) is a non-negative multiple of the stride.
  tap: (q) => `let dy${q} = ty${q} - i32(ky); let dx${q} = tx${q} - i32(kx);
      let oy${q} = dy${q} / i32(u.SH); let ox${q} = dx${q} / i32(u.SW);
      let ok${q} = dy${q} >= 0 && dx${q} >= 0 && oy${q} * i32(u.SH) == dy${q} && ox${q} * i32(u.SW) == dx${q} && oy${q} < i32(u.HO) && ox${q} < i32(u.WO);
      let xr${q} = select(0u, db${q} + (u32(oy${q}) * u.WO + u32(ox${q})) * u.O, ok${q});`,
  chan: 'u.O',
  bRow0: '(ky * u.KW + kx) * u.O',
};

const inputGradTiled = tiledConv('conv2d.dx', convBindings('Dy', 'Wt', false, false, false, false), (f: TileFacts & Aligned & { stride1: boolean }) => {
  const slots = inputGradSlots(f.aligned);
  return { loads: W_LOADS + gatherDy(f.stride1) + (slots.loadA ?? ''), store: tiledStore(false), aKFast: true, bKFast: false, aSlots: slots.code };
});

const inputGradReg = regConv(
  'conv2d.dx',
  (f: RegBlock & { wVec: boolean; cVec: boolean }) => convBindings('Dy', 'Wt', false, f.wVec, f.cVec, false),
  (f) => regTapMain(INPUT_GRAD, f.wVec, f.cVec, false, f),
);

/** dx from dy and W transposed per tap ([KH, KW, O, C]). Bindings: dy, Wᵀ, dx. */
export function conv2dInputGradKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan): Kernel {
  const d = { M: c.NB * g.H * g.W, N: g.C, K: g.KH * g.KW * g.O };
  if (plan.gemm === 'tiled') {
    const { TM, TN } = tilesFor(d.M, d.N, plan);
    return inputGradTiled({ TM, TN, aligned: g.O % TK === 0, stride1: g.SH === 1 && g.SW === 1 }, tiledUniforms(g, c, d, 1));
  }
  const wVec = g.C % 4 === 0 && c.off1 % 4 === 0;
  const cVec = g.C % 4 === 0 && c.offC % 4 === 0;
  const blk = regBlock(d.M, true, plan.regTile);
  return inputGradReg({ ...blk, wVec, cVec }, regUniforms(g, c, d, blk));
}

// ---------------------------------------------------------------------------------------------
// Weight gradient: rows are (tap, input channel), columns output channels, the reduction runs
// over the pixels of the batch, one rank-1 update per pixel. Both operands are contiguous along
// their free axis (channels), the fast case: vec4 loads on both sides when C, O are multiples of 4.

function regWeightGradMain(xVec: boolean, dyVec: boolean, cVec: boolean, blk: RegBlock): string {
  const B = bRows(blk, dyVec, 'Dy', 'p');
  // With C % 4 == 0 a group of 4 rows is 4 consecutive channels of one tap: one vec4 load.
  const groups = xVec ? blk.RM : 4 * blk.RM;
  const rows = range(groups).map(
    (i) => `let mr${i} = min(m0 + ${xVec ? 4 * i : i}u, u.M - ${xVec ? 4 : 1}u);
  let ci${i} = mr${i} % u.C;
  let ky${i} = i32(mr${i} / u.C / u.KW) - i32(u.PT);
  let kx${i} = i32(mr${i} / u.C % u.KW) - i32(u.PL);`,
  );
  const gather = range(groups).map(
    (i) => `let iy${i} = iyb + ky${i}; let ix${i} = ixb + kx${i};
        let ok${i} = iy${i} >= 0 && iy${i} < i32(u.H) && ix${i} >= 0 && ix${i} < i32(u.W);
        let xi${i} = select(0u, xb + (u32(iy${i}) * u.W + u32(ix${i})) * u.C + ci${i}, ok${i});`,
  );
  const A = regLoads(blk.RM, xVec, 'a', (i) => (xVec ? `select(vec4<f32>(0.0), X[xi${i} / 4u], ok${i})` : `select(0.0, X[xi${i}], ok${i})`));
  return `${regPrelude(blk)}
  ${rows.join('\n  ')}
  ${B.setup.join('\n  ')}
  ${regAccDecl(blk)}
  var p = 0u;
  for (var b = 0u; b < u.NB; b++) {
    let xb = u.off0 + b * u.H * u.W * u.C;
    for (var oy = 0u; oy < u.HO; oy++) {
      let iyb = i32(oy * u.SH);
      for (var ox = 0u; ox < u.WO; ox++) {
        let ixb = i32(ox * u.SW);
        ${gather.join('\n        ')}
        ${A.code}
        ${B.loads.code}
        ${regAccStep(blk, A.at, B.loads.vec)}
        p++;
      }
    }
  }
  ${regEpilogue(blk, cVec, false, 'u.offC + m * u.N + n')}`;
}

const DW_LOADS = /* wgsl */ `
fn loadB(z: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return Dy[u.off1 + k * u.N + n];
}`;

const weightGradTiled = tiledConv('conv2d.dW', convBindings('X', 'Dy', false, false, false, false), (f: TileFacts & { splitK: boolean }) => ({
  loads: DW_LOADS + GATHERS,
  store: tiledStore(false),
  aKFast: false,
  bKFast: false,
  splitK: f.splitK,
  aSlots: WEIGHT_GRAD_SLOTS,
}));

const weightGradReg = regConv(
  'conv2d.dW',
  (f: RegBlock & { xVec: boolean; dyVec: boolean; cVec: boolean }) => convBindings('X', 'Dy', f.xVec, f.dyVec, f.cVec, false),
  (f) => regWeightGradMain(f.xVec, f.dyVec, f.cVec, f),
);

/**
 * dW from x and dy; beta = 1 adds to the output (batch pieces). Bindings: x, dy, dW. `splits` > 1
 * (tiled variant only): the output is `splits` partial dW one after another, to be summed.
 */
export function conv2dWeightGradKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan, splits = 1): Kernel {
  const d = { M: g.KH * g.KW * g.C, N: g.O, K: c.NB * g.HO * g.WO };
  if (plan.gemm === 'tiled') {
    const { TM, TN } = tilesFor(d.M, d.N, plan);
    return weightGradTiled({ TM, TN, splitK: splits > 1 }, tiledUniforms(g, c, d, splits));
  }
  const xVec = g.C % 4 === 0 && c.off0 % 4 === 0;
  const dyVec = g.O % 4 === 0 && c.off1 % 4 === 0;
  const cVec = g.O % 4 === 0 && c.offC % 4 === 0;
  // Without vec4 along channels each row is gathered on its own (see regBlock).
  const blk = regBlock(d.M, !xVec, plan.regTile);
  return weightGradReg({ ...blk, xVec, dyVec, cVec }, regUniforms(g, c, d, blk));
}
