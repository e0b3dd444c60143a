// Bad model files give one line, never a crash or a hang: a small Keras .h5 (saveModel), a Keras 3
// .keras (writeKerasArchive) and a TF.js model.json + shard (saveTfjsModel), each mutated at
// random (seeded: flipped bytes, overwritten runs, inserted and deleted bytes) and truncated, go
// through loadModel, which must load them or throw an Error of one line naming the file, within
// 10 s each. The outcomes are counted and printed. Then the same files read back bit-identical
// (h5wasm survives what it met), hand-made faults give their own messages, the .keras writer is
// checked against Keras' layout (and against Python's zipfile + h5py where present), and the CLI
// refuses a corrupt model or a non-image model in one line, writing nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { jsonSyntaxError, oneLine, parseJsonText } from '../nn/io/file_errors.ts';
import { isGroup, withH5, type H5Dataset, type H5Group } from '../nn/io/h5.ts';
import { pythonJson, pythonNumber, readKerasWeights } from '../nn/io/keras.ts';
import { writeKerasArchive, type KerasArchiveLayer } from '../nn/io/keras_archive.ts';
import { crc32, readZip, zipStored } from '../nn/io/zip.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { loadModel, saveModel, saveTfjsModel } from '../nn/model_file.ts';
import { Sequential } from '../nn/sequential.ts';
import type { Model } from '../nn/model.ts';
import { ready, rng } from './helpers.ts';

const TMP = mkdtempSync(join(tmpdir(), 'lanterna-fuzz-'));
const tmp = (...p: string[]) => join(TMP, ...p);
/** Mutations per format (each also gets TRUNCATIONS truncated copies). */
const MUTATIONS = 500;
const TRUNCATIONS = 60;
const CASE_LIMIT_MS = 10_000;

await ready;

// ---------------------------------------------------------------------------------------------
// The three small files

const INPUT = [7, 7, 3];
function tinyModel(filters = 2): Sequential {
  const m = new Sequential('tiny', 3)
    .add(new Conv2D({ filters, kernelSize: 3, activation: 'relu' }))
    .add(new GlobalAveragePooling2D())
    .add(new Dense({ units: 3, activation: 'softmax' }))
    .build(INPUT);
  const g = rng(filters);
  for (const l of m.layers) for (const w of l.weights) w.assign(g.uniform(w.shape.reduce((a, b) => a * b, 1)));
  return m;
}

/** The Keras 3 config.json of a Sequential as Keras 3.14 writes it (module, registered_name, batch_shape). */
function keras3Config(m: Sequential): Record<string, unknown> {
  const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const layers = [
    { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, ...m.inputShape!], dtype: 'float32', sparse: false, ragged: false, name: 'input_layer', optional: false }, registered_name: null },
    ...m.layers.map((l) => {
      const { batch_input_shape: _, ...c } = l.getConfig() as Record<string, unknown>;
      return { module: 'keras.layers', class_name: l.className, config: { ...c, trainable: true, dtype }, registered_name: null };
    }),
  ];
  return { module: 'keras', class_name: 'Sequential', config: { name: m.name, trainable: true, dtype, layers }, registered_name: null, build_config: { input_shape: [null, ...m.inputShape!] } };
}

async function archiveLayers(m: Sequential): Promise<KerasArchiveLayer[]> {
  return Promise.all(m.layers.map(async (l) => ({ name: l.name, weights: await Promise.all(l.weights.map(async (w) => ({ shape: w.shape.slice(), data: await w.read() }))) })));
}

const MODEL = tinyModel();
const H5 = tmp('tiny.h5');
const KERAS = tmp('tiny.keras');
const TFJS = tmp('tiny_tfjs');
await saveModel(MODEL, H5);
await writeKerasArchive(KERAS, { config: keras3Config(MODEL), layers: await archiveLayers(MODEL), date: new Date(2026, 4, 9, 8, 55, 51) });
await saveTfjsModel(MODEL, TFJS);
const SHARD = 'group1-shard1of1.bin';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
async function modelBits(m: Model): Promise<number[][]> {
  const out: number[][] = [];
  for (const l of m.layers) for (const w of l.weights) out.push(bits(await w.read()));
  return out;
}
const WANT = await modelBits(MODEL);

async function loadsIdentical(path: string, what: string): Promise<void> {
  const { model } = await loadModel(path);
  assert.equal(await modelBits(model), WANT, `${what}: weights bit-identical`);
  model.dispose();
}

// ---------------------------------------------------------------------------------------------
// Mutations

type Rand = ReturnType<typeof rng>;
const int = (r: Rand, n: number) => Math.floor(r.next() * n);

/** One random mutation of `b`: flipped bytes, an overwritten run, inserted or deleted bytes. */
function mutate(b: Uint8Array, r: Rand, kind: number): Uint8Array {
  const out = Uint8Array.from(b);
  if (kind === 0) {
    for (let k = 1 + int(r, 8); k > 0; k--) out[int(r, out.length)] ^= 1 + int(r, 255);
    return out;
  }
  if (kind === 1) {
    const at = int(r, out.length);
    for (let k = 0, n = 1 + int(r, 64); k < n && at + k < out.length; k++) out[at + k] = int(r, 256);
    return out;
  }
  const at = int(r, b.length);
  if (kind === 2) {
    const ins = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
    return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
  }
  return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + int(r, 16)))]);
}

/** `n` truncation lengths: the first bytes, evenly spread ones, and random ones. */
function truncations(len: number, n: number, r: Rand): number[] {
  const out = new Set([0, 1, 7, 8, 100, len - 1]);
  for (let i = 0; out.size < n * 0.6; i++) out.add(Math.floor((i * len) / (n * 0.6)));
  while (out.size < n) out.add(int(r, len));
  return [...out].filter((x) => x >= 0 && x < len);
}

interface Tally {
  loaded: number;
  refused: number;
  /** Reads HDF5 looped on, stopped by the time limit. */
  stopped: number;
  slowestMs: number;
  /** Refusal messages with numbers and quoted names blanked, with counts: what the errors say. */
  kinds: Map<string, number>;
}

/** Loads `path`; fails the test on an error that is not one line naming one of `names` (or mentioning `alsoNamed`), or on a slow case. */
async function attempt(t: Tally, what: string, path: string, names: string[], alsoNamed?: string): Promise<void> {
  const t0 = performance.now();
  try {
    const { model } = await loadModel(path);
    model.dispose();
    t.loaded++;
  } catch (e) {
    t.refused++;
    const msg = e instanceof Error ? e.message : `(not an Error: ${String(e)})`;
    if (!(e instanceof Error)) throw new Error(`${what}: threw ${typeof e}, not an Error: ${String(e)}`);
    if (msg.includes('\n') || msg.includes('\r')) throw new Error(`${what}: message of ${msg.split('\n').length} lines: ${JSON.stringify(msg.slice(0, 400))}`);
    if (msg.includes('HDF5 did not finish reading')) t.stopped++;
    // (A TF.js shard the manifest names but that is not there: its path first, then model.json's.)
    if (!names.some((n) => msg.startsWith(n)) && !(alsoNamed && msg.includes(alsoNamed))) throw new Error(`${what}: message does not start with the file (${names.join(' or ')}): ${msg.slice(0, 300)}`);
    const kind = oneLine(msg.replace(/^\S+?: /, '').replace(/\d+/g, 'N').replace(/'[^']*'|"[^"]*"/g, 'X')).slice(0, 90);
    t.kinds.set(kind, (t.kinds.get(kind) ?? 0) + 1);
  }
  const ms = performance.now() - t0;
  t.slowestMs = Math.max(t.slowestMs, ms);
  if (ms > CASE_LIMIT_MS) throw new Error(`${what}: took ${ms.toFixed(0)} ms (limit ${CASE_LIMIT_MS})`);
}

const tally = (): Tally => ({ loaded: 0, refused: 0, stopped: 0, slowestMs: 0, kinds: new Map() });
function report(name: string, t: Tally): void {
  console.log(
    `fuzz ${name}: ${t.loaded + t.refused} cases, ${t.loaded} loaded, ${t.refused} refused in one line` +
      `${t.stopped ? ` (${t.stopped} of them HDF5 looping, stopped by the time limit)` : ''}; slowest ${t.slowestMs.toFixed(0)} ms`,
  );
  for (const [k, n] of [...t.kinds].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${String(n).padStart(4)} × ${k}`);
}

test(`.h5: ${MUTATIONS} mutations and ${TRUNCATIONS} truncations load or fail in one line naming the file`, async () => {
  const base = readFileSync(H5);
  const r = rng(101);
  const t = tally();
  const path = tmp('case.h5');
  for (let i = 0; i < MUTATIONS; i++) {
    writeFileSync(path, mutate(base, r, i % 4));
    await attempt(t, `.h5 mutation ${i}`, path, [path]);
  }
  for (const n of truncations(base.length, TRUNCATIONS, r)) {
    writeFileSync(path, base.subarray(0, n));
    await attempt(t, `.h5 truncated to ${n} bytes`, path, [path]);
  }
  report('.h5', t);
  assert.ok(t.refused > MUTATIONS / 4, 'most cases are refused');
});

test(`.keras: ${MUTATIONS} mutations (of the zip, or of a member re-zipped) and ${TRUNCATIONS} truncations`, async () => {
  const base = readFileSync(KERAS);
  const members = readZip(base, KERAS, new Set(['metadata.json', 'config.json', 'model.weights.h5'])).files;
  const r = rng(202);
  const t = tally();
  const path = tmp('case.keras');
  const at = new Date(2026, 4, 9);
  for (let i = 0; i < MUTATIONS; i++) {
    // Half hit the archive's bytes (the CRC check catches most); half a member, re-zipped with
    // right CRCs, so that corrupt HDF5 and JSON inside a sound archive are met too.
    let bytes: Uint8Array;
    if (i % 2 === 0) bytes = mutate(base, r, (i >> 1) % 4);
    else {
      const which = (i >> 1) % 5 === 0 ? 'config.json' : 'model.weights.h5';
      const m = { ...members, [which]: mutate(members[which], r, (i >> 1) % 4) };
      bytes = zipStored(['metadata.json', 'config.json', 'model.weights.h5'].map((name) => ({ name, data: m[name], mtime: at })));
    }
    writeFileSync(path, bytes);
    await attempt(t, `.keras mutation ${i}`, path, [path]);
  }
  for (const n of truncations(base.length, TRUNCATIONS, r)) {
    writeFileSync(path, base.subarray(0, n));
    await attempt(t, `.keras truncated to ${n} bytes`, path, [path]);
  }
  report('.keras', t);
  assert.ok(t.refused > MUTATIONS / 4, 'most cases are refused');
});

test(`TF.js: ${MUTATIONS} mutations (of model.json or the shard) and ${TRUNCATIONS} truncations of each`, async () => {
  const json = readFileSync(join(TFJS, 'model.json'));
  const shard = readFileSync(join(TFJS, SHARD));
  const r = rng(303);
  const t = tally();
  const dir = tmp('case_tfjs');
  mkdirSync(dir);
  const mj = join(dir, 'model.json'), sh = join(dir, SHARD);
  const names = [mj, sh];
  const put = (j: Uint8Array, s: Uint8Array) => (writeFileSync(mj, j), writeFileSync(sh, s));
  for (let i = 0; i < MUTATIONS; i++) {
    // Two of three hit model.json: a shard's bytes are weights, which any value fits.
    if (i % 3 !== 2) put(mutate(json, r, i % 4), shard);
    else put(json, mutate(shard, r, i % 4));
    await attempt(t, `TF.js mutation ${i}`, dir, names, mj);
  }
  for (const n of truncations(json.length, TRUNCATIONS, r)) {
    put(json.subarray(0, n), shard);
    await attempt(t, `model.json truncated to ${n} bytes`, dir, names);
  }
  for (const n of truncations(shard.length, TRUNCATIONS / 2, r)) {
    put(json, shard.subarray(0, n));
    await attempt(t, `shard truncated to ${n} bytes`, dir, names);
  }
  report('TF.js', t);
  assert.ok(t.refused > MUTATIONS / 4, 'most cases are refused');
});

test('after all that, the three files still load bit-identical (h5wasm is left sound)', async () => {
  await loadsIdentical(H5, '.h5');
  await loadsIdentical(KERAS, '.keras');
  await loadsIdentical(TFJS, 'TF.js');
});

// ---------------------------------------------------------------------------------------------
// Hand-made faults, each with its own message

async function refused(path: string, re: RegExp, name = path): Promise<string> {
  try {
    const { model } = await loadModel(path);
    model.dispose();
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('\n') || !msg.startsWith(name) || !re.test(msg)) throw new Error(`${path}: expected one line starting with ${name} matching ${re}, got: ${msg}`);
    return msg;
  }
  throw new Error(`${path}: loaded; expected ${re}`);
}

test('.h5 faults: truncated, empty, garbage, weights of another shape (layer, both shapes)', async () => {
  const base = readFileSync(H5);
  const p = tmp('bad.h5');
  writeFileSync(p, base.subarray(0, base.length >> 1));
  await refused(p, /: truncated: [\d ]+ bytes expected, [\d ]+ found$/);
  writeFileSync(p, new Uint8Array(0));
  await refused(p, /neither an HDF5 file nor a \.keras zip archive \(first bytes: empty file\)/);
  writeFileSync(p, Uint8Array.from({ length: 999 }, (_, i) => (i * 7) & 255));
  await refused(p, /neither an HDF5 file/);
  // The config says 4 filters, the weights hold 2.
  const four = tinyModel(4);
  const cfg = four.toKerasConfig();
  const layers = await Promise.all(MODEL.layers.map(async (l) => ({ name: l.name, weights: await Promise.all(l.weights.map(async (w) => ({ name: w.name, shape: w.shape, data: await w.read() }))) })));
  const { writeKerasModel } = await import('../nn/io/keras.ts');
  await writeKerasModel(p, { modelConfig: cfg, layers });
  await refused(p, /layer 'conv2d' weight 'kernel' has shape \[3,3,3,4\] in the model, \[3,3,3,2\] in the file/);
  four.dispose();
});

/**
 * `H5` with its global heap's first object turned into free space of size 0: HDF5's heap parser
 * (H5HG__cache_heap_deserialize) then never advances. h5py hangs on such a file as well.
 */
function endlessH5(): Uint8Array {
  const b = Uint8Array.from(readFileSync(H5));
  const at = Buffer.from(b).indexOf('GCOL');
  assert.ok(at > 0, 'the .h5 has a global heap (its variable-length strings)');
  b.fill(0, at + 16, at + 18); // object index 0: free space
  b.fill(0, at + 24, at + 32); // of size 0
  return b;
}

test('an .h5 that sends HDF5 into an endless loop is stopped at the time limit; the same path rewritten then reads right', async () => {
  const p = tmp('endless.h5');
  writeFileSync(p, endlessH5());
  const t0 = performance.now();
  await refused(p, /endless\.h5: HDF5 did not finish reading the file within 3 s \(a corrupt file can send it into an endless loop\)/);
  const ms = performance.now() - t0;
  assert.ok(ms < 6000, `stopped after ${ms.toFixed(0)} ms`);
  // HDF5 still holds the stopped file open, and would share its stale metadata with a new open of
  // the same inode: the next read goes through a copy. (Another model, laid out differently.)
  // (Written in place: saveModel's rename would give the path a new inode.)
  const other = new Sequential('another_model', 3).add(new Conv2D({ filters: 5, kernelSize: 2 })).add(new GlobalAveragePooling2D()).add(new Dense({ units: 12 })).build([6, 6, 3]);
  await saveModel(other, tmp('other.h5'));
  writeFileSync(p, readFileSync(tmp('other.h5')));
  const { model } = await loadModel(p);
  assert.equal(await modelBits(model), await modelBits(other), 'the other model, bit-identical');
  other.dispose();
  model.dispose();
});

test('.keras faults: not a zip, truncated, a CRC that fails, no config.json, bad config JSON (line, column), weights of another shape', async () => {
  const base = readFileSync(KERAS);
  const { files } = readZip(base, KERAS, new Set(['metadata.json', 'config.json', 'model.weights.h5']));
  const p = tmp('bad.keras');
  const at = new Date(2026, 4, 9);
  const zip = (m: Record<string, Uint8Array>) => zipStored(Object.entries(m).map(([name, data]) => ({ name, data, mtime: at })));
  writeFileSync(p, base.subarray(0, base.length - 30));
  await refused(p, /truncated|damaged|does not fit/);
  // The HDF5 signature of the stored member, flipped: the archive's CRC says so first.
  const flipped = Uint8Array.from(base);
  const h5At = Buffer.from(base).indexOf(Buffer.from([0x89, 0x48, 0x44, 0x46]));
  flipped[h5At + 200] ^= 0xff;
  writeFileSync(p, flipped);
  await refused(p, /member 'model\.weights\.h5' fails its CRC-32 check/);
  writeFileSync(p, zip({ 'metadata.json': files['metadata.json'], 'model.weights.h5': files['model.weights.h5'] }));
  await refused(p, /the \.keras archive has no config\.json \(entries: metadata\.json, model\.weights\.h5\)/);
  const text = new TextDecoder().decode(files['config.json']);
  writeFileSync(p, zip({ ...files, 'config.json': new TextEncoder().encode(text.replace('"filters": 2', '"filters": 2,,')) }));
  const msg = await refused(p, /config\.json: not valid JSON at line 1, column \d+ \(character \d+\): expected a property name in double quotes, found ','/);
  const col = Number(/column (\d+)/.exec(msg)![1]);
  assert.is(text.replace('"filters": 2', '"filters": 2,,')[col - 1], ',', 'the column points at the fault');
  writeFileSync(p, zip({ ...files, 'config.json': new TextEncoder().encode(text.replace('"filters": 2', '"filters": 5')) }));
  await refused(p, /layer 'conv2d' weight 'kernel' has shape \[3,3,3,5\] in the model, \[3,3,3,2\] in the file \('vars\/0'\)/);
  writeFileSync(p, zip({ ...files, 'model.weights.h5': files['model.weights.h5'].subarray(0, 3000) }));
  await refused(p, /bad\.keras!model\.weights\.h5: truncated: [\d ]+ bytes expected, 3 000 found$/);
});

test('TF.js faults: JSON syntax error (line, column), short shard, missing shard, bad dtype and shape, shape vs config', async () => {
  const dir = tmp('bad_tfjs');
  const fresh = () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), readFileSync(join(TFJS, 'model.json')));
    writeFileSync(join(dir, SHARD), readFileSync(join(TFJS, SHARD)));
    return JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  };
  const mj = join(dir, 'model.json'), sh = join(dir, SHARD);
  const save = (j: unknown) => writeFileSync(mj, JSON.stringify(j, null, 1));
  save(fresh());
  writeFileSync(mj, readFileSync(mj, 'utf8').replace('"weightsManifest"', '"weightsManifest" x'));
  await refused(dir, /model\.json: not valid JSON at line \d+, column 20 \(character \d+\): expected ':' after a property name, found 'x'/, mj);
  fresh();
  writeFileSync(sh, readFileSync(sh).subarray(0, 100));
  await refused(dir, /100 bytes, but .*weightsManifest group 1 needs 260 for its 4 weights/, sh);
  fresh();
  rmSync(sh);
  await refused(dir, /weight shard missing/, sh);
  let j = fresh();
  j.weightsManifest[0].weights[0].dtype = 'complex64';
  save(j);
  await refused(dir, /weight 'conv2d\/kernel': dtype "complex64" is not supported/, mj);
  j = fresh();
  j.weightsManifest[0].weights[0].shape = [3, -3, 3, 2];
  save(j);
  await refused(dir, /weight 'conv2d\/kernel': shape \[3,-3,3,2\] is not a list of non-negative integers/, mj);
  j = fresh();
  j.modelTopology.config.layers[1].config.filters = 6;
  save(j);
  await refused(dir, /layer 'conv2d' weight 'kernel': the model config gives shape \[3,3,3,6\], weightsManifest 'conv2d\/kernel' has \[3,3,3,2\]/, mj);
  j = fresh();
  j.modelTopology.config.layers[1].config.name = 'conv\n2d';
  save(j);
  await refused(dir, /the model config holds a control character at \$\.config\.layers\[1\]\.config\.name: "conv\\n2d"/, mj);
});

// ---------------------------------------------------------------------------------------------
// Helpers of the readers

test('jsonSyntaxError agrees with JSON.parse on 20 000 mangled texts and points at the fault', () => {
  const base = JSON.stringify({ a: [1, -2.5e3, true, null, { b: 'x\ny', c: '\u00e9' }], d: {}, e: [], 'f g': 'h' });
  const r = rng(9);
  const chars = '{}[],:"\\ 0123456789-+.eEtrufalsn\nxu';
  for (let k = 0; k < 20000; k++) {
    const t = base.split('');
    for (let j = 1 + int(r, 3); j > 0; j--) {
      const at = int(r, t.length), op = r.next(), c = chars[int(r, chars.length)];
      if (op < 0.4) t[at] = c;
      else if (op < 0.7) t.splice(at, 1);
      else t.splice(at, 0, c);
    }
    const s = t.join('').slice(0, r.next() < 0.1 ? int(r, t.length) : undefined);
    let ok = true;
    try {
      JSON.parse(s);
    } catch {
      ok = false;
    }
    const found = jsonSyntaxError(s);
    if (ok !== (found === null)) throw new Error(`JSON.parse ${ok ? 'accepts' : 'refuses'} ${JSON.stringify(s)}, the scanner says ${JSON.stringify(found)}`);
  }
  assert.throws(() => parseJsonText('{"a": [1, 2,\n  3 x]}', 'f.json'), (e: Error) => e.message === "f.json: not valid JSON at line 2, column 5 (character 17): expected ',' or ']' after an array element, found 'x'");
  assert.throws(() => parseJsonText('['.repeat(200000), 'deep.json'), /deep\.json: not valid JSON at line 1, column 200001 .*: the text ends where a value should be/);
  assert.is(oneLine('a\nb\r\u0000c\u2028'), 'a\\nb\\r\\x00c\\u2028');
});

test('pythonNumber writes floats as Python repr (exponent below 1e-4 and from 1e16), safe integers as ints', () => {
  const cases: [number, string][] = [[1e-7, '1e-07'], [1e-5, '1e-05'], [0.0001, '0.0001'], [0.00012, '0.00012'],  [1e16, '1e+16'], [1.5e-16, '1.5e-16'], [2 ** 53 - 1, '9007199254740991'], [2.5, '2.5'], [-3e-10, '-3e-10'], [0.001, '0.001'], [1e300, '1e+300'], [5e-324, '5e-324'], [123456789012345680, '1.2345678901234568e+17'], [-0, '-0.0'], [3, '3']];
  for (const [v, want] of cases) assert.is(pythonNumber(v), want, String(v));
  assert.is(pythonJson({ epsilon: 1e-7, momentum: 0.99 }), '{"epsilon": 1e-07, "momentum": 0.99}');
});

test('readZip: crc32 of the check string, a deflated member, and refusals of lying sizes and counts', () => {
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const enc = new TextEncoder();
  const a = zipStored([{ name: 'a.txt', data: enc.encode('hello hello hello'), mtime: new Date(2020, 0, 1) }]);
  assert.equal(new TextDecoder().decode(readZip(a, 'z', new Set(['a.txt'])).files['a.txt']), 'hello hello hello');
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const eocd = a.length - 22;
  const many = Uint8Array.from(a);
  view(many).setUint16(eocd + 10, 0xffff, true);
  assert.throws(() => readZip(many, 'z', new Set()), /z: the archive claims 65535 members, more than its \d+-byte central directory can hold/);
  const big = Uint8Array.from(a);
  const cd = view(big).getUint32(eocd + 16, true);
  view(big).setUint32(cd + 20, 0x7fffffff, true);
  view(big).setUint32(cd + 24, 0x7fffffff, true);
  assert.throws(() => readZip(big, 'z', new Set(['a.txt'])), /member 'a\.txt': its 2147483647 bytes at \d+ run past the member data/);
  assert.throws(() => readZip(new Uint8Array(10), 'z', new Set()), /z: no end-of-central-directory record \(not a zip archive, or a truncated one; 10 bytes\)/);
});

// ---------------------------------------------------------------------------------------------
// The .keras writer

/** Every group, dataset and attribute below `g`: 'path: group {name=x (vlen utf8 type 3 shape [])}' / 'path: float32 [3,3]'. */
function outline(g: H5Group): string[] {
  const out: string[] = [];
  const walk = (grp: H5Group) => {
    for (const k of grp.keys().sort()) {
      const e = grp.get(k) as H5Group | H5Dataset;
      const attrs = Object.keys(e.attrs).sort().map((a) => {
        const m = e.attrs[a].metadata;
        return `${a}=${String(e.attrs[a].value)} (${m.vlen ? 'vlen ' : ''}${m.cset === 1 ? 'utf8 ' : ''}type ${m.type} shape [${m.shape}])`;
      }).join(',');
      if (isGroup(e)) {
        out.push(`${e.path}: group {${attrs}}`);
        walk(e);
      } else {
        const m = (e as H5Dataset).metadata;
        out.push(`${e.path}: ${m.type === 1 ? 'float' : 'type' + m.type}${m.size * 8} [${m.shape}] {${attrs}}`);
      }
    }
  };
  walk(g);
  return out;
}

test('writeKerasArchive: Keras 3 layout (members, vars@name, class counters), read back bit-identical', async () => {
  const bytes = readFileSync(KERAS);
  const z = readZip(bytes, KERAS, new Set(['metadata.json', 'config.json', 'model.weights.h5']));
  assert.equal(z.names, ['metadata.json', 'config.json', 'model.weights.h5']);
  assert.is(new TextDecoder().decode(z.files['metadata.json']), '{"keras_version": "3.14.0", "date_saved": "2026-05-09@08:55:51"}');
  assert.is(new TextDecoder().decode(z.files['config.json']), pythonJson(keras3Config(MODEL)));
  const inner = tmp('inner.h5');
  writeFileSync(inner, z.files['model.weights.h5']);
  assert.equal(await withH5(inner, (f) => outline(f)), [
    '/layers: group {}',
    '/layers/conv2d: group {}',
    '/layers/conv2d/vars: group {name=conv2d (vlen utf8 type 3 shape [])}',
    '/layers/conv2d/vars/0: float32 [3,3,3,2] {}',
    '/layers/conv2d/vars/1: float32 [2] {}',
    '/layers/dense: group {}',
    '/layers/dense/vars: group {name=dense (vlen utf8 type 3 shape [])}',
    '/layers/dense/vars/0: float32 [2,3] {}',
    '/layers/dense/vars/1: float32 [3] {}',
    '/layers/global_average_pooling2d: group {}',
    '/layers/global_average_pooling2d/vars: group {name=global_average_pooling2d (vlen utf8 type 3 shape [])}',
    '/vars: group {name=tiny (vlen utf8 type 3 shape [])}',
  ]);
  const f = await readKerasWeights(KERAS);
  assert.is(f.format, 'keras3-archive');
  assert.is(f.kerasVersion, '3.14.0');
  assert.equal(f.layers.map((l) => l.name), ['conv2d', 'global_average_pooling2d', 'dense']);
  const got = f.layers.flatMap((l) => l.weights.map((w) => bits(w.data)));
  assert.equal(got, WANT, 'every float bit-identical');
  await loadsIdentical(KERAS, '.keras via loadModel');
});

test('writeKerasArchive: a nested Sequential and a Functional model (InputLayer kept) get Keras\' group names', async () => {
  const w = (n: number) => ({ shape: [n], data: Float32Array.from({ length: n }, (_, i) => i + n / 10) });
  const L = (class_name: string, name: string, extra: object = {}) => ({ module: 'keras.layers', class_name, config: { name, ...extra }, registered_name: null });
  const inner = { module: 'keras', class_name: 'Sequential', config: { name: 'block', layers: [L('InputLayer', 'in2', { batch_shape: [null, 4] }), L('Dense', 'd1'), L('Dense', 'd2')] }, registered_name: null };
  const config = { module: 'keras', class_name: 'Functional', config: { name: 'outer', layers: [L('InputLayer', 'x'), L('Dense', 'first'), inner, L('Dense', 'last')] }, registered_name: null };
  const p = tmp('nested.keras');
  await writeKerasArchive(p, { config, layers: [{ name: 'first', weights: [w(2), w(3)] }, { name: 'block', weights: [], layers: [{ name: 'd1', weights: [w(4)] }, { name: 'd2', weights: [w(5)] }] }, { name: 'last', weights: [w(6)] }] });
  const z = readZip(readFileSync(p), p, new Set(['model.weights.h5']));
  writeFileSync(tmp('nested.h5'), z.files['model.weights.h5']);
  const groups = (await withH5(tmp('nested.h5'), (f) => outline(f))).filter((l) => l.includes(': group {name='));
  assert.equal(groups, [
    '/layers/dense/vars: group {name=first (vlen utf8 type 3 shape [])}',
    '/layers/dense_1/vars: group {name=last (vlen utf8 type 3 shape [])}',
    '/layers/input_layer/vars: group {name=x (vlen utf8 type 3 shape [])}',
    '/layers/sequential/layers/dense/vars: group {name=d1 (vlen utf8 type 3 shape [])}',
    '/layers/sequential/layers/dense_1/vars: group {name=d2 (vlen utf8 type 3 shape [])}',
    '/layers/sequential/vars: group {name=block (vlen utf8 type 3 shape [])}',
    '/vars: group {name=outer (vlen utf8 type 3 shape [])}',
  ]);
  const f = await readKerasWeights(p);
  assert.equal(f.layers.map((l) => [l.name, l.weights.map((x) => x.data.length)]), [['x', []], ['first', [2, 3]], ['d1', [4]], ['d2', [5]], ['last', [6]]]);
});

test('writeKerasArchive refuses bad layers before touching the target, and an existing file stays as it was', async () => {
  const p = tmp('keep.keras');
  writeFileSync(p, 'old');
  const config = keras3Config(MODEL);
  const layers = await archiveLayers(MODEL);
  const tries: [KerasArchiveLayer[], RegExp][] = [
    [[{ name: 'nope', weights: [] }], /keep\.keras: layers: layer "nope" is not in the config/],
    [[layers[2], layers[0]], /layer 'conv2d' is out of model order/],
    [[{ ...layers[0], weights: [{ shape: [2, 2], data: new Float32Array(3) }] }], /layer 'conv2d' weight 0: shape \[2,2\] needs 4 values, data has 3/],
  ];
  for (const [l, re] of tries) {
    try {
      await writeKerasArchive(p, { config, layers: l });
      assert.unreachable('accepted');
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  }
  try {
    await writeKerasArchive(tmp('no/such/folder/x.keras'), { config, layers });
    assert.unreachable('accepted');
  } catch (e) {
    assert.match((e as Error).message, /no\/such\/folder\/x\.keras: /);
  }
  assert.is(readFileSync(p, 'utf8'), 'old');
  assert.equal(readdirSync(TMP).filter((n) => n.includes('.tmp-')), [], 'no temporary file left');
});

/** A python3 with h5py (Debian's /usr/bin/python3 has it where a pyenv shim may not). */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import h5py, zipfile'], { encoding: 'utf8' }).status === 0);

// What keras/src/saving/saving_lib.py does, given the same config, metadata and variables: zipfile
// members opened for writing, h5py into a BytesIO, groups created as _save_state visits them.
const KERAS_LIKE = String.raw`
import sys, io, json, zipfile, h5py, time
src, out = sys.argv[1], sys.argv[2]
zin = zipfile.ZipFile(src)
meta, cfg = zin.read('metadata.json'), zin.read('config.json')
ours = h5py.File(io.BytesIO(zin.read('model.weights.h5')), 'r')
made = []
ours.visit(lambda n: made.append(n))
with open(out, 'wb') as f:
    with zipfile.ZipFile(f, 'w') as zf:
        with zf.open('metadata.json', 'w') as m: m.write(meta)
        with zf.open('config.json', 'w') as m: m.write(cfg)
        buf = io.BytesIO()
        h = h5py.File(buf, mode='w')
        def copy(name):
            o = ours[name]
            if isinstance(o, h5py.Group):
                if name.endswith('vars'):
                    g = h.create_group(name)
                    for k, v in o.attrs.items(): g.attrs[k] = v
            else:
                h[name] = o[()]
        # creation order as Keras: the model's vars first, then each layer's, depth first
        for name in sorted(made, key=lambda n: (n != 'vars', n)):
            copy(name)
        h.close()
        zf.writestr('model.weights.h5', buf.getvalue())
z = zipfile.ZipFile(out)
for i in z.infolist():
    print(json.dumps([i.filename, i.compress_type, i.create_system, i.create_version, i.extract_version, i.flag_bits, i.external_attr, i.extra.hex(), list(i.date_time) if i.filename != 'model.weights.h5' else None]))
`;

const zipInfo = (path: string) =>
  spawnSync(PYTHON!, ['-c', String.raw`
import sys, json, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    print(json.dumps([i.filename, i.compress_type, i.create_system, i.create_version, i.extract_version, i.flag_bits, i.external_attr, i.extra.hex(), list(i.date_time) if i.filename != 'model.weights.h5' else None]))
`, path], { encoding: 'utf8' });

if (!PYTHON) {
  console.log('SKIPPED: the comparison with Python zipfile + h5py (no python3 with h5py)');
  test.skip('.keras as Python writes it (python3 with h5py absent)', () => {});
} else
  test('.keras as Python\'s zipfile + h5py write it the Keras way: same zip headers, json bytes, HDF5 outline; h5py reads ours', async () => {
    const theirs = tmp('python.keras');
    const py = spawnSync(PYTHON, ['-c', KERAS_LIKE, KERAS, theirs], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python: ${py.stderr}`);
    const ours = zipInfo(KERAS);
    if (ours.status !== 0) throw new Error(`python: ${ours.stderr}`);
    assert.is(ours.stdout, py.stdout, 'zip member headers as Python writes them');
    const a = readZip(readFileSync(KERAS), 'ours', new Set(['metadata.json', 'config.json', 'model.weights.h5'])).files;
    const b = readZip(readFileSync(theirs), 'theirs', new Set(['metadata.json', 'config.json', 'model.weights.h5'])).files;
    assert.equal([...a['metadata.json']], [...b['metadata.json']]);
    assert.equal([...a['config.json']], [...b['config.json']]);
    // The json members' local headers and data are byte for byte Python's.
    // (The last 46 bytes before the HDF5 signature are that member's local header: CRC, size, time.)
    const head = (bytes: Uint8Array) => [...bytes.subarray(0, Buffer.from(bytes).indexOf(Buffer.from([0x89, 0x48, 0x44, 0x46])) - 46)];
    assert.equal(head(readFileSync(KERAS)), head(readFileSync(theirs)), 'bytes before model.weights.h5');
    writeFileSync(tmp('theirs.h5'), b['model.weights.h5']);
    writeFileSync(tmp('ours.h5'), a['model.weights.h5']);
    assert.equal(await withH5(tmp('ours.h5'), (f) => outline(f)), await withH5(tmp('theirs.h5'), (f) => outline(f)), 'HDF5 outline');
  });

// ---------------------------------------------------------------------------------------------
// The command line

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
function lanterna(args: string[]) {
  const p = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  const lines = p.stderr.split('\n').filter(Boolean);
  // Dawn's adapter warnings are not ours; anything else on stderr (an HDF5 error stack, an
  // "Aborted(...)", a JavaScript stack) must not be there.
  const foreign = lines.filter((l) => !l.startsWith('lanterna:') && !/^Warning: max\w+ artificially reduced/.test(l));
  return { status: p.status, stdout: p.stdout, ours: lines.filter((l) => l.startsWith('lanterna:')), foreign };
}
function refusesInOneLine(args: string[], re: RegExp, out?: string): void {
  const r = lanterna(args);
  if (r.status === 0 || r.ours.length !== 1 || !re.test(r.ours[0]) || r.foreign.length || (out && existsSync(out)))
    throw new Error(`lanterna ${args.join(' ')}: exit ${r.status}, ours ${JSON.stringify(r.ours)}, other stderr ${JSON.stringify(r.foreign.slice(0, 5))}${out && existsSync(out) ? `, ${out} written` : ''}`);
}

function png(path: string, w: number, h: number, colorType: 2 | 4, px: (i: number) => number[]): string {
  const p = new PNG({ width: w, height: h, colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 } as any);
  const per = colorType === 4 ? 2 : 3;
  p.data = Buffer.from(Array.from({ length: w * h }, (_, i) => px(i)).flat());
  writeFileSync(path, PNG.sync.write(p, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 } as any));
  if (per === 2 && readFileSync(path)[25] !== 4) throw new Error('pngjs did not write a grey + alpha PNG');
  return path;
}

test('CLI: a corrupt .h5 / .keras / model.json / PNG, or an .h5 HDF5 loops on, fails predict and gradcam in one line and writes nothing', () => {
  const img = png(tmp('rgb.png'), 9, 9, 2, (i) => [(i * 7) % 256, (i * 13) % 256, (i * 29) % 256]);
  const badH5 = tmp('cli_bad.h5');
  writeFileSync(badH5, readFileSync(H5).subarray(0, 5000));
  const badKeras = tmp('cli_bad.keras');
  const k = Uint8Array.from(readFileSync(KERAS));
  k[k.length >> 1] ^= 0x55;
  writeFileSync(badKeras, k);
  const badJson = tmp('cli_bad_tfjs');
  mkdirSync(badJson);
  writeFileSync(join(badJson, 'model.json'), readFileSync(join(TFJS, 'model.json'), 'utf8').slice(0, 300));
  const out = tmp('never.png');
  for (const [model, re] of [[badH5, /cli_bad\.h5: truncated: [\d ]+ bytes expected, 5 000 found$/], [badKeras, /fails its CRC-32 check/], [badJson, /model\.json: not valid JSON at line 1, column 301/]] as const) {
    refusesInOneLine(['predict', '--model', model, '--image', img], re);
    refusesInOneLine(['gradcam', '--model', model, '--image', img, '--out', out], re, out);
  }
  const endless = tmp('cli_endless.h5');
  writeFileSync(endless, endlessH5());
  refusesInOneLine(['gradcam', '--model', endless, '--image', img, '--out', out], /cli_endless\.h5: HDF5 did not finish reading the file within 3 s/, out);
  const corruptPng = tmp('corrupt.png');
  writeFileSync(corruptPng, readFileSync(img).subarray(0, 60));
  refusesInOneLine(['gradcam', '--model', H5, '--image', corruptPng, '--out', out], /corrupt\.png: cannot decode the PNG image/, out);
});

test('CLI: a model whose input has 2 channels is refused by predict and gradcam in one line; no file', async () => {
  const two = new Sequential('two', 3).add(new Conv2D({ filters: 2, kernelSize: 3 })).add(new GlobalAveragePooling2D()).add(new Dense({ units: 3 })).build([7, 7, 2]);
  const p = tmp('two_channels.h5');
  await saveModel(two, p);
  two.dispose();
  const img = png(tmp('rgb2.png'), 9, 9, 2, (i) => [i % 256, 0, 255]);
  const out = tmp('never2.png');
  refusesInOneLine(['predict', '--model', p, '--image', img], /two_channels\.h5: the model's input is \[7,7,2\], not an image \[H, W, 1 or 3\]/);
  refusesInOneLine(['gradcam', '--model', p, '--image', img, '--out', out], /two_channels\.h5: the model's input is \[7,7,2\], not an image/, out);
});

test('CLI: a grey + alpha PNG (2 channels) feeds an RGB model as Keras\' load_img does (grey to RGB, alpha dropped)', () => {
  const la = png(tmp('la.png'), 9, 9, 4, (i) => [(i * 11) % 256, (i * 3) % 256]);
  const rgb = png(tmp('grey_rgb.png'), 9, 9, 2, (i) => [(i * 11) % 256, (i * 11) % 256, (i * 11) % 256]);
  const a = lanterna(['predict', '--model', H5, '--image', la, '--pixels', 'unit', '--json']);
  const b = lanterna(['predict', '--model', H5, '--image', rgb, '--pixels', 'unit', '--json']);
  if (a.status !== 0 || b.status !== 0) throw new Error(`exit ${a.status} / ${b.status}: ${a.ours} ${b.ours}`);
  assert.equal(JSON.parse(a.stdout).images[0].predictions, JSON.parse(b.stdout).images[0].predictions);
});

test.after(() => {
  MODEL.dispose();
  rmSync(TMP, { recursive: true, force: true });
});
test.run();
