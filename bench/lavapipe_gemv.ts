// Which WGSL GEMV shapes lavapipe runs fastest: raw kernels for c = a·B (a: 1×K, B: K×N row-major,
// or stored transposed for 'rows'), K 6272 × N 4096 (100 MB of B), one process, shapes alternating
// round by round (not a test). Results: bench/results/lavapipe-shapes-2026-12-07.md, round 7; what
// landed is kernels/gemv_lanes.ts.
//   npx tsc -p tsconfig.json && node dist/bench/lavapipe_gemv.js

import * as E from '../engine/index.ts';
const g = await E.init(); const dev = g.device;
const K = 6272, N = 4096;
const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const a = rand(K, 1), b = rand(K * N, 2);
const bt = new Float32Array(K * N); for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n];
const SU = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const buf = (d: Float32Array | number) => { const x = dev.createBuffer({ size: typeof d === 'number' ? d : d.byteLength, usage: SU }); if (typeof d !== 'number') dev.queue.writeBuffer(x, 0, d); return x; };
const bA = buf(a), bB = buf(b), bBT = buf(bt), bC = buf(N * 4 * 8);
const ref = new Float64Array(N); for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) ref[n] += a[k] * b[k * N + n];
const H = `const K = ${K}u; const N = ${N}u;
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
`;
const shapes = {
  // thread owns CQ column quads of row-major B: adjacent ones, or (strided) one per W quads so
  // that neighbouring lanes read neighbouring quads
  cols: (CQ: number, W = 64, strided = false) => {
    const step = strided ? W : 1;
    const q0 = strided ? `wid.x * ${CQ * W}u + li` : `(wid.x * ${W}u + li) * ${CQ}u`;
    const each = (f: (c: number) => string) => [...Array(CQ).keys()].map(f).join(' ');
    return { grid: N / 4 / CQ / W, t: false, wgsl: H + `@compute @workgroup_size(${W}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let q0 = ${q0};
  ${each((c) => `var acc${c} = vec4<f32>();`)}
  for (var k4 = 0u; k4 < K / 4u; k4++) {
    let a = A[k4];
    for (var j = 0u; j < 4u; j++) {
      let row = (k4 * 4u + j) * (N / 4u) + q0;
      let s = a[j];
      ${each((c) => `acc${c} = fma(vec4<f32>(s), B[row + ${c * step}u], acc${c});`)}
    }
  }
  ${each((c) => `C[q0 + ${c * step}u] = acc${c};`)}
}` };
  },
  // transposed: thread owns R rows of B^T [N, K]
  rows: (R: number, W = 64) => ({ grid: N / R / W, t: true, wgsl: H + `@compute @workgroup_size(${W}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * ${R}u;
  ${[...Array(R).keys()].map(r => `var s${r} = vec4<f32>();`).join(' ')}
  for (var k4 = 0u; k4 < K / 4u; k4++) {
    let a = A[k4];
    ${[...Array(R).keys()].map(r => `s${r} = fma(a, B[(n0 + ${r}u) * (K / 4u) + k4], s${r});`).join(' ')}
  }
  let o = vec4<f32>(${[...Array(4).keys()].map(r => r < R ? `dot(s${r}, vec4<f32>(1.0))` : '0.0').join(', ')});
  ${R === 4 ? 'C[n0 / 4u] = o;' : ''}
}` }),
};
const list: [string, { grid: number; t: boolean; wgsl: string }][] = [['cols1', shapes.cols(1)], ['cols2', shapes.cols(2)], ['cols4', shapes.cols(4)], ['cols8', shapes.cols(8)], ['colsS2', shapes.cols(2, 64, true)], ['colsS4', shapes.cols(4, 64, true)], ['cols4 wg16', shapes.cols(4, 16)], ['rows4', shapes.rows(4)], ['rows4 wg16', shapes.rows(4, 16)], ['cols1 wg16', shapes.cols(1, 16)], ['cols1 wg256', shapes.cols(1, 256)]];
const prep = list.map(([name, s]) => {
  const mod = dev.createShaderModule({ code: s.wgsl });
  const p = dev.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' } });
  const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [bA, s.t ? bBT : bB, bC].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  return { name, p, bg, grid: s.grid, t: s.t };
});
type Prep = (typeof prep)[number];
const once = async (x: Prep) => { const e = dev.createCommandEncoder(); const c = e.beginComputePass(); c.setPipeline(x.p); c.setBindGroup(0, x.bg); c.dispatchWorkgroups(x.grid); c.end(); dev.queue.submit([e.finish()]); await dev.queue.onSubmittedWorkDone(); };
const times: Record<string, number[]> = Object.fromEntries(prep.map((x) => [x.name, [] as number[]]));
for (const x of prep) { await once(x);
  const rb = dev.createBuffer({ size: N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }); const e = dev.createCommandEncoder(); e.copyBufferToBuffer(bC, 0, rb, 0, N * 4); dev.queue.submit([e.finish()]); await rb.mapAsync(GPUMapMode.READ); const c = new Float32Array(rb.getMappedRange()); let err = 0; for (let n = 0; n < N; n++) err = Math.max(err, Math.abs(c[n] - ref[n])); console.log(x.name, 'max err', err.toExponential(2)); }
for (let r = 0; r < 5; r++) for (const x of prep) { const t0 = performance.now(); await once(x); times[x.name].push(performance.now() - t0); }
for (const [n, t] of Object.entries(times)) { t.sort((a, b) => a - b); console.log(`${n}: best ${t[0].toFixed(1)} ms, median ${t[2].toFixed(1)} ms, ${(K * N * 4 / t[0] / 1e6).toFixed(2)} GB/s`); }
