// The benchmark harness itself (bench/): statistics, alternation, the time budget, failure
// handling, FLOP counts, the reports; then the real suite at tiny sizes, one run each, ours
// beside TF.js WebGPU on this adapter, writing JSON, Markdown and SVG to a temporary folder.
// Speed is not tested here (bench/ measures it); agreement between the two engines is.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SUITE, relDiff, runWorkload, stats, type Engine, type Instance, type SuiteOptions, type Workload } from '../bench/harness.ts';
import { adapterLabel, renderMarkdown, renderSvg, type BenchReport } from '../bench/report.ts';
import { benchChecks } from '../bench/main.ts';
import { benchMain, benchShutdown, parseArgs } from '../bench/run.ts';
import { workloads } from '../bench/suite.ts';
import type { OursProfile } from '../bench/profile.ts';
import { vgg16Flops } from '../bench/workloads/models.ts';
import * as E from '../engine/index.ts';

// The tiny suite below runs with --profile: the device must be created able to time kernels.
process.env.LANTERNA_PROFILE = '1';

const busy = (ms: number) => {
  const t = performance.now();
  while (performance.now() - t < ms);
};

test('stats: median, min, max over odd and even counts; relDiff', () => {
  const a = stats([5, 1, 3]);
  assert.equal([a.median, a.min, a.max, a.mean], [3, 1, 5, 3]);
  const b = stats([4, 1, 3, 2]);
  assert.equal([b.median, b.min, b.max], [2.5, 1, 4]);
  assert.equal(b.samples, [4, 1, 3, 2], 'samples kept in run order');
  assert.is(relDiff([1, 2, 4], [1, 2, 4]), 0);
  assert.ok(Math.abs(relDiff([1, 2, 4.4], [1, 2, 4]) - 0.1) < 1e-12, 'max |a−b| / max |b|');
  assert.is(relDiff([1, NaN], [1, 2]), Infinity);
  assert.is(relDiff([1], [1, 2]), Infinity);
  assert.is(relDiff([1e-3, 0], [0, 0]), Infinity, 'an all-zero reference agrees only with zeros');
  assert.is(relDiff([0, 0], [0, 0]), 0);
});

/** A fake workload: each side busy-waits a fixed time per run and logs what it did. */
function fake(log: string[], oursMs: number, tfjsMs: number, opts: { tfjsFails?: boolean; disagree?: boolean } = {}): [Workload, Engine, Engine] {
  const side = (name: string, ms: number, out: number[]): Instance => ({
    run() {
      log.push(name);
      busy(ms);
      return () => log.push(`${name}:free`);
    },
    probe: async () => {
      log.push(`${name}:probe`);
      return Float32Array.from(out);
    },
    dispose: () => log.push(`${name}:dispose`),
  });
  const w: Workload = {
    id: 'fake',
    family: 'fake',
    title: 'fake',
    flops: 2e6,
    params: {},
    tolerance: 1e-6,
    ours: async () => side('ours', oursMs, [1, 2, 3]),
    tfjs: async () => {
      if (opts.tfjsFails) throw new Error('no such kernel');
      return side('tfjs', tfjsMs, opts.disagree ? [1, 2, 4] : [1, 2, 3]);
    },
  };
  const engine = (id: string): Engine => ({ id, label: id, sync: async () => void log.push(`${id}:sync`) });
  return [w, engine('ours'), engine('tfjs')];
}

const quiet = (o: Partial<SuiteOptions>): SuiteOptions => ({ ...DEFAULT_SUITE, log: () => {}, ...o });

test('runWorkload: probe, warm-up, counted runs alternating engines, each run synced and freed after the clock', async () => {
  const log: string[] = [];
  const [w, ours, tfjs] = fake(log, 2, 6);
  const r = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 4, warmup: 1, warmupMs: 0 }));
  const runs = log.filter((e) => e === 'ours' || e === 'tfjs');
  // 1 warm-up round then 4 counted rounds; the order flips every round.
  assert.equal(runs, ['ours', 'tfjs', 'ours', 'tfjs', 'tfjs', 'ours', 'ours', 'tfjs', 'tfjs', 'ours']);
  assert.equal(log.slice(0, 2), ['ours:probe', 'ours:sync'], 'each side is probed first');
  const i = log.indexOf('ours');
  assert.equal(log.slice(i, i + 3), ['ours', 'ours:sync', 'ours:free'], 'sync ends the run; outputs are freed after');
  assert.ok(log.includes('ours:dispose') && log.includes('tfjs:dispose'));
  assert.is(r.ours.runs, 4);
  assert.is(r.tfjs.runs, 4);
  assert.is(r.ours.ms!.samples.length, 4);
  assert.ok(r.ratio! > 1.2 && r.ratio! < 10, `ratio = TF.js time / ours ≈ 3, got ${r.ratio}`);
  assert.is(r.unit, 'GFLOP/s');
  assert.ok(Math.abs(r.ours.rate! - 2e6 / (r.ours.ms!.median * 1e-3) / 1e9) < 1e-3, 'GFLOP/s at the median');
  assert.ok(r.agreement!.ok && r.agreement!.maxRelDiff === 0);
});

test('runWorkload: warm-up lasts at least warmupMs per side, unless the probe was slow', async () => {
  const log: string[] = [];
  const [w, ours, tfjs] = fake(log, 5, 5);
  const r = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 1, warmup: 1, warmupMs: 30 }));
  assert.ok(r.ours.warmupRuns! >= 3 && r.ours.warmupRuns! <= 6, `30 ms of ≥ 5 ms runs: ${r.ours.warmupRuns} warm-up runs`);
  const r1 = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 1, warmup: 0, warmupMs: 30 }));
  assert.is(r1.ours.warmupRuns, 0, '--warmup 0 means none');
  const r2 = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 1, warmup: 3, warmupMs: 30, skipWarmupMs: -1 }));
  assert.is(r2.ours.warmupRuns, 0, 'skipped after a slow probe');
});

test('runWorkload: the time budget cuts only the slow side, never below minRuns', async () => {
  const log: string[] = [];
  const [w, ours, tfjs] = fake(log, 0, 60);
  // Budget 0.2 s: 100 ms per side. After one TF.js run (≥ 60 ms) a second would pass it; ours
  // (a few µs a run) does all 6.
  const r = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 6, warmup: 0, maxSeconds: 0.2, minRuns: 1 }));
  assert.is(r.ours.runs, 6);
  assert.is(r.tfjs.runs, 1);
  assert.match(r.note!, /tfjs: 1 counted run of 6/);
  assert.not.match(r.note!, /ours/);
  const r2 = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 6, warmup: 0, maxSeconds: 0.001, minRuns: 3 }));
  assert.is(r2.tfjs.runs, 3, 'minRuns wins over the budget');
});

test('runWorkload: a failing side is reported, not thrown; disagreement is flagged', async () => {
  const log: string[] = [];
  const [w, ours, tfjs] = fake(log, 1, 1, { tfjsFails: true });
  const r = await runWorkload(w, ours, [{ engine: tfjs, tf: null }], quiet({ runs: 2, warmup: 0 }));
  assert.match(r.tfjs.error!, /no such kernel/);
  assert.is(r.ratio, undefined);
  assert.is(r.ours.runs, 2);
  const [w2, o2, t2] = fake([], 1, 1, { disagree: true });
  const r2 = await runWorkload(w2, o2, [{ engine: t2, tf: null }], quiet({ runs: 1, warmup: 0 }));
  assert.not.ok(r2.agreement!.ok);
  assert.ok(Math.abs(r2.agreement!.maxRelDiff - 0.25) < 1e-6);
});

test('runWorkload: further TF.js backends are sides of their own, activated before each step; a declining one is skipped', async () => {
  const log: string[] = [];
  let current = '';
  const cpuSide = (name: string, ms: number, out: number[], declines?: string) => {
    const engine: Engine = {
      id: name,
      label: name,
      sync: async () => {},
      activate: async () => void (current = name),
      declines: () => declines,
    };
    return { engine, tf: { name, ms, out } };
  };
  const w: Workload = {
    id: 'three', family: 'fake', title: 'three', flops: 1e6, params: {}, tolerance: 1e-3,
    ours: async () => ({ run: () => () => {}, probe: async () => Float32Array.of(1, 2), dispose: () => {} }),
    // Each TF.js side is set up with its own `tf`; every step checks its backend is the current one.
    tfjs: async (tf: { name: string; ms: number; out: number[] }) => {
      const check = (what: string) => {
        log.push(`${tf.name}:${what}`);
        assert.is(current, tf.name, `${tf.name} ${what} with ${current} active`);
      };
      check('make');
      return {
        run: () => (check('run'), busy(tf.ms), () => {}),
        probe: async () => (check('probe'), Float32Array.from(tf.out)),
        dispose: () => check('dispose'),
      };
    },
  };
  const sides = [cpuSide('tfjs-webgpu', 1, [1, 2]), cpuSide('tfjs-wasm', 4, [1, 2.5]), cpuSide('tfjs-cpu', 1, [1, 2], 'too big')];
  const ours: Engine = { id: 'ours', label: 'ours', sync: async () => {}, activate: async () => void (current = 'ours') };
  const r = await runWorkload(w, ours, sides, quiet({ runs: 3, warmup: 1, warmupMs: 0 }));
  assert.is(r.tfjs.engine, 'tfjs-webgpu');
  assert.ok(r.agreement!.ok && r.ratio! > 0, 'the WebGPU side gives the workload its ratio and agreement');
  assert.is(r.tfjs.ratio, undefined, '… kept at the workload, not repeated on the side');
  assert.equal(r.others!.map((o) => o.engine), ['tfjs-wasm', 'tfjs-cpu']);
  const [wasm, cpu] = r.others!;
  assert.is(wasm.runs, 3);
  assert.ok(wasm.ratio! > 1, `wasm's ratio is its own time / ours: ${wasm.ratio}`);
  assert.not.ok(wasm.agreement!.ok, 'wasm computed [1, 2.5] against our [1, 2]');
  assert.is(cpu.skipped, 'too big');
  assert.is(cpu.ms, undefined);
  assert.not.ok(log.some((e) => e.startsWith('tfjs-cpu')), 'a declining backend is never set up');
  assert.is(log.filter((e) => e === 'tfjs-wasm:run').length, 1 + 3, 'warm-up and counted runs');
  assert.ok(log.includes('tfjs-wasm:dispose') && log.includes('tfjs-webgpu:dispose'));
  const c = benchChecks({ results: [r] } as unknown as BenchReport);
  assert.equal([c.passed, c.failed, c.skipped], [2, 1, 1], 'ours ran, WebGPU agrees; wasm disagrees; cpu declined');
  assert.match(c.error!, /ours and tfjs-wasm disagree/);
});

test('FLOP counts: matmul 2MNK, conv 2·N·Ho·Wo·KH·KW·C·O, VGG16 forward, cam1 step', async () => {
  await E.init();
  const list = workloads({});
  const by = (id: string) => list.find((w) => w.id === id)!;
  assert.is(by('matmul-1024').flops, 2 * 1024 ** 3);
  assert.is(by('conv-56x56x256-256-k3-n1-fwd').flops, 2 * 56 * 56 * 9 * 256 * 256);
  assert.is(by('conv-56x56x256-256-k3-n1-dw').flops, 2 * 56 * 56 * 9 * 256 * 256);
  assert.is(by('maxpool-1x56x56x256-p2').bytes, 4 * (56 * 56 * 256 + 28 * 28 * 256));
  // VGG16: 15.47 G multiply-adds per 224×224 image (convs and the three dense layers).
  assert.is(vgg16Flops(224), 2 * 15_470_264_320);
  // cam1 per image: convs 28²·16·9·1 + 14²·32·9·16 + 7²·64·9·32 + 3²·128·9·64, dense 128·10.
  const macs = 28 * 28 * 16 * 9 + 14 * 14 * 32 * 9 * 16 + 7 * 7 * 64 * 9 * 32 + 3 * 3 * 128 * 9 * 64 + 128 * 10;
  assert.is(by('train-cam1-b100').flops, 3 * 2 * macs * 100);
  assert.ok(workloads({ cpuAdapter: true }).some((w) => w.id === 'train-cam2-b10'), 'cam2 at batch 10 on CPU drivers');
  const large = workloads({ large: true }).map((w) => w.id);
  for (const id of ['matmul-2048', 'matmul-4096', 'vgg16-forward-224-b1', 'gradcam-vgg16-224']) assert.ok(large.includes(id), `--large has ${id}`);
  // Every VGG16 conv layer's shape, in three passes: 13 layers, 9 shapes.
  const convs = workloads({ large: true }).filter((w) => w.family === 'conv');
  assert.is(convs.length, 27);
  assert.is(new Set(convs.map((w) => w.id)).size, 27, 'ids are unique');
  // Layers per shape (block3_conv2/3, block4_conv2/3, block5_conv1/2/3 share one): their forward
  // FLOPs add up to VGG16's less its three dense layers.
  const fwd = convs.filter((w) => w.id.endsWith('-fwd'));
  const layers = [1, 1, 1, 1, 1, 2, 1, 2, 3];
  const dense = 2 * (7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000);
  assert.is(fwd.reduce((a, w, i) => a + layers[i] * w.flops!, 0), vgg16Flops(224) - dense);
  assert.ok(list.some((w) => w.id === 'epoch-cam1-b100') && list.some((w) => w.id === 'epoch-cam2-b100'), 'whole epochs on a GPU');
  assert.ok(workloads({ cpuAdapter: true }).some((w) => w.id === 'epoch-cam2-b100-200' && w.extrapolate?.factor === 270), 'a part on CPU drivers');
  assert.ok(workloads({ cpuAdapter: true, epochLimit: 1000 }).some((w) => w.id === 'epoch-cam1-b100-1000'), '--epoch-limit');
});

test('arguments: defaults, errors, --profile, --epoch-limit', () => {
  const a = parseArgs([]);
  assert.is(a.runs, 5);
  assert.is(a.warmup, 1);
  assert.is(a.profile, false);
  assert.is(parseArgs(['--runs', '3', '--only', 'matmul,conv']).only.length, 2);
  assert.ok(parseArgs(['--profile']).profile);
  assert.is(parseArgs(['--epoch-limit', '300']).epochLimit, 300);
  assert.throws(() => parseArgs(['--runs', '0']), /--runs/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown option/);
  assert.equal(parseArgs([]).backends, ['webgpu', 'wasm', 'cpu']);
  assert.equal(parseArgs(['--tfjs-backends', 'cpu']).backends, ['webgpu', 'cpu'], 'WebGPU always runs');
  assert.throws(() => parseArgs(['--tfjs-backends', 'webgl']), /unknown backend webgl/);
});

test('reports: adapter slug, Markdown rows, slower rows named, failures shown, SVG escapes', () => {
  const lvp = adapterLabel({ driver: 'lavapipe (Mesa 25.0.7, runs on the CPU)', vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: '', cpuAdapter: true });
  assert.is(lvp.slug, 'lavapipe');
  assert.is(adapterLabel({ driver: 'NVIDIA', vendor: 'nvidia', architecture: '', device: 'nvidia-h200', description: 'NVIDIA: 580.159.04 580.159.4.0', cpuAdapter: false }).slug, 'nvidia-h200');
  assert.is(adapterLabel({ driver: 'NVIDIA', vendor: 'nvidia', architecture: '', device: '', description: 'NVIDIA H100 80GB HBM3', cpuAdapter: false }).slug, 'nvidia-h100-80gb-hbm3');
  const side = (engine: string, median: number) => ({ engine, ms: stats([median]), rate: 1, runs: 1 });
  const rep: BenchReport = {
    schema: 1,
    kind: 'lanterna-bench',
    date: '2026-01-02T03:04:05Z',
    adapter: lvp,
    device: {},
    tfjs: { version: '4.22.0', backend: 'webgpu', adapterInfo: {} },
    sameAdapter: true,
    host: { runtime: 'node', runtimeVersion: 'v20' },
    options: { runs: 1, warmup: 0, maxSeconds: 40, minRuns: 1 },
    results: [
      { id: 'a', family: 'f', title: 'fast <one>', params: {}, unit: 'GFLOP/s', runs: 1, warmup: 0, ours: side('ours', 1), tfjs: side('tfjs', 3), ratio: 3 },
      { id: 'b', family: 'f', title: 'slow one', params: {}, unit: 'GFLOP/s', runs: 1, warmup: 0, ours: side('ours', 4), tfjs: side('tfjs', 2), ratio: 0.5 },
      { id: 'c', family: 'f', title: 'broken', params: {}, runs: 1, warmup: 0, ours: side('ours', 1), tfjs: { engine: 'tfjs', error: 'no kernel | here' } },
    ],
    notes: [],
  };
  const md = renderMarkdown(rep);
  assert.match(md, /\| Workload \| Ours ms \| TF\.js ms \|/);
  assert.match(md, /\| fast <one> \|.*\| \*\*3\.00×\*\* \|/);
  assert.match(md, /\| slow one \|.*\| 0\.50× \|/);
  assert.match(md, /Slower than TF\.js on: slow one \(0\.500×: TF\.js 2\.00× faster\)/);
  assert.match(md, /failed: no kernel \\\| here/);
  const svg = renderSvg(rep);
  assert.match(svg, /^<svg /);
  assert.match(svg, /fast &lt;one&gt;/);
  assert.match(svg, /no ratio \(TF\.js failed\)/);
  assert.match(svg, /lavapipe/);
});

test('the suite at tiny sizes, one run each: every workload on both engines, engines agree, files written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bench-'));
  try {
    const { report, files } = await benchMain(['--tiny', '--runs', '1', '--warmup', '0', '--out', dir, '--quiet', '--profile']);
    assert.ok(report.sameAdapter, `TF.js runs on another adapter: ${JSON.stringify(report.tfjs.adapterInfo)} vs ${report.adapter.text}`);
    const families = new Set(report.results.map((r) => r.family));
    for (const f of ['matmul', 'conv', 'pool', 'train', 'epoch', 'model']) assert.ok(families.has(f), `family ${f} ran`);
    for (const r of report.results) {
      assert.not.ok(r.ours.error, `${r.title}: ours failed: ${r.ours.error}`);
      assert.not.ok(r.tfjs.error, `${r.title}: TF.js failed: ${r.tfjs.error}`);
      assert.ok(r.ratio! > 0 && Number.isFinite(r.ratio!), `${r.title}: ratio ${r.ratio}`);
      assert.ok(r.agreement?.ok, `${r.title}: engines disagree by ${r.agreement?.maxRelDiff} (tolerance ${r.agreement?.tolerance})`);
      assert.is(r.ours.runs, 1);
      assert.ok(r.ours.perRun!.dispatches > 0, `${r.title}: dispatches counted`);
    }
    // TF.js's CPU backends ran beside as further sides: where they ran, they agree with ours.
    for (const r of report.results) {
      assert.equal(r.others?.map((o) => o.engine), ['tfjs-wasm', 'tfjs-cpu'], `${r.title}: wasm and cpu sides`);
      for (const o of r.others!)
        if (o.ms) assert.ok(o.agreement?.ok && o.ratio! > 0, `${r.title}: ${o.engine} disagrees by ${o.agreement?.maxRelDiff}`);
        else assert.ok(o.error || o.skipped, `${r.title}: ${o.engine} neither ran nor said why`);
    }
    assert.ok(report.results.find((r) => r.id === 'matmul-16')!.others!.every((o) => o.ms), 'wasm and cpu ran the matmul');
    assert.match(report.results.find((r) => r.id === 'train-cam2-b2')!.others![1].skipped!, /GFLOP a run/, 'cpu declines a cam2 step');
    const train = report.results.find((r) => r.id === 'train-cam1-b2')!;
    assert.is(train.ours.perRun!.liveBuffers, 0, 'a training step leaks no GPU buffer');
    // An epoch's part is extrapolated to the whole, and says so.
    const epoch = report.results.find((r) => r.family === 'epoch')!;
    assert.ok(epoch.extrapolated && epoch.extrapolated.factor === 54_000 / 6 && epoch.extrapolated.oursMs! > 0, JSON.stringify(epoch.extrapolated));
    // --profile: counts of one step (one submission, no readback) and of one Grad-CAM (two readbacks),
    // and per-kernel times where the adapter has timestamps.
    const prof = (id: string) => report.results.find((r) => r.id.startsWith(id))!.profile as OursProfile;
    assert.equal({ ...prof('train-cam1').counts, dispatches: 0 }, { dispatches: 0, submits: 1, readbacks: 0, uploads: 0 });
    assert.is(prof('gradcam').counts.readbacks, 2, 'Grad-CAM reads the probabilities, then the map');
    for (const id of ['train-cam1', 'train-cam2', 'gradcam']) {
      const p = prof(id);
      if (E.gpu().canProfile) assert.is(p.gpu!.timed, p.counts.dispatches, `${id}: every dispatch timed`);
      else assert.match(p.unavailable!, /unavailable/);
    }
    assert.not.ok(report.results.some((r) => r.profile && !['train', 'model'].includes(r.family)), 'only steps and Grad-CAM are profiled');
    assert.equal(files.map((f) => f.slice(f.lastIndexOf('.'))), ['.json', '.md', '.svg']);
    const json = JSON.parse(readFileSync(files[0], 'utf8'));
    assert.is(json.results.length, report.results.length);
    assert.ok(json.adapter.slug && files[0].includes(json.adapter.slug));
    const md = readFileSync(files[1], 'utf8');
    for (const r of report.results) assert.ok(md.includes(`| ${r.title} |`), `Markdown row for ${r.title}`);
    assert.match(readFileSync(files[2], 'utf8'), /<svg[\s\S]*cam2 training step, batch 2[\s\S]*<\/svg>/);
    assert.match(md, /\*\*Extrapolated\*\*/);
    assert.match(md, /#### Beside TF\.js's CPU backends \(TF\.js 4\.22 wasm \(SIMD/);
    assert.match(md, /#### Profile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => benchShutdown());

test.run();
