// A truncated HDF5 file (an interrupted download or copy) is named as such in one plain line,
// "FILE: truncated: 2 345 bytes expected, 1 000 found", with HDF5's own numbers, for an .h5 and
// for the weights inside a .keras; other HDF5 failures keep the generic message with HDF5's
// reason. The command line (run without the stderr filter of bin/lanterna.js) prints that one
// line and nothing of HDF5's error stacks.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isNoise } from '../cli/noise.ts';
import { readZip, zipStored } from '../nn/io/zip.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { loadModel, saveModel } from '../nn/model_file.ts';
import { Sequential } from '../nn/sequential.ts';
import { ready } from './helpers.ts';

await ready;
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-h5-truncated-'));
const tmp = (name: string) => join(TMP, name);
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** 12345 → '12 345', written independently of nn/io/h5.ts. */
const grouped = (n: number) => n.toLocaleString('en-US').replace(/,/g, ' ');

const model = new Sequential('tiny', 5).add(new Conv2D({ filters: 2, kernelSize: 3 })).add(new GlobalAveragePooling2D()).add(new Dense({ units: 3, activation: 'softmax' })).build([6, 6, 3]);
const H5 = tmp('tiny.h5');
const KERAS = tmp('tiny.keras');
await saveModel(model, H5);
await saveModel(model, KERAS);
model.dispose();
const FULL = readFileSync(H5);

async function refusal(path: string): Promise<string> {
  try {
    (await loadModel(path)).model.dispose();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${path} loaded`);
}

test('an .h5 cut short anywhere past its superblock: "truncated: N bytes expected, M found"', async () => {
  for (const n of [60, 1000, FULL.length >> 1, FULL.length - 1]) {
    const p = tmp(`cut${n}.h5`);
    writeFileSync(p, FULL.subarray(0, n));
    assert.is(await refusal(p), `${p}: truncated: ${grouped(FULL.length)} bytes expected, ${grouped(n)} found`);
  }
});

test('the weights inside a .keras cut short (the archive itself intact) name the member', async () => {
  const { files } = readZip(readFileSync(KERAS), KERAS, new Set(['metadata.json', 'config.json', 'model.weights.h5']));
  const weights = files['model.weights.h5'];
  const p = tmp('cut.keras');
  const at = new Date(2026, 4, 9);
  writeFileSync(p, zipStored(Object.entries({ ...files, 'model.weights.h5': weights.subarray(0, 2000) }).map(([name, data]) => ({ name, data, mtime: at }))));
  assert.is(await refusal(p), `${p}!model.weights.h5: truncated: ${grouped(weights.length)} bytes expected, 2 000 found`);
});

test('other HDF5 failures keep the generic message with HDF5 reason', async () => {
  const p = tmp('cut20.h5');
  writeFileSync(p, FULL.subarray(0, 20)); // shorter than a superblock: HDF5 fails before its size check
  assert.match(await refusal(p), new RegExp(`^${p.replace(/[.]/g, '\\.')}: HDF5 cannot open the file \\(corrupt or truncated\\?\\) \\(HDF5: \\w+: .+\\)$`));
});

test('CLI: predict on a truncated .h5 and .keras prints one line and no HDF5 error stack', () => {
  const img = tmp('img.png');
  const png = new PNG({ width: 6, height: 6 });
  png.data.fill(128);
  writeFileSync(img, PNG.sync.write(png));
  const cutH5 = tmp('cli_cut.h5');
  writeFileSync(cutH5, FULL.subarray(0, 3000));
  for (const [model, want] of [
    [cutH5, `lanterna: ${cutH5}: truncated: ${grouped(FULL.length)} bytes expected, 3 000 found`],
    [tmp('cut.keras'), new RegExp(`^lanterna: .*cut\\.keras!model\\.weights\\.h5: truncated: [\\d ]+ bytes expected, 2 000 found$`)],
  ] as const) {
    const r = spawnSync(process.execPath, [MAIN, 'predict', '--model', model, '--image', img], { encoding: 'utf8' });
    // main.js is run directly: the GPU driver's lines are there, and are set aside by pattern.
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !isNoise(l));
    const ok = r.status === 1 && lines.length === 1 && (typeof want === 'string' ? lines[0] === want : want.test(lines[0])) && !r.stderr.includes('HDF5-DIAG');
    if (!ok) throw new Error(`exit ${r.status}, stderr:\n${r.stderr}`);
  }
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
