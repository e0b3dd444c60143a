// The workgroup-tiled GEMM template of the GPU variant ('tiled', see kernels/matmul.ts), shared
// by matmul and conv2d: block sizes, split-K and the WGSL of the kernel's decls and main body.
// Each user declares its kernel (bindings, uniforms: kernels/spec.ts) and supplies its loads and
// store (TiledSource).

import type { DevicePlan } from './plan.ts';
import { MAX_GROUPS } from './program.ts';

/** K-step of the tiled kernels: K is staged this many at a time (split-K chunks are multiples of it). */
export const TK = 16;

/**
 * A workgroup's block of C: TM rows × TN columns for 256 threads that own 4×4 sub-blocks of it.
 * 64- and 128-wide blocks use 16×16 threads, each with (TM/64)·(TN/64) sub-blocks: 128-wide ones
 * reuse each value staged in workgroup memory twice as often but make fewer workgroups, so they
 * are chosen only where the product still gives a large GPU (~130 SMs) two workgroups per SM.
 * 128×32 blocks (32 × 8 threads, one sub-block each) are for products only 16 or 32 wide (the
 * input gradients of cam2's first convs: N = 16, 32 channels), where a 64-wide block would
 * compute half or three quarters zeros.
 */
export type Tiles = { TM: 64 | 128; TN: 64 | 128 } | { TM: 128; TN: 32 };

/** Threads along N and along M: TX·TY = 256. */
export function threadsOf(t: Tiles): { TX: number; TY: number } {
  return t.TN === 32 ? { TX: 8, TY: 32 } : { TX: 16, TY: 16 };
}

/** The block for an M×N product: the plan's forced one (plan.tiles), else chosen by size. */
export function tilesFor(M: number, N: number, plan: Pick<DevicePlan, 'tiles' | 'narrowTiles'>): Tiles {
  if (plan.tiles) return plan.tiles;
  if (plan.narrowTiles && N <= 32 && Math.ceil(M / 128) >= 264) return { TM: 128, TN: 32 };
  const t: { TM: 64 | 128; TN: 64 | 128 } = { TM: M > 64 ? 128 : 64, TN: N > 64 ? 128 : 64 };
  const count = () => Math.ceil(M / t.TM) * Math.ceil(N / t.TN);
  if (count() < 264) t.TN = 64;
  if (count() < 264) t.TM = 64;
  return t;
}

export interface TiledSource {
  /** fn loadA(z: u32, m: u32, k: u32) -> f32 (unless aSlots) and fn loadB(z: u32, k: u32, n: u32) -> f32, 0 out of range. */
  loads: string;
  /** fn store(z: u32, m: u32, n: u32, v: f32), called for m < u.M, n < u.N only. */
  store: string;
  /** Which axis is contiguous in memory, so that neighbouring threads load neighbouring words. */
  aKFast: boolean;
  bKFast: boolean;
  /**
   * Split-K: workgroup z sums only k in [z·u.kSplit, (z + 1)·u.kSplit) (u.kSplit a multiple of
   * 16) and its store writes partial z, which a second pass adds up. For products with few
   * tiles of C and a long K (conv weight gradients: K = every pixel of the batch), where one
   * workgroup per tile would walk all of K alone while the GPU idles.
   */
  splitK?: boolean;
  /**
   * A's loads unrolled per load slot (TM/16 of them), so that the arithmetic of a slot's row
   * (for conv, the division of a pixel index into image, row and column) runs once before the K
   * loop instead of at every load. Slot i loads row m{i} at k = t + kk{i} (t: the K-step's first k).
   */
  aSlots?: {
    /** Once per slot before the K loop (m{i}, kk{i} and kBeg are defined). */
    setup: (i: number) => string;
    /** Once per K-step, before the loads (uniform across the workgroup); gets the slot indices. */
    step: (slots: number[]) => string;
    /** A[m{i}, t + kk{i}], 0 outside the matrix. */
    load: (i: number) => string;
    /** Once per slot after each K-step's loads (e.g. advancing a pixel by the step). */
    next?: (i: number) => string;
  };
}

/** K per split (a multiple of the K-step) and the number of splits actually used. */
export function kSplitOf(K: number, splits: number): { kSplit: number; splits: number } {
  const kSplit = Math.ceil(Math.ceil(K / Math.max(1, splits)) / TK) * TK;
  return { kSplit, splits: Math.max(1, Math.ceil(K / kSplit)) };
}

/**
 * How many K-splits a tiled product of M×N over K deserves: none when its blocks alone give a
 * large GPU (~130 SMs) one workgroup per SM, else enough for ~512 workgroups, each split still
 * at least 16 K-steps long. 1 = no split.
 */
export function tiledSplits(M: number, N: number, K: number, plan: Pick<DevicePlan, 'tiles' | 'narrowTiles'>): number {
  const { TM, TN } = tilesFor(M, N, plan);
  const blocks = Math.ceil(M / TM) * Math.ceil(N / TN);
  if (blocks >= 128) return 1;
  return Math.max(1, Math.min(Math.ceil(512 / blocks), Math.floor(K / (16 * TK))));
}

/** The block as compile-time facts of a kernel (kernels/spec.ts): TM and TN. */
export type TileFacts = { TM: number; TN: number };

export const tilesOf = (f: TileFacts): Tiles => ({ TM: f.TM, TN: f.TN }) as Tiles;

/** Workgroup size of a tiled kernel: (TX, TY, 1). */
export function tiledWorkgroupSize(f: TileFacts): [number, number, number] {
  const { TX, TY } = threadsOf(tilesOf(f));
  return [TX, TY, 1];
}

/**
 * One TM×TN block of C per workgroup of TX×TY threads (threadsOf, tiledWorkgroupSize), K staged
 * 16 at a time through workgroup memory. A thread owns rows {ty·4 + i + 4·TY·h} and columns
 * {tx·4 + j + 4·TX·g} (h, g < 2 for a 128-wide axis of 16×16 threads): each of its vec4 reads of
 * the staged tiles is contiguous across the threads of a row. The kernel's decls (loads, store,
 * the staged tiles) and main body; needs uniforms M, N, K (and kSplit for split-K).
 */
export function tiledGemm(s: TiledSource, f: TileFacts): { decls: string; main: string } {
  const t = tilesOf(f);
  const { TM, TN } = t;
  const { TX, TY } = threadsOf(t);
  const HM = TM / (4 * TY), HN = TN / (4 * TX); // sub-blocks per thread and axis
  const perA = (TM * TK) / 256, perB = (TN * TK) / 256;
  const aIdx = s.aKFast ? `let kk = e % ${TK}u; let mm = e / ${TK}u;` : `let mm = e % ${TM}u; let kk = e / ${TM}u;`;
  const bIdx = s.bKFast ? `let kk = e % ${TK}u; let nn = e / ${TK}u;` : `let nn = e % ${TN}u; let kk = e / ${TN}u;`;
  const slots = [...Array(perA).keys()];
  const sl = s.aSlots;
  const slotIdx = (i: number) =>
    `let e${i} = li + ${i * 256}u; ` +
    (s.aKFast ? `let kk${i} = e${i} % ${TK}u; let mm${i} = e${i} / ${TK}u;` : `let mm${i} = e${i} % ${TM}u; let kk${i} = e${i} / ${TM}u;`) +
    ` let m${i} = tm + mm${i};`;
  const aGeneric = `for (var i = 0u; i < ${perA}u; i++) { let e = li + i * 256u; ${aIdx} As[kk * ${TM / 4}u + mm / 4u][mm % 4u] = loadA(z, tm + mm, t + kk); }`;
  const hs = (n: number) => [...Array(n).keys()];
  // acc{h}{r}_{g}: row ty·4 + r + 4·TY·h, columns tx·4 + 4·TX·g .. +3.
  const accs = hs(HM).flatMap((h) => hs(4).flatMap((r) => hs(HN).map((g) => `acc${h}${r}_${g}`)));
  const fmas = hs(HM)
    .flatMap((h) => hs(4).flatMap((r) => hs(HN).map((g) => `acc${h}${r}_${g} = fma(vec4<f32>(a${h}.${'xyzw'[r]}), b${g}, acc${h}${r}_${g});`)))
    .join('\n      ');
  const stores = hs(HM)
    .flatMap((h) =>
      hs(4).flatMap((r) =>
        hs(HN).map(
          (g) => `{ let m = tm + ${4 * TY * h + r}u + lid.y * 4u; let n = tn + ${4 * TX * g}u + lid.x * 4u;
    for (var j = 0u; j < 4u; j++) { if (m < u.M && n + j < u.N) { store(z, m, n + j, acc${h}${r}_${g}[j]); } } }`,
        ),
      ),
    )
    .join('\n  ');
  const decls = /* wgsl */ `${s.loads}
${s.store}
var<workgroup> As: array<vec4<f32>, ${(TK * TM) / 4}>; // [k][m/4]
var<workgroup> Bs: array<vec4<f32>, ${(TK * TN) / 4}>; // [k][n/4]`;
  const main = /* wgsl */ `let z = wid.z;
  let tm = wid.y * ${TM}u;
  let tn = wid.x * ${TN}u;
  ${accs.map((a) => `var ${a} = vec4<f32>();`).join(' ')}
  ${s.splitK ? 'let kBeg = z * u.kSplit; let kEnd = min(kBeg + u.kSplit, u.K);' : 'let kBeg = 0u; let kEnd = u.K;'}
  ${sl ? slots.map((i) => `${slotIdx(i)}\n  ${sl.setup(i)}`).join('\n  ') : ''}
  for (var t = kBeg; t < kEnd; t += ${TK}u) {
    ${sl ? `${sl.step(slots)}\n    ${slots.map((i) => `As[kk${i} * ${TM / 4}u + mm${i} / 4u][mm${i} % 4u] = ${sl.load(i)};`).join('\n    ')}` : aGeneric}
    for (var i = 0u; i < ${perB}u; i++) {
      let e = li + i * 256u;
      ${bIdx} Bs[kk * ${TN / 4}u + nn / 4u][nn % 4u] = loadB(z, t + kk, tn + nn);
    }
    ${sl?.next ? slots.map((i) => sl.next!(i)).join('\n    ') : ''}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      ${hs(HM).map((h) => `let a${h} = As[kk * ${TM / 4}u + ${TY * h}u + lid.y];`).join(' ')}
      ${hs(HN).map((g) => `let b${g} = Bs[kk * ${TN / 4}u + ${TX * g}u + lid.x];`).join(' ')}
      ${fmas}
    }
    workgroupBarrier();
  }
  ${stores}`;
  return { decls, main };
}

/** A tiled kernel's workgroup size, decls and main, for its spec (kernels/spec.ts), from its facts. */
export function tiledParts<F extends TileFacts>(source: (f: F) => TiledSource) {
  return {
    workgroupSize: (f: F) => tiledWorkgroupSize(f),
    decls: (f: F) => tiledGemm(source(f), f).decls,
    main: (f: F) => tiledGemm(source(f), f).main,
  };
}

/** The grid of a tiled kernel: one workgroup per block of C, `batch` along z. */
export function tiledWorkgroups(M: number, N: number, batch: number, what: string, f: TileFacts): [number, number, number] {
  const t = tilesOf(f);
  const x = Math.ceil(N / t.TN);
  const y = Math.ceil(M / t.TM);
  if (x > MAX_GROUPS || y > MAX_GROUPS || batch > MAX_GROUPS) throw new Error(`${what}: ${M}×${N}×${batch} is too large for one dispatch`);
  return [x, y, batch];
}
