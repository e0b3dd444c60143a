// 20 cam1 training steps on real MNIST digits give bit-identical losses to the ones recorded
// before the kernel-spec refactor (issue 13): a refactor of kernels, uniforms or the device
// plan that changes a single bit of any step shows here. The losses depend on the adapter's
// arithmetic, so they are recorded per adapter (test/golden/cam1_20_steps.json); an adapter
// with no record fails, naming the command that records it:
//   LANTERNA_RECORD_GOLDEN=1 node dist/test/training_golden.test.js

import { test } from 'uvu';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.ts';
import { loadMnist, toFloat } from '../nn/data/mnist.ts';
import { Trainer } from '../nn/fit.ts';
import { preset } from '../nn/presets.ts';
import { Rng } from '../nn/random.ts';
import { ready } from './helpers.ts';

const g = await ready;
const here = dirname(fileURLToPath(import.meta.url));
// dist/test/ → test/golden (the JSON is not copied by tsc)
const GOLDEN = [join(here, 'golden'), join(here, '..', '..', 'test', 'golden')].map((d) => join(d, 'cam1_20_steps.json')).find(existsSync)
  ?? join(here, '..', '..', 'test', 'golden', 'cam1_20_steps.json');
const STEPS = 20;
const BATCH = 100;

const adapterKey = () => {
  const a = g.adapterInfo;
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ');
};

/** The losses of 20 Adam steps of a seed-1 cam1 on digits 0..1999, as float32 bit patterns. */
async function losses(): Promise<string[]> {
  const m = await loadMnist({ split: 'train', limit: STEPS * BATCH });
  const x = toFloat(m.images, 'inverted');
  const model = preset('cam1', 1);
  const trainer = new Trainer(model, { optimizer: 'adam' });
  const rng = new Rng(7);
  const per = 28 * 28;
  const out: string[] = [];
  try {
    for (let s = 0; s < STEPS; s++) {
      const xb = E.tensor(x.subarray(s * BATCH * per, (s + 1) * BATCH * per), [BATCH, 28, 28, 1]);
      const yb = E.tensor(Int32Array.from(m.labels.subarray(s * BATCH, (s + 1) * BATCH)), [BATCH], 'int32');
      const { loss, correct } = trainer.step(xb, yb, rng);
      xb.dispose();
      yb.dispose();
      const v = await loss.data();
      loss.dispose();
      correct.dispose();
      const bits = new Uint32Array(Float32Array.of(v[0]).buffer)[0];
      out.push(bits.toString(16).padStart(8, '0'));
    }
  } finally {
    model.dispose();
  }
  return out;
}

// Two records where the plan has Winograd convolutions (lavapipe): the direct kernels' (the
// record kept since issue 13, so a change of theirs still shows) and the default plan's.
const variants = g.plan.winograd ? [{ suffix: '', patch: { winograd: 0 as const } }, { suffix: ` / winograd F${g.plan.winograd}`, patch: {} }] : [{ suffix: '', patch: {} }];

for (const v of variants)
  test(`20 cam1 training steps give the recorded losses bit for bit${v.suffix ? ` (${v.suffix.slice(3)})` : g.plan.winograd ? ' (direct convolutions)' : ''}`, async () => {
    const got = await g.withPlan(v.patch, losses);
    const key = adapterKey() + v.suffix;
    const table: Record<string, string[]> = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')) : {};
    if ((globalThis as any).process?.env?.LANTERNA_RECORD_GOLDEN === '1') {
      table[key] = got;
      writeFileSync(GOLDEN, JSON.stringify(table, null, 2) + '\n');
      console.log(`recorded ${STEPS} losses for ${key} in ${GOLDEN}`);
      return;
    }
    const want = table[key];
    if (!want) throw new Error(`no recorded losses for adapter "${key}" in ${GOLDEN}; record them at a trusted commit with LANTERNA_RECORD_GOLDEN=1`);
    const f = (h: string) => new Float32Array(Uint32Array.of(parseInt(h, 16)).buffer)[0];
    for (let i = 0; i < STEPS; i++)
      if (got[i] !== want[i]) throw new Error(`step ${i + 1}: loss ${f(got[i])} (0x${got[i]}), recorded ${f(want[i])} (0x${want[i]}) on ${key}`);
    // The record is of a run that learns (cam1 starts slowly: ln 10 ≈ 2.303 is chance).
    const mean = (a: string[]) => a.reduce((s, h) => s + f(h), 0) / a.length;
    if (!(mean(got.slice(-5)) < mean(got.slice(0, 5)))) throw new Error(`losses did not fall: ${got.map(f).join(', ')}`);
  });

test.run();
