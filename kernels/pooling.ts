// 2-D max / average pooling on NHWC tensors ([N, H, W, C], as Keras), and the gradient of global
// average pooling (its forward pass is a column sum per image: engine/ops/reduce.ts sumMiddle).
// Forward: one thread per output element (n, oh, ow, c); consecutive threads differ in c, so a
// warp reads consecutive addresses. Window tap (kh, kw) of output (oh, ow) reads input row
// ih = oh·sh − padT + kh·dh (columns likewise); taps outside [0, H) × [0, W) are padding.
// Max pooling ignores padding and, when asked, writes the argmax as the int32 flat spatial
// index ih·W + iw of the first maximum in window order (−1 for a window with no valid tap).
// Average pooling divides by the number of valid taps (Keras/TF 'same', ONNX default) or, with
// includePad, by the taps inside the padded extent [−padT, H + padB) (ONNX count_include_pad).
// Backward is a gather, one thread per INPUT element: for each tap offset (kh, kw) the window
// that would read this element through that tap is oh = (ih + padT − kh·dh) / sh when exact;
// max adds dy where the saved argmax names this element, avg adds dy / count. No atomics.
// Each kernel is named by the op that dispatches it (engine/ops/pooling.ts): maxPool2d,
// maxPool2d.grad, maxPool2d.gather (the scatter's adjoint, for second derivatives), avgPool2d,
// avgPool2d.grad, globalAvgPool.grad.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const WG = 256;
const LOWEST = -3.4028234663852886e38; // −FLT_MAX (bits 0xff7fffff): the max of a window with no valid tap

export type PoolKind = 'max' | 'avg';

/** Sizes of one pooling: input, output, window, strides, dilations and the four pads. */
export interface PoolGeom {
  N: number;
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padT: number;
  padB: number;
  padL: number;
  padR: number;
}

/** Pooling padding: 'valid' (none), 'same' (Keras/TF SAME), or explicit [top, bottom, left, right]. */
export type PoolPadding = 'valid' | 'same' | readonly [number, number, number, number];

/**
 * Output size and pads. 'same' is Keras/TF SAME (SAME_UPPER): out = ceil(in/s), total pad
 * max((out−1)·s + k_eff − in, 0) with the extra row/column at the bottom/right. Explicit pads
 * are [top, bottom, left, right]; ceilMode rounds the output size up as ONNX ceil_mode does
 * (without a last window that would start in the bottom/right padding).
 * OH or OW may come out ≤ 0: the caller rejects that.
 */
export function poolGeometry(
  shape: readonly number[],
  pool: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  padding: PoolPadding,
  ceilMode = false,
): PoolGeom {
  const [N, H, W, C] = shape;
  const [ph, pw] = pool;
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const kh = (ph - 1) * dh + 1;
  const kw = (pw - 1) * dw + 1;
  let pads: [number, number, number, number];
  let OH: number;
  let OW: number;
  if (padding === 'same') {
    OH = Math.ceil(H / sh); // ceil mode changes nothing here
    OW = Math.ceil(W / sw);
    const th = Math.max((OH - 1) * sh + kh - H, 0);
    const tw = Math.max((OW - 1) * sw + kw - W, 0);
    pads = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    pads = padding === 'valid' ? [0, 0, 0, 0] : [padding[0], padding[1], padding[2], padding[3]];
    const round = ceilMode ? Math.ceil : Math.floor;
    OH = round((H + pads[0] + pads[1] - kh) / sh) + 1;
    OW = round((W + pads[2] + pads[3] - kw) / sw) + 1;
    // Ceil mode must not add a window that starts in the bottom/right padding (it would see no
    // input at all): the rule of PyTorch and ONNX Runtime.
    if (ceilMode && (OH - 1) * sh >= H + pads[0]) OH--;
    if (ceilMode && (OW - 1) * sw >= W + pads[2]) OW--;
  }
  return { N, H, W, C, OH, OW, ph, pw, sh, sw, dh, dw, padT: pads[0], padB: pads[1], padL: pads[2], padR: pads[3] };
}

/** Sizes every pooling kernel reads (signed where padded coordinates can go negative). */
const GEOM = {
  n: 'u32', H: 'i32', W: 'i32', C: 'u32', OH: 'i32', OW: 'i32',
  ph: 'i32', pw: 'i32', sh: 'i32', sw: 'i32', dh: 'i32', dw: 'i32',
  padT: 'i32', padB: 'i32', padL: 'i32', padR: 'i32',
} as const;
/** Average pooling also reads whether the padding counts (ONNX count_include_pad). */
const AVG_GEOM = { ...GEOM, incl: 'u32' } as const;

/** `n` threads over geometry g. */
function geom(n: number, g: PoolGeom) {
  const { H, W, C, OH, OW, ph, pw, sh, sw, dh, dw, padT, padB, padL, padR } = g;
  return { n, H, W, C, OH, OW, ph, pw, sh, sw, dh, dw, padT, padB, padL, padR };
}

/** Taps of window (oh, ow) counted by average pooling (valid ones, or those inside the padding). */
const COUNT_FN = /* wgsl */ `
fn axis_count(o: i32, s: i32, d: i32, k: i32, pb: i32, pa: i32, size: i32) -> i32 {
  let lo = select(0, -pb, u.incl == 1u);
  let hi = select(size, size + pa, u.incl == 1u);
  var c = 0;
  for (var t = 0; t < k; t++) {
    let i = o * s - pb + t * d;
    if (i >= lo && i < hi) { c++; }
  }
  return c;
}
fn window_count(oh: i32, ow: i32) -> f32 {
  return f32(axis_count(oh, u.sh, u.dh, u.ph, u.padT, u.padB, u.H) * axis_count(ow, u.sw, u.dw, u.pw, u.padL, u.padR, u.W));
}`;

/** Keras' default pool (window = stride, no padding or dilation): the windows are disjoint. */
const disjoint = (g: PoolGeom) => g.ph === g.sh && g.pw === g.sw && g.padT === 0 && g.padL === 0 && g.dh === 1 && g.dw === 1;

/** Four channels per thread as one vec4 when C % 4 == 0 (disjoint windows only). */
const lanesOf = (C: number) => (C % 4 === 0 ? 4 : 1);
const vecF = (lanes: number) => (lanes === 4 ? 'vec4<f32>' : 'f32');
const vecI = (lanes: number) => (lanes === 4 ? 'vec4<i32>' : 'i32');

/** WGSL: thread i's channel group c (CL per pixel) and its pixel (x, y) of image nb on a w×h grid. */
const pixelOf = (lanes: number, x: string, y: string, w: string, h: string) => `let CL = u.C / ${lanes}u;
  let c = i % CL;
  let p = i / CL;
  let ${x} = i32(p % u32(${w}));
  let q = p / u32(${w});
  let ${y} = i32(q % u32(${h}));
  let nb = q / u32(${h});`;

/** One thread per output element walks its window, skipping taps in the padding. */
function windowMain(kind: PoolKind, arg: boolean): string {
  const body = kind === 'max' ? `if (v > acc || arg < 0) { acc = v; arg = ih * u.W + iw; }` : `acc += v;`;
  const finish =
    kind === 'max'
      ? `Y[i] = acc;${arg ? '\n  A[i] = arg;' : ''}`
      : `let cnt = window_count(oh, ow);\n  Y[i] = select(0.0, acc / cnt, cnt > 0.0);`;
  return /* wgsl */ `let c = i % u.C;
  let p = i / u.C;
  let ow = i32(p % u32(u.OW));
  let q = p / u32(u.OW);
  let oh = i32(q % u32(u.OH));
  let nb = q / u32(u.OH);
  var acc = ${kind === 'max' ? 'bitcast<f32>(0xff7fffffu)' : '0.0'};
  var arg = -1;
  for (var kh = 0; kh < u.ph; kh++) {
    let ih = oh * u.sh - u.padT + kh * u.dh;
    if (ih < 0 || ih >= u.H) { continue; }
    for (var kw = 0; kw < u.pw; kw++) {
      let iw = ow * u.sw - u.padL + kw * u.dw;
      if (iw < 0 || iw >= u.W) { continue; }
      let v = X[((nb * u32(u.H) + u32(ih)) * u32(u.W) + u32(iw)) * u.C + c];
      ${body}
    }
  }
  ${finish}`;
}

/**
 * Disjoint windows inside the input (Keras' 2×2/2 'valid' pool): no padding or bounds checks,
 * the taps' addresses follow from the first one, and with C % 4 == 0 each thread takes four
 * channels as one vec4 (a quarter of the index arithmetic, which is most of the cost).
 */
function disjointMaxMain(lanes: number, arg: boolean): string {
  return /* wgsl */ `${pixelOf(lanes, 'ow', 'oh', 'u.OW', 'u.OH')}
  let ih0 = oh * u.sh;
  let iw0 = ow * u.sw;
  let row = u32(u.W) * CL;
  let base = ((nb * u32(u.H) + u32(ih0)) * u32(u.W) + u32(iw0)) * CL + c;
  var acc = X[base];
  var arg = ${vecI(lanes)}(ih0 * u.W + iw0);
  for (var kh = 0; kh < u.ph; kh++) {
    for (var kw = 0; kw < u.pw; kw++) {
      let v = X[base + u32(kh) * row + u32(kw) * CL];
      let gt = v > acc;
      acc = select(acc, v, gt);
      arg = select(arg, ${vecI(lanes)}((ih0 + kh) * u.W + iw0 + kw), gt);
    }
  }
  Y[i] = acc;${arg ? '\n  A[i] = arg;' : ''}`;
}

/** x → y, plus the argmax (int32, y's shape) when `arg`. `lanes` > 1 only when `disjoint`. */
const maxPool = defineKernel({
  name: 'maxPool2d',
  bindings: (f: { disjoint: boolean; lanes: number; arg: boolean }) => [
    { name: 'X', access: 'read', type: vecF(f.lanes) },
    { name: 'Y', access: 'write', type: vecF(f.lanes) },
    ...(f.arg ? [{ name: 'A', access: 'write', type: vecI(f.lanes) } as const] : []),
  ],
  uniforms: GEOM,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => (f.disjoint ? disjointMaxMain(f.lanes, f.arg) : windowMain('max', f.arg)),
});

const avgPool = defineKernel({
  name: 'avgPool2d',
  bindings: [
    { name: 'X', access: 'read' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: AVG_GEOM,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: () => COUNT_FN,
  main: () => windowMain('avg', false),
});

/** Bindings: x → y, and → argmax (int32, same shape as y) when `withArgmax`. */
export function maxPoolKernel(g: PoolGeom, withArgmax = false): Kernel {
  const n = g.N * g.OH * g.OW * g.C;
  const inside = (g.OH - 1) * g.sh + g.ph <= g.H && (g.OW - 1) * g.sw + g.pw <= g.W;
  const fast = disjoint(g) && inside;
  const lanes = fast ? lanesOf(g.C) : 1;
  return maxPool({ disjoint: fast, lanes, arg: withArgmax }, geom(n / lanes, g));
}

/** Bindings: x → y. */
export function avgPoolKernel(g: PoolGeom, includePad = false): Kernel {
  return avgPool({}, { ...geom(g.N * g.OH * g.OW * g.C, g), incl: includePad ? 1 : 0 });
}

/**
 * Backward, one thread per input element, summing over the windows that read it: max adds dy
 * where the saved argmax names this element, avg adds dy / count.
 */
function gatherMain(max: boolean): string {
  return /* wgsl */ `let c = i % u.C;
  let p = i / u.C;
  let iw = i32(p % u32(u.W));
  let q = p / u32(u.W);
  let ih = i32(q % u32(u.H));
  let nb = q / u32(u.H);
  let me = ih * u.W + iw;
  var acc = 0.0;
  for (var kh = 0; kh < u.ph; kh++) {
    let rh = ih + u.padT - kh * u.dh;
    if (rh < 0 || rh % u.sh != 0 || rh / u.sh >= u.OH) { continue; }
    let oh = rh / u.sh;
    for (var kw = 0; kw < u.pw; kw++) {
      let rw = iw + u.padL - kw * u.dw;
      if (rw < 0 || rw % u.sw != 0 || rw / u.sw >= u.OW) { continue; }
      let ow = rw / u.sw;
      let o = ((nb * u32(u.OH) + u32(oh)) * u32(u.OW) + u32(ow)) * u.C + c;
${max ? '      if (A[o] == me) { acc += DY[o]; }' : '      acc += DY[o] / window_count(oh, ow);'}
    }
  }
  DX[i] = acc;`;
}

/**
 * Disjoint windows (Keras' default 2×2/2 pool): each input lies in at most one window, found
 * with one division per axis instead of a loop of signed divisions (slow on CPU drivers).
 */
function disjointMaxGradMain(lanes: number): string {
  const f = vecF(lanes);
  return /* wgsl */ `${pixelOf(lanes, 'iw', 'ih', 'u.W', 'u.H')}
  let oh = ih / u.sh;
  let ow = iw / u.sw;
  var v = ${f}(0.0);
  if (oh < u.OH && ow < u.OW) {
    let o = ((nb * u32(u.OH) + u32(oh)) * u32(u.OW) + u32(ow)) * CL + c;
    v = select(${f}(0.0), DY[o], A[o] == ${vecI(lanes)}(ih * u.W + iw));
  }
  DX[i] = v;`;
}

const maxPoolGrad = defineKernel({
  name: 'maxPool2d.grad',
  bindings: (f: { disjoint: boolean; lanes: number }) => [
    { name: 'DY', access: 'read', type: vecF(f.lanes) },
    { name: 'A', access: 'read', type: vecI(f.lanes) },
    { name: 'DX', access: 'write', type: vecF(f.lanes) },
  ],
  uniforms: GEOM,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: (f) => (f.disjoint ? disjointMaxGradMain(f.lanes) : gatherMain(true)),
});

const avgPoolGrad = defineKernel({
  name: 'avgPool2d.grad',
  bindings: [
    { name: 'DY', access: 'read' },
    { name: 'DX', access: 'write' },
  ],
  uniforms: AVG_GEOM,
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: () => COUNT_FN,
  main: () => gatherMain(false),
});

/** Bindings: dy, argmax → dx. */
export function maxPoolGradKernel(g: PoolGeom): Kernel {
  const n = g.N * g.H * g.W * g.C;
  const lanes = disjoint(g) ? lanesOf(g.C) : 1;
  return maxPoolGrad({ disjoint: disjoint(g), lanes }, geom(n / lanes, g));
}

/** Bindings: dy → dx. */
export function avgPoolGradKernel(g: PoolGeom, includePad = false): Kernel {
  return avgPoolGrad({}, { ...geom(g.N * g.H * g.W * g.C, g), incl: includePad ? 1 : 0 });
}

/**
 * The adjoint of max pooling's backward scatter (its own gradient, for second derivatives):
 * y[n, oh, ow, c] = g[n, argmax, c], 0 where the window had no valid tap. One thread per output.
 */
const maxPoolGather = defineKernel({
  name: 'maxPool2d.gather',
  bindings: [
    { name: 'G', access: 'read' },
    { name: 'A', access: 'read', type: 'i32' },
    { name: 'Y', access: 'write' },
  ],
  uniforms: { n: 'u32', hw: 'u32', ohw: 'u32', C: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => /* wgsl */ `let c = i % u.C;
  let nb = i / (u.ohw * u.C);
  let a = A[i];
  Y[i] = select(0.0, G[(nb * u.hw + u32(max(a, 0))) * u.C + c], a >= 0);`,
});

/** Bindings: g [N, H, W, C], argmax [N, OH, OW, C] → y [N, OH, OW, C]. */
export function maxPoolGatherKernel(g: PoolGeom): Kernel {
  return maxPoolGather({}, { n: g.N * g.OH * g.OW * g.C, hw: g.H * g.W, ohw: g.OH * g.OW, C: g.C });
}

/** dx[n, h, w, c] = dy[n, c] / (H·W): one thread per input element. */
const globalAvgPoolGrad = defineKernel({
  name: 'globalAvgPool.grad',
  bindings: [
    { name: 'DY', access: 'read' },
    { name: 'DX', access: 'write' },
  ],
  uniforms: { n: 'u32', hw: 'u32', C: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  main: () => /* wgsl */ `let c = i % u.C;
  let nb = i / (u.hw * u.C);
  DX[i] = DY[nb * u.C + c] / f32(u.hw);`,
});

/** Bindings: dy [N, C] → dx [N, H, W, C]. */
export function globalAvgPoolGradKernel(N: number, HW: number, C: number): Kernel {
  return globalAvgPoolGrad({}, { n: N * HW * C, hw: HW, C });
}

// ---- float64 references (plain loops) -------------------------------------------------------

/** y as [N, OH, OW, C]; argmax as flat spatial index ih·W + iw (max only, −1 if no valid tap). */
export function poolRef(kind: PoolKind, x: ArrayLike<number>, g: PoolGeom, includePad = false): { y: Float64Array; argmax: Int32Array } {
  const y = new Float64Array(g.N * g.OH * g.OW * g.C);
  const argmax = new Int32Array(y.length).fill(-1);
  const count = (o: number, s: number, d: number, k: number, pb: number, pa: number, size: number) => {
    let c = 0;
    for (let t = 0; t < k; t++) {
      const i = o * s - pb + t * d;
      if (includePad ? i >= -pb && i < size + pa : i >= 0 && i < size) c++;
    }
    return c;
  };
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let c = 0; c < g.C; c++) {
          const o = ((n * g.OH + oh) * g.OW + ow) * g.C + c;
          let acc = kind === 'max' ? LOWEST : 0;
          for (let kh = 0; kh < g.ph; kh++) {
            const ih = oh * g.sh - g.padT + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (let kw = 0; kw < g.pw; kw++) {
              const iw = ow * g.sw - g.padL + kw * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              const v = x[((n * g.H + ih) * g.W + iw) * g.C + c];
              if (kind === 'avg') acc += v;
              else if (v > acc || argmax[o] < 0) {
                acc = v;
                argmax[o] = ih * g.W + iw;
              }
            }
          }
          if (kind === 'max') y[o] = acc;
          else {
            const cnt = count(oh, g.sh, g.dh, g.ph, g.padT, g.padB, g.H) * count(ow, g.sw, g.dw, g.pw, g.padL, g.padR, g.W);
            y[o] = cnt > 0 ? acc / cnt : 0;
          }
        }
  return { y, argmax };
}

export function globalAvgPoolRef(x: ArrayLike<number>, N: number, HW: number, C: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < HW; k++) for (let c = 0; c < C; c++) y[n * C + c] += x[(n * HW + k) * C + c];
  return y.map((v) => v / HW);
}
