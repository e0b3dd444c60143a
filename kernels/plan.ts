// The device plan: every choice that depends on the device or on the user's LANTERNA_* settings,
// made once when the device is created, then handed to kernel builders as data. Nothing below
// the device layer reads the environment or keeps tuning state of its own: a test or benchmark
// that wants another variant passes another plan (Gpu.withPlan), it does not flip a global.

import type { Tiles } from './tiled.ts';

/** GEMM-like kernels: see kernels/matmul.ts for both variants. */
export type GemmVariant = 'register' | 'tiled';
/** Row kernels (softmax, losses): one thread per row, or a workgroup's tree per row. */
export type RowVariant = 'thread' | 'tree';
/** Side of a register-variant matmul thread's block (DevicePlan.regTile). */
export type RegTile = 8 | 16;

/**
 * Every kernel choice that depends on the device or on the LANTERNA_* settings, made when the device is
 * created (`gpu().plan`; `Gpu.withPlan` runs code under another).
 */
export interface DevicePlan {
  /** A software driver running on the CPU (SwiftShader, lavapipe/llvmpipe): decided here only. */
  readonly cpuDriver: boolean;
  /** The adapter, in words (vendor, architecture, description). */
  readonly adapter: string;
  /** The GEMM kernel family: 'register' (CPU drivers) or 'tiled' (GPUs), unless LANTERNA_GEMM forces one. */
  readonly gemm: GemmVariant;
  /**
   * Side of a register-variant matmul thread's block of C: 16 (16×16, lavapipe's default: twice the
   * FMAs per lane-by-lane load of 8×8, measured 1.6–1.8× faster at 1024³) or 8 (SwiftShader's, where
   * big blocks compile slowly). Conv kernels whose rows are gathered get 8×16 under 16 (regBlock).
   */
  readonly regTile: RegTile;
  /**
   * 3×3 stride-1 convolutions (forward and input gradient) by Winograd F(m×m, 3×3), output tiles m = 2 or 4
   * (engine/ops/conv2d_winograd.ts), 0 for none: lavapipe's default is on, where the GEMM is the
   * time and 2.25× (4×) fewer multiplications pay for the transforms; register GEMM only.
   */
  readonly winograd: 0 | 2 | 4;
  /**
   * Smallest convolution (multiply-adds, N·HO·WO·C·O·9) that takes the Winograd path: below it the
   * three extra dispatches cost more than the GEMM saves (lavapipe: a 10×10×64→96 conv, 5.5 M,
   * 1.3–1.5× slower; a 33×33×32→64 one, 20 M, 0.75–0.80×). Tests lower it to reach small shapes.
   */
  readonly winogradMinMacs: number;
  /** A block forced on every tiled kernel; null: chosen per product (tilesFor). */
  readonly tiles: Tiles | null;
  /** Whether tilesFor may choose 128×32 blocks for products 16 or 32 wide. */
  readonly narrowTiles: boolean;
  /** Forced row variant; null: chosen per row length (rowVariant in kernels/softmax.ts). */
  readonly rowVariant: RowVariant | null;
  /** Bytes one storage binding may span (the adapter's limit, or less for tests of the splits). */
  readonly maxBindingBytes: number;
  /** What the adapter offers (kernels may use them; none does yet but timestamps). */
  readonly features: { readonly subgroups: boolean; readonly shaderF16: boolean; readonly timestampQuery: boolean };
  /** Every dispatch in its own error scope, so a GPU error names its op (slow). */
  readonly debug: boolean;
  /** Steps `fit` records ahead of their loss readbacks, when the caller does not say. */
  readonly fitInFlight: number;
  /** Anomaly mode everywhere (LANTERNA_ANOMALY=1): every op's float output checked for NaN/Inf (engine/anomaly.ts). */
  readonly anomaly: boolean;
}

/** Lavapipe's Winograd output tile (DevicePlan.winograd). */
const WINOGRAD_DEFAULT = 4;

/** The LANTERNA_* settings, parsed (engine/settings.ts reads them in every runtime). */
export interface Settings {
  /** LANTERNA_GEMM: one GEMM variant on every adapter. */
  gemm?: GemmVariant;
  /** LANTERNA_REG_TILE=8 or 16: the register matmul's thread block side on every CPU driver. */
  regTile?: RegTile;
  /** LANTERNA_WINOGRAD=0, 2 or 4: 3×3 stride-1 convs by Winograd F(m×m, 3×3) on every CPU driver, or nowhere. */
  winograd?: 0 | 2 | 4;
  /** LANTERNA_TILE=64 or 128: one block size for every tiled kernel. */
  tiles?: Tiles;
  /** LANTERNA_TILE=no-narrow sets false: no 128×32 blocks. */
  narrowTiles?: boolean;
  /** LANTERNA_ROWS: one row-kernel variant on every adapter. */
  rowVariant?: RowVariant;
  /** LANTERNA_DEBUG=1: every dispatch in its own error scope (slow; GPU errors name their op). */
  debug?: boolean;
  /** LANTERNA_PROFILE=1: ask for timestamp queries, so kernels can be timed. */
  profile?: boolean;
  /** LANTERNA_ANOMALY=1: anomaly mode everywhere (the first NaN or Inf names its op). */
  anomaly?: boolean;
  /** LANTERNA_FIT_INFLIGHT: training steps recorded ahead of their loss readbacks (default 4). */
  fitInFlight?: number;
}

/** Each setting with the values it takes, for help texts and error messages. */
export const SETTINGS_HELP: Readonly<Record<string, string>> = {
  LANTERNA_GEMM: 'tiled | register: one GEMM variant on every adapter (to compare them)',
  LANTERNA_REG_TILE: '8 | 16: the register GEMM\'s thread block (8×8 or 16×16 elements of C) on every adapter',
  LANTERNA_WINOGRAD: '0 | 2 | 4: 3×3 stride-1 convolutions (forward, input gradient) by Winograd F(2×2, 3×3) or F(4×4, 3×3) on every CPU driver, or never (default: on lavapipe)',
  LANTERNA_TILE: '64 | 128 | no-narrow: one block size for every tiled kernel, or no 128×32 blocks',
  LANTERNA_ROWS: 'thread | tree: one row-kernel variant on every adapter',
  LANTERNA_DEBUG: '1: every dispatch in its own error scope (slow; GPU errors name their op)',
  LANTERNA_PROFILE: '1: ask for timestamp queries, so kernels can be timed',
  LANTERNA_ANOMALY: '1: anomaly mode everywhere: the first NaN or Inf an op produces is an error naming the op and its line',
  LANTERNA_FIT_INFLIGHT: 'n ≥ 1: training steps recorded ahead of their readbacks (default 4)',
};

/** Parses settings from a lookup (environment, URL parameters…); a bad value is an error naming it. */
export function parseSettings(get: (name: string) => string | undefined): Settings {
  const s: Settings = {};
  const bad = (name: string, v: string) => new Error(`${name}=${v} is not understood; it takes ${SETTINGS_HELP[name]}`);
  const gemm = get('LANTERNA_GEMM');
  if (gemm) {
    if (gemm !== 'tiled' && gemm !== 'register') throw bad('LANTERNA_GEMM', gemm);
    s.gemm = gemm;
  }
  const regTile = get('LANTERNA_REG_TILE');
  if (regTile) {
    if (regTile !== '8' && regTile !== '16') throw bad('LANTERNA_REG_TILE', regTile);
    s.regTile = +regTile as RegTile;
  }
  const tile = get('LANTERNA_TILE');
  if (tile) {
    if (tile === '64' || tile === '128') s.tiles = { TM: +tile as 64 | 128, TN: +tile as 64 | 128 };
    else if (tile === 'no-narrow') s.narrowTiles = false;
    else throw bad('LANTERNA_TILE', tile);
  }
  const rows = get('LANTERNA_ROWS');
  if (rows) {
    if (rows !== 'thread' && rows !== 'tree') throw bad('LANTERNA_ROWS', rows);
    s.rowVariant = rows;
  }
  for (const [name, key] of [['LANTERNA_DEBUG', 'debug'], ['LANTERNA_PROFILE', 'profile'], ['LANTERNA_ANOMALY', 'anomaly']] as const) {
    const v = get(name);
    if (v === undefined || v === '') continue;
    if (v !== '0' && v !== '1') throw bad(name, v);
    s[key] = v === '1';
  }
  const wino = get('LANTERNA_WINOGRAD');
  if (wino) {
    if (wino !== '0' && wino !== '2' && wino !== '4') throw bad('LANTERNA_WINOGRAD', wino);
    s.winograd = +wino as 0 | 2 | 4;
  }
  const inflight = get('LANTERNA_FIT_INFLIGHT');
  if (inflight) {
    const n = Number(inflight);
    if (!Number.isInteger(n) || n < 1) throw bad('LANTERNA_FIT_INFLIGHT', inflight);
    s.fitInFlight = n;
  }
  return s;
}

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
}

/** The one test of "this adapter is a CPU driver". */
export function isCpuDriver(a: AdapterFacts): boolean {
  return /swiftshader|llvmpipe|lavapipe|cpu/.test(`${a.vendor} ${a.architecture} ${a.description} ${a.device}`.toLowerCase());
}

/** The plan for an adapter, its limits and features, and the settings. */
export function makePlan(a: AdapterFacts, maxStorageBufferBindingSize: number, features: readonly string[], s: Settings = {}): DevicePlan {
  const cpuDriver = isCpuDriver(a);
  const lavapipe = /llvmpipe|lavapipe/i.test(`${a.vendor} ${a.architecture} ${a.description} ${a.device}`);
  const gemm = s.gemm ?? (cpuDriver ? 'register' : 'tiled');
  return Object.freeze({
    cpuDriver,
    adapter: [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / '),
    gemm,
    regTile: s.regTile ?? (lavapipe ? 16 : 8),
    winograd: gemm === 'register' && cpuDriver ? (s.winograd ?? (lavapipe ? WINOGRAD_DEFAULT : 0)) : 0,
    winogradMinMacs: 2 ** 24,
    tiles: s.tiles ?? null,
    narrowTiles: s.narrowTiles ?? true,
    rowVariant: s.rowVariant ?? null,
    maxBindingBytes: maxStorageBufferBindingSize,
    features: Object.freeze({
      subgroups: features.includes('subgroups'),
      shaderF16: features.includes('shader-f16'),
      timestampQuery: features.includes('timestamp-query'),
    }),
    debug: s.debug ?? false,
    fitInFlight: s.fitInFlight ?? 4,
    anomaly: s.anomaly ?? false,
  });
}
