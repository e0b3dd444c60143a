// Winograd F(m×m, 3×3) for 3×3 stride-1 convolutions on CPU drivers (Lavin & Gray 2015): each
// m×m block of outputs ("tile") costs α² = (m + 2)² multiplications per channel pair instead of
// 9m², so the GEMM — where the time goes on lavapipe — does 2.25× (m = 2) or 4× (m = 4) less
// work. Three kernels around one batched GEMM of kernels/matmul.ts (α² products, one per point ξ):
//
//   U[ξ, c, t] = (Bᵀ d B)[ξ]  for the α×α input patch d of tile t, channel c     (winograd_in)
//   V[ξ, c, o] = (G g Gᵀ)[ξ]  for the 3×3 filter g of channels c → o             (winograd_w)
//   M[ξ]       = U[ξ]ᵀ · V[ξ]  ([T, C] · [C, O], the register GEMM)
//   y tile     = Aᵀ m A (+ bias, relu) for m = M[·, t, o]                      (winograd_out)
//
// m = 2: Bᵀ, G, Aᵀ hold only 0, ±1 and ±½, so rounding stays that of a direct convolution.
// m = 4: points 0, ±1, ±2, ±½ — entries up to 8 and down to 1/24 cost about a decimal digit.
// U is written [ξ, C, T] (T contiguous) because the register GEMM reads A in vec4 only along its
// free axis: the input kernel takes 4 tiles × 4 channels (vec4) per thread and transposes in
// registers (for m = 4 that is 144 vec4 live, which spill; 2 channels in vec2 measured no faster
// on lavapipe: VGG16's block1_conv2 input transform 26 ms in vec4, 30–32 in vec2).
// T is padded to a multiple of 4; padded tiles read zeros and are never stored.
// Channels in vec4: C and O must be multiples of 4 (the op checks).
// Reference: kernels/conv2d_ref.ts (the tests compare against the direct convolution).

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 64;
const V4 = 'vec4<f32>';

/** Output tile side: F(2×2, 3×3) or F(4×4, 3×3). */
export type WinogradTile = 2 | 4;

const MATRICES: Record<WinogradTile, { BT: number[][]; G: number[][]; AT: number[][] }> = {
  2: {
    BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
};

/** Points of the transform: α² = (m + 2)². */
export const winogradPoints = (m: WinogradTile) => (m + 2) ** 2;

/** Σ row[k]·v[k] in WGSL, zeros skipped, ±1 as additions. */
function combo(row: number[], v: string[]): string {
  let s = '';
  row.forEach((c, k) => {
    if (c === 0) return;
    const mag = Math.abs(c);
    // Fractions as products (1/6 → 0.166666667): lavapipe's divisions cost ~5× a multiplication.
    const term = mag === 1 ? v[k] : `${Number.isInteger(mag) ? mag.toFixed(1) : mag.toPrecision(9)} * ${v[k]}`;
    s += s === '' ? (c < 0 ? `-${term}` : term) : c < 0 ? ` - ${term}` : ` + ${term}`;
  });
  return `(${s})`;
}

/** out = L · x · Lᵀ for an r×r grid of WGSL values named by `x(a, b)`: `let` lines; result names `${out}_a_b`. */
function sandwich(L: number[][], x: (a: number, b: number) => string, tmp: string, out: string): string[] {
  const lines: string[] = [];
  const r = L[0].length;
  for (let b = 0; b < r; b++) L.forEach((row, a) => lines.push(`let ${tmp}_${a}_${b} = ${combo(row, [...Array(r).keys()].map((k) => x(k, b)))};`));
  for (let a = 0; a < L.length; a++) L.forEach((row, b) => lines.push(`let ${out}_${a}_${b} = ${combo(row, [...Array(r).keys()].map((k) => `${tmp}_${a}_${k}`))};`));
  return lines;
}

/**
 * One chunk of tiles: tiles are numbered image by image, row by row; a chunk is T consecutive
 * ones starting at tile t0 of the first image its bindings hold.
 */
export interface WinogradTiles {
  m: WinogradTile;
  tilesH: number;
  tilesW: number;
  t0: number;
  /** Tiles of the chunk, and that rounded up to a multiple of 4 (the GEMM's rows). */
  T: number;
  TP: number;
}

export function winogradTiles(m: WinogradTile, HO: number, WO: number, t0: number, T: number): WinogradTiles {
  return { m, tilesH: Math.ceil(HO / m), tilesW: Math.ceil(WO / m), t0, T, TP: Math.ceil(T / 4) * 4 };
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
  main: (f: { m: WinogradTile }) => {
    const { m } = f;
    const a = m + 2, P = a * a;
    const { BT } = MATRICES[m];
    const tiles = [0, 1, 2, 3].map((j) => {
      const d = (p: number, q: number) => `d${j}_${p}_${q}`;
      const lines = [`let t = t4 * 4u + ${j}u;
    let img = (u.t0 + t) / u.tilesPerImage;
    let r = (u.t0 + t) % u.tilesPerImage;
    let y0 = i32(r / u.tilesW) * ${m} - i32(u.PT);
    let x0 = i32(r % u.tilesW) * ${m} - i32(u.PL);
    let base = u.offX4 + img * u.H * u.W * u.C4 + c4;`];
      for (let p = 0; p < a; p++)
        for (let q = 0; q < a; q++)
          lines.push(`var ${d(p, q)} = vec4<f32>(0.0);
    if (t < u.T && u32(y0 + ${p}) < u.H && u32(x0 + ${q}) < u.W) { ${d(p, q)} = X[base + (u32(y0 + ${p}) * u.W + u32(x0 + ${q})) * u.C4]; }`);
      lines.push(...sandwich(BT, d, `e${j}`, `v${j}`));
      for (let x = 0; x < P; x++) lines.push(`u${j}_${x} = v${j}_${Math.floor(x / a)}_${x % a};`);
      return `  {\n    ${lines.join('\n    ')}\n  }`;
    });
    const decl = [0, 1, 2, 3].map((j) => Array.from({ length: P }, (_, x) => `  var u${j}_${x}: vec4<f32>;`).join('\n')).join('\n');
    const stores: string[] = [];
    for (let x = 0; x < P; x++)
      for (const [k, ch] of [...'xyzw'].entries())
        stores.push(`  Ut[(${x}u * u.C4 * 4u + c4 * 4u + ${k}u) * u.TP4 + t4] = vec4<f32>(u0_${x}.${ch}, u1_${x}.${ch}, u2_${x}.${ch}, u3_${x}.${ch});`);
    return /* wgsl */ `let c4 = i % u.C4;
  let t4 = i / u.C4;
${decl}
${tiles.join('\n')}
${stores.join('\n')}`;
  },
});

const winogradW = defineKernel({
  name: 'winograd_w',
  bindings: [
    { name: 'Wk', access: 'read', type: V4 },
    { name: 'V', access: 'write', type: V4 },
  ],
  uniforms: { n: 'u32', C: 'u32', O4: 'u32', offW4: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f: { m: WinogradTile; flip: boolean }) => {
    const a = f.m + 2;
    const lines: string[] = [];
    // flip: the input gradient's filter, taps in reverse order (rotated by 180°).
    for (let p = 0; p < 3; p++)
      for (let q = 0; q < 3; q++) lines.push(`let g_${p}_${q} = Wk[u.offW4 + (${f.flip ? 8 - (p * 3 + q) : p * 3 + q}u * u.C + c) * u.O4 + o4];`);
    lines.push(...sandwich(MATRICES[f.m].G, (p, q) => `g_${p}_${q}`, 'h', 'v'));
    for (let p = 0; p < a; p++) for (let q = 0; q < a; q++) lines.push(`V[(${p * a + q}u * u.C + c) * u.O4 + o4] = v_${p}_${q};`);
    return /* wgsl */ `let o4 = i % u.O4;
  let c = i / u.O4;
  ${lines.join('\n  ')}`;
  },
});

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
  main: (f: { m: WinogradTile; relu: boolean }) => {
    const { m } = f;
    const a = m + 2;
    const lines: string[] = [];
    for (let x = 0; x < a * a; x++) lines.push(`let m_${Math.floor(x / a)}_${x % a} = Mx[(${x}u * u.TP + t) * u.O4 + o4];`);
    lines.push(...sandwich(MATRICES[m].AT, (p, q) => `m_${p}_${q}`, 'e', 'y'));
    for (let p = 0; p < m; p++)
      for (let q = 0; q < m; q++) {
        const v = `y_${p}_${q} + bias`;
        lines.push(`if (y0 + ${p}u < u.HO && x0 + ${q}u < u.WO) { Y[base + ((y0 + ${p}u) * u.WO + x0 + ${q}u) * u.O4] = ${f.relu ? `max(${v}, vec4<f32>(0.0))` : v}; }`);
      }
    return /* wgsl */ `let o4 = i % u.O4;
  let t = i / u.O4;
  let img = (u.t0 + t) / u.tilesPerImage;
  let r = (u.t0 + t) % u.tilesPerImage;
  let y0 = (r / u.tilesW) * ${m}u;
  let x0 = (r % u.tilesW) * ${m}u;
  let base = u.offY4 + img * u.HO * u.WO * u.O4 + o4;
  var bias = vec4<f32>(0.0);
  if (u.hasBias != 0u) { bias = Bias[u.offB4 + o4]; }
  ${lines.join('\n  ')}`;
  },
});

/** U [α², C, TP] from NHWC x (element offset offX, a multiple of 4) for the tiles `t` of a chunk. */
export function winogradInputKernel(C: number, H: number, W: number, PT: number, PL: number, t: WinogradTiles, offX: number): Kernel {
  return winogradIn({ m: t.m }, {
    n: (t.TP / 4) * (C / 4), C4: C / 4, TP4: t.TP / 4, T: t.T, t0: t.t0, H, W,
    tilesW: t.tilesW, tilesPerImage: t.tilesH * t.tilesW, PT, PL, offX4: offX / 4,
  });
}

/** V [α², C, O] from an HWIO 3×3 kernel (element offset offW, a multiple of 4), its taps reversed when `flip`. */
export function winogradWeightKernel(m: WinogradTile, C: number, O: number, offW: number, flip = false): Kernel {
  return winogradW({ m, flip }, { n: C * (O / 4), C, O4: O / 4, offW4: offW / 4 });
}

/** y (NHWC, element offset offY) from M [α², TP, O], plus bias[offB…] when `bias`, relu when asked. */
export function winogradOutputKernel(O: number, HO: number, WO: number, t: WinogradTiles, bias: boolean, offB: number, offY: number, relu: boolean): Kernel {
  return winogradOut({ m: t.m, relu }, {
    n: t.T * (O / 4), O4: O / 4, TP: t.TP, t0: t.t0, HO, WO, tilesW: t.tilesW, tilesPerImage: t.tilesH * t.tilesW,
    hasBias: bias ? 1 : 0, offB4: offB / 4, offY4: offY / 4,
  });
}
