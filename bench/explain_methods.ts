// The two costliest explanation methods, timed beside PyTorch on the CPU in the same run:
// Score-CAM at VGG16's block5_conv3 (512 masked copies of the input) and Integrated Gradients
// with 64 steps from a black baseline, VGG16 (Keras layout, random weights) at batch 1. PyTorch
// runs scripts/reference/bench_explain_torch.py (the same computations, float32, all CPU threads)
// right after ours, on the same machine; where /usr/bin/python3 has no torch its column says so.
//   node dist/bench/explain_methods.js [--size 64] [--steps 64] [--repeats 3] [--warmup 1] [--batch 32] [--out bench/results]
// Writes explain-<adapter>-<date>.md and .json with the medians and the ratio.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as E from '../engine/index.ts';
import { describeDevice } from '../engine/info.ts';
import { integratedGradients } from '../explain/attribution/index.ts';
import { ScoreCam } from '../explain/score_cam.ts';
import { vgg16 } from './workloads/models.ts';

const argv = process.argv.slice(2);
const opt = (f: string, d: number) => (argv.includes(f) ? Number(argv[argv.indexOf(f) + 1]) : d);
const SIZE = opt('--size', 64);
const STEPS = opt('--steps', 64);
const REPEATS = opt('--repeats', 3);
const BATCH = opt('--batch', 32);
const WARMUP = opt('--warmup', 1);
const OUT = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : 'bench/results';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn(); // pipelines compiled, pool filled
  const out: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function ours(): Promise<{ adapter: string; scorecamMs: number[]; igMs: number[] }> {
  await E.init();
  const dev = await describeDevice(E.gpu());
  const model = vgg16(SIZE);
  const xs = Float32Array.from({ length: SIZE * SIZE * 3 }, (_, i) => ((i * 7919) % 255) - 120);
  const x = E.keep(E.tensor(xs, [1, SIZE, SIZE, 3]));
  const probs = await model.predict(xs, 1);
  let cls = 0;
  for (let k = 1; k < probs.length; k++) if (probs[k] > probs[cls]) cls = k;
  const sc = new ScoreCam(model, { batchSize: BATCH });
  const scorecamMs = await timed(() => E.asyncTidy(async () => sc.explain(x, { layer: 'block5_conv3', classes: [cls] })));
  const igMs = await timed(() => integratedGradients(model, x, { classes: [cls], steps: STEPS, baseline: 'black', batchSize: BATCH }));
  x.dispose();
  return { adapter: `${dev.driver} (${dev.description || dev.device})`, scorecamMs, igMs };
}

function torch(): { version?: string; threads?: number; scorecamMs?: number[]; igMs?: number[]; error?: string } {
  const r = spawnSync('/usr/bin/python3', ['scripts/reference/bench_explain_torch.py', String(SIZE), String(STEPS), String(BATCH), String(REPEATS), String(WARMUP)], { encoding: 'utf8', timeout: 3_600_000 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').slice(-1)[0] };
  const j = JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]);
  return { version: j.torch, threads: j.threads, scorecamMs: j.scorecamMs, igMs: j.igMs };
}

const o = await ours();
const t = torch();
const date = new Date().toISOString().slice(0, 10);
const row = (name: string, a: number[], b?: number[]) =>
  `| ${name} | ${median(a).toFixed(0)} | ${b ? median(b).toFixed(0) : '—'} | ${b ? (median(b) / median(a)).toFixed(2) + '×' : '—'} |`;
const md = [
  `# Explanation methods beside PyTorch (CPU), ${date}`,
  '',
  `VGG16 (Keras layout, random weights) at ${SIZE}×${SIZE}, batch 1; medians of ${REPEATS} run${REPEATS > 1 ? 's' : ''} after ${WARMUP} warm-up${WARMUP === 1 ? '' : 's'}, ms. Ours: ${o.adapter}.`,
  `PyTorch: ${t.error ? `not run (${t.error})` : `${t.version}, CPU, ${t.threads} threads`}; ${cpus().length} CPU cores. Ratio > 1: ours faster.`,
  '',
  '| computation | Lanterna ms | PyTorch CPU ms | PyTorch / Lanterna |',
  '|---|---:|---:|---:|',
  row(`Score-CAM, block5_conv3 (512 masks, ${BATCH} per pass)`, o.scorecamMs, t.scorecamMs),
  row(`Integrated Gradients, ${STEPS} steps (${BATCH} per pass)`, o.igMs, t.igMs),
  '',
  'Made by `node dist/bench/explain_methods.js`' + (argv.length ? ` ${argv.join(' ')}` : '') + '.',
  '',
].join('\n');
mkdirSync(OUT, { recursive: true });
const stem = join(OUT, `explain-${o.adapter.split(' ')[0].replace(/\W+/g, '')}-${date}`);
writeFileSync(`${stem}.md`, md);
writeFileSync(`${stem}.json`, JSON.stringify({ date, size: SIZE, steps: STEPS, batch: BATCH, repeats: REPEATS, ours: o, torch: t }, null, 2));
console.log(md);
console.log(`wrote ${stem}.md and .json`);
E.shutdown();
