// The real-model benchmark workloads' own logic (bench/workloads/mobilenet.ts): the IOHandler's
// artifacts that TF.js's loadLayersModel reads (shards concatenated in manifest order), the
// FLOP count against the MobileNet paper, and a workload whose data is absent being skipped on
// every side without being set up. No GPU and no data needed; the bench run itself compares
// the two engines' outputs on the real files.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SUITE, runWorkload, type Engine } from '../bench/harness.ts';
import { benchChecks } from '../bench/main.ts';
import { renderMarkdown, type BenchReport } from '../bench/report.ts';
import { mobilenetForwardWorkload, mobilenetGradCamWorkload, mobilenetV1Flops, tfjsArtifacts } from '../bench/workloads/mobilenet.ts';

const bytes = (...v: number[]) => Uint8Array.from(v);

test('tfjsArtifacts: groups in manifest order, each group\'s shards in paths order, specs alike, paths relative to model.json', async () => {
  const files: Record<string, Uint8Array> = {
    '/d/m/model.json': new TextEncoder().encode(
      JSON.stringify({
        format: 'layers-model',
        modelTopology: { class_name: 'Model' },
        weightsManifest: [
          { paths: ['g1-shard2of2', 'g1-shard1of2'], weights: [{ name: 'a/kernel', shape: [3], dtype: 'float32' }] },
          { paths: ['g2'], weights: [{ name: 'b/bias', shape: [1], dtype: 'float32' }] },
        ],
      }),
    ),
    '/d/m/g1-shard1of2': bytes(1, 2),
    '/d/m/g1-shard2of2': bytes(3, 4, 5),
    '/d/m/g2': bytes(6),
  };
  const read = async (p: string) => {
    if (!files[p]) throw new Error(`no file ${p}`);
    return files[p];
  };
  const a = await tfjsArtifacts('/d/m/model.json', read);
  assert.equal([...new Uint8Array(a.weightData as ArrayBuffer)], [3, 4, 5, 1, 2, 6]);
  assert.equal((a.weightSpecs as { name: string }[]).map((s) => s.name), ['a/kernel', 'b/bias']);
  assert.equal(a.modelTopology, { class_name: 'Model' });
  assert.is(a.format, 'layers-model');
  files['/d/m/bad.json'] = new TextEncoder().encode('{"weightsManifest": []}');
  await tfjsArtifacts('/d/m/bad.json', read).then(
    () => assert.unreachable('a model.json without modelTopology must be refused'),
    (e: Error) => assert.match(e.message, /\/d\/m\/bad\.json: no modelTopology/),
  );
});

test('mobilenetV1Flops: 41 M multiply-adds at alpha 0.25, 224 (the paper\'s table 7); 569 M at alpha 1', () => {
  assert.is(Math.round(mobilenetV1Flops(0.25) / 2e6), 41);
  assert.is(Math.round(mobilenetV1Flops(1) / 2e6), 569);
});

test('without the data, both MobileNet workloads are skipped on every side, never set up, and the checks count them as skipped', async () => {
  const why = 'the real MobileNet files are absent (/x/model.json)';
  const engine = (id: string): Engine => ({ id, label: id, sync: async () => {} });
  const results = [];
  for (const w of [mobilenetForwardWorkload(why), mobilenetGradCamWorkload(why)]) {
    w.ours = w.tfjs = async () => {
      throw new Error(`${w.id} was set up`);
    };
    const r = await runWorkload(w, engine('ours'), [{ engine: engine('tfjs-webgpu'), tf: {} }, { engine: engine('tfjs-wasm'), tf: {} }], { ...DEFAULT_SUITE, log: () => {} });
    assert.is(r.ours.skipped, why);
    assert.is(r.tfjs.skipped, why);
    assert.is(r.others![0].skipped, why);
    assert.ok(!r.ours.error && !r.tfjs.error && r.ratio === undefined);
    results.push(r);
  }
  const rep = { results, notes: [], options: { runs: 5, warmup: 1 }, host: {}, tfjs: { version: 'x', backend: 'webgpu' }, adapter: { text: 'a', slug: 'a' }, date: '2026-01-01' } as unknown as BenchReport;
  assert.equal(benchChecks(rep), { passed: 0, failed: 0, skipped: 6 });
  const md = renderMarkdown(rep);
  assert.match(md, `Not run here: MobileNet v1 0.25 forward 224×224, batch 1 (${why})`);
  assert.not.match(md, 'No ratio for');
});

test.run();
