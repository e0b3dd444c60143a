// Which WGSL matmul shapes lavapipe (llvmpipe) compiles well: raw kernels for C = A·B at 1024³,
// timed in one process, alternating shape by shape each round (not a test; not part of the suite).
// llvmpipe runs a workgroup's invocations 8 at a time in AVX2 lanes; the idea under test was that
// an address depending only on workgroup ids and uniforms becomes a scalar load and a broadcast,
// one depending on the invocation index a lane-by-lane load. The shapes:
//  - engine: E.matmul as the library runs it (the 'register' kernel, A transposed first), under
//    regTile 8 and 16, and with Aᵀ given (no transpose pass: the kernel alone);
//  - reg R×C: a copy of the register kernel (an R×C block of C per invocation, Aᵀ and B in vec4);
//  - uniA: a workgroup owns RM rows (from workgroup_id only, so A's loads are uniform), each lane
//    CN columns of B strided by the workgroup width (contiguous across lanes), scalar or vec4;
//    'k4' reads A as vec4 along K and does 4 rank-1 steps per load.
// Results: bench/results/lavapipe-shapes-2026-12-07.md.
//   npx tsc -p tsconfig.json --outDir dist-dev && node dist-dev/bench/lavapipe_shapes.js
//     [--rounds 5] [--first | --second | --fourth (other shape sets; default: workgroup sizes)] [--only a,b]

import * as E from '../engine/index.ts';

const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf('--rounds') + 1]) || 5;
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const S = 1024;

const g = await E.init();
const dev = g.device;
console.log(`adapter: ${g.adapterInfo.description || g.adapterInfo.architecture}; plan gemm: ${g.plan.gemm}`);

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}
const a = rand(S * S, 1);
const b = rand(S * S, 2);
const at = new Float32Array(S * S);
for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) at[j * S + i] = a[i * S + j];

const SU = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
function buf(data: Float32Array | Uint32Array | number, usage = SU): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const bf = dev.createBuffer({ size, usage });
  if (typeof data !== 'number') dev.queue.writeBuffer(bf, 0, data);
  return bf;
}
const bufA = buf(a);
const bufAT = buf(at);
const bufB = buf(b);
const bufC = buf(S * S * 4);
const uni = buf(new Uint32Array([S, S, S, 0]), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);

interface Shape {
  name: string;
  wgsl: string;
  grid: [number, number];
  aT: boolean;
}
const range = (n: number) => [...Array(n).keys()];
const HEAD = (aType: string, bType: string, cType: string) => `
struct U { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<${aType}>;
@group(0) @binding(2) var<storage, read> B: array<${bType}>;
@group(0) @binding(3) var<storage, read_write> C: array<${cType}>;
`;

/** The register kernel's shape: a flat thread index, block 4RM × 4RN, Aᵀ and B in vec4. */
function reg(RM: number, RN: number, W = 64): Shape {
  const tilesN = S / (4 * RN);
  const acc = range(4 * RM).flatMap((q) => range(RN).map((c) => [q, c]));
  const wgsl = `${HEAD('vec4<f32>', 'vec4<f32>', 'vec4<f32>')}
@compute @workgroup_size(${W}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = (wid.y * ${Math.min((S * S) / (16 * RM * RN) / W, 64)}u + wid.x) * ${W}u + li;
  let m0 = (t / ${tilesN}u) * ${4 * RM}u;
  let n0 = (t % ${tilesN}u) * ${4 * RN}u;
  ${acc.map(([q, c]) => `var acc${q}_${c} = vec4<f32>();`).join(' ')}
  for (var k = 0u; k < u.K; k++) {
    ${range(RM).map((r) => `let a${r} = A[k * (u.M / 4u) + m0 / 4u + ${r}u];`).join(' ')}
    ${range(RN).map((c) => `let b${c} = B[k * (u.N / 4u) + n0 / 4u + ${c}u];`).join(' ')}
    ${acc.map(([q, c]) => `acc${q}_${c} = fma(vec4<f32>(a${q >> 2}[${q & 3}]), b${c}, acc${q}_${c});`).join(' ')}
  }
  ${acc.map(([q, c]) => `C[(m0 + ${q}u) * (u.N / 4u) + n0 / 4u + ${c}u] = acc${q}_${c};`).join('\n  ')}
}`;
  const groups = (S * S) / (16 * RM * RN) / W;
  return { name: `reg ${4 * RM}×${4 * RN} wg${W}`, wgsl, grid: [Math.min(groups, 64), Math.max(1, groups / 64)], aT: true };
}

/**
 * Uniform-A shape: workgroup (x, y) owns rows y·RM … and a column strip; lane li owns columns
 * x·W·CN + li + c·W (scalar) or vec4 columns likewise (vec). k4: A read as vec4 along K.
 */
function uniA(RM: number, CN: number, W: number, vec: boolean, k4 = false): Shape {
  const T = vec ? 'vec4<f32>' : 'f32';
  const nDiv = vec ? '(u.N / 4u)' : 'u.N';
  const acc = range(RM).flatMap((q) => range(CN).map((c) => [q, c]));
  const step = (kk: string, aAt: (q: number) => string) =>
    `${range(CN).map((c) => `let b${c} = B[(${kk}) * ${nDiv} + nb + ${c * W}u];`).join(' ')}
    ${acc.map(([q, c]) => `acc${q}_${c} = fma(${T}(${aAt(q)}), b${c}, acc${q}_${c});`).join(' ')}`;
  const body = k4
    ? `for (var k = 0u; k < u.K; k += 4u) {
    ${range(RM).map((q) => `let a${q} = A[((m0 + ${q}u) * u.K + k) / 4u];`).join(' ')}
    ${range(4).map((j) => `{ ${step(`k + ${j}u`, (q) => `a${q}[${j}]`)} }`).join('\n    ')}
  }`
    : `for (var k = 0u; k < u.K; k++) {
    ${range(RM).map((q) => `let a${q} = A[(m0 + ${q}u) * u.K + k];`).join(' ')}
    ${step('k', (q) => `a${q}`)}
  }`;
  const wgsl = `${HEAD(k4 ? 'vec4<f32>' : 'f32', T, T)}
@compute @workgroup_size(${W}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * ${RM}u;
  let nb = wid.x * ${W * CN}u + li;
  ${acc.map(([q, c]) => `var acc${q}_${c} = ${T}();`).join(' ')}
  ${body}
  ${acc.map(([q, c]) => `C[(m0 + ${q}u) * ${nDiv} + nb + ${c * W}u] = acc${q}_${c};`).join('\n  ')}
}`;
  const cols = W * CN * (vec ? 4 : 1);
  return { name: `uniA ${RM}×${CN}${vec ? 'v4' : ''} wg${W}${k4 ? ' k4' : ''}`, wgsl, grid: [S / cols, S / RM], aT: false };
}

const first: Shape[] = [
  reg(2, 2),
  reg(1, 1),
  uniA(8, 1, 64, false),
  uniA(8, 1, 8, false),
  uniA(8, 1, 32, false),
  uniA(4, 2, 64, false),
  uniA(16, 1, 64, false),
  uniA(4, 1, 64, true),
  uniA(8, 1, 64, true),
  uniA(8, 1, 64, false, true),
  uniA(4, 1, 64, true, true),
];
const second: Shape[] = [
  reg(2, 2),
  reg(2, 4),
  reg(4, 2),
  reg(4, 4),
  reg(1, 4),
  reg(2, 2, 8),
  reg(2, 2, 16),
  uniA(16, 1, 64, true),
  uniA(8, 2, 64, true),
  uniA(16, 2, 64, true),
  uniA(8, 1, 64, true, true),
  uniA(16, 1, 64, true, true),
];
const third: Shape[] = [
  reg(2, 2),
  reg(2, 2, 8),
  reg(2, 2, 32),
  reg(2, 4),
  reg(2, 4, 8),
  reg(4, 4),
  reg(4, 4, 8),
  reg(4, 4, 16),
];
const fourth: Shape[] = [reg(4, 4), reg(2, 8), reg(8, 2), reg(4, 8), reg(8, 4)];
const shapes = [...(argv.includes('--fourth') ? fourth : argv.includes('--first') ? first : argv.includes('--second') ? second : third)
].filter((s) => !only || only.some((o) => s.name.includes(o)));

interface Run {
  name: string;
  run: () => Promise<void>;
  ms: number[];
}
const runs: Run[] = [];
for (const s of shapes) {
  const t0 = performance.now();
  const module = dev.createShaderModule({ code: s.wgsl });
  const pipe = await dev.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = dev.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [uni, s.aT ? bufAT : bufA, bufB, bufC].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const run = async () => {
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(s.grid[0], s.grid[1]);
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
  };
  await run();
  // Check against a plain-TS product at a few entries (every shape writes all of C).
  const rd = buf(S * S * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  const enc = dev.createCommandEncoder();
  enc.copyBufferToBuffer(bufC, 0, rd, 0, S * S * 4);
  dev.queue.submit([enc.finish()]);
  await rd.mapAsync(GPUMapMode.READ);
  const c = new Float32Array(rd.getMappedRange().slice(0));
  rd.destroy();
  let err = 0;
  for (let t = 0; t < 200; t++) {
    const i = (t * 7919) % S;
    const j = (t * 104729 + 13) % S;
    let ref = 0;
    for (let k = 0; k < S; k++) ref += a[i * S + k] * b[k * S + j];
    err = Math.max(err, Math.abs(c[i * S + j] - ref));
  }
  console.log(`${s.name.padEnd(24)} compiled+first run ${(performance.now() - t0).toFixed(0)} ms, max |err| ${err.toExponential(1)}`);
  if (!(err < 1e-3)) throw new Error(`${s.name}: wrong result (max error ${err})`);
  runs.push({ name: s.name, run, ms: [] });
}
{
  const ta = E.tensor(a, [S, S]);
  const tb = E.tensor(b, [S, S]);
  for (const regTile of [16, 8] as const) {
    const run = () =>
      g.withPlan({ regTile }, async () => {
        E.tidy(() => E.matmul(ta, tb));
        await g.sync();
      });
    const t0 = performance.now();
    await run();
    console.log(`engine regTile ${regTile}: compiled+first run ${(performance.now() - t0).toFixed(0)} ms`);
    runs.unshift({ name: `engine E.matmul (${g.plan.gemm}, ${regTile}×${regTile})`, run, ms: [] });
  }
  // Aᵀ given: the op skips its transpose pass, so this row is the kernel alone.
  const tat = E.tensor(at, [S, S]);
  const runT = () =>
    g.withPlan({ regTile: 16 }, async () => {
      E.tidy(() => E.matmul(tat, tb, { transposeA: true }));
      await g.sync();
    });
  await runT();
  runs.push({ name: 'engine E.matmul(Aᵀ given, 16×16)', run: runT, ms: [] });
}

for (let r = 0; r < rounds; r++)
  for (const x of runs) {
    const t0 = performance.now();
    await x.run();
    x.ms.push(performance.now() - t0);
  }
const base = Math.min(...runs[0].ms);
console.log(`\n| shape | best ms | median ms | GFLOP/s (best) | × engine |\n|---|---|---|---|---|`);
for (const x of runs) {
  const s = [...x.ms].sort((p, q) => p - q);
  const med = s[Math.floor(s.length / 2)];
  console.log(`| ${x.name} | ${s[0].toFixed(1)} | ${med.toFixed(1)} | ${((2 * S ** 3) / s[0] / 1e6).toFixed(2)} | ${(base / s[0]).toFixed(2)} |`);
}
process.exit(0);
