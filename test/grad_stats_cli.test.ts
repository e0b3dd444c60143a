// `lanterna train --grad-stats` on a tiny run: the history JSON carries per-layer statistics
// (per step and per epoch), the log a statistics line, and the curve SVG the statistics panels.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';

const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function train(out: string, extra: string[]) {
  const p = spawnSync(process.execPath, [main, 'train', '--preset', 'cam1', '--limit', '300', '--epochs', '1', '--batch', '100', '--out', out, ...extra], { encoding: 'utf8', cwd: ROOT });
  if (p.status !== 0) throw new Error(`train exited ${p.status}:\n${p.stderr}`);
  return p.stdout;
}

test('train --grad-stats writes the statistics into the history JSON and the curve SVG', () => {
  const out = mkdtempSync(join(tmpdir(), 'lanterna-grad-stats-'));
  try {
    const stdout = train(out, ['--grad-stats']);
    if (!/^gradient statistics \(mean over 3 steps\): conv2d ‖g‖ /m.test(stdout)) throw new Error(`no statistics line in:\n${stdout}`);
    const h = JSON.parse(readFileSync(join(out, 'cam1.history.json'), 'utf8'));
    const g = h[0].gradStats;
    if (!g || g.steps.join() !== '1,2,3') throw new Error(`history gradStats ${JSON.stringify(g)?.slice(0, 300)}`);
    const names = g.layers.map((l: { layer: string }) => l.layer).join();
    if (names !== 'conv2d,conv2d_1,conv2d_2,conv2d_3,dense') throw new Error(`layers ${names}`);
    for (const l of g.layers) {
      if (l.norm.length !== 3 || !l.norm.every((v: number) => Number.isFinite(v) && v > 0)) throw new Error(`${l.layer} norms ${l.norm}`);
      const m = l.norm.reduce((a: number, b: number) => a + b, 0) / 3;
      if (Math.abs(l.mean.norm - m) > 1e-12 * m || l.last.norm !== l.norm[2]) throw new Error(`${l.layer}: mean ${l.mean.norm} vs ${m}, last ${l.last.norm}`);
      for (const k of ['norm', 'mean', 'std', 'maxAbs', 'zeroFraction', 'updateRatio']) if (typeof l.last[k] !== 'number') throw new Error(`${l.layer}.last.${k} = ${l.last[k]}`);
      if (l.last.weights.map((w: { weight: string }) => w.weight).join() !== 'kernel,bias') throw new Error(`${l.layer} weights`);
      if ((l.layer === 'dense') !== (l.deadFraction === undefined)) throw new Error(`${l.layer} dead share ${l.deadFraction}`);
    }
    const svg = readFileSync(join(out, 'cam1.curve.svg'), 'utf8');
    for (const title of ['gradient norm ‖g‖ per layer', 'dead ReLU units (share)', 'update / weight ratio'])
      if (!svg.includes(title)) throw new Error(`the SVG has no panel '${title}'`);
    if (!svg.includes('log scale')) throw new Error('the norm panel is not on a log scale');
    // Without the flag: no statistics anywhere.
    const plain = mkdtempSync(join(tmpdir(), 'lanterna-grad-stats-'));
    try {
      const s2 = train(plain, []);
      if (/gradient statistics/.test(s2) || readFileSync(join(plain, 'cam1.history.json'), 'utf8').includes('gradStats') || readFileSync(join(plain, 'cam1.curve.svg'), 'utf8').includes('gradient norm'))
        throw new Error('statistics written without --grad-stats');
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('train --grad-stats 0 is a usage error', () => {
  const p = spawnSync(process.execPath, [main, 'train', '--preset', 'cam1', '--grad-stats', '0', '--out', tmpdir()], { encoding: 'utf8', cwd: ROOT });
  if (p.status !== 2 || !/^lanterna: --grad-stats/m.test(p.stderr)) throw new Error(`exit ${p.status}: ${p.stderr}`);
});

test.run();
