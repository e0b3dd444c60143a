// Anomaly mode (engine/anomaly.ts): the first NaN or Inf, forward or backward, names its op, the
// pass, its input shapes and the line of this file that created the op; off, it adds nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.ts';
import { ready } from './helpers.ts';

await ready;
const g = E.gpu();

/** The line of the caller of this function (to compare with a message's 'created at'). */
function lineHere(): number {
  const frame = (new Error().stack ?? '').split('\n')[2];
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

async function anomalyOf(fn: () => Promise<unknown> | unknown): Promise<E.AnomalyError> {
  try {
    await E.detectAnomaly(fn);
  } catch (e) {
    if (e instanceof E.AnomalyError) return e;
    throw e;
  }
  throw new Error('detectAnomaly did not throw');
}

test('log of a negative: NaN in the forward pass, naming log, its input and this line', async () => {
  let line = 0;
  const e = await anomalyOf(() =>
    E.tidy(() => {
      const x = E.tensor([1, -2, 3, 4, 5, 6], [2, 3]);
      line = lineHere() + 1;
      const y = E.log(x);
      E.sum(E.exp(y));
    }),
  );
  assert.is(e.op, 'log');
  assert.is(e.phase, 'forward');
  assert.is(e.value, 'NaN');
  assert.ok(e.message.startsWith('anomaly: first non-finite value (NaN) produced by log in the forward pass, inputs float32[2,3]; created at '), e.message);
  assert.ok(e.message.includes(`anomaly.test.js:${line}:`), `${e.message} should name line ${line}`);
});

test('sqrt(0) backward: Inf in the backward pass of sqrt, naming where sqrt was created', async () => {
  let line = 0;
  const e = await anomalyOf(() =>
    E.tidy(() => {
      const x = E.tensor([0, 1, 4], [3]).requireGrad();
      line = lineHere() + 1;
      const y = E.sqrt(x);
      E.backward(E.sum(y));
      x.dispose();
    }),
  );
  assert.is(e.op, 'sqrt.grad');
  assert.is(e.phase, 'backward');
  assert.is(e.value, 'Inf');
  assert.ok(e.message.includes('produced by sqrt.grad in the backward pass of sqrt, inputs float32[3], float32[3], float32[3]'), e.message);
  assert.ok(e.message.includes(`sqrt created at `) && e.message.includes(`anomaly.test.js:${line}:`), `${e.message} should name line ${line}`);
});

test('a backward anomaly whose forward ran with the mode off says so instead of naming a place', async () => {
  const x = E.tensor([0, 1], [2]).requireGrad();
  const y = E.sqrt(x);
  const e = await anomalyOf(() => E.tidy(() => E.backward(E.sum(y))));
  assert.is(e.op, 'sqrt.grad');
  assert.ok(e.message.endsWith('sqrt was created before anomaly mode was on (run the forward pass inside detectAnomaly to see where)'), e.message);
  y.dispose();
  x.dispose();
});

test('0/0: NaN produced by div, with both input shapes', async () => {
  const e = await anomalyOf(() => E.tidy(() => E.div(E.tensor([0, 1], [2]), E.tensor([0], [1]))));
  assert.is(e.op, 'div');
  assert.is(e.value, 'NaN');
  assert.ok(e.message.includes('inputs float32[2], float32[1]'), e.message);
});

test('the first of two NaN-producing ops is named, not the second nor the ops that carry the NaN on', async () => {
  const e = await anomalyOf(() =>
    E.tidy(() => {
      const a = E.sqrt(E.tensor([-1, 2], [2])); // first NaN
      const b = E.log(E.tensor([-1, 2], [2])); // second, on its own
      return E.add(a, b);
    }),
  );
  assert.is(e.op, 'sqrt');
});

test('a clean computation (forward and backward) does not throw, and returns its value', async () => {
  const v = await E.detectAnomaly(async () => {
    const x = E.tensor([1, 2, 3], [3]).requireGrad();
    const out = E.tidy(() => {
      const loss = E.sum(E.mul(E.log(x), E.sqrt(x)));
      E.backward(loss);
      return E.keep(loss);
    });
    const r = await out.item();
    out.dispose();
    x.dispose();
    return r;
  });
  assert.ok(Math.abs(v - (Math.log(2) * Math.sqrt(2) + Math.log(3) * Math.sqrt(3))) < 1e-5, String(v));
});

test('a readback inside detectAnomaly raises at once, before the code after it runs', async () => {
  let after = false;
  const e = await anomalyOf(async () => {
    const y = E.tidy(() => E.log(E.tensor([-1], [1])));
    await y.data();
    after = true;
  });
  assert.is(e.op, 'log');
  assert.not.ok(after, 'the code after the readback ran');
});

test('only the values an op writes are checked: stale NaN past a small output (a vec4-padded binding) is no anomaly', async () => {
  // Leave NaN in pooled 16-byte buffers, then a batch-1 dense layer (its kernel binds the [1,2]
  // output rounded up to 16 bytes) reuses one of them.
  for (const t of Array.from({ length: 8 }, () => E.tensor(new Float32Array(4).fill(NaN), [4]))) t.dispose();
  const v = await E.detectAnomaly(() =>
    E.tidy(() => E.dense(E.tensor(Float32Array.from({ length: 8 }, (_, i) => i / 8), [1, 8]), E.tensor(new Float32Array(16).fill(0.5), [8, 2]), E.tensor([1, 2], [2])).data()),
  );
  assert.equal(Array.from(v), [2.75, 3.75]);
});

test('off: no check dispatches (one per op, as without the mode); on: one more per float output', async () => {
  const count = (fn: () => void) => {
    const before = g.counters.dispatches;
    E.tidy(fn);
    g.flush();
    return g.counters.dispatches - before;
  };
  const x = E.tensor([1, 2, 3, 4], [4]);
  const work = () => void E.exp(E.log(x));
  // Off whatever LANTERNA_ANOMALY says in this environment.
  const off = await g.withPlan({ anomaly: false }, () => count(work));
  assert.is(off, 2, 'log and exp: two dispatches');
  let on = 0;
  await E.detectAnomaly(() => void (on = count(work)));
  assert.is(on, 4, 'log and exp and a check after each');
  assert.is(await g.withPlan({ anomaly: false }, () => count(work)), off, 'after the mode: as before');
  x.dispose();
});

test('LANTERNA_ANOMALY=1 (the setting, through the device plan): a readback raises without detectAnomaly', async () => {
  const e = await g.withPlan({ anomaly: true }, async () => {
    const y = E.tidy(() => E.div(E.tensor([1], [1]), E.tensor([0], [1])));
    try {
      await y.data();
    } catch (err) {
      return err as Error;
    } finally {
      y.dispose();
    }
    throw new Error('no anomaly raised');
  });
  assert.instance(e, E.AnomalyError);
  assert.ok(e.message.includes('(Inf) produced by div in the forward pass'), e.message);
  // And the setting itself reaches the plan from the environment, in a fresh process.
  const script = `import * as E from ${JSON.stringify(new URL('../engine/index.js', import.meta.url).href)};
await E.init();
if (!E.gpu().plan.anomaly) throw new Error('plan.anomaly is false');
const y = E.log(E.tensor([-3], [1]));
try { await y.data(); console.log('no error'); } catch (e) { console.log(e.message); }
E.shutdown();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LANTERNA_ANOMALY: '1' }, encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  assert.ok(r.stdout.includes('anomaly: first non-finite value (NaN) produced by log in the forward pass, inputs float32[1]'), r.stdout + r.stderr);
});

test.run();
