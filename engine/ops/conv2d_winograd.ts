// 3×3 stride-1 convolutions by Winograd F(m×m, 3×3) (kernels/winograd.ts), for CPU drivers where
// the plan asks for it: input and filter transforms, (m + 2)² products through the register GEMM,
// the output transform with bias and relu. The forward, and the input gradient as a forward conv
// of dy with the flipped filter; conv2d records its usual nodes either way.

import type { ConvGeom } from '../../kernels/conv2d.ts';
import { winogradInputKernel, winogradOutputKernel, winogradPoints, winogradTiles, winogradWeightKernel, type WinogradTile } from '../../kernels/winograd.ts';
import { dispatch } from '../run.ts';
import { keep } from '../scope.ts';
import { empty, type Tensor } from '../tensor.ts';
import { bindableElements, bindElements, launchGemm, transposeMatrices } from './matmul.ts';

/**
 * Where the transforms do not pay (bench/lavapipe_winograd.ts on lavapipe, direct = 1): fewer
 * input channels leave the GEMM short (cam2's 16→32 conv at batch 100: F2 1.1–1.5×), and a
 * handful of tiles leaves 36 products of 4 rows (8×8 outputs of one image under F4, 4 tiles:
 * ResNet50's and DenseNet121's 8×8 convs 1.5–1.7×). Small outputs otherwise pay: cam1's 7×7 and
 * 3×3 convs at batch 100 0.86× and 0.80× under F4. Small shapes are noisy here (±15%). And
 * below DevicePlan.winogradMinMacs the extra dispatches cost more than the GEMM saves.
 */
export const WINOGRAD_MIN_C = 32;
export const WINOGRAD_MIN_TILES = 8;

/**
 * Filter transforms kept for reuse: inference runs the same weights again and again, and V is
 * what costs most beside the GEMM at VGG16's block4/5 (36·C·O floats written: 9–18 ms a layer on
 * lavapipe). An entry is current while its weight tensor lives and its buffer has not been
 * written since (Gpu.writeCount: optimiser steps, uploads and every dispatch writing it count),
 * so training recomputes V each step. At most CACHE_BYTES are kept; past that V is not cached.
 */
interface Cached {
  V: Tensor;
  m: WinogradTile;
  writes: number;
}
/** Keyed by the weight tensor; the input gradient's (flipped, transposed) V in cacheDx. */
const cache = new Map<Tensor, Cached>();
const cacheDx = new Map<Tensor, Cached>();
const CACHE_BYTES = 512 * 1024 * 1024;
let cachedBytes = 0;

function drop(map: Map<Tensor, Cached>, w: Tensor, c: Cached): void {
  map.delete(w);
  cachedBytes -= c.V.size * 4;
  c.V.dispose();
}

/**
 * V for filter w (HWIO [3, 3, C, O]): the cached one when current, else computed (and kept when
 * there is room). `dx`: the input gradient's filter, w flipped in space with C and O swapped
 * (V [α², O, C]).
 */
function filterTransform(op: string, m: WinogradTile, w: Tensor, C: number, O: number, dx: boolean): { V: Tensor; owned: boolean } {
  for (const map of [cache, cacheDx]) for (const [t, c] of map) if (t.disposed || c.V.disposed) drop(map, t, c);
  const map = dx ? cacheDx : cache;
  const writes = w.storage.gpu.writeCount(w.storage.buffer);
  const hit = map.get(w);
  if (hit && hit.m === m && hit.writes === writes) return { V: hit.V, owned: false };
  if (hit) drop(map, w, hit);
  const [rows, cols] = dx ? [O, C] : [C, O];
  const V = empty([winogradPoints(m), rows, cols]);
  // The transposed taps [3, 3, O, C] (what the direct input-gradient kernel reads too).
  const src = dx ? transposeMatrices(op, w, 9, C, O) : w;
  try {
    const wb = bindElements(src, 0, src.size);
    dispatch(op, winogradWeightKernel(m, rows, cols, wb.rest, dx), [wb.slice], [V]);
  } catch (e) {
    V.dispose();
    throw e;
  } finally {
    if (src !== w) src.dispose();
  }
  if (cachedBytes + V.size * 4 > CACHE_BYTES) return { V, owned: true };
  keep(V);
  map.set(w, { V, m, writes });
  cachedBytes += V.size * 4;
  return { V, owned: false };
}

/** Frees every cached filter transform (tests; a caller short of memory). */
export function clearWinogradCache(): void {
  for (const map of [cache, cacheDx]) for (const [t, c] of map) drop(map, t, c);
}

/** Whether y = conv(x, w) of geometry g may take the Winograd path on this plan. */
export function winogradApplies(g: ConvGeom, x: Tensor): boolean {
  const p = x.storage.gpu.plan;
  return p.winograd !== 0 && p.gemm === 'register' && g.KH === 3 && g.KW === 3 && g.SH === 1 && g.SW === 1 && g.C % 4 === 0 && g.O % 4 === 0 && g.C >= WINOGRAD_MIN_C && g.N * g.HO * g.WO * g.C * g.O * 9 >= p.winogradMinMacs && g.N * Math.ceil(g.HO / p.winograd) * Math.ceil(g.WO / p.winograd) >= WINOGRAD_MIN_TILES;
}

/**
 * Tiles per chunk: U and M of a chunk at most 4 M floats (16 MB) each, so the temporaries stay
 * small. Chunks of 1 M, 4 M and 64 M floats measured alike on lavapipe (within its noise) but
 * for VGG16's 224×224×64 conv, where 1 M was 1.15× slower (more, shorter dispatches).
 */
const CHUNK_FLOATS = 4 * 1024 * 1024;

/**
 * The chunks [first tile, tiles) of the whole batch: at most `cap` tiles each, and within one
 * image where a binding cannot hold two images' x or y.
 */
function chunks(total: number, tpi: number, cap: number, crossImages: boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a < total; ) {
    const end = crossImages ? total : (Math.floor(a / tpi) + 1) * tpi;
    const b = Math.min(a + cap, end);
    out.push([a, b - a]);
    a = b;
  }
  return out;
}

/** y = conv(x, w) (+ b) (relu) by Winograd, a chunk of tiles at a time; false where one image does not fit a binding. */
export function forwardWinograd(g: ConvGeom, x: Tensor, w: Tensor, b: Tensor | null, relu: boolean, y: Tensor, dx = false): boolean {
  const op = dx ? 'conv2d.dx' : 'conv2d';
  const m = x.storage.gpu.plan.winograd as WinogradTile;
  const P = winogradPoints(m);
  const L = bindableElements(x.storage.gpu);
  const { C, O, H, W, HO, WO } = g;
  const tpi = Math.ceil(HO / m) * Math.ceil(WO / m);
  const xPer = H * W * C, yPer = HO * WO * O;
  const wide = P * Math.max(C, O);
  const perBinding = Math.floor(L / Math.max(xPer, yPer));
  // A chunk spanning k images binds ⌈k⌉ + 1 of them at most.
  const cap = Math.max(4, Math.min(Math.floor(CHUNK_FLOATS / wide), Math.floor(L / wide) - 3, perBinding >= 2 ? (perBinding - 1) * tpi : tpi));
  if (perBinding < 1 || P * C * O > L || w.size > L || Math.floor(L / wide) - 3 < 4) return false;
  const { V, owned } = filterTransform(op, m, w, dx ? O : C, dx ? C : O, dx);
  try {
    const bb = b ? bindElements(b, 0, b.size) : null;
    for (const [a, T] of chunks(g.N * tpi, tpi, cap, perBinding >= 2)) {
      const img0 = Math.floor(a / tpi), imgs = Math.ceil((a + T) / tpi) - img0;
      const t = winogradTiles(m, HO, WO, a - img0 * tpi, T);
      const U = empty([P, C, t.TP]);
      const M = empty([P, t.TP, O]);
      try {
        const xb = bindElements(x, img0 * xPer, imgs * xPer);
        dispatch(op, winogradInputKernel(C, H, W, g.PT, g.PL, t, xb.rest), [xb.slice], [U]);
        launchGemm({
          op, a: U, b: V, c: M, batch: P, M: t.TP, N: O, K: C, transA: true, transB: false,
          batchA: C * t.TP, batchB: C * O, alpha: 1, beta: 0,
        });
        const yb = bindElements(y, img0 * yPer, imgs * yPer);
        dispatch(op, winogradOutputKernel(O, HO, WO, t, !!bb, bb ? bb.rest : 0, yb.rest, relu), [M, bb ? bb.slice : null], [yb.slice]);
      } finally {
        // Safe before the GPU ran: the queue executes in order (as launchGemm's temporaries).
        U.dispose();
        M.dispose();
      }
    }
  } finally {
    if (owned) V.dispose();
  }
  return true;
}

/**
 * The geometry of dx = convᵀ(dy, w) for a stride-1 3×3 conv of geometry g, as a forward conv of
 * dy with the flipped, transposed filter: pads 2 − p on each side (the full correlation's), O
 * input channels, C output channels, output H×W. Null where a pad would be negative.
 */
export function inputGradGeometry(g: ConvGeom): ConvGeom | null {
  const [PT, PB, PL, PR] = [2 - g.PT, 2 - g.PB, 2 - g.PL, 2 - g.PR];
  if (g.KH !== 3 || g.KW !== 3 || g.SH !== 1 || g.SW !== 1 || Math.min(PT, PB, PL, PR) < 0) return null;
  return { N: g.N, H: g.HO, W: g.WO, C: g.O, KH: 3, KW: 3, O: g.C, SH: 1, SW: 1, PT, PB, PL, PR, HO: g.H, WO: g.W };
}
