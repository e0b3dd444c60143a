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

import type { DevicePlan } from './plan.ts';
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import {
  type RegBlock,
  regAccDecl,
  regAccStep,
  regBlock,
  regEpilogue,
  regLoads,
  regMain,
  regTilesN,
  regWorkgroups,
} from './matmul.ts';
import { type Kernel, Uniforms } from './program.ts';
import { forwardSlots, GATHERS, gatherDy, inputGradSlots, type Slots, WEIGHT_GRAD_SLOTS } from './conv2d_tiled.ts';
import { kSplitOf, tiledGemmWgsl, tiledWorkgroups, tilesFor, TK } from './tiled.ts';

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
  let PT = 0, PB = 0, PL = 0, PR = 0, HO: number, WO: number;
  if (padding === 'same') {
    HO = Math.ceil(H / SH);
    WO = Math.ceil(W / SW);
    const ph = Math.max((HO - 1) * SH + KH - H, 0);
    const pw = Math.max((WO - 1) * SW + KW - W, 0);
    PT = Math.floor(ph / 2);
    PB = ph - PT;
    PL = Math.floor(pw / 2);
    PR = pw - PL;
  } else {
    if (padding !== 'valid') [PT, PB, PL, PR] = padding;
    HO = Math.floor((H + PT + PB - KH) / SH) + 1;
    WO = Math.floor((W + PL + PR - KW) / SW) + 1;
  }
  return { N, H, W, C, KH, KW, O, SH, SW, PT, PB, PL, PR, HO, WO };
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
  /** Forward only: add bias[offBias + o]. Its binding is always there (any buffer when false). */
  bias: boolean;
  /** Forward only: relu(conv + bias) in the store, sparing a dispatch and a pass over y. */
  relu?: boolean;
}

const CONV_U = /* wgsl */ `struct U {
  M: u32, N: u32, K: u32, NB: u32,
  H: u32, W: u32, C: u32, O: u32,
  KH: u32, KW: u32, SH: u32, SW: u32,
  PT: u32, PL: u32, HO: u32, WO: u32,
  off0: u32, off1: u32, offC: u32, offBias: u32,
  alpha: f32, beta: f32, hasBias: u32, tilesN: u32,
  kSplit: u32, p1: u32, p2: u32, p3: u32,
};`;

function convUniforms(g: ConvGeom, c: ConvChunk, d: { M: number; N: number; K: number }, tilesN = 0, kSplit = 0): ArrayBuffer {
  return new Uniforms()
    .u32(d.M, d.N, d.K, c.NB, g.H, g.W, g.C, g.O, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.HO, g.WO, c.off0, c.off1, c.offC, c.offBias)
    .f32(1, c.beta)
    .u32(c.bias ? 1 : 0, tilesN, kSplit, 0, 0, 0)
    .done();
}

const range = (n: number) => [...Array(n).keys()];
const el = (vec: boolean) => (vec ? 'vec4<f32>' : 'f32');

function bindings(in0: string, in1: string, vec0: boolean, vec1: boolean, cVec: boolean, bias: boolean): string {
  const nb = bias ? 3 : 2;
  return wgsl`
${CONV_U}
@group(0) @binding(0) var<storage, read> ${in0}: array<${el(vec0)}>;
@group(0) @binding(1) var<storage, read> ${in1}: array<${el(vec1)}>;
#if ${bias}
@group(0) @binding(2) var<storage, read> Bias: array<f32>;
#endif
@group(0) @binding(${nb}) var<storage, read_write> C: array<${el(cVec)}>;
@group(0) @binding(${nb + 1}) var<uniform> u: U;`;
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

function regTapWgsl(t: TapGemm, bVec: boolean, cVec: boolean, bias: boolean, blk: RegBlock, relu = false): string {
  const TM = 4 * blk.RM;
  const B = bRows(blk, bVec, 'Wt', 'wr + c');
  const A = regLoads(blk.RM, false, 'a', (q) => `select(0.0, ${t.in0}[xr${q} + c], ok${q})`);
  return `${bindings(t.in0, 'Wt', false, bVec, cVec, bias)}
${regMain(blk)}
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
  ${regEpilogue(blk, cVec, bias, 'u.offC + m * u.N + n', relu)}
}`;
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
const tiledStore = (bias: boolean, relu = false) => wgsl`
fn store(z: u32, m: u32, n: u32, v: f32) {
  let ci = u.offC + (z * u.M + m) * u.N + n;
  var s = v;
  if (u.beta != 0.0) { s += u.beta * C[ci]; }
#if ${bias}
  if (u.hasBias != 0u) { s += Bias[u.offBias + n]; }
#endif
#if ${relu}
  s = max(s, 0.0);
#endif
  C[ci] = s;
}`;

/**
 * One conv GEMM as a Kernel in either variant. `tiled` names the operands and their loads for
 * the workgroup-tiled GEMM; `reg` gives the register variant's compile-time facts and source.
 */
function convGemm(
  name: string,
  g: ConvGeom,
  c: ConvChunk,
  d: { M: number; N: number; K: number },
  plan: DevicePlan,
  tiled: { in0: string; in1: string; loads: string; bias: boolean; aKFast: boolean; relu?: boolean; splits?: number; slots: Slots },
  reg: () => { facts: (boolean | string)[]; blk: RegBlock; wgsl: (blk: RegBlock) => string },
): Kernel {
  const list: Kernel['bindings'] = tiled.bias ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'];
  const what = name.replace('_d', ' d').replace(' dw', ' dW');
  if (plan.gemm === 'tiled') {
    const split = (tiled.splits ?? 1) > 1;
    const { kSplit } = kSplitOf(d.K, tiled.splits ?? 1);
    const t = tilesFor(d.M, d.N, plan);
    return {
      key: `${name}:tiled:${t.TM}x${t.TN}${tiled.relu ? ':relu' : ''}${split ? ':splitk' : ''}:${tiled.slots.key}`,
      wgsl: () =>
        tiledGemmWgsl({
          decls: bindings(tiled.in0, tiled.in1, false, false, false, tiled.bias),
          loads: tiled.loads + (tiled.slots.loadA ?? ''),
          store: tiledStore(tiled.bias, !!tiled.relu),
          aKFast: tiled.aKFast,
          bKFast: false,
          splitK: split,
          aSlots: tiled.slots.code,
        }, t),
      bindings: list,
      uniforms: convUniforms(g, c, d, 0, kSplit),
      // Every one of `tiled.splits` partials is written (a split past K writes zeros + beta·old).
      workgroups: tiledWorkgroups(d.M, d.N, split ? (tiled.splits as number) : 1, what, t),
    };
  }
  const r = reg();
  return {
    key: `${name}:reg:${r.facts.join(':')}:${r.blk.RM}x${r.blk.RN}`,
    wgsl: () => r.wgsl(r.blk),
    bindings: list,
    uniforms: convUniforms(g, c, d, regTilesN(d.N, r.blk)),
    workgroups: regWorkgroups(d.M, d.N, 1, r.blk, what),
  };
}

/**
 * y = conv(x, W) (+ bias). Bindings: x, W [KH, KW, C, O], bias (any buffer when c.bias is false),
 * y. `splits` > 1 (tiled only; c.bias and c.relu off): `splits` partial y one after another.
 */
export function conv2dKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan, splits = 1): Kernel {
  const d = { M: c.NB * g.HO * g.WO, N: g.O, K: g.KH * g.KW * g.C };
  const relu = !!c.relu;
  const slots = forwardSlots(g.C % TK === 0);
  return convGemm('conv2d', g, c, d, plan, { in0: 'X', in1: 'Wt', loads: W_LOADS + GATHERS, bias: true, aKFast: true, relu, slots, splits }, () => {
    const wVec = g.O % 4 === 0 && c.off1 % 4 === 0;
    const cVec = g.O % 4 === 0 && c.offC % 4 === 0;
    return { facts: [wVec, cVec, ...(relu ? ['relu'] : [])], blk: regBlock(d.M, true), wgsl: (blk) => regTapWgsl(FORWARD, wVec, cVec, true, blk, relu) };
  });
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

/** dx from dy and W transposed per tap ([KH, KW, O, C]). Bindings: dy, Wᵀ, dx. */
export function conv2dInputGradKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan): Kernel {
  const d = { M: c.NB * g.H * g.W, N: g.C, K: g.KH * g.KW * g.O };
  const stride1 = g.SH === 1 && g.SW === 1;
  const slots = inputGradSlots(g.O % TK === 0);
  const key = `${slots.key}${stride1 ? 's1' : ''}`;
  return convGemm('conv2d_dx', g, c, d, plan, { in0: 'Dy', in1: 'Wt', loads: W_LOADS + gatherDy(stride1), bias: false, aKFast: true, slots: { ...slots, key } }, () => {
    const wVec = g.C % 4 === 0 && c.off1 % 4 === 0;
    const cVec = g.C % 4 === 0 && c.offC % 4 === 0;
    return { facts: [wVec, cVec], blk: regBlock(d.M, true), wgsl: (blk) => regTapWgsl(INPUT_GRAD, wVec, cVec, false, blk) };
  });
}

// ---------------------------------------------------------------------------------------------
// Weight gradient: rows are (tap, input channel), columns output channels, the reduction runs
// over the pixels of the batch, one rank-1 update per pixel. Both operands are contiguous along
// their free axis (channels), the fast case: vec4 loads on both sides when C, O are multiples of 4.

function regWeightGradWgsl(xVec: boolean, dyVec: boolean, cVec: boolean, blk: RegBlock): string {
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
  return `${bindings('X', 'Dy', xVec, dyVec, cVec, false)}
${regMain(blk)}
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
  ${regEpilogue(blk, cVec, false, 'u.offC + m * u.N + n')}
}`;
}

const DW_LOADS = /* wgsl */ `
fn loadB(z: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return Dy[u.off1 + k * u.N + n];
}`;

/**
 * dW from x and dy; beta = 1 adds to the output (batch pieces). Bindings: x, dy, dW. `splits` > 1
 * (tiled variant only): the output is `splits` partial dW one after another, to be summed.
 */
export function conv2dWeightGradKernel(g: ConvGeom, c: ConvChunk, plan: DevicePlan, splits = 1): Kernel {
  const d = { M: g.KH * g.KW * g.C, N: g.O, K: c.NB * g.HO * g.WO };
  return convGemm('conv2d_dw', g, c, d, plan, { in0: 'X', in1: 'Dy', loads: DW_LOADS + GATHERS, bias: false, aKFast: false, splits, slots: WEIGHT_GRAD_SLOTS }, () => {
    const xVec = g.C % 4 === 0 && c.off0 % 4 === 0;
    const dyVec = g.O % 4 === 0 && c.off1 % 4 === 0;
    const cVec = g.O % 4 === 0 && c.offC % 4 === 0;
    // Without vec4 along channels each row is gathered on its own (see regBlock).
    return { facts: [xVec, dyVec, cVec], blk: regBlock(d.M, !xVec), wgsl: (blk) => regWeightGradWgsl(xVec, dyVec, cVec, blk) };
  });
}
