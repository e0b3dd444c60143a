// Column sums of G row-major [R, C] matrices stored one after another ([G, R, C] → [G, P, C]):
// bias gradients (R = every pixel of a batch, C = channels), global average pooling (G images of
// R = H·W rows), the partial results of split-K GEMMs and convolutions.
// Two shapes of kernel. For CPU drivers, one thread per (row chunk, column) walking its rows, with
// no barrier (they pay dearly for barriers). For GPUs, one workgroup per (row chunk, tile of
// neighbouring columns), its rows spread over the workgroup's threads and added up in shared
// memory: G·C columns give a GPU far too few threads, and a thread walking hundreds of rows alone
// waits on one load after another (on an H100 the thread-per-column sums took a quarter of a cam2
// training step's GPU time).

import { grid, type Kernel } from './program.ts';
import { type BindingDecl, defineKernel } from './spec.ts';

export interface ColSumOpts {
  /** Adds bias[c % nBias] to the sums (the last pass of a split-K GEMM); 0: no bias. */
  nBias?: number;
  relu?: boolean;
  /** G: how many [R, C] matrices. */
  groups?: number;
  /** The workgroup kernel (GPUs) instead of the thread-per-column one (CPU drivers). */
  tree?: boolean;
}

/**
 * Y[g, p, c] = scale · Σ X[(g·R + r)·C + c] over the rows r of chunk p (+ bias, then relu where
 * asked). P > 1 leaves partial sums for a second pass with P = 1 (`colSumChunks` picks P). With a
 * bias, bindings are X, bias, Y.
 */
export function colSumKernel(R: number, C: number, P: number, scale: number, o: ColSumOpts = {}): Kernel {
  return o.tree ? treeKernel(R, C, P, scale, o) : threadKernel(R, C, P, scale, o);
}

/** Row chunks for a first pass: enough threads in flight, and few rows left for the second. */
export function colSumChunks(R: number, C: number, groups: number, tree: boolean): number {
  if (!tree) return Math.max(1, Math.min(Math.ceil(32768 / (C * groups)), Math.floor(R / 32)));
  const { TX, TY } = treeTile(C);
  const tiles = groups * Math.ceil(C / TX);
  // One pass when each thread has few rows, or the column tiles alone fill the GPU.
  if (R <= TY * 8 || (R <= TY * 32 && tiles >= 512)) return 1;
  // At least 16 rows a thread in the first pass, at most 32 in the second.
  return Math.min(TY * 32, Math.ceil(R / (TY * 16)));
}

const WG = 64;

/** Facts of both kernels: a bias binding and relu in the last pass. */
type Finish = { bias: boolean; relu: boolean };

const threadSum = defineKernel({
  name: 'colsum',
  bindings: (f: Finish) => BINDINGS(f.bias),
  uniforms: { R: 'u32', C: 'u32', P: 'u32', chunk: 'u32', scale: 'f32', nBias: 'u32', n: 'u32' },
  workgroupSize: WG,
  dispatch: { flat: 'n' },
  decls: (f) => FINISH(f.bias, f.relu),
  main: () => `let c = i % u.C;
  let gp = i / u.C;
  let p = gp % u.P;
  let base = (gp / u.P) * u.R;
  let r1 = base + min(p * u.chunk + u.chunk, u.R);
  var acc = 0.0;
  for (var r = base + p * u.chunk; r < r1; r++) { acc += X[r * u.C + c]; }
  Y[i] = finish(u.scale * acc, c);`,
});

function threadKernel(R: number, C: number, P: number, scale: number, o: ColSumOpts): Kernel {
  const { nBias, bias, relu, G } = flags(o);
  return threadSum({ bias, relu }, { R, C, P, chunk: Math.ceil(R / P), scale, nBias, n: G * P * C });
}

const TWG = 256;

/** TX neighbouring columns (one coalesced segment of a row) by TY rows; TY a power of two. */
function treeTile(C: number): { TX: number; TY: number } {
  const TX = C > 16 ? 32 : C > 8 ? 16 : 8;
  return { TX, TY: TWG / TX };
}

// Four rows in flight per thread (independent sums), then a tree over the TY rows in shared memory.
const treeSum = defineKernel({
  name: 'colsum_tree',
  bindings: (f: Finish & { TX: number }) => BINDINGS(f.bias),
  uniforms: { R: 'u32', C: 'u32', P: 'u32', chunk: 'u32', scale: 'f32', nBias: 'u32', tiles: 'u32', total: 'u32' },
  workgroupSize: TWG,
  dispatch: (u) => grid(u.total),
  decls: (f) => `var<workgroup> sh: array<f32, ${TWG}>;
${FINISH(f.bias, f.relu)}`,
  main: ({ TX }) => {
    const TY = TWG / TX;
    return `let w = flat_group(wid, nwg);
  if (w >= u.total) { return; }
  let gp = w / u.tiles;
  let tx = li % ${TX}u;
  let ty = li / ${TX}u;
  let c = (w % u.tiles) * ${TX}u + tx;
  var a = vec4<f32>(0.0);
  if (c < u.C) {
    let p = gp % u.P;
    let base = (gp / u.P) * u.R;
    let r1 = base + min(p * u.chunk + u.chunk, u.R);
    var r = base + p * u.chunk + ty;
    for (; r + ${3 * TY}u < r1; r += ${4 * TY}u) {
      a += vec4<f32>(X[r * u.C + c], X[(r + ${TY}u) * u.C + c], X[(r + ${2 * TY}u) * u.C + c], X[(r + ${3 * TY}u) * u.C + c]);
    }
    for (; r < r1; r += ${TY}u) { a.x += X[r * u.C + c]; }
  }
  sh[li] = (a.x + a.y) + (a.z + a.w);
  workgroupBarrier();
  for (var s = ${TY / 2}u; s > 0u; s >>= 1u) {
    if (ty < s) { sh[li] += sh[li + s * ${TX}u]; }
    workgroupBarrier();
  }
  if (ty == 0u && c < u.C) { Y[gp * u.C + c] = finish(u.scale * sh[tx], c); }`;
  },
});

function treeKernel(R: number, C: number, P: number, scale: number, o: ColSumOpts): Kernel {
  const { nBias, bias, relu, G } = flags(o);
  const { TX } = treeTile(C);
  const tiles = Math.ceil(C / TX);
  return treeSum({ TX, bias, relu }, { R, C, P, chunk: Math.ceil(R / P), scale, nBias, tiles, total: G * P * tiles });
}

function flags(o: ColSumOpts) {
  const nBias = o.nBias ?? 0;
  return { nBias, bias: nBias > 0, relu: !!o.relu, G: o.groups ?? 1 };
}

const BINDINGS = (bias: boolean): BindingDecl[] => [
  { name: 'X', access: 'read' },
  ...(bias ? [{ name: 'Bias', access: 'read' } as const] : []),
  { name: 'Y', access: 'write' },
];

const FINISH = (bias: boolean, relu: boolean) => `fn finish(s: f32, c: u32) -> f32 {
  var v = s;
  ${bias ? 'v += Bias[c % u.nBias];' : ''}
  ${relu ? 'v = max(v, 0.0);' : ''}
  return v;
}`;
