// The device layer: GPU errors and device loss surface as exceptions naming the op and shapes.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { createGpu } from '../engine/gpu.ts';
import { chooseSoftwareDriver } from '../engine/adapter.ts';
import { ready } from './helpers.ts';

await ready;

const message = async (f: () => unknown): Promise<string> => {
  try {
    await f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

test('readAll returns each tensor (float and int, odd sizes) from one readback', async () => {
  const a = E.tensor([1.5, -2, 3], [3]);
  const b = E.tensor([7, -8, 9, 10, 11], [5], 'int32');
  const c = E.scalar(0.25);
  const g = E.gpu();
  const before = g.counters.readbacks;
  const [ra, rb, rc] = await E.readAll([a, b, c]);
  if (g.counters.readbacks !== before + 1) throw new Error(`${g.counters.readbacks - before} readbacks`);
  if (!(ra instanceof Float32Array) || !(rb instanceof Int32Array)) throw new Error('wrong array types');
  if ([...ra].join() !== '1.5,-2,3' || [...rb].join() !== '7,-8,9,10,11' || rc[0] !== 0.25) throw new Error(`${ra} / ${rb} / ${rc}`);
  a.dispose();
  b.dispose();
  c.dispose();
});

test('a GPU validation error becomes an exception naming the op and its shapes', async () => {
  const g = await createGpu({ settings: { LANTERNA_DEBUG: '1' } }); // each dispatch in an error scope, so the error is attributed exactly
  if (!g.debug) throw new Error('LANTERNA_DEBUG=1 given to createGpu did not reach the plan');
  const buf = g.pool.acquire(64, 0x80 | 0x4 | 0x8);
  g.dispatch(
    { name: 'broken-test-kernel', key: 'broken-test-kernel', wgsl: () => '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', bindings: [{ name: 'Y', access: 'write', optional: false }], workgroups: [1, 1, 1] },
    [{ buffer: buf }],
    'broken_op [4,4]',
  );
  const m = await message(async () => {
    await g.sync();
    g.check('next op');
  });
  if (!m.includes('broken_op [4,4]')) throw new Error(`message does not name the op: ${m}`);
  g.destroy();
});

test('after the device is destroyed, an op fails at the call naming the op and shapes', async () => {
  const g = await createGpu();
  const { Tensor, Storage } = await import('../engine/tensor.ts');
  const buf = g.pool.acquire(12, 0x80 | 0x4 | 0x8);
  const t = new Tensor([3], 'float32', new Storage(g, buf, 12));
  g.device.destroy();
  // Wait for the loss itself (under load a browser reports it later than any fixed delay); ours is
  // the first handler on the promise, so the device is marked lost before this await returns.
  await Promise.race([g.device.lost, new Promise((r) => setTimeout(r, 10_000))]);
  const m = await message(() => E.relu(t));
  if (!/lost/i.test(m) || !m.includes('relu')) throw new Error(`unclear message: ${m}`);
});

test('the software driver is chosen only when no GPU and no ICD are given', () => {
  const env = new Map<string, string>();
  const e = { get: (k: string) => env.get(k), set: (k: string, v: string) => void env.set(k, v) };
  const files = new Set(['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/lib/chromium/vk_swiftshader_icd.json', '/tmp']);
  const fs = { exists: (p: string) => files.has(p), list: () => [] as string[] };
  if (chooseSoftwareDriver(e, fs) !== '/usr/share/vulkan/icd.d/lvp_icd.json') throw new Error('lavapipe not preferred');
  env.clear();
  env.set('LANTERNA_VULKAN', 'swiftshader');
  if (chooseSoftwareDriver(e, fs) !== '/usr/lib/chromium/vk_swiftshader_icd.json') throw new Error('override ignored');
  env.clear();
  env.set('VK_ICD_FILENAMES', '/x.json');
  if (chooseSoftwareDriver(e, fs) !== undefined || env.get('VK_ICD_FILENAMES') !== '/x.json') throw new Error('user ICD overridden');
  env.clear();
  const gpuFs = { exists: (p: string) => files.has(p) || p === '/dev/nvidia0', list: () => [] as string[] };
  if (chooseSoftwareDriver(e, gpuFs) !== undefined) throw new Error('a machine with a GPU must be left to the loader');
});

test('describeDevice reports the adapter and the limits in force', async () => {
  const d = await E.describeDevice();
  if (!d.vendor || !(d.limits.maxStorageBufferBindingSize > 0)) throw new Error(JSON.stringify(d));
});

test.run();
