// `lanterna` CLI: `info` (text and --json), one-line errors (stacks only with --debug), the
// bin shim's message when the build is missing; `gradcam --score logit` and `cam --image` on any
// softmax / GAP head (a tiny saved model; the real MobileNet against its PyTorch golden when
// ../shared/data is there).

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.ts';
import { saveModel } from '../nn/model_file.ts';
import { Sequential } from '../nn/sequential.ts';
import { assertClose, ready } from './helpers.ts';

const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function lanterna(args: string[], env: Record<string, string> = {}) {
  const p = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  // (Dawn and the Vulkan loader add their own warnings on stderr.)
  return { status: p.status, stdout: p.stdout, stderr: p.stderr.split('\n').filter(Boolean) };
}

test('info --json describes the adapter, its driver and the limits in force', () => {
  const r = lanterna(['info', '--json']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  const d = JSON.parse(r.stdout);
  for (const k of ['runtime', 'webgpu', 'vendor', 'architecture', 'device', 'description', 'driver', 'icdSource'])
    if (typeof d[k] !== 'string') throw new Error(`field ${k} missing: ${r.stdout}`);
  if (d.runtime !== 'node') throw new Error(`runtime ${d.runtime}`);
  if (!(d.limits.maxStorageBufferBindingSize > 0) || !(d.limits.maxComputeWorkgroupsPerDimension > 0)) throw new Error(`limits: ${JSON.stringify(d.limits)}`);
});

test('info prints a readable description', () => {
  const r = lanterna(['info']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  for (const s of ['vendor', 'driver', 'ICD file', 'limits in force', 'maxStorageBufferBindingSize'])
    if (!r.stdout.includes(s)) throw new Error(`no "${s}" in:\n${r.stdout}`);
});

test('an error is one line naming the problem; --debug adds the stack', () => {
  const env = { VK_ICD_FILENAMES: '/nonexistent/icd.json' };
  const r = lanterna(['info'], env);
  if (r.status !== 1) throw new Error(`exit ${r.status}`);
  const ours = r.stderr.filter((l) => l.startsWith('lanterna:'));
  if (ours.length !== 1 || !ours[0].startsWith('lanterna: No WebGPU adapter') || r.stderr.some((l) => /at .*\.js:\d+/.test(l)))
    throw new Error(`stderr:\n${r.stderr.join('\n')}`);
  const d = lanterna(['--debug', 'info'], env);
  if (d.status !== 1 || !d.stderr.some((l) => /at .*\.js:\d+/.test(l))) throw new Error(`no stack with --debug:\n${d.stderr.join('\n')}`);
});

test('an unknown command fails with a hint', () => {
  const r = lanterna(['no-such-command']);
  if (r.status === 0 || !r.stderr.join('\n').includes('unknown command')) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
});

test('bin/lanterna.js says to build when dist/ is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bin-'));
  try {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(fileURLToPath(new URL('../../bin/lanterna.js', import.meta.url)), join(dir, 'bin/lanterna.js'));
    const p = spawnSync(process.execPath, [join(dir, 'bin/lanterna.js'), 'info'], { encoding: 'utf8' });
    if (p.status !== 1 || !p.stderr.includes('npm run build')) throw new Error(`exit ${p.status}: ${p.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await ready;
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-cli-'));
/** A 12×12 RGB PNG of a smooth pattern. */
function writePng(path: string): string {
  const p = new PNG({ width: 12, height: 12 });
  for (let i = 0; i < 144; i++) [p.data[4 * i], p.data[4 * i + 1], p.data[4 * i + 2], p.data[4 * i + 3]] = [(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, 255];
  writeFileSync(path, PNG.sync.write(p));
  return path;
}
const IMG = writePng(join(TMP, 'in.png'));
/** Conv2D → GAP → Dense(linear): a CAM head, and no softmax. */
const LINEAR = join(TMP, 'linear.h5');
{
  const m = new Sequential('linear_head', 3).add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu' })).add(new GlobalAveragePooling2D()).add(new Dense({ units: 3 })).build([12, 12, 3]);
  await saveModel(m, LINEAR);
  m.dispose();
}

test('gradcam --score logit on a model without a softmax: one line naming the file and the missing softmax, exit 1, no file', () => {
  const out = join(TMP, 'never.png');
  const r = lanterna(['gradcam', '--model', LINEAR, '--image', IMG, '--score', 'logit', '--out', out]);
  const ours = r.stderr.filter((l) => l.startsWith('lanterna:'));
  if (r.status !== 1 || ours.length !== 1 || !ours[0].includes(LINEAR) || !ours[0].includes('--score logit') || !ours[0].includes('no final softmax') || existsSync(out))
    throw new Error(`exit ${r.status}:\n${r.stderr.join('\n')}`);
});

test('cam --image on a GAP → Dense(linear) model: the map in --json, --pixels as predict (tf accepted, a bad mode refused in one line)', () => {
  const out = join(TMP, 'cam.png');
  const r = lanterna(['cam', '--model', LINEAR, '--image', IMG, '--pixels', 'tf', '--class', '2', '--out', out, '--json']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  const d = JSON.parse(r.stdout);
  const im = d.images[0];
  if (d.pixels !== 'tf' || d.layer !== 'conv2d' || im.class !== 2 || im.h !== 10 || im.cam.length !== 100 || !existsSync(out)) throw new Error(r.stdout.slice(0, 400));
  const bad = lanterna(['cam', '--model', LINEAR, '--image', IMG, '--pixels', 'bgr', '--out', join(TMP, 'bad.png')]);
  const ours = bad.stderr.filter((l) => l.startsWith('lanterna:'));
  if (bad.status !== 2 || ours.length !== 1 || !ours[0].includes('--pixels must be one of caffe')) throw new Error(`exit ${bad.status}: ${bad.stderr.join('\n')}`);
});

const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'));
const MOBILENET = join(DATA, 'tfjs/mobilenet_v1_0.25_224/model.json');
const GOLD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'golden', 'mobilenet', 'torch_mobilenet.json');
if (!existsSync(MOBILENET)) {
  console.log(`SKIPPED: the real MobileNet is absent (${MOBILENET}); set LANTERNA_DATA to the shared data folder`);
  test.skip('MobileNet gradcam --score logit and cam --image (data absent)', () => {});
} else
  test('MobileNet: gradcam --score logit (default layer conv_pw_13_relu, tf pixels) matches the PyTorch logit map, and cam --image gives ReLU(CAM)/49 = that map (atol 1e-4 of the map scale)', () => {
    const gold = JSON.parse(readFileSync(GOLD, 'utf8')).images[0];
    const img = join(DATA, 'images', gold.source.split('/').pop());
    const want = gold.gradcam.logit.conv_pw_13_relu;
    const scale = Math.max(...want.preRelu.map(Math.abs));
    const g = lanterna(['gradcam', '--model', MOBILENET, '--image', img, '--score', 'logit', '--out', join(TMP, 'gc.png'), '--json']);
    if (g.status !== 0) throw new Error(`gradcam exit ${g.status}: ${g.stderr.join('\n')}`);
    const gd = JSON.parse(g.stdout);
    if (gd.layer !== 'conv_pw_13_relu' || gd.pixels !== 'tf' || gd.score !== 'logit' || gd.images[0].maps[0].class !== 94) throw new Error(`layer ${gd.layer}, pixels ${gd.pixels}, score ${gd.score}`);
    assertClose(gd.images[0].maps[0].map, want.map, { atol: 1e-4 * scale, rtol: 0 }, 'gradcam --score logit vs PyTorch');
    const c = lanterna(['cam', '--model', MOBILENET, '--image', img, '--out', join(TMP, 'cam_mn.png'), '--json']);
    if (c.status !== 0) throw new Error(`cam exit ${c.status}: ${c.stderr.join('\n')}`);
    const cd = JSON.parse(c.stdout);
    if (cd.layer !== 'conv_pw_13_relu' || cd.pixels !== 'tf' || cd.images[0].class !== 94) throw new Error(`cam layer ${cd.layer}, pixels ${cd.pixels}, class ${cd.images[0].class}`);
    assertClose(cd.images[0].cam.map((v: number) => Math.max(v, 0) / 49), want.map, { atol: 1e-4 * scale, rtol: 0 }, 'ReLU(cam --image)/49 vs PyTorch Grad-CAM of the logit');
  });

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
