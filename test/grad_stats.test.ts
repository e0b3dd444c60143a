// Gradient statistics during fit (FitOptions.gradStats): every statistic against a plain-TS
// computation from read-back gradients, weights and activations; dead ReLU units on a layer
// forced dead; and the cost: with statistics on, readbacks and submits per step unchanged and
// exactly one dispatch more per weight and per ReLU layer; with them off, none.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { Trainer, type BatchInfo } from '../nn/fit.ts';
import { GradStatsPlan, type GradStatValues, type LayerGradStats } from '../nn/grad_stats.ts';
import { lossOf } from '../nn/losses.ts';
import { SGD } from '../nn/optimizers.ts';
import { Sequential } from '../nn/sequential.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { Flatten } from '../nn/layers/simple.ts';
import { ready, rng } from './helpers.ts';

await ready;

const N = 12;
const HW = 8;

function small(seed = 3): Sequential {
  const m = new Sequential('stats_net', seed);
  m.add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu' }));
  m.add(new Flatten());
  m.add(new Dense({ units: 5, activation: 'relu' }));
  m.add(new Dense({ units: 3, activation: 'softmax' }));
  return m.build([HW, HW, 1]);
}

function data(seed = 9) {
  const r = rng(seed);
  return { x: r.uniform(N * HW * HW), y: Array.from(r.int(N, 3)) };
}

/** Float64 statistics of one tensor's gradient and update (pooled over several parts: a layer). */
function refStats(parts: { g: ArrayLike<number>; w0: ArrayLike<number>; w1: ArrayLike<number> }[]): GradStatValues {
  let n = 0, sum = 0, sq = 0, mx = 0, zeros = 0, du = 0, ww = 0;
  for (const { g, w0, w1 } of parts)
    for (let i = 0; i < g.length; i++) {
      n++;
      sum += g[i];
      sq += g[i] * g[i];
      mx = Math.max(mx, Math.abs(g[i]));
      if (g[i] === 0) zeros++;
      du += (w1[i] - w0[i]) ** 2;
      ww += w0[i] ** 2;
    }
  const mean = sum / n;
  let dev = 0;
  for (const { g } of parts) for (let i = 0; i < g.length; i++) dev += (g[i] - mean) ** 2;
  return { norm: Math.sqrt(sq), mean, std: Math.sqrt(dev / n), maxAbs: mx, zeroFraction: zeros / n, updateRatio: ww > 0 ? Math.sqrt(du / ww) : null };
}

/** Each statistic within 1e-5 relative (mean: relative to the values' rms, as it may cancel to ~0). */
function compare(got: GradStatValues, want: GradStatValues, what: string): void {
  for (const k of ['norm', 'mean', 'std', 'maxAbs', 'zeroFraction', 'updateRatio'] as const) {
    const a = got[k];
    const b = want[k];
    if (b === null || a === null) {
      if (a !== b) throw new Error(`${what} ${k}: ${a} vs ${b}`);
      continue;
    }
    const scale = k === 'mean' ? Math.max(Math.abs(b), want.std, 1e-30) : Math.max(Math.abs(b), 1e-30);
    if (!(Math.abs(a - b) <= 1e-5 * scale + (k === 'zeroFraction' ? 0 : 1e-30))) throw new Error(`${what} ${k}: GPU ${a}, reference ${b} (rel ${Math.abs(a - b) / scale})`);
  }
}

interface Reference {
  layers: Map<string, { parts: { weight: string; g: Float32Array; w0: Float32Array; w1?: Float32Array }[]; dead?: number }>;
}

/** Gradients, weights and ReLU outputs of the step fit is about to take, read back on the host. */
async function reference(m: Sequential, x: Float32Array, y: number[]): Promise<Reference> {
  const weights = m.trainableWeights;
  const reluNames = m.layers.filter((l) => (l as { activation?: string }).activation === 'relu').map((l) => l.name);
  const [gs, acts] = await E.asyncTidy(async () => {
    const xt = E.tensor(x, [N, HW, HW, 1]);
    const yt = E.tensor(Int32Array.from(y), [N], 'int32');
    const fwd = m.forward(xt, { training: true, rng: m.rng }, reluNames);
    const loss = lossOf('categorical_crossentropy', fwd, yt);
    const grads = E.grad(loss, weights.map((w) => w.value));
    const g = await E.readAll(grads);
    const a = await E.readAll(reluNames.map((n) => fwd.captured.get(n)!));
    return [g as Float32Array[], a as Float32Array[]];
  });
  const w0 = (await E.readAll(weights.map((w) => w.value))) as Float32Array[];
  const layers: Reference['layers'] = new Map();
  for (const l of m.layers) {
    const parts = l.trainableWeights.map((w) => {
      const i = weights.indexOf(w);
      return { weight: w.name, g: gs[i], w0: w0[i] };
    });
    const k = reluNames.indexOf(l.name);
    let dead: number | undefined;
    if (k >= 0) {
      const a = acts[k];
      const units = l.trainableWeights[1].shape[0];
      let d = 0;
      for (let u = 0; u < units; u++) {
        let alive = false;
        for (let r = u; r < a.length; r += units) if (a[r] > 0) alive = true;
        if (!alive) d++;
      }
      dead = d / units;
    }
    if (parts.length) layers.set(l.name, { parts, dead });
  }
  return { layers };
}

async function oneStep(m: Sequential, d: { x: Float32Array; y: number[] }) {
  const trainer = new Trainer(m, { optimizer: new SGD(0.05, 0.9), loss: 'categorical_crossentropy' });
  let got: LayerGradStats[] | undefined;
  const h = await trainer.fit(d, { batchSize: N, epochs: 1, shuffle: false, gradStats: true, onBatchEnd: (b: BatchInfo) => void (got = b.gradStats) });
  trainer.optimizer.dispose();
  return { got: got!, epoch: h[0].gradStats! };
}

async function checkAgainstReference(m: Sequential, ref: Reference, got: LayerGradStats[]) {
  const w1 = (await E.readAll(m.trainableWeights.map((w) => w.value))) as Float32Array[];
  const weights = m.trainableWeights;
  if (got.map((l) => l.layer).join() !== [...ref.layers.keys()].join()) throw new Error(`layers ${got.map((l) => l.layer)} vs ${[...ref.layers.keys()]}`);
  for (const l of got) {
    const r = ref.layers.get(l.layer)!;
    const layer = m.layers.find((x) => x.name === l.layer)!;
    const parts = r.parts.map((p, j) => ({ ...p, w1: w1[weights.indexOf(layer.trainableWeights[j])] }));
    parts.forEach((p, j) => {
      if (l.weights[j].weight !== p.weight || l.weights[j].size !== p.g.length) throw new Error(`${l.layer}: weight ${j} is ${l.weights[j].weight}[${l.weights[j].size}]`);
      compare(l.weights[j], refStats([p as { g: Float32Array; w0: Float32Array; w1: Float32Array }]), `${l.layer}/${p.weight}`);
    });
    compare(l, refStats(parts as { g: Float32Array; w0: Float32Array; w1: Float32Array }[]), `${l.layer} (pooled)`);
    if (l.deadFraction !== r.dead) throw new Error(`${l.layer} dead share ${l.deadFraction}, reference ${r.dead}`);
  }
}

test('every statistic of one step matches a float64 computation from the read-back gradients, weights and activations', async () => {
  const m = small();
  const d = data();
  const ref = await reference(m, d.x, d.y);
  const { got, epoch } = await oneStep(m, d);
  await checkAgainstReference(m, ref, got);
  if (got.some((l) => !Number.isFinite(l.norm) || l.norm <= 0)) throw new Error(`norms ${got.map((l) => l.norm)}`);
  if (epoch.steps.join() !== '1' || epoch.layers[0].norm[0] !== got[0].norm || epoch.layers[0].last.norm !== got[0].norm) throw new Error(`epoch summary ${JSON.stringify(epoch).slice(0, 200)}`);
  // The check can fail: swapping mean and std, or norm and max|g|, is caught.
  const l = got[2];
  for (const bad of [{ ...l, mean: l.std, std: l.mean }, { ...l, norm: l.maxAbs, maxAbs: l.norm }, { ...l, zeroFraction: l.zeroFraction + 1 / 720 }]) {
    let caught = false;
    try {
      await checkAgainstReference(m, ref, got.map((x) => (x === l ? bad : x)));
    } catch {
      caught = true;
    }
    if (!caught) throw new Error('a mutated statistic passed the comparison');
  }
  m.dispose();
});

test('a layer whose bias is forced very negative is 100% dead, with all-zero gradients', async () => {
  const m = small(4);
  const dense = m.layers.find((l) => l.name === 'dense')!;
  dense.trainableWeights[1].assign(new Float32Array(5).fill(-100));
  const d = data(11);
  const ref = await reference(m, d.x, d.y);
  const { got } = await oneStep(m, d);
  await checkAgainstReference(m, ref, got);
  const l = got.find((x) => x.layer === 'dense')!;
  if (l.deadFraction !== 1 || l.zeroFraction !== 1 || l.norm !== 0) throw new Error(`dense: dead ${l.deadFraction}, zeros ${l.zeroFraction}, norm ${l.norm}`);
  const conv = got.find((x) => x.layer === 'conv2d')!;
  if (!(conv.deadFraction! < 1)) throw new Error(`conv2d dead ${conv.deadFraction}`);
  if (got.find((x) => x.layer === 'dense_1')!.deadFraction !== undefined) throw new Error('the softmax layer has a dead share');
  m.dispose();
});

test('statistics ride on the loss readback: readbacks and submits per step unchanged; off adds no dispatch', async () => {
  const d = data(5);
  const big = { x: new Float32Array(N * 4 * HW * HW), y: [] as number[] };
  for (let k = 0; k < 4; k++) {
    big.x.set(d.x, k * d.x.length);
    big.y.push(...d.y);
  }
  const g = E.gpu();
  const run = async (gradStats: boolean | { every: number } | undefined) => {
    const m = small(6);
    const trainer = new Trainer(m, { optimizer: 'adam' });
    // A warm-up epoch: pipelines and pooled buffers exist before counting.
    await trainer.fit(big, { batchSize: N, epochs: 1, shuffle: false, gradStats });
    const c0 = { ...g.counters };
    let withStats = 0;
    await trainer.fit(big, { batchSize: N, epochs: 1, shuffle: false, gradStats, onBatchEnd: (b) => void (withStats += b.gradStats ? 1 : 0) });
    const c1 = { ...g.counters };
    const plan = new GradStatsPlan(m);
    m.dispose();
    trainer.optimizer.dispose();
    return { dispatches: c1.dispatches - c0.dispatches, submits: c1.submits - c0.submits, readbacks: c1.readbacks - c0.readbacks, withStats, per: plan.dispatches };
  };
  const off = await run(undefined);
  const off2 = await run(false);
  const on = await run(true);
  const half = await run({ every: 2 });
  const steps = 4;
  if (on.per !== 6 + 2) throw new Error(`plan: ${on.per} dispatches, expected 6 weights + 2 ReLU layers`);
  for (const r of [off2, on, half])
    if (r.readbacks !== off.readbacks || r.submits !== off.submits) throw new Error(`readbacks/submits ${r.readbacks}/${r.submits} vs off ${off.readbacks}/${off.submits}`);
  if (off.readbacks !== steps) throw new Error(`${off.readbacks} readbacks for ${steps} steps`);
  if (off2.dispatches !== off.dispatches) throw new Error(`gradStats false: ${off2.dispatches} dispatches, default ${off.dispatches}`);
  if (on.dispatches !== off.dispatches + steps * on.per) throw new Error(`on: ${on.dispatches} dispatches, off ${off.dispatches} + ${steps}·${on.per}`);
  if (half.dispatches !== off.dispatches + 2 * on.per || half.withStats !== 2 || on.withStats !== steps || off.withStats !== 0) throw new Error(`every 2: ${half.dispatches} dispatches, ${half.withStats} steps with statistics`);
});

test.run();
