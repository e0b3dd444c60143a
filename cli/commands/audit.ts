// `lanterna audit`: does a model rely on a spurious cue (the tank detector that learned the
// weather)? On MNIST test digits carrying a shortcut cue (--shortcut mark|weather), or on any
// labelled image folder with a mask naming where a suspected cue lives (--data DIR --region M.png):
// the share of each method's map on the cue and on the object, the pointing game, the
// counterfactual (cue swapped, or region blanked) and a one-line verdict; --json, --out report.png.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { init, shutdown } from '../../engine/context.ts';
import { LanternaError } from '../../engine/errors.ts';
import { audit, type Audit } from '../../explain/audit/audit.ts';
import { folderAuditData } from '../../explain/audit/folder.ts';
import { auditReport, type ReportRow } from '../../explain/audit/report.ts';
import { shortcutAuditData } from '../../explain/audit/shortcut_data.ts';
import { verdict, type Verdict } from '../../explain/audit/verdict.ts';
import type { RgbImage } from '../../explain/grid.ts';
import { CAM_METHODS } from '../../explain/methods.ts';
import { writePng } from '../../explain/png.ts';
import type { ImagePixels } from '../../nn/applications/imagenet.ts';
import { loadMnist, type PixelMode } from '../../nn/data/mnist.ts';
import { CUE_KINDS, MARK_SIZE, shortcutRecordOf, type CueKind } from '../../nn/data/shortcut.ts';
import type { KerasFile } from '../../nn/io/keras.ts';
import { loadModel } from '../../nn/model_file.ts';
import { imagePixelsFor, pixelsFlag } from '../image_pixels.ts';
import { choice, emitJson, intOption, UsageError } from '../options.ts';
import type { Example } from '../help.ts';

interface AuditOpts {
  model: string;
  shortcut?: string;
  data?: string;
  region?: string;
  images: string;
  method?: string;
  layer?: string;
  pixels?: string;
  seed: string;
  worst: string;
  out?: string;
  json?: boolean | string;
}

/** How the audited data are shown and described, whichever source they came from. */
interface Source {
  what: string;
  cueName: string;
  change: string;
  global: boolean;
  shown: (i: number) => RgbImage;
  changed: (i: number) => RgbImage;
  changedCaption: (i: number, pred: number) => string;
  cueMask: (i: number) => ArrayLike<number> | null;
  json: Record<string, unknown>;
}

/** Shown by `lanterna audit --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna audit --model models/shortcut-mark.h5', what: 'the shipped "cloud detector": maps on the corner mark, the counterfactual, a one-line verdict' },
  { cmd: 'lanterna audit --model models/cam1.h5 --shortcut weather --json --out report.png', what: 'the clean cam1 on digits with the weather cue: figures as JSON, the worst examples as a PNG' },
  { cmd: 'lanterna audit --model my.h5 --data photos/ --region watermark.png', what: 'any labelled image folder, with a mask of where a suspected cue lives' },
];

/** Adds `lanterna audit` to the program. */
export function register(program: Command): void {
  program
    .command('audit')
    .description('does a model rely on a spurious cue? CAM-family maps on the cue vs the object, pointing game, counterfactual, one-line verdict')
    .requiredOption('--model <file>', 'Keras .h5/.keras or TF.js model.json')
    .option('--shortcut <kind>', `MNIST test digits with this cue (${CUE_KINDS.join(', ')}; default: the one the model file records, if any)`)
    .option('--data <dir>', 'instead: a labelled image folder, DIR/<class>/*.png|jpg (folders named 0, 1, … are those classes; other names are numbered in sorted order, as Keras)')
    .option('--region <mask.png>', "with --data: where the suspected cue lives (white inside), resized to the model's input")
    .option('--images <n>', 'MNIST test digits audited (the first N); with --data, at most N images per class', '500')
    .option('--method <names>', `methods, comma-separated, each with @LAYER to choose its layer (layercam@max_pooling2d_1), or @fine for the coarsest layer whose cells fit in the cue: ${Object.keys(CAM_METHODS).join(', ')} (default cam,gradcam, and layercam@fine for a local cue)`)
    .option('--layer <name>', "layer explained by the methods not given one with @ (default: each method's own)")
    .option('--pixels <mode>', "input preprocessing (default: the file's record, else unit x/255): inverted, unit, raw, caffe, tf, torch")
    .option('--seed <n>', 'seed of the swapped cues (as the shortcut test sets)', '1')
    .option('--worst <k>', 'examples in the report', '8')
    .option('--out <file.png>', 'write a PNG report: the worst examples beside their maps and their counterfactual')
    .option('--json [file]', 'the figures as JSON (to stdout, or to a file)')
    .action(async (o: AuditOpts) => {
      if (!existsSync(o.model)) throw new LanternaError(`--model ${o.model}: no such file`);
      if (o.data && o.shortcut) throw new UsageError('give --shortcut (MNIST digits with a cue) or --data DIR --region MASK.png, not both');
      if (o.data && !o.region) throw new UsageError('--data needs --region MASK.png: where the suspected cue lives');
      if (o.region && !o.data) throw new UsageError('--region goes with --data DIR (a labelled image folder)');
      if (o.out && !/\.png$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the report is written as PNG; name a .png file`);
      const asked = o.method?.split(',').map((s) => s.trim()).filter(Boolean);
      for (const m of asked ?? []) choice('--method', m.split('@')[0], Object.keys(CAM_METHODS));
      if (asked && !asked.length) throw new UsageError('--method: name at least one method');
      const images = intOption('--images', o.images, 1);
      const worst = intOption('--worst', o.worst, 1);
      const seed = intOption('--seed', o.seed, 0);
      // With a bare --json, stdout carries the JSON alone: the report goes to stderr.
      const say = o.json === true ? (t: string) => console.error(t) : (t: string) => console.log(t);
      try {
        await init();
        const loaded = await loadModel(o.model);
        const model = loaded.model;
        const shape = model.inputShape;
        if (!shape || shape.length !== 3) throw new LanternaError(`${o.model}: the model takes [${shape}], not images [H, W, C]`);
        let src: Source;
        let data;
        if (o.data) {
          const { pixels, from } = imagePixelsFor(loaded, pixelsFlag(o.pixels), o.model);
          const f = folderAuditData(o.data, o.region!, shape as [number, number, number], pixels as ImagePixels, { perClass: images });
          const outputs = model.outputShape[model.outputShape.length - 1];
          const over = f.classes.find((_, k) => f.classIndex[k] >= outputs);
          if (over !== undefined) throw new LanternaError(`--data ${o.data}: class folder '${over}' is class ${f.classIndex[f.classes.indexOf(over)]}, but the model has ${outputs} outputs`);
          data = f.data;
          say(`${o.model}: ${f.files.length} images of ${f.classes.length} classes from ${o.data} (${pixels} pixels, ${from}); region ${o.region}`);
          src = {
            what: `${f.files.length} images of ${o.data}`,
            cueName: 'the region',
            change: "filling the region with the image's mean colour",
            global: false,
            shown: f.shown,
            changed: f.shownBlanked,
            changedCaption: (_i, p) => `BLANKED: PRED ${p}`,
            cueMask: () => f.region,
            json: { data: o.data, region: o.region, classes: f.classes, classIndex: f.classIndex, pixels },
          };
        } else {
          const recorded = shortcutRecordOf((loaded.file as KerasFile).extraAttrs);
          const kind = o.shortcut ?? recorded?.kind;
          if (!kind) throw new UsageError(`${o.model} records no shortcut cue: give --shortcut ${CUE_KINDS.join('|')} (or --data DIR --region MASK.png)`);
          choice('--shortcut', kind, CUE_KINDS);
          if (shape[0] !== 28 || shape[1] !== 28 || shape[2] !== 1) throw new LanternaError(`${o.model}: the model takes [${shape}]; --shortcut audits 28×28×1 MNIST models (use --data for others)`);
          const pixels = (o.pixels ? choice('--pixels', o.pixels, ['inverted', 'unit', 'raw']) : (loaded.preprocessing?.pixels ?? 'unit')) as PixelMode;
          const test = await loadMnist({ split: 'test', limit: images });
          const s = shortcutAuditData(test, kind as CueKind, pixels, seed);
          data = s.data;
          const cueWords = kind === 'mark' ? `the corner mark (${MARK_SIZE}×${MARK_SIZE} px)` : 'the weather (background brightness)';
          say(`${o.model}: ${test.n} MNIST test digits with ${cueWords} of their class (${pixels} pixels${o.pixels ? '' : loaded.preprocessing ? ', recorded in the file' : ', default'})${recorded ? `; trained with ${recorded.kind} at correlation ${recorded.correlation}` : ''}`);
          src = {
            what: `${test.n} test digits`,
            cueName: s.cueName,
            change: s.change,
            global: s.global,
            shown: s.shown,
            changed: s.shownSwapped,
            changedCaption: (i, p) => `SWAP ${s.swappedCues[i]}: PRED ${p}`,
            cueMask: (i) => (s.global ? null : s.data.cue(i)),
            json: { shortcut: kind, images: test.n, seed, pixels, trainedWith: recorded },
          };
        }
        // A local cue may be finer than the last layer's cells: LayerCAM one stage earlier sees it (fine_layer.ts).
        const methods = asked ?? (src.global ? ['cam', 'gradcam'] : ['cam', 'gradcam', 'layercam@fine']);
        const a = await audit(model, data, { methods, layer: o.layer, keepMaps: Boolean(o.out) });
        const v = verdict(a, { cue: src.cueName, global: src.global, change: src.change });
        printAudit(a, v, src, say);
        if (o.out) {
          await writePng(o.out, report(a, v, src, worst, basename(o.model)));
          say(`wrote ${o.out}`);
        }
        if (o.json) await emitJson(o.json, auditJson(o.model, a, v, src));
        model.dispose();
      } finally {
        shutdown();
      }
    });
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');

function printAudit(a: Audit, v: Verdict, src: Source, say: (t: string) => void): void {
  say(`  ${src.cueName} covers ${pct(a.cueArea)} of the image${Number.isFinite(a.objectArea) ? `, the object ${pct(a.objectArea)}` : ''}; accuracy ${pct(a.accuracy)}`);
  const cf = a.counterfactual;
  if (cf)
    say(`  counterfactual: ${src.change} changes ${pct(cf.flipRate)} of predictions${Number.isFinite(cf.followsCue) ? ` (${pct(cf.followsCue)} follow the new cue)` : ''}; accuracy then ${pct(cf.accuracy)}`);
  const rows = [['method', 'layer', 'map', 'peak on cue', 'mass on cue', 'mass on object', 'flat', 'seconds']];
  for (const m of a.methods) rows.push([m.name, m.layer || '(input)', `${m.mapSize[0]}×${m.mapSize[1]}`, pct(m.pointing), pct(m.cueMass), pct(m.objectMass), String(m.flat), m.seconds.toFixed(1)]);
  const width = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  for (const r of rows) say('  ' + r.map((c, j) => c.padEnd(width[j])).join('  '));
  say(`  per class, peak on cue / mass on cue (${a.methods.map((m) => m.name).join(', ')}):`);
  const classes = a.methods[0].perClass.map((c) => c.class);
  for (const c of classes)
    say(`    ${String(c).padStart(2)} (${a.methods[0].perClass.find((p) => p.class === c)!.n}): ` + a.methods.map((m) => {
      const p = m.perClass.find((q) => q.class === c)!;
      return `${pct(p.pointing)} / ${pct(p.cueMass)}`;
    }).join('   '));
  say(`verdict: ${v.line}`);
}

function auditJson(model: string, a: Audit, v: Verdict, src: Source): Record<string, unknown> {
  const r = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
  return {
    model,
    ...src.json,
    n: a.n,
    cue: { name: src.cueName, global: src.global, area: r(a.cueArea) },
    objectArea: r(a.objectArea),
    accuracy: r(a.accuracy),
    counterfactual: a.counterfactual && { change: src.change, flipRate: r(a.counterfactual.flipRate), followsCue: r(a.counterfactual.followsCue), accuracy: r(a.counterfactual.accuracy) },
    methods: a.methods.map((m) => ({
      method: m.method, name: m.name, layer: m.layer, mapSize: m.mapSize, pointing: r(m.pointing), cueMass: r(m.cueMass), objectMass: r(m.objectMass), flat: m.flat, seconds: r(m.seconds),
      perClass: m.perClass.map((p) => ({ class: p.class, n: p.n, pointing: r(p.pointing), cueMass: r(p.cueMass), objectMass: r(p.objectMass), flat: p.flat })),
    })),
    verdict: { relies: v.relies, level: v.level, byCounterfactual: v.byCounterfactual, byPointing: v.byPointing, best: v.best, line: v.line },
  };
}

/**
 * The worst examples first: for a local cue, the images whose first map puts the most mass on the
 * cue; for a global one, those whose prediction the counterfactual flipped, then by that mass; at
 * most k/classes of each class while others are left.
 */
function report(a: Audit, v: Verdict, src: Source, k: number, name: string): RgbImage {
  const first = a.methods[0];
  const flipped = (i: number) => (a.counterfactual && a.counterfactual.predictions[i] !== a.predictions[i] ? 1 : 0);
  const mass = (i: number) => (Number.isFinite(first.imageCueMass[i]) ? first.imageCueMass[i] : -1);
  const order = Array.from({ length: a.n }, (_, i) => i).sort((i, j) => (src.global ? flipped(j) - flipped(i) : 0) || mass(j) - mass(i) || i - j);
  // The worst of each class in turn, so that one class does not fill the page.
  const classes = new Set(a.labels).size;
  const cap = Math.ceil(k / classes);
  const taken = new Map<number, number>();
  const picked = order.filter((i) => {
    const t = taken.get(a.labels[i]) ?? 0;
    if (t >= cap) return false;
    taken.set(a.labels[i], t + 1);
    return true;
  });
  const shown = [...picked, ...order.filter((i) => !picked.includes(i))].slice(0, k);
  const rows: ReportRow[] = shown.map((i) => ({
    image: src.shown(i),
    caption: `LABEL ${a.labels[i]} PRED ${a.predictions[i]}`,
    cue: src.cueMask(i),
    maps: a.methods.map((m) => ({ map: m.maps![i], caption: `${m.name.split(' (')[0].toUpperCase()} ${Math.round((m.imageCueMass[i] || 0) * 100)}%` })),
    counterfactual: a.counterfactual ? { image: src.changed(i), caption: src.changedCaption(i, a.counterfactual.predictions[i]) } : undefined,
  }));
  const cf = a.counterfactual;
  const figures =
    `${src.what}: ` +
    a.methods.map((m) => `${m.name} peak on cue ${pct(m.pointing)}, mass on cue ${pct(m.cueMass)}`).join('; ') +
    (cf ? `; counterfactual flips ${pct(cf.flipRate)}` : '') +
    '. Under each map: its mass on the cue.';
  return auditReport([`${name}: ${v.line}`, figures], rows);
}
