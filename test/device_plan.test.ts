// The device plan (kernels/plan.ts): settings parsed with errors that name the variable, one
// decision of "CPU driver", defaults per adapter, settings reaching the plan through init, and
// no tuning state or environment reads left below the device layer.

import { test } from 'uvu';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGpu } from '../engine/gpu.ts';
import { isCpuDriver, makePlan, parseSettings } from '../kernels/plan.ts';
import { ready } from './helpers.ts';

const g = await ready;

const from = (o: Record<string, string>) => (k: string) => o[k];

test('settings are parsed, and a bad value is refused naming the variable and what it takes', () => {
  const s = parseSettings(from({ LANTERNA_GEMM: 'tiled', LANTERNA_TILE: '128', LANTERNA_ROWS: 'tree', LANTERNA_DEBUG: '1', LANTERNA_FIT_INFLIGHT: '2' }));
  if (s.gemm !== 'tiled' || s.tiles?.TM !== 128 || s.rowVariant !== 'tree' || s.debug !== true || s.fitInFlight !== 2) throw new Error(JSON.stringify(s));
  if (parseSettings(from({ LANTERNA_TILE: 'no-narrow' })).narrowTiles !== false) throw new Error('no-narrow');
  for (const [k, v] of [['LANTERNA_GEMM', 'fast'], ['LANTERNA_REG_TILE', '12'], ['LANTERNA_TILE', '96'], ['LANTERNA_FIT_INFLIGHT', '0'], ['LANTERNA_DEBUG', 'yes']]) {
    let msg = '';
    try {
      parseSettings(from({ [k]: v }));
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes(`${k}=${v}`) || !msg.includes('takes')) throw new Error(`unclear or missing error for ${k}=${v}: "${msg}"`);
  }
});

test('one decision of "CPU driver", and the defaults that follow from it', () => {
  const lvp = { vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7', device: 'llvmpipe' };
  const ss = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', device: '' };
  const nv = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3', device: '' };
  if (!isCpuDriver(lvp) || !isCpuDriver(ss) || isCpuDriver(nv)) throw new Error('CPU driver detection');
  const p = makePlan(nv, 1 << 30, ['subgroups', 'shader-f16']);
  if (p.gemm !== 'tiled' || p.cpuDriver || !p.features.subgroups || !p.features.shaderF16 || p.features.timestampQuery) throw new Error(JSON.stringify(p));
  if (makePlan(lvp, 1 << 27, []).gemm !== 'register') throw new Error('a CPU driver gets the register GEMM');
  if (makePlan(lvp, 1 << 27, [], { gemm: 'tiled' }).gemm !== 'tiled') throw new Error('settings override the default');
  if (makePlan(lvp, 1 << 27, []).regTile !== 16 || makePlan(ss, 1 << 27, []).regTile !== 8) throw new Error('lavapipe gets 16×16 register blocks, SwiftShader 8×8');
  if (makePlan(lvp, 1 << 27, [], parseSettings((n) => (n === 'LANTERNA_REG_TILE' ? '8' : undefined))).regTile !== 8) throw new Error('LANTERNA_REG_TILE overrides the default');
  if (!Object.isFrozen(p)) throw new Error('a plan is immutable');
});

test('settings given to createGpu reach the device plan; this device is planned as its adapter says', async () => {
  const d = await createGpu({ settings: { LANTERNA_GEMM: g.plan.gemm === 'tiled' ? 'register' : 'tiled', LANTERNA_ROWS: 'tree' } });
  try {
    if (d.plan.gemm === g.plan.gemm || d.plan.rowVariant !== 'tree') throw new Error(`plan ${JSON.stringify(d.plan)}`);
  } finally {
    d.destroy();
  }
  if (g.plan.cpuDriver !== isCpuDriver(g.adapterInfo)) throw new Error('the device plan disagrees with isCpuDriver');
});

test('withPlan applies a patch for the call only, nests, and restores', async () => {
  const before = g.plan;
  await g.withPlan({ gemm: 'tiled' }, async () => {
    if (g.plan.gemm !== 'tiled') throw new Error('not applied');
    await g.withPlan({ maxBindingBytes: 4096 }, async () => {
      if (g.plan.gemm !== 'tiled' || g.plan.maxBindingBytes !== 4096) throw new Error('nested patch not over the outer one');
    });
    if (g.plan.maxBindingBytes !== before.maxBindingBytes) throw new Error('inner not restored');
  });
  if (g.plan !== before) throw new Error('not restored');
});

/** TypeScript sources under `dir` (the repository's, found from dist/test or test/). */
function sources(dir: string): { path: string; text: string }[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = [join(here, '..'), join(here, '..', '..')].find((r) => {
    try {
      return statSync(join(r, 'kernels', 'spec.ts')).isFile();
    } catch {
      return false;
    }
  });
  if (!root) throw new Error('sources not found');
  const out: { path: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(join(root, d))) {
      const p = join(d, f);
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) out.push({ path: p, text: readFileSync(join(root, p), 'utf8') });
    }
  };
  walk(dir);
  return out;
}

test('no module-level mutable state in kernels/, and LANTERNA_* settings read in one place only', () => {
  const bad: string[] = [];
  for (const f of sources('kernels')) for (const m of f.text.matchAll(/^let \w+/gm)) bad.push(`${f.path}: ${m[0]}`);
  for (const dir of ['kernels', 'engine', 'nn', 'explain'])
    for (const f of sources(dir)) {
      if (f.path.endsWith('settings.ts') || f.path.endsWith('adapter.ts')) continue; // adapter.ts: LANTERNA_VULKAN, read before any device exists
      for (const m of f.text.matchAll(/(?:process\??\.env|Deno\.env)[^;\n]*LANTERNA_\w+|LANTERNA_\w+[^;\n]*(?:process\??\.env|Deno\.env)/g)) bad.push(`${f.path}: ${m[0]}`);
    }
  if (bad.length) throw new Error(`tuning state or settings read outside the plan:\n  ${bad.join('\n  ')}`);
});

test.run();
