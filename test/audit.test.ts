// The shortcut audit (explain/audit/, `lanterna audit`): the measures on hand-made maps, the
// verdict's rule, then the shipped models: the audit tells the shortcut models from the clean
// cam1 (counterfactual flips ≥ 90% against ≤ 5%, verdicts differ, the maps' share on the mark), and
// the command line: exit codes, --json fields, the report PNG written whole, a labelled folder
// with a region mask.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { audit, type Audit, type MethodAudit } from '../explain/audit/audit.ts';
import { cueBox, fineLayer } from '../explain/audit/fine_layer.ts';
import { measureMap } from '../explain/audit/measures.ts';
import { auditReport, wrap } from '../explain/audit/report.ts';
import { shortcutAuditData } from '../explain/audit/shortcut_data.ts';
import { verdict } from '../explain/audit/verdict.ts';
import { encodePng } from '../explain/png.ts';
import { loadMnist } from '../nn/data/mnist.ts';
import { drawCue, markMask } from '../nn/data/shortcut.ts';
import { loadModel } from '../nn/model_file.ts';
import { ready } from './helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const model = (f: string) => join(root, 'models', f);

test('measureMap: mass above the minimum, the object counted outside the cue, the first peak, flat maps apart', () => {
  // 2×3 map; cue = left column, object = middle column (and the top-left pixel, which the cue owns).
  const map = [2, 3, 1, 5, 1, 1];
  const cue = [1, 0, 0, 1, 0, 0];
  const object = [1, 1, 0, 0, 1, 0];
  const m = measureMap(map, cue, object);
  // Above the minimum 1: [1, 2, 0, 4, 0, 0], total 7; cue 1 + 4; object (outside the cue) 2.
  assert.ok(Math.abs(m.cueMass - 5 / 7) < 1e-12 && Math.abs(m.objectMass - 2 / 7) < 1e-12, JSON.stringify(m));
  assert.is(m.peak, 3);
  assert.ok(m.hit);
  const off = measureMap([1, 7, 1, 5, 1, 1], cue);
  assert.is(off.peak, 1);
  assert.not.ok(off.hit);
  assert.ok(Number.isNaN(off.objectMass), 'no object mask: NaN');
  const flat = measureMap([0, 0, 0, 0, 0, 0], cue, object);
  assert.ok(flat.flat && !flat.hit && flat.peak === -1 && Number.isNaN(flat.cueMass));
  assert.is(measureMap([2, 7, 7, 0, 0, 0], cue).peak, 1, 'ties: the first maximum, row-major');
  assert.throws(() => measureMap([1, 2, 3], cue), /3 values but the cue mask 6/);
});

const fakeMethod = (name: string, pointing: number, cueMass: number): MethodAudit => ({
  method: name.toLowerCase(), name, layer: 'conv', mapSize: [3, 3], n: 100, pointing, cueMass, objectMass: 0.3, flat: 0, perClass: [], imageCueMass: new Float32Array(0), imageHit: new Uint8Array(0), seconds: 0,
});
const fakeAudit = (methods: MethodAudit[], flipRate: number | null): Audit => ({
  n: 100, cueArea: 0.08, objectArea: 0.12, accuracy: 1, labels: new Int32Array(0), predictions: new Int32Array(0), methods,
  counterfactual: flipRate === null ? null : { flipRate, followsCue: flipRate, accuracy: 1 - flipRate, predictions: new Int32Array(0) },
});

test('verdict: relies when most predictions flip, or (local cue) when a map peaks on it for most images; a global cue is never judged by pointing', () => {
  const o = { cue: 'the corner mark', global: false };
  const byMap = verdict(fakeAudit([fakeMethod('CAM', 0.2, 0.1), fakeMethod('Grad-CAM', 0.97, 0.4)], null), o);
  assert.ok(byMap.relies && byMap.byPointing === true && byMap.byCounterfactual === null && byMap.best === 'grad-cam');
  assert.match(byMap.line, /^relies on the cue: Grad-CAM's peak lies on the corner mark in 97% of images, 40% of its mass \(the corner mark covers 8% of the image\)$/);
  const byFlip = verdict(fakeAudit([fakeMethod('CAM', 0.01, 0.05)], 0.96), o);
  assert.ok(byFlip.relies && byFlip.byCounterfactual && byFlip.byPointing === false);
  assert.match(byFlip.line, /changes 96% of predictions, though no map points at it/);
  const clean = verdict(fakeAudit([fakeMethod('CAM', 0.01, 0.05)], 0.03), o);
  assert.not.ok(clean.relies);
  assert.is(clean.level, 'none');
  const partly = verdict(fakeAudit([fakeMethod('CAM', 0.3, 0.05)], 0.17), o);
  assert.ok(!partly.relies && partly.level === 'partly', 'some predictions follow the cue');
  assert.match(partly.line, /^partly relies on the corner mark: changing the cue alone changes 17% of predictions; /);
  assert.is(verdict(fakeAudit([fakeMethod('CAM', 0.3, 0.05)], null), o).level, 'none', 'pointing alone below the threshold is no evidence');
  assert.is(byFlip.level, 'relies');
  assert.match(clean.line, /^no sign that it relies on the corner mark: changing the cue alone changes 3% of predictions; /);
  const global = verdict(fakeAudit([fakeMethod('CAM', 1, 0.8)], 0.04), { cue: 'the background', global: true });
  assert.not.ok(global.relies, 'a map peaking on a cue that covers the image is no evidence');
  assert.is(global.byPointing, null);
  const weather = verdict(fakeAudit([fakeMethod('CAM', 1, 0.8)], 0.95), { cue: 'the background', global: true, change: 'swapping the weather' });
  assert.ok(weather.relies);
  assert.match(weather.line, /swapping the weather changes 95% of predictions; the maps cannot show a cue that is everywhere/);
  assert.ok(verdict(fakeAudit([fakeMethod('CAM', 0.5, 0.1)], null), o).relies, 'the threshold is inclusive (0.5)');
  assert.not.ok(verdict(fakeAudit([fakeMethod('CAM', 0.5, 0.1)], null), { ...o, threshold: 0.6 }).relies);
  assert.throws(() => verdict(fakeAudit([], 0.9), o), /no method/);
});

test('the report: heading wrapped, one row per example, the cue outlined, sizes checked', () => {
  assert.equal(wrap('relies on the cue: the corner mark', 12), ['relies on', 'the cue: the', 'corner mark']);
  assert.equal(wrap('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  const image = { rgb: new Uint8Array(28 * 28 * 3).fill(255), width: 28, height: 28 };
  const map = Float32Array.from({ length: 784 }, (_, i) => i);
  const row = { image, caption: 'LABEL 1 PRED 1', cue: markMask(), maps: [{ map, caption: 'CAM' }, { map, caption: 'GRAD-CAM' }], counterfactual: { image, caption: 'SWAP 2: PRED 2' } };
  const img = auditReport(['a verdict long enough to be wrapped over more than one line of the heading at this width'], [row, row]);
  assert.is(img.width, 4 * 112 + 5 * 6, 'four tiles of 112 px and five gaps');
  assert.is(img.rgb.length, img.width * img.height * 3);
  // The mark's outline: red pixels in the first tile's top-left corner, none in the map tiles' corner.
  const headingRows = (img.height - 2 * (112 + 7 + 6) - 3 * 6);
  const at = (x: number, y: number) => Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
  assert.equal(at(6 + 31, headingRows + 6 + 10), [230, 20, 20], 'the right edge of the 8×8 mark, enlarged 4 times');
  assert.throws(() => auditReport(['x'], []), /no example/);
  assert.throws(() => auditReport(['x'], [{ ...row, maps: [{ map: new Float32Array(10), caption: '' }] }]), /10 values, the image 28×28/);
});

await ready;
const digits = await loadMnist({ split: 'test', limit: 300 });

async function auditOf(file: string, kind: 'mark' | 'weather', methods = ['cam', 'gradcam'], layer?: string) {
  const { model: m, preprocessing } = await loadModel(model(file));
  const s = shortcutAuditData(digits, kind, preprocessing!.pixels, 1);
  const a = await audit(m, s.data, { methods, layer });
  m.dispose();
  return { a, v: verdict(a, { cue: s.cueName, global: s.global, change: s.change }) };
}

test('the corner mark: the shortcut model is flagged (≥ 90% of predictions follow a swapped mark), the clean cam1 is not (≤ 5%)', async () => {
  const sc = await auditOf('shortcut-mark.h5', 'mark');
  const clean = await auditOf('cam1.h5', 'mark');
  assert.ok(sc.a.counterfactual!.flipRate >= 0.9, `shortcut: flips ${sc.a.counterfactual!.flipRate}`);
  assert.ok(sc.a.counterfactual!.followsCue >= 0.85, `shortcut: follows ${sc.a.counterfactual!.followsCue}`);
  assert.ok(clean.a.counterfactual!.flipRate <= 0.05, `clean: flips ${clean.a.counterfactual!.flipRate}`);
  assert.ok(sc.v.relies && !clean.v.relies && clean.v.level === 'none', `${sc.v.line}\n${clean.v.line}`);
  for (const m of clean.a.methods) assert.ok(m.pointing <= 0.05, `clean ${m.name}: peak on the mark in ${m.pointing}`);
  assert.ok(sc.a.accuracy >= 0.97 && clean.a.accuracy >= 0.95, `accuracy with the mark ${sc.a.accuracy}, ${clean.a.accuracy}`);
  // At cam1's last layer the maps do not find the mark (docs/TANK.md): both models' peaks stay off it.
  for (const m of sc.a.methods) assert.ok(m.pointing < 0.5, `shortcut ${m.name}: peak on the mark in ${m.pointing}`);
});

test('fineLayer: the coarsest resolution whose cells fit twice in the cue, its first layer', async () => {
  const mark = [markMask()];
  const cam1 = (await loadModel(model('cam1.h5'))).model;
  const cam2 = (await loadModel(model('cam2.h5'))).model;
  assert.equal(cueBox(mark, 28, 28), [8, 8]);
  assert.is(cueBox([new Uint8Array(784)], 28, 28), null);
  assert.is(fineLayer(cam1, [8, 8], 28, 28), 'max_pooling2d_1', '7×7 cells of 4 px; the 3×3 cells (9.3 px) are too coarse');
  assert.is(fineLayer(cam1, [20, 24], 28, 28), 'max_pooling2d_2', 'a large cue: the 3×3 map will do');
  assert.is(fineLayer(cam1, [4, 12], 28, 28), 'max_pooling2d', 'the smaller side counts: 14×14');
  assert.is(fineLayer(cam1, [1, 1], 28, 28), null, 'no layer has cells of half a pixel');
  assert.is(fineLayer(cam2, [8, 8], 28, 28), 'conv2d', 'no pooling: every layer is 28×28, the first is taken');
  cam1.dispose();
  cam2.dispose();
});

test("the corner mark, by the maps: LayerCAM at '@fine' (max_pooling2d_1, 7×7) peaks on it for ≥ 95% of the shortcut model's digits, ≤ 5% of the clean cam1's", async () => {
  const sc = await auditOf('shortcut-mark.h5', 'mark', ['layercam@fine']);
  const clean = await auditOf('cam1.h5', 'mark', ['layercam@fine']);
  const [s, c] = [sc.a.methods[0], clean.a.methods[0]];
  assert.equal(s.mapSize, [7, 7]);
  assert.is(s.layer, 'max_pooling2d_1');
  assert.ok(s.pointing >= 0.95, `shortcut: ${s.pointing}`);
  assert.ok(c.pointing <= 0.05, `clean: ${c.pointing}`);
  assert.ok(s.cueMass > 3 * c.cueMass, `mass on the mark: ${s.cueMass} against ${c.cueMass}`);
  assert.ok(sc.v.byPointing === true && clean.v.byPointing === false);
  assert.match(sc.v.line, /^relies on the cue: LayerCAM \(max_pooling2d_1\)'s peak lies on the corner mark in (9[5-9]|100)% of images/);
});

test('the weather: the shortcut model is flagged by the counterfactual (≥ 90%), the clean cam1 is not (≤ 5%)', async () => {
  const sc = await auditOf('shortcut-weather.h5', 'weather', ['gradcam']);
  const clean = await auditOf('cam1.h5', 'weather', ['gradcam']);
  assert.ok(sc.a.counterfactual!.flipRate >= 0.9, `shortcut: flips ${sc.a.counterfactual!.flipRate}`);
  assert.ok(clean.a.counterfactual!.flipRate <= 0.05, `clean: flips ${clean.a.counterfactual!.flipRate}`);
  assert.ok(sc.v.relies && !clean.v.relies && clean.v.level === 'none');
  assert.is(sc.v.byPointing, null, 'no pointing verdict for a global cue');
});

function lanterna(args: string[]) {
  const p = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', cwd: root });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr.split('\n').filter((l) => l && !/^Warning: /.test(l)) };
}

const TMP = mkdtempSync(join(tmpdir(), 'lanterna-audit-'));

test('lanterna audit --json --out: exit 0, the fields, a whole PNG', () => {
  const png = join(TMP, 'report.png');
  // No --method: a local cue gets CAM, Grad-CAM and LayerCAM at the first layer fine enough for it.
  const r = lanterna(['audit', '--model', model('shortcut-mark.h5'), '--images', '100', '--json', '--out', png, '--worst', '3']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  const d = JSON.parse(r.stdout);
  assert.is(d.shortcut, 'mark', 'the cue the file records');
  assert.equal(d.trainedWith, { kind: 'mark', correlation: 1, seed: 1 });
  assert.is(d.n, 100);
  assert.is(d.cue.area, Math.round((64 / 784) * 1e4) / 1e4);
  assert.equal(d.methods.map((m: { method: string }) => m.method), ['cam', 'gradcam', 'layercam@fine']);
  assert.equal(d.methods.map((m: { layer: string }) => m.layer), ['conv2d_3', 'conv2d_3', 'max_pooling2d_1']);
  assert.equal(d.methods[2].mapSize, [7, 7]);
  for (const m of d.methods) for (const k of ['layer', 'mapSize', 'pointing', 'cueMass', 'objectMass', 'perClass']) assert.ok(k in m, `method field ${k}`);
  assert.is(d.methods[0].perClass.length, 10);
  assert.ok(d.counterfactual.flipRate >= 0.85 && d.verdict.relies === true, JSON.stringify(d.verdict));
  assert.match(d.verdict.line, /^relies on the cue: /);
  assert.ok(r.stderr.some((l) => l.startsWith('verdict: relies on the cue')), 'the text report on stderr with a bare --json');
  const img = PNG.sync.read(readFileSync(png));
  assert.is(img.width, 5 * 112 + 6 * 6, 'the digit, three maps, the swapped digit');
  assert.ok(img.height > 3 * (112 + 13), `height ${img.height}`);
});

test('lanterna audit: one-line errors', () => {
  // Exit 2 for a usage error, 1 for a failure at run time (cli/help.ts).
  const cases: [string[], RegExp, number][] = [
    [['audit', '--model', model('cam1.h5')], /records no shortcut cue: give --shortcut mark\|weather/, 2],
    [['audit', '--model', model('cam1.h5'), '--shortcut', 'fog'], /--shortcut must be one of mark, weather; got 'fog'/, 2],
    [['audit', '--model', model('cam1.h5'), '--shortcut', 'mark', '--method', 'cam,nope'], /--method must be one of .*got 'nope'/, 2],
    [['audit', '--model', model('cam1.h5'), '--data', TMP], /--data needs --region/, 2],
    [['audit', '--model', join(TMP, 'none.h5'), '--shortcut', 'mark'], /no such file/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = lanterna(args);
    assert.is(r.status, code, args.join(' '));
    const ours = r.stderr.filter((l) => l.startsWith('lanterna:'));
    assert.is(ours.length, 1, r.stderr.join('\n'));
    assert.match(ours[0], re);
  }
});

test('lanterna audit --data DIR --region MASK.png: a labelled folder of PNGs with the mark drawn in', () => {
  const dir = join(TMP, 'digits');
  for (let i = 0; i < 40; i++) {
    const c = digits.labels[i];
    mkdirSync(join(dir, String(c)), { recursive: true });
    const px = drawCue(digits.images.slice(i * 784, (i + 1) * 784), 'mark', c);
    const p = new PNG({ width: 28, height: 28, colorType: 0 });
    for (let j = 0; j < 784; j++) p.data.set([px[j], px[j], px[j], 255], 4 * j);
    writeFileSync(join(dir, String(c), `${i}.png`), PNG.sync.write(p));
  }
  const mask = join(TMP, 'corner.png');
  const big = { rgb: new Uint8Array(56 * 56 * 3), width: 56, height: 56 };
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) big.rgb.fill(255, (y * 56 + x) * 3, (y * 56 + x) * 3 + 3);
  writeFileSync(mask, encodePng(big));
  const out = join(TMP, 'folder.json');
  const r = lanterna(['audit', '--model', model('shortcut-mark.h5'), '--data', dir, '--region', mask, '--json', out, '--method', 'gradcam']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  const d = JSON.parse(readFileSync(out, 'utf8'));
  assert.is(d.n, 40);
  assert.is(d.cue.area, Math.round((64 / 784) * 1e4) / 1e4, 'the 56×56 mask resized to the 8×8 corner');
  assert.is(d.classes.length, new Set(Array.from(digits.labels.subarray(0, 40))).size);
  assert.ok(d.accuracy >= 0.95, `accuracy ${d.accuracy}`);
  assert.ok(d.counterfactual.flipRate >= 0.5, `blanking the mark changes ${d.counterfactual.flipRate}`);
  assert.ok(Number.isFinite(d.methods[0].pointing) && Number.isFinite(d.methods[0].cueMass));
  assert.match(r.stdout, /verdict: /);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
