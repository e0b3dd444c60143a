// The conv kernels' A operand for the tiled GEMM (kernels/tiled.ts): implicit-GEMM gathers of
// x (forward, dW) and dy (dx), as WGSL pieces that kernels/conv2d.ts puts into its kernels.

import { type TiledSource, TK } from './tiled.ts';

// Tiled variant: the gathers of A with each load slot's pixel arithmetic hoisted out of the K
// loop (TiledSource.aSlots). Forward and dx need the reduced channel count to be a multiple of
// the K-step (16): a step then never crosses a tap, found once per step for the whole
// workgroup. Otherwise (a first layer's 1 or 3 channels) each load divides its own k through
// loadA in a loop: unrolled per slot, those divisions cost SwiftShader minutes of compiling.

type ASlots = NonNullable<TiledSource['aSlots']>;

/** The A operand: per-slot code, or a plain loadA. */
export interface Slots {
  code?: ASlots;
  /** fn loadA, when there are no slots. */
  loadA?: string;
}

// X at (iy, ix) of the image at xb, channel c; Dy likewise through the transposed conv's taps.
export const GATHERS = /* wgsl */ `
fn gatherX(ok: bool, iy: i32, ix: i32, xb: u32, c: u32) -> f32 {
  let v = ok && iy >= 0 && iy < i32(u.H) && ix >= 0 && ix < i32(u.W);
  return select(0.0, X[select(0u, xb + (u32(iy) * u.W + u32(ix)) * u.C + c, v)], v);
}`;
// Stride 1 (most convs) needs no division: every tap reaches an output pixel.
export const gatherDy = (stride1: boolean) => /* wgsl */ `
fn gatherDy(ok: bool, ty: i32, tx: i32, db: u32, o: u32) -> f32 {
  ${stride1 ? 'let oy = ty; let ox = tx;' : 'let oy = ty / i32(u.SH); let ox = tx / i32(u.SW);'}
  let v = ok && ty >= 0 && tx >= 0 && ${stride1 ? '' : 'oy * i32(u.SH) == ty && ox * i32(u.SW) == tx && '}oy < i32(u.HO) && ox < i32(u.WO);
  return select(0.0, Dy[select(0u, db + (u32(oy) * u.WO + u32(ox)) * u.O + o, v)], v);
}`;

/** Once per K-step when `chans` % 16 == 0: the step's tap and first channel. */
const tapStep = (chans: string) => () => `let tap = t / ${chans}; let c0 = t % ${chans}; let ky = i32(tap / u.KW); let kx = i32(tap % u.KW);`;

export function forwardSlots(aligned: boolean): Slots {
  if (!aligned)
    return {
      loadA: /* wgsl */ `
fn loadA(z: u32, m: u32, k: u32) -> f32 {
  let p = min(m, u.M - 1u); let tap = k / u.C;
  let iy = i32((p / u.WO) % u.HO * u.SH + tap / u.KW) - i32(u.PT); let ix = i32(p % u.WO * u.SW + tap % u.KW) - i32(u.PL);
  return gatherX(m < u.M && k < u.K, iy, ix, u.off0 + p / (u.WO * u.HO) * u.H * u.W * u.C, k % u.C);
}`,
    };
  return {
    code: {
      setup: (i) => `let ok${i} = m${i} < u.M; let p${i} = min(m${i}, u.M - 1u);
  let oy${i} = i32((p${i} / u.WO) % u.HO * u.SH) - i32(u.PT); let ox${i} = i32(p${i} % u.WO * u.SW) - i32(u.PL);
  let xb${i} = u.off0 + p${i} / (u.WO * u.HO) * u.H * u.W * u.C;`,
      step: tapStep('u.C'),
      load: (i) => `gatherX(ok${i}, oy${i} + ky, ox${i} + kx, xb${i}, c0 + kk${i})`,
    },
  };
}

export function inputGradSlots(aligned: boolean): Slots {
  if (!aligned)
    return {
      loadA: /* wgsl */ `
fn loadA(z: u32, m: u32, k: u32) -> f32 {
  let p = min(m, u.M - 1u); let tap = k / u.O;
  let ty = i32((p / u.W) % u.H + u.PT) - i32(tap / u.KW); let tx = i32(p % u.W + u.PL) - i32(tap % u.KW);
  return gatherDy(m < u.M && k < u.K, ty, tx, u.off0 + p / (u.W * u.H) * u.HO * u.WO * u.O, k % u.O);
}`,
    };
  return {
    code: {
      setup: (i) => `let ok${i} = m${i} < u.M; let p${i} = min(m${i}, u.M - 1u);
  let ty${i} = i32((p${i} / u.W) % u.H + u.PT); let tx${i} = i32(p${i} % u.W + u.PL);
  let db${i} = u.off0 + p${i} / (u.W * u.H) * u.HO * u.WO * u.O;`,
      step: tapStep('u.O'),
      load: (i) => `gatherDy(ok${i}, ty${i} - ky, tx${i} - kx, db${i}, c0 + kk${i})`,
    },
  };
}

// dW: a slot's row is a (tap, channel), fixed; its k is a pixel of the batch, kept as
// (image, row, column) and advanced by the K-step without dividing.
export const WEIGHT_GRAD_SLOTS: ASlots = {
  setup: (i) => `let ok${i} = m${i} < u.M; let q${i} = min(m${i}, u.M - 1u); let ci${i} = q${i} % u.C;
  let ky${i} = i32(q${i} / u.C / u.KW) - i32(u.PT); let kx${i} = i32(q${i} / u.C % u.KW) - i32(u.PL);
  var pk${i} = kBeg + kk${i}; var px${i} = pk${i} % u.WO; var py${i} = (pk${i} / u.WO) % u.HO; var pb${i} = pk${i} / (u.WO * u.HO);`,
  step: () => '',
  load: (i) => `gatherX(ok${i} && pk${i} < u.K, i32(py${i} * u.SH) + ky${i}, i32(px${i} * u.SW) + kx${i}, u.off0 + pb${i} * u.H * u.W * u.C, ci${i})`,
  next: (i) => `pk${i} += ${TK}u; px${i} += ${TK}u;
    while (px${i} >= u.WO) { px${i} -= u.WO; py${i} += 1u; }
    while (py${i} >= u.HO) { py${i} -= u.HO; pb${i} += 1u; }`,
};
