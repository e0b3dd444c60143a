// ONNX nodes → Lanterna ops. Each entry says which engine functions it needs, which attributes
// (and values) it accepts and which input dtypes; the runner checks those statically to decide
// whether a test is applicable, then calls `run`, which maps the node onto our ops.
//
// Layouts: ONNX is NCHW with OIHW conv weights; our conv/pool/resize ops take NHWC and HWIO. The
// mapping transposes with our own `transpose` op on the way in and back on the way out, so the
// graph between nodes always holds ONNX layouts. int64 tensors (indices, shapes, labels) become
// int32. Shape-like inputs (Reshape's shape, Slice's starts, Pad's pads, Resize's scales, ...)
// must be constants (graph inputs, initializers or Constant nodes): they are read on the host.

import * as E from '../../engine/index.ts';
import type { DType, Tensor } from '../../engine/index.ts';
import { DT, DT_NAME, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './proto.ts';

/** Thrown when a node (op, attribute value, dtype) is outside what we map: the test is skipped. */
export class Skip extends Error {}

// ---- engine access -----------------------------------------------------------------------------
// Ops land in the engine at different times. `eng(name)` returns the engine function typed with
// its real signature when it exists (so calls are type-checked), and throws Skip at run time when
// it does not; `has(name)` lets the static check say so before anything runs.

type Engine = typeof E;
type EngineFn<K extends string> = K extends keyof Engine ? Engine[K] : (...args: any[]) => Tensor;
const registry = E as unknown as Record<string, unknown>;
export const has = (name: string): boolean => typeof registry[name] === 'function';
export function eng<K extends string>(name: K): EngineFn<K> {
  const f = registry[name];
  if (typeof f !== 'function') throw new Skip(`engine has no ${name}()`);
  return f as EngineFn<K>;
}

// ---- values ------------------------------------------------------------------------------------

/** A value flowing between nodes: host data (inputs, constants), a device tensor, or both. */
export class Val {
  private dev: Tensor | null;
  constructor(
    readonly dims: number[],
    readonly dtype: DType,
    readonly host: Float32Array | Float64Array | null,
    dev: Tensor | null = null,
  ) {
    this.dev = dev;
  }
  static fromOnnx(t: OnnxTensor): Val {
    return new Val([...t.dims], t.dataType === DT.FLOAT ? 'float32' : 'int32', t.data);
  }
  static of(t: Tensor): Val {
    return new Val([...t.shape], t.dtype, null, t);
  }
  /** The device tensor, uploaded on first use (integers clamped to int32). */
  get t(): Tensor {
    if (!this.dev) {
      const h = this.host!;
      const data = this.dtype === 'int32' ? Int32Array.from(h, (v) => Math.max(-2147483648, Math.min(2147483647, v))) : Float32Array.from(h);
      this.dev = E.tensor(data, this.dims, this.dtype);
    }
    return this.dev;
  }
  get rank(): number {
    return this.dims.length;
  }
  /** Host values of a shape-like input. */
  values(what: string): number[] {
    if (!this.host) throw new Skip(`${what} is computed on the device, not a constant`);
    return Array.from(this.host);
  }
}

/** Static facts the applicability check propagates: ONNX element type, rank if known, constant. */
export interface Info {
  dt: number;
  rank: number | null;
  host: boolean;
}

export interface Ctx {
  opset: number;
}

// ---- attributes --------------------------------------------------------------------------------

const attr = (n: OnnxNode, name: string): OnnxAttribute | undefined => n.attrs.get(name);
export const int = (n: OnnxNode, name: string, def: number): number => attr(n, name)?.i ?? def;
export const float = (n: OnnxNode, name: string, def: number): number => attr(n, name)?.f ?? def;
export const str = (n: OnnxNode, name: string, def: string): string => attr(n, name)?.s ?? def;
export const ints = (n: OnnxNode, name: string, def: number[]): number[] => {
  const a = attr(n, name);
  return a ? a.ints : def;
};

/** Accepts an attribute when it returns null; otherwise returns why it is unsupported. */
type AttrRule = true | ((a: OnnxAttribute, n: OnnxNode) => string | null);
const oneOf =
  (...ok: (string | number)[]): AttrRule =>
  (a) =>
    ok.includes(a.s ?? a.i ?? NaN) ? null : `${a.name}=${a.s ?? a.i}`;
const allOnes: AttrRule = (a) => (a.ints.every((v) => v === 1) ? null : `${a.name}=[${a.ints}]`);

// ---- op table ----------------------------------------------------------------------------------

/** Input dtype rules: float32 only, float or integer, integer, or a host constant of any type. */
type In = 'float' | 'num' | 'int' | 'const' | 'any';

export interface OpDef {
  /** Engine functions the mapping calls (checked before running). */
  engine: string[];
  /** Accepted attributes; any other attribute makes the node unsupported. */
  attrs?: Record<string, AttrRule>;
  /** Rule per input position (the last one repeats for variadic ops). Default: all 'float'. */
  inputs?: In[];
  /** Output element types from input ones (default: input 0's for every output). */
  out?: (ins: (Info | null)[], n: OnnxNode) => Info[];
  /** Further static checks (opset, ranks, output count); returns a reason to skip or null. */
  check?: (n: OnnxNode, ins: (Info | null)[], ctx: Ctx) => string | null;
  run: (n: OnnxNode, ins: (Val | null)[], ctx: Ctx) => Val[];
}

const rankOf = (ins: (Info | null)[]) => ins[0]?.rank ?? null;
const same = (ins: (Info | null)[], n: OnnxNode): Info[] => n.outputs.map(() => ({ dt: ins[0]!.dt, rank: rankOf(ins), host: false }));
const oneOutput = (n: OnnxNode) => (n.outputs.filter((o) => o).length > 1 ? `${n.outputs.length} outputs` : null);
const needRank = (v: Val, ranks: number[], what: string) => {
  if (!ranks.includes(v.rank)) throw new Skip(`${what} has rank ${v.rank} (mapped: ${ranks.join('/')})`);
};

// Layout conversions, on the device with our transpose op.
const toNHWC = (x: Tensor) => eng('transpose')(x, [0, 2, 3, 1]);
const toNCHW = (x: Tensor) => eng('transpose')(x, [0, 3, 1, 2]);
const oihwToHwio = (w: Tensor) => eng('transpose')(w, [2, 3, 1, 0]);

function unary(fn: (x: Tensor) => Tensor, name: string, attrs?: OpDef['attrs']): OpDef {
  return { engine: [name], attrs, out: same, run: (_n, [x]) => [Val.of(fn(x!.t))] };
}

function binaryOp(name: string, fn: (a: Tensor, b: Tensor) => Tensor, inputs: In[] = ['num', 'num']): OpDef {
  return {
    engine: [name],
    // Opset < 7: `broadcast=1` without `axis` aligns trailing dims, as NumPy; `axis` is not mapped.
    attrs: { broadcast: true },
    inputs,
    out: (ins, n) => n.outputs.map(() => ({ dt: ins[0]!.dt, rank: null, host: false })),
    check: (_n, ins) => (ins[0]!.dt !== ins[1]!.dt ? `mixed dtypes ${DT_NAME[ins[0]!.dt]}/${DT_NAME[ins[1]!.dt]}` : null),
    run: (_n, [a, b]) => [Val.of(fn(a!.t, b!.t))],
  };
}

/** Comparison ops give our float 0/1 masks; ONNX gives bool, compared as 0/1. */
function compareOp(name: string, fn: (a: Tensor, b: Tensor) => Tensor): OpDef {
  return {
    ...binaryOp(name, fn),
    out: (_ins, n) => n.outputs.map(() => ({ dt: DT.BOOL, rank: null, host: false })),
  };
}

/** Max / Min / Sum / Mean: variadic with broadcasting, folded pairwise. */
function variadic(name: string, fn: (a: Tensor, b: Tensor) => Tensor, finish?: (y: Tensor, count: number) => Tensor): OpDef {
  return {
    engine: [name],
    inputs: [finish ? 'float' : 'num'],
    out: (ins, n) => n.outputs.map(() => ({ dt: ins[0]!.dt, rank: null, host: false })),
    check: (_n, ins) => (ins.some((i) => i && i.dt !== ins[0]!.dt) ? 'mixed dtypes' : null),
    run: (_n, ins) => {
      let y = ins[0]!.t;
      for (const v of ins.slice(1)) y = fn(y, v!.t);
      return [Val.of(finish ? finish(y, ins.length) : y)];
    },
  };
}

/** Normalised axes; ONNX allows negatives. */
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

type ReduceKind = 'sum' | 'mean' | 'max' | 'min';
/** ReduceX with axes from the attribute (opset < 13, or < 18 except ReduceSum) or the input. */
function reduceOp(kind: ReduceKind, pre?: (x: Tensor) => Tensor, post?: (y: Tensor) => Tensor, extra: string[] = []): OpDef {
  return {
    engine: ['reduce', 'reshape', ...extra],
    attrs: { axes: true, keepdims: true, noop_with_empty_axes: true },
    inputs: ['float', 'const'],
    out: (ins, n) => n.outputs.map(() => ({ dt: ins[0]!.dt, rank: null, host: false })),
    run: (n, [x, axesIn]) => {
      const keep = int(n, 'keepdims', 1) === 1;
      let axes = axesIn ? axesIn.values('axes') : ints(n, 'axes', []);
      if (axes.length === 0) {
        if (int(n, 'noop_with_empty_axes', 0) === 1) return [Val.of(x!.t)];
        axes = x!.dims.map((_, i) => i);
      }
      const ax = axes.map((a) => normAxis(a, x!.rank));
      const t = pre ? pre(x!.t) : x!.t;
      let y = E.reduce(kind, t, ax, keep);
      if (post) y = post(y);
      return [Val.of(y)];
    },
  };
}

/** Spatial padding for Conv / pools as ONNX [x1_begin, x2_begin, x1_end, x2_end]. */
function onnxPads(n: OnnxNode, size: number[], k: number[], s: number[]): number[] {
  const auto = str(n, 'auto_pad', 'NOTSET');
  const d = size.length;
  if (auto === 'VALID') return new Array(2 * d).fill(0);
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < d; i++) {
      const out = Math.ceil(size[i] / s[i]);
      const total = Math.max((out - 1) * s[i] + k[i] - size[i], 0);
      const small = Math.floor(total / 2);
      begin.push(auto === 'SAME_UPPER' ? small : total - small);
      end.push(auto === 'SAME_UPPER' ? total - small : small);
    }
    return [...begin, ...end];
  }
  return ints(n, 'pads', new Array(2 * d).fill(0));
}

type Padding = 'same' | 'valid' | [number, number, number, number];
/** Our padding argument: 'same' for SAME_UPPER (TF's SAME), 'valid' for VALID, else [t, b, l, r]. */
function enginePadding(n: OnnxNode, p: number[]): Padding {
  const auto = str(n, 'auto_pad', 'NOTSET');
  if (auto === 'SAME_UPPER') return 'same';
  if (auto === 'VALID') return 'valid';
  return [p[0], p[2], p[1], p[3]];
}

const convAttrs = {
  auto_pad: oneOf('NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
  dilations: allOnes,
  group: oneOf(1),
  kernel_shape: true,
  pads: true,
  strides: true,
} satisfies Record<string, AttrRule>;

/** 1-D pools run as 2-D ones over [N, C, 1, L]. */
function as4d(x: Val): { t: Tensor; oneD: boolean } {
  needRank(x, [3, 4], 'pool input');
  if (x.rank === 4) return { t: x.t, oneD: false };
  return { t: E.reshape(x.t, [x.dims[0], x.dims[1], 1, x.dims[2]]), oneD: true };
}

function poolOp(kind: 'max' | 'avg'): OpDef {
  const fn = kind === 'max' ? 'maxPool2d' : 'avgPool2d';
  return {
    engine: [fn, 'transpose'],
    attrs: {
      auto_pad: oneOf('NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
      ceil_mode: true,
      kernel_shape: true,
      pads: true,
      strides: true,
      ...(kind === 'max' ? { dilations: true, storage_order: oneOf(0) } : { count_include_pad: true }),
    },
    check: (n, ins) => {
      if (oneOutput(n)) return 'MaxPool Indices output';
      const r = rankOf(ins);
      if (r !== null && r !== 3 && r !== 4) return `${r - 2}-D pooling`;
      return null;
    },
    out: same,
    run: (n, [xv]) => {
      const { t, oneD } = as4d(xv!);
      const lift = (v: number[], one: number) => (oneD ? [one, v[0]] : v) as [number, number];
      const k = ints(n, 'kernel_shape', []);
      const s = ints(n, 'strides', k.map(() => 1));
      const d = ints(n, 'dilations', k.map(() => 1));
      // SAME_* pads use the dilated window extent.
      const reach = k.map((ki, i) => (ki - 1) * d[i] + 1);
      let p = onnxPads(n, xv!.dims.slice(2), reach, s);
      if (oneD) p = [0, p[0], 0, p[1]];
      const opts = {
        pool: lift(k, 1),
        strides: lift(s, 1),
        dilations: lift(d, 1),
        padding: enginePadding(n, p),
        ceilMode: int(n, 'ceil_mode', 0) === 1,
      };
      const y =
        kind === 'max'
          ? eng('maxPool2d')(toNHWC(t), opts)
          : eng('avgPool2d')(toNHWC(t), { ...opts, countIncludePad: int(n, 'count_include_pad', 0) === 1 });
      let out = toNCHW(y);
      if (oneD) out = E.reshape(out, [out.shape[0], out.shape[1], out.shape[3]]);
      return [Val.of(out)];
    },
  };
}

export const OPS: Record<string, OpDef> = {
  Identity: { engine: [], inputs: ['any'], out: same, run: (_n, [x]) => [x!] },
  Constant: {
    engine: [],
    inputs: [],
    attrs: { value: true, value_float: true, value_floats: true, value_int: true, value_ints: true },
    out: (_ins, n) => {
      const a = [...n.attrs.values()][0];
      const dt = a?.t ? a.t.dataType : a?.name.startsWith('value_float') ? DT.FLOAT : DT.INT64;
      return [{ dt, rank: a?.t ? a.t.dims.length : a?.name.endsWith('s') ? 1 : 0, host: true }];
    },
    run: (n) => {
      const a = [...n.attrs.values()][0];
      if (a.t) return [Val.fromOnnx(a.t)];
      if (a.name === 'value_float') return [new Val([], 'float32', Float32Array.of(a.f!))];
      if (a.name === 'value_floats') return [new Val([a.floats.length], 'float32', Float32Array.from(a.floats))];
      if (a.name === 'value_int') return [new Val([], 'int32', Float64Array.of(a.i!))];
      return [new Val([a.ints.length], 'int32', Float64Array.from(a.ints))];
    },
  },

  // Elementwise unary.
  Relu: unary(E.relu, 'relu'),
  Sigmoid: unary(E.sigmoid, 'sigmoid'),
  Tanh: unary(E.tanh, 'tanh'),
  Exp: unary(E.exp, 'exp'),
  Log: unary(E.log, 'log'),
  Neg: unary(E.neg, 'neg'),
  Sqrt: unary(E.sqrt, 'sqrt'),
  Abs: unary(E.abs, 'abs'),
  Elu: {
    engine: ['elu'],
    attrs: { alpha: true },
    out: same,
    run: (n, [x]) => [Val.of(E.elu(x!.t, float(n, 'alpha', 1)))],
  },
  Clip: {
    engine: ['maximum', 'minimum', 'relu6'],
    attrs: { min: true, max: true },
    inputs: ['float', 'float', 'float'],
    out: same,
    run: (n, [x, lo, hi], ctx) => {
      // opset < 11: min/max attributes; from 11 on: optional scalar inputs.
      const min = ctx.opset < 11 ? (attr(n, 'min') ? float(n, 'min', 0) : null) : lo ? lo.t : null;
      const max = ctx.opset < 11 ? (attr(n, 'max') ? float(n, 'max', 0) : null) : hi ? hi.t : null;
      if (ctx.opset < 11 && min === 0 && max === 6) return [Val.of(E.relu6(x!.t))];
      let y = x!.t;
      const asT = (v: number | Tensor) => (typeof v === 'number' ? E.scalar(v) : v);
      if (min !== null) y = E.maximum(y, asT(min));
      if (max !== null) y = E.minimum(y, asT(max));
      return [Val.of(y)];
    },
  },

  // Elementwise binary (NumPy broadcasting) and variadic.
  Add: binaryOp('add', E.add),
  Sub: binaryOp('sub', E.sub),
  Mul: binaryOp('mul', E.mul),
  Div: binaryOp('div', E.div, ['float', 'float']),
  Max: variadic('maximum', E.maximum),
  Min: variadic('minimum', E.minimum),
  Sum: variadic('add', E.add),
  Mean: variadic('add', E.add, (y, c) => E.scale(y, 1 / c)),
  Greater: compareOp('less', (a, b) => E.less(b, a)),
  Less: compareOp('less', E.less),
  GreaterOrEqual: compareOp('greaterEqual', E.greaterEqual),
  LessOrEqual: compareOp('greaterEqual', (a, b) => E.greaterEqual(b, a)),
  Equal: compareOp('equal', E.equal),

  // Softmax family: opset ≥ 13 normalises one axis (default −1); older opsets flatten the
  // input to 2-D at `axis` (default 1) and normalise the rows.
  Softmax: softmaxOp('softmax'),
  LogSoftmax: softmaxOp('logSoftmax'),

  // Shapes.
  Flatten: {
    engine: ['flatten'],
    attrs: { axis: true },
    inputs: ['any'],
    out: (ins) => [{ dt: ins[0]!.dt, rank: 2, host: false }],
    run: (n, [x]) => [Val.of(E.flatten(x!.t, normAxis(int(n, 'axis', 1), x!.rank)))],
  },
  Reshape: {
    engine: ['reshape'],
    attrs: { allowzero: true },
    inputs: ['any', 'const'],
    out: (ins) => [{ dt: ins[0]!.dt, rank: null, host: false }],
    run: (n, [x, s]) => {
      const allowZero = int(n, 'allowzero', 0) === 1;
      const shape = s!.values('shape').map((d, i) => (d === 0 && !allowZero ? x!.dims[i] : d));
      return [Val.of(E.reshape(x!.t, shape))];
    },
  },
  Transpose: {
    engine: ['transpose'],
    attrs: { perm: true },
    inputs: ['num'],
    out: same,
    run: (n, [x]) => {
      const perm = ints(
        n,
        'perm',
        x!.dims.map((_, i) => x!.rank - 1 - i),
      );
      return [Val.of(eng('transpose')(x!.t, perm))];
    },
  },
  Concat: {
    engine: ['concat'],
    attrs: { axis: true },
    inputs: ['num'],
    out: (ins, n) => n.outputs.map(() => ({ dt: ins[0]!.dt, rank: rankOf(ins), host: false })),
    run: (n, ins) => [Val.of(eng('concat')(ins.map((v) => v!.t), normAxis(int(n, 'axis', 0), ins[0]!.rank)))],
  },
  Slice: {
    // starts/ends/axes/steps go to our stridedSlice as given (it clamps as ONNX does).
    engine: ['stridedSlice'],
    inputs: ['num', 'const', 'const', 'const', 'const'],
    attrs: { starts: true, ends: true, axes: true },
    out: same,
    run: (n, [x, st, en, ax, sp], ctx) => {
      const starts = ctx.opset < 10 ? ints(n, 'starts', []) : st!.values('starts');
      const ends = ctx.opset < 10 ? ints(n, 'ends', []) : en!.values('ends');
      const axes = ctx.opset < 10 ? ints(n, 'axes', starts.map((_, i) => i)) : ax ? ax.values('axes') : starts.map((_, i) => i);
      const steps = sp ? sp.values('steps') : starts.map(() => 1);
      const begin = x!.dims.map(() => 0);
      const end = [...x!.dims];
      const step = x!.dims.map(() => 1);
      axes.forEach((a, i) => {
        const d = normAxis(a, x!.rank);
        begin[d] = starts[i];
        end[d] = ends[i];
        step[d] = steps[i];
      });
      return [Val.of(eng('stridedSlice')(x!.t, begin, end, step))];
    },
  },
  Pad: {
    engine: ['pad'],
    attrs: { mode: oneOf('constant', 'edge', 'reflect'), pads: true, value: true },
    inputs: ['num', 'const', 'const'],
    out: same,
    run: (n, [x, p, v], ctx) => {
      const pads = ctx.opset < 11 ? ints(n, 'pads', []) : p!.values('pads');
      const value = ctx.opset < 11 ? float(n, 'value', 0) : v ? v.values('value')[0] : 0;
      const r = x!.rank;
      const pairs = x!.dims.map((_, i) => [pads[i], pads[i + r]] as [number, number]);
      const mode = str(n, 'mode', 'constant') as 'constant' | 'edge' | 'reflect';
      return [Val.of(eng('pad')(x!.t, pairs, value, mode))];
    },
  },

  // Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) on 4-D NCHW, scaling H and W only.
  Resize: {
    engine: ['resize', 'transpose'],
    attrs: {
      mode: oneOf('nearest', 'linear', 'cubic'),
      coordinate_transformation_mode: oneOf('half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel', 'tf_half_pixel_for_nn'),
      nearest_mode: oneOf('round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'),
      cubic_coeff_a: true,
      exclude_outside: true,
      extrapolation_value: true, // only read by tf_crop_and_resize, which is not mapped
    },
    inputs: ['float', 'const', 'const', 'const'],
    check: (_n, ins) => (rankOf(ins) !== null && rankOf(ins) !== 4 ? `Resize of rank ${rankOf(ins)}` : null),
    out: same,
    run: (n, ins, ctx) => {
      const [x, scalesIn, sizesIn] = ctx.opset < 11 ? [ins[0], ins[1], null] : [ins[0], ins[2], ins[3]];
      const mode = ({ nearest: 'nearest', linear: 'bilinear', cubic: 'bicubic' } as const)[str(n, 'mode', 'nearest') as 'nearest' | 'linear' | 'cubic'];
      const coord = str(n, 'coordinate_transformation_mode', ctx.opset < 11 ? 'asymmetric' : 'half_pixel');
      const nearestMode = str(n, 'nearest_mode', ctx.opset < 11 ? 'floor' : 'round_prefer_floor');
      return [resizeNchw(x!, scalesIn, sizesIn, {
        mode,
        coord: coord as E.CoordMode,
        nearestMode: nearestMode as E.NearestMode,
        cubicCoeffA: float(n, 'cubic_coeff_a', -0.75),
        excludeOutside: int(n, 'exclude_outside', 0) === 1,
      })];
    },
  },
  // Upsample (deprecated since opset 10): asymmetric coordinates, nearest rounds down.
  Upsample: {
    engine: ['resize', 'transpose'],
    attrs: { mode: oneOf('nearest', 'linear'), scales: true },
    inputs: ['float', 'const'],
    out: same,
    run: (n, [x, sc], ctx) => {
      const scales = ctx.opset < 9 ? new Val([4], 'float32', Float32Array.from(ints(n, 'scales', []))) : sc;
      const mode = str(n, 'mode', 'nearest') === 'linear' ? 'bilinear' : 'nearest';
      return [resizeNchw(x!, scales, null, { mode, coord: 'asymmetric', nearestMode: 'floor' })];
    },
  },

  // ai.onnx.preview.training Adam: inputs R, T, X1..Xn, G1..Gn, V1..Vn, H1..Hn; outputs
  // X1..Xn, V1..Vn, H1..Hn (new). Our step updates in place, so it runs on copies.
  'ai.onnx.preview.training:Adam': {
    engine: ['adamOnnxStep', 'scale'],
    attrs: { alpha: true, beta: true, epsilon: true, norm_coefficient: true, norm_coefficient_post: true },
    inputs: ['const', 'const', 'float'],
    check: (n) => ((n.inputs.length - 2) % 4 !== 0 ? `Adam with ${n.inputs.length} inputs` : null),
    out: (_ins, n) => n.outputs.map(() => ({ dt: DT.FLOAT, rank: null, host: false })),
    run: (n, ins) => {
      const [r, t] = [ins[0]!.values('R')[0], ins[1]!.values('T')[0]];
      const k = (ins.length - 2) / 4;
      const copy = (v: Val) => E.scale(v.t, 1);
      const xs: Tensor[] = [];
      const vs: Tensor[] = [];
      const hs: Tensor[] = [];
      for (let i = 0; i < k; i++) {
        const [x, g, v, h] = [0, 1, 2, 3].map((j) => ins[2 + j * k + i]!);
        const [xc, vc, hc] = [copy(x), copy(v), copy(h)];
        eng('adamOnnxStep')(xc, g.t, vc, hc, {
          r,
          t,
          alpha: float(n, 'alpha', 0.9),
          beta: float(n, 'beta', 0.999),
          epsilon: float(n, 'epsilon', 0),
          normCoefficient: float(n, 'norm_coefficient', 0),
          normCoefficientPost: float(n, 'norm_coefficient_post', 0),
        });
        xs.push(xc);
        vs.push(vc);
        hs.push(hc);
      }
      return [...xs, ...vs, ...hs].map((x) => Val.of(x));
    },
  },

  // Losses and regularisation.
  SoftmaxCrossEntropyLoss: {
    engine: ['softmaxCrossEntropy', 'logSoftmax'],
    attrs: { reduction: oneOf('none', 'sum', 'mean'), ignore_index: true },
    inputs: ['float', 'int', 'float'],
    out: (_ins, n) => n.outputs.map(() => ({ dt: DT.FLOAT, rank: null, host: false })),
    run: (n, [x, labels, w]) => {
      const loss = eng('softmaxCrossEntropy')(x!.t, labels!.t, {
        reduction: str(n, 'reduction', 'mean') as 'none' | 'sum' | 'mean',
        ignoreIndex: attr(n, 'ignore_index') ? int(n, 'ignore_index', 0) : undefined,
        weights: w ? w.t : undefined,
      });
      return n.outputs[1] ? [Val.of(loss), Val.of(E.logSoftmax(x!.t, 1))] : [Val.of(loss)];
    },
  },
  Dropout: {
    // Inference (training_mode absent or false) and ratio 0 run our dropout at rate 0 (identity);
    // a random mask cannot match ONNX's generator, and the mask output is not mapped.
    engine: ['dropout'],
    attrs: { seed: true, ratio: true },
    inputs: ['float', 'const', 'const'],
    check: (n) => (n.outputs[1] ? 'Dropout mask output' : null),
    out: same,
    run: (n, [x, r, tm], ctx) => {
      const training = tm ? tm.values('training_mode')[0] !== 0 : false;
      const ratio = ctx.opset < 12 ? float(n, 'ratio', 0.5) : r ? r.values('ratio')[0] : 0.5;
      if (training && ratio !== 0) throw new Skip('Dropout with a random mask');
      return [Val.of(eng('dropout')(x!.t, 0, int(n, 'seed', 0)))];
    },
  },

  // Reductions.
  ReduceSum: reduceOp('sum'),
  ReduceMean: reduceOp('mean'),
  ReduceMax: reduceOp('max'),
  ReduceMin: reduceOp('min'),
  ReduceSumSquare: reduceOp('sum', E.square, undefined, ['square']),
  ReduceL1: reduceOp('sum', E.abs, undefined, ['abs']),
  ReduceL2: reduceOp('sum', E.square, E.sqrt, ['square', 'sqrt']),
  ReduceLogSum: reduceOp('sum', undefined, E.log, ['log']),
  ArgMax: argOp('max'),
  ArgMin: argOp('min'),

  // Linear algebra.
  MatMul: {
    engine: ['matmul'],
    out: () => [{ dt: DT.FLOAT, rank: null, host: false }],
    run: (_n, [a, b]) => [Val.of(matmulNd(a!, b!))],
  },
  Gemm: {
    engine: ['gemm'],
    // Opset < 7: `broadcast=1` lets C broadcast, which our gemm always allows.
    attrs: { alpha: true, beta: true, transA: true, transB: true, broadcast: true },
    inputs: ['float', 'float', 'float'],
    out: () => [{ dt: DT.FLOAT, rank: 2, host: false }],
    run: (n, [a, b, c]) => {
      const opts = { alpha: float(n, 'alpha', 1), beta: float(n, 'beta', 1), transA: int(n, 'transA', 0) === 1, transB: int(n, 'transB', 0) === 1 };
      return [Val.of(eng('gemm')(a!.t, b!.t, c ? c.t : null, opts))];
    },
  },

  // Convolution and pooling (NCHW ↔ NHWC around our ops).
  Conv: {
    // 1-D convolutions run as 2-D ones over [N, C, 1, L] with [M, C, 1, k] weights.
    engine: ['conv2d', 'transpose'],
    attrs: convAttrs,
    inputs: ['float', 'float', 'float'],
    check: (_n, ins) => {
      const r = rankOf(ins);
      return r !== null && r !== 3 && r !== 4 ? `${r - 2}-D convolution` : null;
    },
    out: same,
    run: (n, [xv, wv, b]) => {
      needRank(xv!, [3, 4], 'Conv input');
      const oneD = xv!.rank === 3;
      const x = oneD ? E.reshape(xv!.t, [xv!.dims[0], xv!.dims[1], 1, xv!.dims[2]]) : xv!.t;
      const w = oneD ? E.reshape(wv!.t, [wv!.dims[0], wv!.dims[1], 1, wv!.dims[2]]) : wv!.t;
      const k = wv!.dims.slice(2);
      const s = ints(n, 'strides', k.map(() => 1));
      let p = onnxPads(n, xv!.dims.slice(2), k, s);
      if (oneD) p = [0, p[0], 0, p[1]];
      const strides = (oneD ? [1, s[0]] : s) as [number, number];
      const y = toNCHW(eng('conv2d')(toNHWC(x), oihwToHwio(w), b ? b.t : null, { strides, padding: enginePadding(n, p) }));
      return [Val.of(oneD ? E.reshape(y, [y.shape[0], y.shape[1], y.shape[3]]) : y)];
    },
  },
  MaxPool: poolOp('max'),
  AveragePool: poolOp('avg'),
  GlobalAveragePool: {
    engine: ['globalAvgPool', 'transpose'],
    check: (_n, ins) => (rankOf(ins) !== null && rankOf(ins) !== 4 ? `rank ${rankOf(ins)}` : null),
    out: same,
    run: (_n, [x]) => {
      needRank(x!, [4], 'GlobalAveragePool input');
      const y = eng('globalAvgPool')(toNHWC(x!.t));
      return [Val.of(E.reshape(y, [x!.dims[0], x!.dims[1], 1, 1]))];
    },
  },
};

/** Our NHWC resize on an NCHW value; `scales` or `sizes` may change H and W only. */
function resizeNchw(x: Val, scalesIn: Val | null, sizesIn: Val | null, opts: E.ResizeOptions): Val {
  needRank(x, [4], 'Resize input');
  const [N, C, H, W] = x.dims;
  const scales = scalesIn && scalesIn.dims[0] ? scalesIn.values('scales') : null;
  const sizes = sizesIn && sizesIn.dims[0] ? sizesIn.values('sizes') : null;
  let out: [number, number];
  let sc: [number, number] | undefined;
  if (scales) {
    if (scales[0] !== 1 || scales[1] !== 1) throw new Skip(`Resize scales [${scales}] change N or C`);
    sc = [scales[2], scales[3]];
    out = [Math.floor(H * sc[0]), Math.floor(W * sc[1])];
  } else if (sizes) {
    if (sizes[0] !== N || sizes[1] !== C) throw new Skip(`Resize sizes [${sizes}] change N or C`);
    out = [sizes[2], sizes[3]];
  } else throw new Skip('Resize without scales or sizes');
  const y = eng('resize')(toNHWC(x.t), out, { ...opts, ...(sc ? { scales: sc } : {}) });
  return Val.of(toNCHW(y));
}

function softmaxOp(name: 'softmax' | 'logSoftmax'): OpDef {
  return {
    engine: [name],
    attrs: { axis: true },
    out: same,
    run: (n, [x], ctx) => {
      const f = name === 'softmax' ? E.softmax : E.logSoftmax;
      if (ctx.opset >= 13) return [Val.of(f(x!.t, int(n, 'axis', -1)))];
      const ax = normAxis(int(n, 'axis', 1), x!.rank);
      const rows = x!.dims.slice(0, ax).reduce((p, d) => p * d, 1);
      const y = f(E.reshape(x!.t, [rows, -1]), -1);
      return [Val.of(E.reshape(y, x!.dims))];
    },
  };
}

function argOp(kind: 'max' | 'min'): OpDef {
  return {
    engine: ['argmax', ...(kind === 'min' ? ['neg'] : [])],
    attrs: { axis: true, keepdims: true, select_last_index: oneOf(0) },
    out: (ins) => [{ dt: DT.INT64, rank: null, host: false }],
    run: (n, [x]) => {
      const ax = normAxis(int(n, 'axis', 0), x!.rank);
      const y = E.argmax(kind === 'max' ? x!.t : E.neg(x!.t), ax);
      return [Val.of(int(n, 'keepdims', 1) ? E.reshape(y, x!.dims.map((d, i) => (i === ax ? 1 : d))) : y)];
    },
  };
}

/**
 * ONNX MatMul (numpy.matmul) on our matmul: 1-D operands get a unit dim that is dropped again;
 * batch dims must be equal or on one side only (our matmul's rule), else the node is skipped.
 */
function matmulNd(a: Val, b: Val): Tensor {
  const at = a.rank === 1 ? E.reshape(a.t, [1, a.dims[0]]) : a.t;
  const bt = b.rank === 1 ? E.reshape(b.t, [b.dims[0], 1]) : b.t;
  const la = at.shape.slice(0, -2);
  const lb = bt.shape.slice(0, -2);
  if (la.length && lb.length && (la.length !== lb.length || la.some((d, i) => d !== lb[i])))
    throw new Skip(`MatMul batch broadcasting [${a.dims}]×[${b.dims}]`);
  const y = eng('matmul')(at, bt);
  if (a.rank > 1 && b.rank > 1) return y;
  const lead = y.shape.slice(0, -2);
  const [m, n] = y.shape.slice(-2);
  return E.reshape(y, [...lead, ...(a.rank === 1 ? [] : [m]), ...(b.rank === 1 ? [] : [n])]);
}

/** Static applicability: returns the reason the node cannot run, or null. Fills `outs`. */
export function checkNode(n: OnnxNode, ins: (Info | null)[], ctx: Ctx, outs: Info[]): string | null {
  const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
  const def = OPS[key];
  if (!def) return `op ${key}`;
  for (const f of def.engine) if (!has(f)) return `engine has no ${f}() (for ${key})`;
  for (const a of n.attrs.values()) {
    const rule = def.attrs?.[a.name];
    if (!rule) return `${key} attribute ${a.name}`;
    if (rule !== true) {
      const why = rule(a, n);
      if (why) return `${key} ${why}`;
    }
  }
  const rules = def.inputs ?? ['float'];
  for (let i = 0; i < ins.length; i++) {
    const info = ins[i];
    if (!info) continue;
    const rule = rules[Math.min(i, rules.length - 1)];
    const isInt = info.dt === DT.INT32 || info.dt === DT.INT64;
    const ok =
      rule === 'any' ? info.dt === DT.FLOAT || isInt || info.dt === DT.BOOL
      : rule === 'float' ? info.dt === DT.FLOAT
      : rule === 'num' ? info.dt === DT.FLOAT || isInt
      : rule === 'int' ? isInt
      : info.host;
    if (!ok) return rule === 'const' ? `${key} input ${i} is not a constant` : `${key} input ${i} of type ${DT_NAME[info.dt] ?? info.dt}`;
  }
  const why = def.check?.(n, ins, ctx) ?? null;
  if (why) return why;
  outs.push(...(def.out ?? same)(ins, n));
  return null;
}

export function runNode(n: OnnxNode, ins: (Val | null)[], ctx: Ctx): Val[] {
  const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
  return OPS[key].run(n, ins, ctx);
}
