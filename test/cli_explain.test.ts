// `lanterna explain` and `lanterna metrics` end to end on the shipped MNIST network and the example
// digit: the picture (input + one tile per method), the JSON maps, the metrics table and JSON, and
// usage errors (exit code 2) for an unknown method or metric, and pointing without a box.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lanterna-cli-explain-'));
const lanterna = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
const BASE = ['--model', 'models/cam2.h5', '--image', 'examples/digit7.png'];

test('explain: three methods side by side, and their maps as JSON', () => {
  const out = join(dir, 'm.png');
  const r = lanterna(['explain', '--method', 'gradcam,hirescam,eigencam', ...BASE, '--out', out, '--json', join(dir, 'm.json')]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Grad-CAM\s+class 7/);
  const png = PNG.sync.read(readFileSync(out));
  assert.ok(png.width > 4 * 224 && png.width < 4 * 224 + 40, `4 tiles of 224 wide, got ${png.width}`);
  const j = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
  assert.equal(j.images[0].methods.map((m: { method: string }) => m.method), ['gradcam', 'hirescam', 'eigencam']);
  for (const m of j.images[0].methods) {
    assert.is(m.map.length, 28 * 28);
    assert.is(m.class, 7);
    assert.ok(Math.max(...m.map) > 0, `${m.method}: an all-zero map`);
  }
});

test('metrics: the table and the JSON agree, figures in range', () => {
  const r = lanterna(['metrics', '--method', 'gradcam,cam', '--metric', 'deletion,insertion,drop,pointing', '--box', '4,4,24,24', ...BASE, '--json', join(dir, 'x.json')]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /method\s+deletion↓\s+insertion↑\s+drop %↓\s+increase %↑\s+pointing↑/);
  const j = JSON.parse(readFileSync(join(dir, 'x.json'), 'utf8'));
  assert.equal(j.methods.map((m: { method: string }) => m.method), ['gradcam', 'cam']);
  for (const m of j.methods) {
    for (const k of ['deletion', 'insertion']) assert.ok(m[k] >= 0 && m[k] <= 1, `${m.method} ${k} = ${m[k]}`);
    assert.ok(m.drop.averageDrop >= 0 && m.drop.averageDrop <= 100);
    assert.is(m.pointing, 1, 'the peak of a 7 lies in the central box');
    assert.ok(r.stdout.includes(m.deletion.toFixed(3)), `table lacks ${m.deletion.toFixed(3)}`);
  }
});

test('usage errors exit 2 naming the option', () => {
  const a = lanterna(['explain', '--method', 'gradcam,nosuch', ...BASE]);
  assert.is(a.status, 2);
  assert.match(a.stderr, /--method gradcam,nosuch: unknown method 'nosuch' \(methods: .*scorecam/);
  const b = lanterna(['metrics', '--method', 'gradcam', '--metric', 'pointing', ...BASE]);
  assert.is(b.status, 2);
  assert.match(b.stderr, /--metric pointing needs --box/);
  const c = lanterna(['metrics', '--method', 'gradcam', '--metric', 'speed', ...BASE]);
  assert.is(c.status, 2);
  assert.match(c.stderr, /--metric/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
