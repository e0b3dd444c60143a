// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions on CPU drivers (Lavin & Gray 2015):
// each 2×2 block of outputs ("tile") costs 16 multiplications per channel pair instead of 36,
// so the GEMM — where the time goes on lavapipe — does 2.25× less work. Three kernels around
// one batched GEMM of kernels/matmul.ts (16 products, one per point ξ of the 4×4 transform):
//
//   U[ξ, c, t] = (Bᵀ d B)[ξ]  for the 4×4 input patch d of tile t, channel c    (winograd_in)
//   V[ξ, c, o] = (G g Gᵀ)[ξ]  for the 3×3 filter g of channels c → o            (winograd_w)
//   M[ξ]       = U[ξ]ᵀ · V[ξ]  ([T, C] · [C, O], the register GEMM)
//   y tile     = Aᵀ m A (+ bias, relu) for m = M[·, t, o]                     (winograd_out)
//
// Bᵀ, G, Aᵀ hold only 0, ±1 and ±½, so rounding stays that of a direct convolution (F(4×4)
// would cut the work to 1/4 but its ±2, ±¼ points cost about a decimal digit). U is written
// [ξ, C, T] (T contiguous) because the register GEMM reads A in vec4 only along its free axis;
// the input kernel therefore takes 4 tiles × 4 channels per thread and transposes in registers.
// T is padded to a multiple of 4; padded tiles read zeros and are never stored.
// Channels in vec4: C and O must be multiples of 4 (the op checks).
// Reference: kernels/conv2d_ref.ts (the tests compare against the direct convolution).

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 64;
const V4 = 'vec4<f32>';

/**
 * One chunk of tiles: tiles are numbered image by image, row by row; a chunk is T consecutive
 * ones starting at tile t0 of the first image its bindings hold.
 */
export interface WinogradTiles {
  tilesH: number;
  tilesW: number;
  t0: number;
  /** Tiles of the chunk, and that rounded up to a multiple of 4 (the GEMM's rows). */
  T: number;
  TP: number;
}

export function winogradTiles(HO: number, WO: number, t0: number, T: number): WinogradTiles {
  return { tilesH: Math.ceil(HO / 2), tilesW: Math.ceil(WO / 2), t0, T, TP: Math.ceil(T / 4) * 4 };
}

// Bᵀ d for one column of 4 values (rows d0..d3): the same on rows, then on columns.
const bt = (d: string[]) => [`${d[0]} - ${d[2]}`, `${d[1]} + ${d[2]}`, `${d[2]} - ${d[1]}`, `${d[1]} - ${d[3]}`];

function inputTransform(j: number): string {
  const d = (a: number, b: number) => `d${j}_${a}${b}`;
  const lines: string[] = [];
  lines.push(`  {
    let t = t4 * 4u + ${j}u;
    let img = (u.t0 + t) / u.tilesPerImage;
    let r = (u.t0 + t) % u.tilesPerImage;
    let y0 = i32(r / u.tilesW) * 2 - i32(u.PT);
    let x0 = i32(r % u.tilesW) * 2 - i32(u.PL);
    let base = u.offX4 + img * u.H * u.W * u.C4 + c4;`);
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 4; b++)
      lines.push(`    var ${d(a, b)} = vec4<f32>(0.0);
    if (t < u.T && u32(y0 + ${a}) < u.H && u32(x0 + ${b}) < u.W) { ${d(a, b)} = X[base + (u32(y0 + ${a}) * u.W + u32(x0 + ${b})) * u.C4]; }`);
  // Rows first: e_ab = (Bᵀ d)_ab, then u_ab = (e B)_ab.
  for (let b = 0; b < 4; b++) {
    const col = bt([0, 1, 2, 3].map((a) => d(a, b)));
    for (let a = 0; a < 4; a++) lines.push(`    let e${j}_${a}${b} = ${col[a]};`);
  }
  for (let a = 0; a < 4; a++) {
    const row = bt([0, 1, 2, 3].map((b) => `e${j}_${a}${b}`));
    for (let b = 0; b < 4; b++) lines.push(`    u${j}_${a * 4 + b} = ${row[b]};`);
  }
  lines.push('  }');
  return lines.join('\n');
}

const winogradIn = defineKernel({
  name: 'winograd_in',
  bindings: [
    { name: 'X', access: 'read', type: V4 },
    { name: 'Ut', access: 'write', type: V4 },
  ],
  uniforms: { n: 'u32', C4: 'u32', TP4: 'u32', T: 'u32', t0: 'u32', H: 'u32', W: 'u32', tilesW: 'u32', tilesPerImage: 'u32', PT: 'u32', PL: 'u32', offX4: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => {
    const decl = [0, 1, 2, 3].map((j) => Array.from({ length: 16 }, (_, x) => `  var u${j}_${x}: vec4<f32>;`).join('\n')).join('\n');
    const stores: string[] = [];
    for (let x = 0; x < 16; x++)
      for (const [k, ch] of ['x', 'y', 'z', 'w'].entries())
        stores.push(`  Ut[(${x}u * u.C4 * 4u + c4 * 4u + ${k}u) * u.TP4 + t4] = vec4<f32>(u0_${x}.${ch}, u1_${x}.${ch}, u2_${x}.${ch}, u3_${x}.${ch});`);
    return /* wgsl */ `let c4 = i % u.C4;
  let t4 = i / u.C4;
${decl}
${[0, 1, 2, 3].map(inputTransform).join('\n')}
${stores.join('\n')}`;
  },
});

// G g Gᵀ with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
const gt = (g: string[]) => [g[0], `0.5 * (${g[0]} + ${g[1]} + ${g[2]})`, `0.5 * (${g[0]} - ${g[1]} + ${g[2]})`, g[2]];

const winogradW = defineKernel({
  name: 'winograd_w',
  bindings: [
    { name: 'Wk', access: 'read', type: V4 },
    { name: 'V', access: 'write', type: V4 },
  ],
  uniforms: { n: 'u32', C: 'u32', O4: 'u32', offW4: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => {
    const lines: string[] = [];
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) lines.push(`  let g${a}${b} = Wk[u.offW4 + (${a * 3 + b}u * u.C + c) * u.O4 + o4];`);
    for (let b = 0; b < 3; b++) {
      const col = gt([0, 1, 2].map((a) => `g${a}${b}`));
      for (let a = 0; a < 4; a++) lines.push(`  let h${a}${b} = ${col[a]};`);
    }
    for (let a = 0; a < 4; a++) {
      const row = gt([0, 1, 2].map((b) => `h${a}${b}`));
      for (let b = 0; b < 4; b++) lines.push(`  V[(${a * 4 + b}u * u.C + c) * u.O4 + o4] = ${row[b]};`);
    }
    return /* wgsl */ `let o4 = i % u.O4;
  let c = i / u.O4;
${lines.join('\n')}`;
  },
});

// Aᵀ m with Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]].
const at = (m: string[]) => [`${m[0]} + ${m[1]} + ${m[2]}`, `${m[1]} - ${m[2]} - ${m[3]}`];

const winogradOut = defineKernel({
  name: 'winograd_out',
  bindings: [
    { name: 'Mx', access: 'read', type: V4 },
    { name: 'Bias', access: 'read', type: V4, optional: true },
    { name: 'Y', access: 'write', type: V4 },
  ],
  uniforms: { n: 'u32', O4: 'u32', TP: 'u32', t0: 'u32', HO: 'u32', WO: 'u32', tilesW: 'u32', tilesPerImage: 'u32', hasBias: 'u32', offB4: 'u32', offY4: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f: { relu: boolean }) => {
    const lines: string[] = [];
    for (let x = 0; x < 16; x++) lines.push(`  let m${x} = Mx[(${x}u * u.TP + t) * u.O4 + o4];`);
    for (let b = 0; b < 4; b++) {
      const col = at([0, 1, 2, 3].map((a) => `m${a * 4 + b}`));
      for (let a = 0; a < 2; a++) lines.push(`  let e${a}${b} = ${col[a]};`);
    }
    for (let a = 0; a < 2; a++) {
      const row = at([0, 1, 2, 3].map((b) => `e${a}${b}`));
      for (let b = 0; b < 2; b++) {
        const v = `${row[b]} + bias`;
        lines.push(`  if (y0 + ${a}u < u.HO && x0 + ${b}u < u.WO) { Y[base + ((y0 + ${a}u) * u.WO + x0 + ${b}u) * u.O4] = ${f.relu ? `max(${v}, vec4<f32>(0.0))` : v}; }`);
      }
    }
    return /* wgsl */ `let o4 = i % u.O4;
  let t = i / u.O4;
  let img = (u.t0 + t) / u.tilesPerImage;
  let r = (u.t0 + t) % u.tilesPerImage;
  let y0 = (r / u.tilesW) * 2u;
  let x0 = (r % u.tilesW) * 2u;
  let base = u.offY4 + img * u.HO * u.WO * u.O4 + o4;
  var bias = vec4<f32>(0.0);
  if (u.hasBias != 0u) { bias = Bias[u.offB4 + o4]; }
${lines.join('\n')}`;
  },
});

/** U [16, C, TP] from NHWC x (element offset offX, a multiple of 4) for the tiles `t` of a chunk. */
export function winogradInputKernel(C: number, H: number, W: number, PT: number, PL: number, t: WinogradTiles, offX: number): Kernel {
  return winogradIn({}, {
    n: (t.TP / 4) * (C / 4), C4: C / 4, TP4: t.TP / 4, T: t.T, t0: t.t0, H, W,
    tilesW: t.tilesW, tilesPerImage: t.tilesH * t.tilesW, PT, PL, offX4: offX / 4,
  });
}

/** V [16, C, O] from an HWIO 3×3 kernel (element offset offW, a multiple of 4). */
export function winogradWeightKernel(C: number, O: number, offW: number): Kernel {
  return winogradW({}, { n: C * (O / 4), C, O4: O / 4, offW4: offW / 4 });
}

/** y (NHWC, element offset offY) from M [16, TP, O], plus bias[offB…] when `bias`, relu when asked. */
export function winogradOutputKernel(O: number, HO: number, WO: number, t: WinogradTiles, bias: boolean, offB: number, offY: number, relu: boolean): Kernel {
  return winogradOut({ relu }, {
    n: t.T * (O / 4), O4: O / 4, TP: t.TP, t0: t.t0, HO, WO, tilesW: t.tilesW, tilesPerImage: t.tilesH * t.tilesW,
    hasBias: bias ? 1 : 0, offB4: offB / 4, offY4: offY / 4,
  });
}
