// The tank story's figures (issue #18), from the trained models (scripts/tank_train.sh):
//   1. accuracy of the clean cam1 and of each shortcut model on MNIST's 10 000 test digits with the
//      cue as in training, removed, and swapped, for each cue kind and training correlation;
//   2. the audit of each model (CAM and Grad-CAM: peak on the cue, mass on the cue and on the digit;
//      the counterfactual's flip rate; the verdict);
//   3. every method of CAM_METHODS on the shipped shortcut models and the clean cam1, at each
//      method's own layer, at max_pooling2d_2 (3×3, before the last convolution mixes its cells)
//      and at max_pooling2d_1 (7×7).
// Writes <out>.md and <out>.json.
//
//   node dist/scripts/tank_table.js [--out bench/results/tank-lavapipe] [--audit-images 1000] [--method-images 500]

import { writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { init, shutdown } from '../engine/context.ts';
import { describeDevice } from '../engine/info.ts';
import { audit, type Audit } from '../explain/audit/audit.ts';
import { shortcutAuditData } from '../explain/audit/shortcut_data.ts';
import { verdict } from '../explain/audit/verdict.ts';
import { CAM_METHODS } from '../explain/methods.ts';
import { loadMnist, toFloat } from '../nn/data/mnist.ts';
import { CUE_KINDS, shortcutModelName, shortcutTestSets, type CueKind } from '../nn/data/shortcut.ts';
import { evaluate } from '../nn/fit.ts';
import { loadModel } from '../nn/model_file.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const OUT = arg('--out', 'bench/results/tank-lavapipe');
const AUDIT_N = Number(arg('--audit-images', '1000'));
const METHOD_N = Number(arg('--method-images', '500'));
const CORRELATIONS = [1, 0.95, 0.8];
const EARLIER = ['max_pooling2d_2', 'max_pooling2d_1'];

const pathOf = (kind: CueKind, p: number) => (p === 1 ? `models/${shortcutModelName(kind, p)}.h5` : `out/tank/${shortcutModelName(kind, p)}.h5`);
const pc = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—');

await init();
const dev = await describeDevice();
const t0 = performance.now();
const test = await loadMnist({ split: 'test' });
const md: string[] = [`# The tank story in figures`, '', `${new Date().toISOString().slice(0, 10)}, ${dev.driver} (${dev.description || dev.device}); \`node dist/scripts/tank_table.js\`.`, ''];
const json: Record<string, unknown> = { device: `${dev.driver} — ${dev.description || dev.device}` };

// 1. Accuracy.
md.push('## Accuracy on the 10 000 test digits', '', '| model | cue | trained at correlation | cue as in training | cue removed | cue swapped |', '|---|---|---|---|---|---|');
const accuracy: unknown[] = [];
for (const kind of CUE_KINDS) {
  const rows: { name: string; path: string; p: number }[] = [{ name: 'cam1 (clean)', path: 'models/cam1.h5', p: 1 }];
  for (const p of CORRELATIONS) if (existsSync(pathOf(kind, p))) rows.push({ name: shortcutModelName(kind, p), path: pathOf(kind, p), p });
  for (const r of rows) {
    const { model, preprocessing } = await loadModel(r.path);
    const pixels = preprocessing?.pixels ?? 'inverted';
    const sets = shortcutTestSets(test, kind, r.p, 1);
    const acc: Record<string, number> = {};
    for (const k of ['trained', 'removed', 'swapped'] as const) acc[k] = (await evaluate(model, { x: toFloat(sets[k].images, pixels), y: sets[k].labels })).accuracy;
    const clean = r.name.startsWith('cam1');
    md.push(`| ${clean ? 'cam1 (clean)' : `\`${r.name}\``} | ${kind} | ${clean ? '— (clean MNIST)' : r.p} | ${pc(acc.trained)} | ${pc(acc.removed)} | ${pc(acc.swapped)} |`);
    accuracy.push({ model: r.path, kind, correlation: clean ? null : r.p, ...acc });
    model.dispose();
  }
}
json.accuracy = accuracy;
md.push('', 'For the clean cam1, "as in training" is the shortcut model\'s test set at correlation 1: every digit carries its own class\'s cue.', '');

// 2. The audit of every model, with the default methods.
const summarise = (a: Audit) => ({
  accuracy: a.accuracy,
  flipRate: a.counterfactual!.flipRate,
  followsCue: a.counterfactual!.followsCue,
  methods: a.methods.map((m) => ({ method: m.method, layer: m.layer, pointing: m.pointing, cueMass: m.cueMass, objectMass: m.objectMass, flat: m.flat, seconds: m.seconds })),
});
md.push(`## The audit (\`lanterna audit\` with its default methods: CAM and Grad-CAM at their own layer, and for the mark LayerCAM at '@fine', max_pooling2d_1, 7×7; ${AUDIT_N} test digits)`, '');
md.push('| model | cue | CAM: peak on cue | CAM: mass on cue / digit | Grad-CAM: peak on cue | Grad-CAM: mass on cue / digit | LayerCAM@fine: peak on cue | LayerCAM@fine: mass on cue / digit | counterfactual flips | follows the new cue | verdict |', '|---|---|---|---|---|---|---|---|---|---|---|');
const audits: unknown[] = [];
const digits = await loadMnist({ split: 'test', limit: AUDIT_N });
for (const kind of CUE_KINDS) {
  const rows = [{ name: 'cam1 (clean)', path: 'models/cam1.h5' }, ...CORRELATIONS.filter((p) => existsSync(pathOf(kind, p))).map((p) => ({ name: shortcutModelName(kind, p), path: pathOf(kind, p) }))];
  for (const r of rows) {
    const { model, preprocessing } = await loadModel(r.path);
    const s = shortcutAuditData(digits, kind, preprocessing?.pixels ?? 'inverted', 1);
    // The command's defaults (cli/commands/audit.ts): LayerCAM at '@fine' for a local cue.
    const a = await audit(model, s.data, { methods: s.global ? ['cam', 'gradcam'] : ['cam', 'gradcam', 'layercam@fine'] });
    const v = verdict(a, { cue: s.cueName, global: s.global, change: s.change });
    const [c, g, l] = a.methods;
    const fine = l ? `${pc(l.pointing)} | ${pc(l.cueMass)} / ${pc(l.objectMass)}` : '— | —';
    md.push(`| ${r.name.startsWith('cam1') ? r.name : `\`${r.name}\``} | ${kind} | ${pc(c.pointing)} | ${pc(c.cueMass)} / ${pc(c.objectMass)} | ${pc(g.pointing)} | ${pc(g.cueMass)} / ${pc(g.objectMass)} | ${fine} | ${pc(a.counterfactual!.flipRate)} | ${pc(a.counterfactual!.followsCue)} | ${{ relies: '**relies on the cue**', partly: 'partly relies', none: 'no sign' }[v.level]} |`);
    audits.push({ model: r.path, kind, ...summarise(a), cueArea: a.cueArea, objectArea: a.objectArea, verdict: v.line, level: v.level });
    model.dispose();
  }
}
json.audits = audits;
md.push('', `The cue region: the corner mark covers 8.2% of the image; the weather's region is the background (every pixel not the digit's). Verdict lines of the shipped models:`, '');
for (const a of audits as { model: string; kind: string; verdict: string }[]) if (!a.model.includes('out/tank')) md.push(`- \`${a.model}\`, ${a.kind}: ${a.verdict}`);
md.push('');

// 3. Every method, on the shipped models and the clean cam1.
md.push(`## Which explanation catches which cue (${METHOD_N} test digits)`, '');
md.push('Peak on cue / mass on cue, at the method\'s own layer (cam1\'s last convolution, 3×3), at `max_pooling2d_2` (3×3 too, but before the last convolution mixes the cells) and at `max_pooling2d_1` (7×7). For the weather, the cue region is the whole background: a map "on the cue" there says nothing, and the counterfactual is the test.', '');
md.push('| method | mark: shortcut model | mark: clean cam1 | mark @ max_pooling2d_2: shortcut | mark @ max_pooling2d_2: clean | mark @ max_pooling2d_1: shortcut | mark @ max_pooling2d_1: clean | weather: shortcut model | weather: clean cam1 |', '|---|---|---|---|---|---|---|---|---|');
const few = await loadMnist({ split: 'test', limit: METHOD_N });
const methodRows: Record<string, Record<string, unknown>> = {};
const cells: Record<string, string[]> = {};
for (const name of Object.keys(CAM_METHODS)) cells[name] = [];
const flips: Record<string, number> = {};
const runs: [string, string, string | undefined][] = [
  ['mark', 'models/shortcut-mark.h5', undefined], ['mark', 'models/cam1.h5', undefined],
  ...EARLIER.flatMap((l) => [['mark', 'models/shortcut-mark.h5', l], ['mark', 'models/cam1.h5', l]] as [string, string, string][]),
  ['weather', 'models/shortcut-weather.h5', undefined], ['weather', 'models/cam1.h5', undefined],
];
for (const [k0, modelPath, layer] of runs) {
  const k = k0 as CueKind;
  const kind = layer ? `${k}@${layer}` : k;
  const { model, preprocessing } = await loadModel(modelPath);
  const s = shortcutAuditData(few, k, preprocessing?.pixels ?? 'inverted', 1);
  // CAM weighs the layer before global average pooling only; FullGrad has no layer.
  const names = Object.keys(CAM_METHODS).filter((n) => !(layer && (n === 'cam' || n === 'fullgrad')));
  const a = await audit(model, s.data, { methods: names, layer });
  flips[`${kind}:${modelPath}`] = a.counterfactual!.flipRate;
  for (const name of Object.keys(CAM_METHODS)) {
    const m = a.methods.find((x) => x.method === name);
    cells[name].push(m ? `${pc(m.pointing)} / ${pc(m.cueMass)}` : 'n/a');
    (methodRows[name] ??= {})[`${kind}:${modelPath}`] = m ? { layer: m.layer, pointing: m.pointing, cueMass: m.cueMass, objectMass: m.objectMass, flat: m.flat, seconds: m.seconds } : null;
  }
  model.dispose();
}
for (const name of Object.keys(CAM_METHODS)) md.push(`| ${name} | ${cells[name].join(' | ')} |`);
md.push(`| counterfactual flip rate | ${Object.values(flips).map(pc).join(' | ')} |`);
json.methods = methodRows;
json.flips = flips;
md.push('', `(${((performance.now() - t0) / 60000).toFixed(1)} minutes on ${dev.driver}.)`, '');
writeFileSync(`${OUT}.md`, md.join('\n'));
writeFileSync(`${OUT}.json`, JSON.stringify(json, null, 1));
console.log(md.join('\n'));
shutdown();
