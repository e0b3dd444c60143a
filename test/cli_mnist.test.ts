// `lanterna evaluate` and `lanterna cam` from the command line: the real Keras MNIST models in
// ../shared/data/keras reproduce their published accuracies (the full 10 000 test digits, so the
// ±0.05-point tolerance means something), weights-only files take --architecture, the input
// flags are checked, and `cam --json` prints JSON alone on stdout.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';

const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA = resolve(process.env.LANTERNA_DATA ?? resolve(process.cwd(), '../shared/data'), 'keras');
const real = (name: string) => join(DATA, name);
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-cli-mnist-'));

function lanterna(args: string[]) {
  const p = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', cwd: ROOT });
  const ours = p.stderr.split('\n').filter((l) => l.startsWith('lanterna:'));
  return { status: p.status, stdout: p.stdout, stderr: p.stderr, error: ours.join('\n') };
}

function accuracyOf(args: string[]): number {
  const r = lanterna(['evaluate', ...args]);
  if (r.status !== 0) throw new Error(`evaluate ${args.join(' ')}: exit ${r.status}\n${r.error || r.stderr}`);
  const m = /^test accuracy: ([01]\.\d{4})$/m.exec(r.stdout);
  if (!m) throw new Error(`no "test accuracy" line in:\n${r.stdout}`);
  return Number(m[1]);
}

// File, extra flags, accuracy published in ../shared/data/README.md.
const MODELS: [string, string[], number][] = [
  ['KeishiIshihara__model.hdf5', [], 0.9931],
  ['JanithaB__mnist_cnn.h5', [], 0.99],
  ['HimalRana__mnist_cnn.h5', [], 0.9905],
  ['HimalRana__mnist_weights.weights.h5', ['--architecture', real('HimalRana__mnist_cnn.h5')], 0.9905],
  ['gosolna__mnist_cnn.keras', [], 0.9918],
  ['VitalBacon__mnist_weights.h5', ['--architecture', real('VitalBacon_mnist_weights.config.json'), '--input-scale', '255'], 0.9838],
];

if (!existsSync(DATA)) {
  console.log(`SKIPPED: the real Keras MNIST models: ${DATA} is absent (set LANTERNA_DATA to the shared data folder)`);
  test.skip('real Keras MNIST models (folder absent)', () => {});
} else {
  for (const [file, flags, want] of MODELS)
    test(`evaluate ${file}${flags.length ? ' ' + flags.map((f) => f.replace(DATA + '/', '')).join(' ') : ''}: ${want}`, () => {
      const got = accuracyOf(['--model', real(file), ...flags]);
      if (Math.abs(got - want) > 0.0005) throw new Error(`accuracy ${got}, published ${want} (tolerance 0.05 points)`);
    });

  test('a weights-only file without --architecture: one line saying to add it', () => {
    const r = lanterna(['evaluate', '--model', real('HimalRana__mnist_weights.weights.h5'), '--limit', '10']);
    if (r.status === 0 || !/HimalRana__mnist_weights\.weights\.h5: holds weights only .*--architecture/.test(r.error)) throw new Error(`exit ${r.status}: ${r.error || r.stderr}`);
  });

  test('--architecture that is itself weights only is refused, naming it', () => {
    const w = real('HimalRana__mnist_weights.weights.h5');
    const r = lanterna(['evaluate', '--model', w, '--architecture', w, '--limit', '10']);
    if (r.status === 0 || !r.error.includes(`--architecture ${w}: holds weights only`)) throw new Error(`exit ${r.status}: ${r.error || r.stderr}`);
  });

  test('each input flag reaches the model: its loss and accuracy move', () => {
    const run = (flags: string[]) => {
      const r = lanterna(['evaluate', '--model', real('JanithaB__mnist_cnn.h5'), '--limit', '200', ...flags]);
      const loss = /^test loss: (\S+)/m.exec(r.stdout), acc = /^test accuracy: (\S+)$/m.exec(r.stdout);
      if (r.status !== 0 || !loss || !acc) throw new Error(`${flags.join(' ')}: exit ${r.status}: ${r.error || r.stdout}`);
      return { loss: Number(loss[1]), acc: Number(acc[1]), input: /^input: .*$/m.exec(r.stdout)![0] };
    };
    const unit = run([]), raw = run(['--input-scale', '255']), inv = run(['--invert']);
    // A ReLU network still ranks most raw 0–255 digits right, but its loss changes a lot.
    if (!(unit.acc > 0.95) || !(Math.abs(raw.loss - unit.loss) > 0.2 * unit.loss) || !(inv.acc < unit.acc - 0.3))
      throw new Error(`x/255 ${JSON.stringify(unit)}, raw ${JSON.stringify(raw)}, inverted ${JSON.stringify(inv)}`);
    if (!raw.input.includes('raw pixels, from --input-scale 255') || !inv.input.includes('inverted pixels, from --invert')) throw new Error(`${raw.input} / ${inv.input}`);
  });
}

test('contradictory input flags are refused before any work', () => {
  const cases: [string[], RegExp][] = [
    [['--invert', '--input-scale', '255'], /--invert .* cannot be combined with --input-scale 255/],
    [['--pixels', 'unit', '--invert'], /--pixels cannot be combined/],
    [['--input-scale', '100'], /--input-scale/],
  ];
  for (const [flags, re] of cases) {
    const r = lanterna(['evaluate', '--model', join(ROOT, 'models/cam1.h5'), '--limit', '5', ...flags]);
    if (r.status === 0 || !re.test(r.error)) throw new Error(`${flags.join(' ')}: exit ${r.status}: ${r.error || r.stderr}`);
  }
});

test('cam --json: stdout is the JSON document alone (the report goes to stderr); the PNG is written', () => {
  const out = join(TMP, 'cam.png');
  const r = lanterna(['cam', '--model', join(ROOT, 'models/cam1.h5'), '--index', '0,1', '--out', out, '--json']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.error || r.stderr}`);
  const doc = JSON.parse(r.stdout);
  if (doc.images.length !== 2 || doc.images[0].cam.length !== 9 || doc.images[0].label !== 7) throw new Error(`unexpected document: ${r.stdout.slice(0, 300)}`);
  if (!r.stderr.includes('digit #0 (label 7)')) throw new Error(`no report on stderr: ${r.stderr}`);
  if (readFileSync(out).subarray(1, 4).toString() !== 'PNG') throw new Error('no PNG written');
});

test.run();
