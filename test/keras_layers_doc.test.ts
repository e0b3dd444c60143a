// Keeps docs/KERAS_LAYERS.md true: every supported row builds from its minimal config, every
// refused row is refused naming its class, every class nn/from_config.ts handles is listed, and
// every activation name listed exists. A merge layer's input-shape cell lists its inputs' shapes
// joined by ' + '; it is built with buildMany and called once on zeros.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from '../engine/index.ts';
import { ACTIVATIONS } from '../nn/activations.ts';
import { layerFromConfig, modelFromConfig } from '../nn/from_config.ts';
import { isMergeLayer } from '../nn/layer.ts';
import { Rng } from '../nn/random.ts';
import { ready } from './helpers.ts';

await ready;

const DOC = readFileSync('docs/KERAS_LAYERS.md', 'utf8');
const rows = DOC.split('\n')
  .filter((l) => /^\| [A-Z]\w* \| (supported|refused) \|/.test(l))
  .map((l) => {
    const [cls, status, shape, cfg] = l.split('|').slice(1, 5).map((c) => c.trim());
    const shapes = shape.split(' + ').map((c) => JSON.parse(c) as number[]);
    return { cls, status, shape: shapes[0], shapes, cfg: JSON.parse(cfg.replace(/^`|`$/g, '')) as object };
  });

/** A merge layer from its row: built on every listed shape, then called once on zeros. */
async function buildMerge(cls: string, shapes: number[][], cfg: object) {
  const layer = layerFromConfig(cls, { name: 'x', ...cfg }, 'KERAS_LAYERS.md');
  assert.ok(isMergeLayer(layer), `${cls}: a row with several input shapes must be a merge layer`);
  layer.buildMany(shapes, new Rng(0));
  const y = await E.tidy(() => {
    const t = layer.callMany(shapes.map((s) => E.zeros([2, ...s])), { training: false });
    return t.data().then(() => t.shape.slice());
  });
  assert.equal(y, [2, ...layer.outputShape!], `${cls} output shape`);
  layer.dispose();
  return layer;
}

function build(cls: string, shape: number[], cfg: object) {
  const layers = [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, ...shape] } }];
  if (cls !== 'InputLayer') layers.push({ class_name: cls, config: { name: 'x', ...cfg } as any });
  return modelFromConfig({ class_name: 'Sequential', config: { name: 'doc', layers } }, 'KERAS_LAYERS.md').build();
}

test('the table parses and lists each class once', () => {
  assert.ok(rows.length > 30, `${rows.length} rows`);
  assert.equal(new Set(rows.map((r) => r.cls)).size, rows.length);
});

test('every supported row builds from its minimal config', async () => {
  for (const r of rows.filter((r) => r.status === 'supported')) {
    if (r.shapes.length > 1) {
      assert.is((await buildMerge(r.cls, r.shapes, r.cfg)).className, r.cls);
      continue;
    }
    const m = build(r.cls, r.shape, r.cfg);
    if (r.cls !== 'InputLayer') assert.equal(m.getLayer('x').className, r.cls);
    m.dispose();
  }
});

test('every refused row is refused, naming its class', () => {
  for (const r of rows.filter((r) => r.status === 'refused')) assert.throws(() => build(r.cls, r.shape, r.cfg), (e: Error) => e.message.includes(r.cls), r.cls);
});

test('every class nn/from_config.ts handles is in the table', () => {
  const src = readFileSync('nn/from_config.ts', 'utf8');
  const handled = [...src.matchAll(/case '(\w+)':/g)].map((m) => m[1]);
  const listed = new Map(rows.map((r) => [r.cls, r.status]));
  for (const c of handled) assert.ok(listed.has(c), `${c} is handled by from_config but missing from docs/KERAS_LAYERS.md`);
});

test('every activation name listed exists, and every one that exists is listed', () => {
  const section = DOC.slice(DOC.indexOf('## Activation names'));
  const names = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Name')).flatMap((l) => l.split('|')[1].split(',').map((s) => s.trim()));
  for (const n of names) assert.ok(ACTIVATIONS.includes(n), `activation '${n}' is listed but unknown`);
  for (const n of ACTIVATIONS) if (n !== 'hard_sigmoid_keras2') assert.ok(names.includes(n), `activation '${n}' is not listed`);
});

test.run();
