// The device's counters (dispatches, submits, readbacks, uploads) over a training step and an
// epoch — what batching promises: a step is recorded into one submission, the loss is read a
// step late — and kernel timing with timestamp queries (engine/profile.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { createGpu } from '../engine/gpu.ts';
import { Trainer } from '../nn/fit.ts';
import { preset } from '../nn/presets.ts';
import { Rng } from '../nn/random.ts';

const g = await E.init({ profile: true });

const model = preset('cam1', 1);
const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
const r = new Rng(3);
const batch = 4;
const X = E.keep(E.tensor(r.uniform(batch * 784, 0, 1), [batch, 28, 28, 1]));
const Y = E.keep(E.tensor(Int32Array.from({ length: batch }, (_, i) => i % 10), [batch], 'int32'));
const since = (c0: E.Counters) => ({
  dispatches: g.counters.dispatches - c0.dispatches,
  submits: g.counters.submits - c0.submits,
  readbacks: g.counters.readbacks - c0.readbacks,
  uploads: g.counters.uploads - c0.uploads,
});

test('a training step is recorded into one submission, with no readback', async () => {
  const warm = trainer.step(X, Y, r); // compiles the pipelines
  await g.sync();
  warm.loss.dispose();
  warm.correct.dispose();
  const c0 = { ...g.counters };
  const { loss, correct } = trainer.step(X, Y, r);
  const recorded = since(c0);
  assert.ok(recorded.dispatches > 20, `cam1's step has tens of dispatches, got ${recorded.dispatches}`);
  assert.equal({ ...recorded, dispatches: 0 }, { dispatches: 0, submits: 0, readbacks: 0, uploads: 0 }, 'nothing submitted or read while recording');
  await g.sync();
  assert.equal(since(c0).submits, 1, 'the sync submits the whole step at once');
  await loss.data();
  assert.equal(since(c0).readbacks, 1);
  loss.dispose();
  correct.dispose();
});

test('a repeated training step creates no bind group, and the cached groups bind the right data', async () => {
  const before = await model.trainableWeights[0].value.data();
  const c0 = { ...g.counters };
  const { loss, correct } = trainer.step(X, Y, r);
  await g.sync();
  assert.is(g.counters.bindGroups - c0.bindGroups, 0, 'every bind group of the step came from the cache');
  assert.ok(g.counters.dispatches - c0.dispatches > 20);
  // A cached group keyed by buffers, not tensors: the same step on new data must see the new data.
  const after = await model.trainableWeights[0].value.data();
  assert.ok(after.some((v, i) => v !== before[i]), 'the step moved the weights');
  const l1 = (await loss.data())[0];
  loss.dispose();
  correct.dispose();
  const X2 = E.tensor(r.uniform(batch * 784, 0, 1), [batch, 28, 28, 1]);
  const s2 = trainer.step(X2, Y, r);
  const l2 = (await s2.loss.data())[0];
  X2.dispose();
  s2.loss.dispose();
  s2.correct.dispose();
  assert.ok(l1 !== l2 && Number.isFinite(l2), `new images give a new loss (${l1} vs ${l2})`);
});

test('Trainer.fit: per step two uploads (images, labels), one readback (loss and count together) awaited up to four steps late, one submission', async () => {
  const steps = 3;
  const x = new Rng(4).uniform(steps * batch * 784, 0, 1);
  const y = Int32Array.from({ length: steps * batch }, (_, i) => i % 10);
  await trainer.fit({ x, y }, { batchSize: batch, epochs: 1 }); // warm
  await g.sync();
  const c0 = { ...g.counters };
  const seen: number[] = [];
  await trainer.fit({ x, y }, { batchSize: batch, epochs: 1, onBatchEnd: (b) => seen.push(b.step) });
  const c = since(c0);
  assert.equal(seen, [1, 2, 3]);
  assert.is(c.uploads, 2 * steps);
  assert.is(c.readbacks, steps, 'loss and correct count in one readback per step (E.readAll)');
  // The step and both readback copies go in one submission; the uploads find nothing to submit.
  assert.is(c.submits, steps);
});

test('a profile times every dispatch of a step, grouped by kernel key', async () => {
  if (!g.canProfile) {
    assert.throws(() => g.startProfile(), /timestamp-query/);
    console.log("  (this adapter has no 'timestamp-query': only the error is checked)");
    return;
  }
  const c0 = { ...g.counters };
  g.startProfile();
  const { loss, correct } = trainer.step(X, Y, r);
  const p = await g.stopProfile();
  const d = since(c0).dispatches;
  assert.is(p.dispatches, d);
  assert.is(p.timed, d);
  assert.is(p.kernels.reduce((a, k) => a + k.count, 0), d, 'every dispatch counted under its key');
  assert.ok(p.kernels.some((k) => k.key === 'adam'), 'Adam updates are there');
  assert.ok(p.totalMs > 0, `GPU time ${p.totalMs} ms`);
  assert.ok(p.kernels.every((k, i) => i === 0 || k.ms <= p.kernels[i - 1].ms), 'slowest first');
  assert.is(since(c0).readbacks, 0, "the profile's own readback is not counted");
  // Profiling changes the passes, not the results: the step still trains.
  assert.ok(Number.isFinite((await loss.data())[0]));
  loss.dispose();
  correct.dispose();
  const err = await g.stopProfile().then(() => null, (e: Error) => e.message);
  assert.match(String(err), /no profile is open/);
});

test('without the profile option the device does not request timestamp-query', async () => {
  const plain = await createGpu({ profile: false });
  try {
    assert.not.ok(plain.features.includes('timestamp-query'));
    assert.throws(() => plain.startProfile(), /profile: true|LANTERNA_PROFILE/);
  } finally {
    plain.destroy();
  }
});

test.after(() => {
  X.dispose();
  Y.dispose();
});

test.run();
