// Quick throughput check of the GEMM kernels on this machine's adapter (not a test):
// matmul 1024³ in each transposition, and VGG16 block3's conv (N=1, 56×56×256 → 256, 3×3 same)
// forward, input gradient and weight gradient. Times whole ops (including any layout pass) over
// several runs between `await gpu().sync()`. `--variant register|tiled` forces a kernel variant
// (it becomes the device's LANTERNA_GEMM setting).
// On a software adapter the process's CPU time is printed too: GFLOP per CPU-second × cores is
// what the wall clock would show on an otherwise idle machine (other processes share the cores).
//   npx tsc -p tsconfig.json --outDir dist && node dist/bench/kernels_matmul_conv.js

import * as E from '../engine/index.ts';
import { conv2dInputGrad, conv2dWeightGrad } from '../engine/ops/conv2d.ts';
import { convGeometry } from '../kernels/conv2d.ts';
import type { GemmVariant } from '../kernels/matmul.ts';

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const variantArg = arg('--variant') as GemmVariant | undefined;
const runs = Number(arg('--runs')) || 5;

const g = await E.init(variantArg ? { settings: { LANTERNA_GEMM: variantArg } } : {});
const cores = (await import('node:os')).availableParallelism();
// On a GPU one op takes less than a submit-and-wait round trip: time several per sync there.
const inner = Number(arg('--inner')) || (g.plan.cpuDriver ? 1 : 20);
console.log(`adapter: ${g.adapterInfo.description || g.adapterInfo.architecture} (${g.adapterInfo.vendor}); variant: ${g.plan.gemm}`);

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

/** Best and median wall time per op over `runs` runs of `inner` ops (a first, compiling, run excluded). */
async function time(name: string, flops: number, fn: () => E.Tensor): Promise<void> {
  E.tidy(fn);
  await g.sync();
  const ms: number[] = [];
  let cpu = Infinity;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = 0; j < inner; j++) E.tidy(fn);
    await g.sync();
    ms.push((performance.now() - t0) / inner);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000 / inner);
  }
  ms.sort((a, b) => a - b);
  const best = ms[0];
  const med = ms[Math.floor(ms.length / 2)];
  const line = `${name.padEnd(30)} ${best.toFixed(1).padStart(8)} ms best ${med.toFixed(1).padStart(8)} ms median ${(flops / best / 1e6).toFixed(2).padStart(8)} GFLOP/s`;
  console.log(g.plan.cpuDriver ? `${line}   ${((flops / cpu / 1e6) * cores).toFixed(2).padStart(6)} GFLOP/s per ${cores} idle cores` : line);
}

const S = 1024;
const a = E.tensor(rand(S * S, 1), [S, S]);
const b = E.tensor(rand(S * S, 2), [S, S]);
for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const)
  await time(`matmul 1024³ ${tA ? 'Aᵀ' : 'A'}·${tB ? 'Bᵀ' : 'B'}`, 2 * S ** 3, () => E.matmul(a, b, { transposeA: tA, transposeB: tB }));

const xs = [1, 56, 56, 256];
const ws = [3, 3, 256, 256];
const geo = convGeometry(xs, ws, [1, 1], 'same');
const x = E.tensor(rand(56 * 56 * 256, 3), xs);
const w = E.tensor(rand(9 * 256 * 256, 4), ws);
const bias = E.tensor(rand(256, 5), [256]);
const dy = E.tensor(rand(56 * 56 * 256, 6), [1, 56, 56, 256]);
const convFlops = 2 * geo.N * geo.HO * geo.WO * geo.O * geo.KH * geo.KW * geo.C;
await time('VGG16 block3 conv forward', convFlops, () => E.conv2d(x, w, bias, { padding: 'same' }));
await time('VGG16 block3 conv dx', convFlops, () => conv2dInputGrad(dy, w, geo));
await time('VGG16 block3 conv dW', convFlops, () => conv2dWeightGrad(x, dy, geo));
g.destroy();
