// The kernel spec (kernels/spec.ts): the generated struct U and the by-name packer agree, byte
// for byte, on the GPU; bad uniform names and values are refused naming the kernel; keys hold
// facts, never sizes; and no kernel file keeps a hand-written binding or positional packing.

import { test } from 'uvu';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.ts';
import { dispatch } from '../engine/run.ts';
import { defineKernel, packUniforms, uniformLayout } from '../kernels/spec.ts';
import { ready } from './helpers.ts';

await ready;

// Scalars of each type around arrays, so that padding before an array and after it are exercised.
const probe = defineKernel({
  name: 'spec_probe',
  bindings: [{ name: 'Out', access: 'write', type: 'u32' }],
  uniforms: { a: 'u32', b: 'f32', c: 'i32', arr: 'array<u32, 6>', d: 'f32', tail: 'array<i32, 3>', e: 'u32' },
  workgroupSize: 1,
  dispatch: () => [1, 1, 1],
  main: () => `Out[0] = u.a;
  Out[1] = bitcast<u32>(u.b);
  Out[2] = bitcast<u32>(u.c);
  for (var k = 0u; k < 6u; k++) { Out[3u + k] = u_arr(k); }
  Out[9] = bitcast<u32>(u.d);
  for (var k = 0u; k < 3u; k++) { Out[10u + k] = bitcast<u32>(u_tail(k)); }
  Out[13] = u.e;`,
});

const VALUES = { a: 7, b: 1.5, c: -3, arr: [10, 11, 12, 13, 14, 15], d: -0.25, tail: [-1, 2, -3], e: 4000000000 };

function expectedWords(): number[] {
  const f = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
  const i = (x: number) => x >>> 0;
  return [7, f(1.5), i(-3), 10, 11, 12, 13, 14, 15, f(-0.25), i(-1), 2, i(-3), 4000000000];
}

test('the packer and the generated struct U agree on the GPU, field by field (arrays and padding included)', async () => {
  const out = E.empty([14], 'int32');
  try {
    dispatch('spec_probe', probe({}, VALUES), [], [out]);
    // data() of an int32 tensor gives an Int32Array: read its bits as u32.
    const words = Array.from(new Uint32Array(Int32Array.from(await out.data()).buffer));
    const want = expectedWords();
    for (let k = 0; k < want.length; k++)
      if (words[k] !== want[k]) throw new Error(`word ${k}: got ${words[k]}, packed ${want[k]} (all: ${words.join(', ')})`);
  } finally {
    out.dispose();
  }
});

test('a uniform under a name the kernel does not declare is refused, naming kernel and name', () => {
  const msg = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  const unknown = msg(() => probe({}, { ...VALUES, f: 1 } as any));
  if (!unknown.includes('spec_probe') || !unknown.includes('"f"')) throw new Error(`unclear: ${unknown}`);
  const { e: _e, ...missing } = VALUES;
  const m2 = msg(() => probe({}, missing as any));
  if (!m2.includes('"e" has no value')) throw new Error(`unclear: ${m2}`);
  const m3 = msg(() => probe({}, { ...VALUES, arr: [1, 2, 3] }));
  if (!m3.includes('"arr" needs 6 values')) throw new Error(`unclear: ${m3}`);
  const m4 = msg(() => probe({}, { ...VALUES, a: -1 }));
  if (!m4.includes('"a" = -1 is not a u32')) throw new Error(`unclear: ${m4}`);
  const m5 = msg(() => probe({}, { ...VALUES, c: 1.5 }));
  if (!m5.includes('not an i32')) throw new Error(`unclear: ${m5}`);
});

test('struct U follows WGSL alignment: arrays start on 16 bytes, the struct rounds to 16', () => {
  const l = uniformLayout({ a: 'u32', arr: 'array<f32, 5>', b: 'u32' });
  const off = Object.fromEntries(l.fields.map((f) => [f.name, f.offset]));
  if (off.a !== 0 || off.arr !== 16 || off.b !== 48 || l.bytes !== 64) throw new Error(`layout ${JSON.stringify(off)} ${l.bytes}`);
  if (!l.wgsl.includes('arr: array<vec4<f32>, 2>') || !l.wgsl.includes('_pad0: u32')) throw new Error(l.wgsl);
  if (packUniforms('k', l, { a: 1, arr: [1, 2, 3, 4, 5], b: 2 }).byteLength !== 64) throw new Error('size');
});

test('pipeline keys hold the name and the facts, never the uniform values', () => {
  const k1 = probe({}, VALUES);
  const k2 = probe({}, { ...VALUES, a: 99, arr: [0, 0, 0, 0, 0, 0] });
  if (k1.key !== 'spec_probe' || k2.key !== k1.key) throw new Error(`keys ${k1.key} / ${k2.key}`);
});

test('no kernel file writes its own @binding lines or packs uniforms by position', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const src = [join(here, '..', 'kernels'), join(here, '..', '..', 'kernels')].find((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.ts'));
    } catch {
      return false;
    }
  });
  if (!src) throw new Error('kernels/ sources not found');
  const offenders: string[] = [];
  for (const f of readdirSync(src).filter((f) => f.endsWith('.ts') && f !== 'spec.ts')) {
    const text = readFileSync(join(src, f), 'utf8');
    const bindings = (text.match(/@binding\(/g) ?? []).length;
    const positional = (text.match(/new Uniforms\(/g) ?? []).length;
    if (bindings || positional) offenders.push(`${f}: ${bindings} @binding, ${positional} new Uniforms`);
  }
  if (offenders.length) throw new Error(`hand-written bindings or positional uniforms left:\n  ${offenders.join('\n  ')}`);
});

test.run();
