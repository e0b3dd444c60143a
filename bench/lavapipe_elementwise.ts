// Which WGSL elementwise shapes lavapipe runs fastest: raw relu kernels over 32 768 and 800 000
// floats, 50 dispatches per pass, one process, shapes alternating (not a test). Results:
// bench/results/lavapipe-shapes-2026-12-07.md, round 8; what landed is kernels/elementwise.ts's
// unary4 / unary_grad4 / binary4 (4 vec4 per invocation, contiguous).
//   npx tsc -p tsconfig.json && node dist/bench/lavapipe_elementwise.js

import * as E from '../engine/index.ts';
const g = await E.init(); const dev = g.device;
const SU = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const REPS = 50;
function mk(code: string) { const m = dev.createShaderModule({ code }); return dev.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint: 'main' } }); }
const shapes: Record<string, { t: string; per: number; wg: number; body: string }> = {
  'scalar wg64': { t: 'f32', per: 1, wg: 64, body: 'if (i < N) { Y[i] = max(X[i], 0.0); }' },
  'vec4 wg64': { t: 'vec4<f32>', per: 4, wg: 64, body: 'if (i < N / 4u) { Y[i] = max(X[i], vec4<f32>(0.0)); }' },
  'vec4 wg256': { t: 'vec4<f32>', per: 4, wg: 256, body: 'if (i < N / 4u) { Y[i] = max(X[i], vec4<f32>(0.0)); }' },
  'vec4x4 strided wg64': { t: 'vec4<f32>', per: 16, wg: 64, body: 'let b = (i / 64u) * 256u + i % 64u; for (var j = 0u; j < 4u; j++) { let k = b + j * 64u; if (k < N / 4u) { Y[k] = max(X[k], vec4<f32>(0.0)); } }' },
  'vec4x4 contiguous wg64': { t: 'vec4<f32>', per: 16, wg: 64, body: 'for (var j = 0u; j < 4u; j++) { let k = i * 4u + j; if (k < N / 4u) { Y[k] = max(X[k], vec4<f32>(0.0)); } }' },
  'vec4x16 strided wg64': { t: 'vec4<f32>', per: 64, wg: 64, body: 'let b = (i / 64u) * 1024u + i % 64u; for (var j = 0u; j < 16u; j++) { let k = b + j * 64u; if (k < N / 4u) { Y[k] = max(X[k], vec4<f32>(0.0)); } }' },
};
for (const n of [32768, 800000]) {
  const X = dev.createBuffer({ size: n * 4, usage: SU }), Y = dev.createBuffer({ size: n * 4, usage: SU });
  const prep = Object.entries(shapes).map(([name, s]) => {
    const code = `const N = ${n}u;
@group(0) @binding(0) var<storage, read> X: array<${s.t}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${s.t}>;
@compute @workgroup_size(${s.wg}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) { let i = gid.x; ${s.body} }`;
    const p = mk(code);
    const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [X, Y].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    return { name, p, bg, groups: Math.ceil(n / s.per / s.wg) };
  });
  type Prep = (typeof prep)[number];
  const once = async (x: Prep) => { const e = dev.createCommandEncoder(); const c = e.beginComputePass(); c.setPipeline(x.p); c.setBindGroup(0, x.bg); for (let r = 0; r < REPS; r++) c.dispatchWorkgroups(x.groups); c.end(); dev.queue.submit([e.finish()]); await dev.queue.onSubmittedWorkDone(); };
  const times: Record<string, number[]> = Object.fromEntries(prep.map((x) => [x.name, [] as number[]]));
  for (const x of prep) await once(x);
  for (let r = 0; r < 5; r++) for (const x of prep) { const t0 = performance.now(); await once(x); times[x.name].push((performance.now() - t0) / REPS); }
  for (const [k, t] of Object.entries(times)) { t.sort((a, b) => a - b); console.log(`n=${n} ${k}: ${t[0].toFixed(3)} / ${t[2].toFixed(3)} ms per dispatch (best/median), ${(n * 8 / t[0] / 1e6).toFixed(2)} GB/s`); }
}
