// Image resize on NHWC tensors [N, H, W, C] → [N, OH, OW, C], following ONNX Resize (opset
// 11–19): nearest, (bi)linear and (bi)cubic interpolation, the coordinate transformation modes
// below, and the four nearest rounding modes. tf_crop_and_resize and antialias are not covered.
//
// Interpolation is separable, so each axis is described by a small TAP TABLE computed once on
// the host in float64: for output index o, K source indices (already clamped to the edge, as
// ONNX pads 'edge') and K weights (K = 1 nearest, 2 linear, 4 cubic). Computing the source
// coordinate on the host keeps ONNX's float64 rounding (a nearest tie at exactly .5 must not
// flip because a GPU divided in f32). Sizes travel as uniforms; only K is compiled in.
//
// Table layout (f32; indices are stored as exact small integers):
//   [y idx: OH·K][y w: OH·K][x idx: OW·K][x w: OW·K][y range: H·2][x range: W·2]
// where range[i] = [first, last + 1) of the output indices that have a tap on input index i.
// Forward: one thread per output element: Σ_a wy_a · Σ_b wx_b · x[iy_a, ix_b] (rows first,
// as the ONNX reference interpolates the inner axis first).
// Backward is a gather, one thread per input element: it walks the outputs in its y and x
// ranges and sums the weights of the taps that name it (no atomics).

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;

/** Interpolation of `resize`. */
export type ResizeMode = 'nearest' | 'bilinear' | 'bicubic';
/** How `resize` maps output to input coordinates (ONNX coordinate_transformation_mode). */
export type CoordMode = 'half_pixel' | 'align_corners' | 'asymmetric' | 'pytorch_half_pixel' | 'tf_half_pixel_for_nn' | 'half_pixel_symmetric';
/** How 'nearest' resizing rounds a fractional input coordinate (ONNX nearest_mode). */
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export interface ResizeSpec {
  mode: ResizeMode;
  coord: CoordMode;
  nearestMode: NearestMode;
  /** Cubic coefficient (ONNX cubic_coeff_a; −0.75 as ONNX and OpenCV, −0.5 as TF). */
  cubicA: number;
  /** Cubic: drop taps outside the input and renormalise (ONNX exclude_outside). */
  excludeOutside: boolean;
}

export const TAPS: Record<ResizeMode, number> = { nearest: 1, bilinear: 2, bicubic: 4 };

/**
 * ONNX x_original for output index o. `scale` is the ONNX scale (out/in unless given), so the
 * float output length scale·in can differ from the integer `outLen`.
 */
export function sourceCoord(o: number, inLen: number, outLen: number, scale: number, coord: CoordMode): number {
  const outF = scale * inLen;
  switch (coord) {
    case 'half_pixel':
      return (o + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outF === 1 ? -0.5 : (o + 0.5) / scale - 0.5;
    case 'align_corners':
      return outF === 1 ? 0 : (o * (inLen - 1)) / (outF - 1);
    case 'asymmetric':
      return o / scale;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / scale;
    case 'half_pixel_symmetric': {
      const offset = (inLen / 2) * (1 - outLen / outF);
      return offset + (o + 0.5) / scale - 0.5;
    }
  }
}

function cubicCoeffs(r: number, A: number): number[] {
  const far = (t: number) => ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; // 1 < t < 2
  const near = (t: number) => ((A + 2) * t - (A + 3)) * t * t + 1; // t ≤ 1
  return [far(r + 1), near(r), near(1 - r), far(2 - r)];
}

/** Taps of one axis: idx[o·K + k] (clamped to [0, inLen)) and weight w[o·K + k]. */
export function axisTaps(spec: ResizeSpec, inLen: number, outLen: number, scale: number): { idx: Int32Array; w: Float64Array } {
  const K = TAPS[spec.mode];
  const idx = new Int32Array(outLen * K);
  const w = new Float64Array(outLen * K);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoord(o, inLen, outLen, scale, spec.coord);
    const base = Math.floor(x);
    const r = x - base;
    if (spec.mode === 'nearest') {
      const up =
        r === 0
          ? false
          : spec.nearestMode === 'round_prefer_floor'
            ? r > 0.5
            : spec.nearestMode === 'round_prefer_ceil'
              ? r >= 0.5
              : spec.nearestMode === 'ceil';
      idx[o] = clamp(base + (up ? 1 : 0));
      w[o] = 1;
    } else if (spec.mode === 'bilinear') {
      idx.set([clamp(base), clamp(base + 1)], o * 2);
      w.set([1 - r, r], o * 2);
    } else {
      // (ONNX takes the ratio in (0, 1], shifting the taps down by one on integer coordinates;
      // there the weights are one-hot either way, so r = 0 gives the same result.)
      const c = cubicCoeffs(r, spec.cubicA);
      const taps = [base - 1, base, base + 1, base + 2];
      if (spec.excludeOutside) {
        taps.forEach((i, k) => (i < 0 || i >= inLen) && (c[k] = 0));
        const s = c.reduce((a, v) => a + v, 0);
        for (let k = 0; k < 4; k++) c[k] /= s;
      }
      idx.set(taps.map(clamp), o * 4);
      w.set(c, o * 4);
    }
  }
  return { idx, w };
}

export interface ResizeTable {
  data: Float32Array;
  K: number;
  /** Offsets (in floats) of y idx, y w, x idx, x w, y ranges, x ranges. */
  off: [number, number, number, number, number, number];
}

function ranges(idx: Int32Array, K: number, inLen: number): Float32Array {
  const r = new Float32Array(inLen * 2);
  for (let i = 0; i < inLen; i++) r[2 * i] = Number.MAX_SAFE_INTEGER;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    const o = Math.floor(j / K);
    r[2 * i] = Math.min(r[2 * i], o);
    r[2 * i + 1] = Math.max(r[2 * i + 1], o + 1);
  }
  for (let i = 0; i < inLen; i++) if (r[2 * i + 1] === 0) r[2 * i] = 0;
  return r;
}

export function resizeTable(spec: ResizeSpec, H: number, W: number, OH: number, OW: number, scaleH: number, scaleW: number): ResizeTable {
  const K = TAPS[spec.mode];
  const ty = axisTaps(spec, H, OH, scaleH);
  const tx = axisTaps(spec, W, OW, scaleW);
  const off: ResizeTable['off'] = [0, OH * K, 2 * OH * K, 2 * OH * K + OW * K, 2 * (OH + OW) * K, 2 * (OH + OW) * K + 2 * H];
  const data = new Float32Array(off[5] + 2 * W);
  data.set(ty.idx, off[0]);
  data.set(ty.w, off[1]);
  data.set(tx.idx, off[2]);
  data.set(tx.w, off[3]);
  data.set(ranges(ty.idx, K, H), off[4]);
  data.set(ranges(tx.idx, K, W), off[5]);
  return { data, K, off };
}

/** Sizes, and the offsets of the table's blocks (ResizeTable.off). */
const UNIFORMS = {
  n: 'u32', H: 'u32', W: 'u32', C: 'u32', OH: 'u32', OW: 'u32',
  yi: 'u32', yw: 'u32', xi: 'u32', xw: 'u32', ry: 'u32', rx: 'u32',
} as const;

function uniforms(n: number, H: number, W: number, C: number, OH: number, OW: number, t: ResizeTable) {
  const [yi, yw, xi, xw, ry, rx] = t.off;
  return { n, H, W, C, OH, OW, yi, yw, xi, xw, ry, rx };
}

/** K (taps per axis) is the only compile-time fact. */
const resize = defineKernel({
  name: 'resize',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'T', access: 'read' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: ({ K }: { K: number }) => /* wgsl */ `let c = i % u.C;
  let p = i / u.C;
  let ox = p % u.OW;
  let q = p / u.OW;
  let oy = q % u.OH;
  let nb = q / u.OH;
  var acc = 0.0;
  for (var a = 0u; a < ${K}u; a++) {
    let iy = u32(T[u.yi + oy * ${K}u + a]);
    let row = (nb * u.H + iy) * u.W;
    var s = 0.0;
    for (var b = 0u; b < ${K}u; b++) {
      let ix = u32(T[u.xi + ox * ${K}u + b]);
      s += T[u.xw + ox * ${K}u + b] * X[(row + ix) * u.C + c];
    }
    acc += T[u.yw + oy * ${K}u + a] * s;
  }
  Y[i] = acc;`,
});

/** Bindings: x, table → y [N, OH, OW, C]. */
export function resizeKernel(N: number, H: number, W: number, C: number, OH: number, OW: number, t: ResizeTable): Kernel {
  return resize({ K: t.K }, uniforms(N * OH * OW * C, H, W, C, OH, OW, t));
}

const resizeGrad = defineKernel({
  name: 'resize.grad',
  bindings: [
    { name: 'DY', access: 'read' },
    { name: 'T', access: 'read' },
    { name: 'DX', access: 'write' },
  ],
  uniforms: UNIFORMS,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: ({ K }: { K: number }) => /* wgsl */ `
// Total weight that output index o (table block at wi, idx block at ii) gives input index me.
fn weight(ii: u32, wi: u32, o: u32, me: u32) -> f32 {
  var w = 0.0;
  for (var k = 0u; k < ${K}u; k++) {
    if (u32(T[ii + o * ${K}u + k]) == me) { w += T[wi + o * ${K}u + k]; }
  }
  return w;
}`,
  main: () => /* wgsl */ `let c = i % u.C;
  let p = i / u.C;
  let ix = p % u.W;
  let q = p / u.W;
  let iy = q % u.H;
  let nb = q / u.H;
  let y0 = u32(T[u.ry + 2u * iy]);
  let y1 = u32(T[u.ry + 2u * iy + 1u]);
  let x0 = u32(T[u.rx + 2u * ix]);
  let x1 = u32(T[u.rx + 2u * ix + 1u]);
  var acc = 0.0;
  for (var oy = y0; oy < y1; oy++) {
    let wy = weight(u.yi, u.yw, oy, iy);
    if (wy == 0.0) { continue; }
    var s = 0.0;
    for (var ox = x0; ox < x1; ox++) {
      s += weight(u.xi, u.xw, ox, ix) * DY[((nb * u.OH + oy) * u.OW + ox) * u.C + c];
    }
    acc += wy * s;
  }
  DX[i] = acc;`,
});

/** Bindings: dy [N, OH, OW, C], table → dx [N, H, W, C]. */
export function resizeGradKernel(N: number, H: number, W: number, C: number, OH: number, OW: number, t: ResizeTable): Kernel {
  return resizeGrad({ K: t.K }, uniforms(N * H * W * C, H, W, C, OH, OW, t));
}

// ---- float64 reference: a literal transcription of the ONNX reference (op_resize.py) --------

/** The n indices nearest to x among [lo, hi), ties to the smaller, in ascending order. */
function nearestIndices(x: number, n: number, lo: number, hi: number): number[] {
  const all: number[] = [];
  for (let i = lo; i < hi; i++) all.push(i);
  all.sort((a, b) => Math.abs(x - a) - Math.abs(x - b) || a - b);
  return all.slice(0, n).sort((a, b) => a - b);
}

function interp1d(data: ArrayLike<number>, x: number, spec: ResizeSpec): number {
  const L = data.length;
  const xi = Math.floor(x);
  const ratio = Number.isInteger(x) ? 1 : x - xi;
  let coeffs: number[];
  if (spec.mode === 'nearest') {
    const m = spec.nearestMode;
    coeffs = Number.isInteger(x)
      ? [0, 1]
      : m === 'round_prefer_floor'
        ? [+(ratio <= 0.5), +(ratio > 0.5)]
        : m === 'round_prefer_ceil'
          ? [+(ratio < 0.5), +(ratio >= 0.5)]
          : m === 'floor'
            ? [1, 0]
            : [0, 1];
  } else if (spec.mode === 'bilinear') coeffs = [1 - ratio, ratio];
  else coeffs = cubicCoeffs(ratio, spec.cubicA);
  const n = coeffs.length;
  const pad = Math.ceil(n / 2);
  // Neighbours in the edge-padded array, mapped back to original (possibly outside) indices.
  const idxes = nearestIndices(x + pad, n, 0, L + 2 * pad).map((i) => i - pad);
  if (spec.excludeOutside) {
    idxes.forEach((i, k) => (i < 0 || i >= L) && (coeffs[k] = 0));
    const s = coeffs.reduce((a, v) => a + v, 0);
    coeffs = coeffs.map((v) => v / s);
  }
  let y = 0;
  idxes.forEach((i, k) => (y += coeffs[k] * data[Math.min(Math.max(i, 0), L - 1)]));
  return y;
}

export function resizeRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  OH: number,
  OW: number,
  spec: ResizeSpec,
  scales?: readonly [number, number],
): Float64Array {
  const [N, H, W, C] = shape;
  const [sh, sw] = scales ?? [OH / H, OW / W];
  const y = new Float64Array(N * OH * OW * C);
  const rowBuf = new Float64Array(W);
  const colBuf = new Float64Array(H);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let ox = 0; ox < OW; ox++) {
        // Inner axis first: each input row interpolated at this output column...
        const xo = sourceCoord(ox, W, OW, sw, spec.coord);
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) rowBuf[w] = x[((n * H + h) * W + w) * C + c];
          colBuf[h] = interp1d(rowBuf, xo, spec);
        }
        // ...then that column interpolated at each output row.
        for (let oy = 0; oy < OH; oy++)
          y[((n * OH + oy) * OW + ox) * C + c] = interp1d(colBuf, sourceCoord(oy, H, OH, sh, spec.coord), spec);
      }
  return y;
}
