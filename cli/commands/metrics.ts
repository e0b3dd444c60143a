// `lanterna metrics`: how faithful each explanation method is on the given images — deletion and
// insertion AUC (RISE), ROAD (MoRF, LeRF), Average Drop / Increase in Confidence, the pointing
// game (with --box) and the model-randomization sanity check — as one table, or --json.

import type { Command } from 'commander';
import { init, shutdown } from '../../engine/context.ts';
import * as E from '../../engine/index.ts';
import { EXPLAINERS, explainersFor, type Explainer } from '../../explain/explainers.ts';
import { cascadeLayers, type CascadeStep, confidenceChange, deletion, imageAt, insertion, pointingGame, randomizationCascade, road, type InputImage } from '../../explain/metrics/index.ts';
import type { Example } from '../help.ts';
import { classesFor, preprocessFor, setupExplain, userStep, type ExplainOptions, type ExplainSetup } from '../explain_input.ts';
import { PIXELS_HELP } from '../image_pixels.ts';
import { ARCH_HELP, checkModelSource, WEIGHTS_HELP } from '../model_source.ts';
import { OUTPUT_HELP } from '../model_output.ts';
import { choice, emitJson, intList, intOption, UsageError } from '../options.ts';

const METRICS = ['deletion', 'insertion', 'road', 'drop', 'pointing', 'randomization'] as const;
type MetricName = (typeof METRICS)[number];

interface Opts extends ExplainOptions {
  method: string;
  metric: string;
  score: string;
  box?: string;
  step?: string;
  layers?: string;
  every?: string;
  json?: boolean | string;
}

/** One method's figures, averaged over the images. */
export interface MethodMetrics {
  method: string;
  title: string;
  deletion?: number;
  insertion?: number;
  road?: { morf: number; lerf: number; combined: number };
  drop?: { averageDrop: number; increase: number };
  pointing?: number;
  randomization?: { meanSpearmanAbs: number; spearmanAbs: number; ssim: number; passes: boolean; verdict: string; steps: number; cascade: CascadeStep[] };
  ms: number;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const f3 = (v: number | undefined) => (v === undefined ? '' : v.toFixed(3));

/** Every asked metric of one method on all the images. */
async function measure(s: ExplainSetup, m: Explainer, want: Set<MetricName>, o: { score: 'softmax' | 'logit'; box?: number[]; step?: number; layers?: number; every?: number }): Promise<MethodMetrics> {
  const t0 = performance.now();
  const [H, W, C] = s.shape;
  const n = s.images.length;
  const xs = new Float32Array(n * H * W * C);
  s.images.forEach((im, i) => xs.set(im.x, i * H * W * C));
  const run = () =>
    E.asyncTidy(async (sc) => m.run(s.model, sc.run(() => E.tensor(xs, [n, H, W, C])), { layer: s.layer, classes: classesFor(s, 0, n), score: o.score, output: s.output, preprocess: preprocessFor(s) }));
  const e = await run();
  const imgs: InputImage[] = s.images.map((_, i) => imageAt(s.model, xs, i));
  const r: MethodMetrics = { method: m.name, title: m.title, ms: 0 };
  const curve = { step: o.step };
  if (want.has('deletion')) r.deletion = mean(await Promise.all(imgs.map(async (im, i) => (await deletion(s.model, im, e.classes[i], e.maps[i], curve)).auc)));
  if (want.has('insertion')) r.insertion = mean(await Promise.all(imgs.map(async (im, i) => (await insertion(s.model, im, e.classes[i], e.maps[i], curve)).auc)));
  if (want.has('road')) {
    const rs = [];
    for (const [i, im] of imgs.entries()) rs.push(await road(s.model, im, e.classes[i], e.maps[i]));
    r.road = { morf: mean(rs.map((x) => x.morfMean)), lerf: mean(rs.map((x) => x.lerfMean)), combined: mean(rs.map((x) => x.combined)) };
  }
  if (want.has('drop')) {
    const c = await confidenceChange(s.model, imgs, e.classes, e.maps);
    r.drop = { averageDrop: c.averageDrop, increase: c.increase };
  }
  if (want.has('pointing') && o.box) {
    const [x0, y0, x1, y1] = o.box;
    r.pointing = mean(e.maps.map((map) => (pointingGame(map, H, W, { x0, y0, x1, y1 }).hit ? 1 : 0)));
  }
  if (want.has('randomization')) {
    const fixed = { ...s, classes: e.classes };
    const layers = o.layers;
    const all = cascadeLayers(s.model).map((l) => l.name);
    const c = await randomizationCascade(
      s.model,
      async () => {
        const again = await E.asyncTidy(async (sc) =>
          m.run(s.model, sc.run(() => E.tensor(xs, [n, H, W, C])), { layer: s.layer, classes: classesFor(fixed, 0, n), score: o.score, output: s.output, preprocess: preprocessFor(s) }),
        );
        return { maps: again.maps, height: H, width: W };
      },
      { layers: layers ? all.slice(0, layers) : undefined, every: o.every },
    );
    const last = c.steps[c.steps.length - 1];
    r.randomization = { meanSpearmanAbs: c.meanSpearmanAbs, spearmanAbs: last?.spearmanAbs ?? NaN, ssim: last?.ssim ?? NaN, passes: c.passes, verdict: c.verdict, steps: last?.randomised ?? 0, cascade: c.steps };
  }
  r.ms = performance.now() - t0;
  return r;
}

/** The table as text: one row per method, a column per figure (arrows say which way is better). */
export function metricsTable(rows: MethodMetrics[]): string {
  const head = ['method', 'deletion↓', 'insertion↑', 'ROAD MoRF↓', 'LeRF↑', 'combined↑', 'drop %↓', 'increase %↑', 'pointing↑', 'random ρ mean↓', 'ρ last↓', 'SSIM last↓', 'sanity', 'time'];
  const body = rows.map((r) => [
    r.title,
    f3(r.deletion),
    f3(r.insertion),
    f3(r.road?.morf),
    f3(r.road?.lerf),
    f3(r.road?.combined),
    r.drop ? r.drop.averageDrop.toFixed(1) : '',
    r.drop ? r.drop.increase.toFixed(0) : '',
    r.pointing === undefined ? '' : `${(100 * r.pointing).toFixed(0)}%`,
    f3(r.randomization?.meanSpearmanAbs),
    f3(r.randomization?.spearmanAbs),
    f3(r.randomization?.ssim),
    r.randomization ? (r.randomization.passes ? 'passes' : 'FAILS') : '',
    `${(r.ms / 1000).toFixed(1)} s`,
  ]);
  const used = head.map((_, j) => j === 0 || j === head.length - 1 || body.some((b) => b[j] !== ''));
  const cols = [head, ...body].map((row) => row.filter((_, j) => used[j]));
  const width = cols[0].map((_, j) => Math.max(...cols.map((row) => [...row[j]].length)));
  return cols.map((row) => row.map((c, j) => (j === 0 ? c.padEnd(width[j]) : c.padStart(width[j]))).join('  ')).join('\n');
}

export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna metrics --method gradcam,scorecam,eigencam --metric deletion,insertion,drop --model models/cam2.h5 --image digit.png', what: 'three methods, three metrics, one table' },
  { cmd: 'lanterna metrics --method gradcam,layercam --metric randomization --model mobilenet/model.json --image cat.jpg --layers 10', what: 'the sanity check: re-initialise the top 10 layers and compare the maps' },
  { cmd: 'lanterna metrics --method all --metric pointing --box 40,30,180,200 --weights vgg16.h5 --image dog.jpg --json', what: 'pointing game against a box (input pixels), as JSON' },
];

export function register(program: Command): void {
  program
    .command('metrics')
    .description('faithfulness of explanation methods: deletion / insertion AUC, ROAD, Average Drop, pointing game, randomization check')
    .requiredOption('--method <list>', `comma-separated methods, or all: ${Object.keys(EXPLAINERS).join(', ')}`)
    .option('--metric <list>', `comma-separated: ${METRICS.join(', ')}`, 'deletion,insertion,road,drop')
    .option('--model <file>', 'a Keras (.h5, .keras) or TF.js (model.json) model file')
    .option('--weights <file>', WEIGHTS_HELP)
    .option('--arch <name>', ARCH_HELP)
    .requiredOption('--image <files...>', 'JPEG or PNG images (the figures are means over them)')
    .option('--layer <name>', 'the layer CAM-family methods weigh (default: the last spatial layer)')
    .option('--class <list>', 'target class: one for all images or one per image (default: each image’s top-1)')
    .option('--score <s>', 'softmax or logit (gradient methods)', 'softmax')
    .option('--output <name>', OUTPUT_HELP)
    .option('--pixels <mode>', PIXELS_HELP)
    .option('--box <x0,y0,x1,y1>', 'pointing game: the object’s box in input pixels (x1, y1 exclusive; 15-pixel tolerance)')
    .option('--step <n>', 'deletion / insertion: pixels changed per step (default: one row)')
    .option('--layers <n>', 'randomization: re-initialise only the top n layers (default: all with weights)')
    .option('--every <k>', 'randomization: compare the maps after every k-th layer (and the last) instead of each')
    .option('--json [file]', 'write the figures as JSON (to stdout instead of the table, or to a file)')
    .action(async (o: Opts) => {
      checkModelSource(o);
      const methods = o.method.trim().toLowerCase() === 'all' ? Object.values(EXPLAINERS) : await userStep(() => explainersFor(o.method)).catch((e) => {
        throw new UsageError(`--method ${o.method}: ${(e as Error).message}`);
      });
      const want = new Set(o.metric.split(',').map((m) => choice('--metric', m.trim(), METRICS) as MetricName));
      const box = o.box === undefined ? undefined : intList('--box', o.box);
      if (box && box.length !== 4) throw new UsageError(`--box ${o.box}: give x0,y0,x1,y1`);
      if (want.has('pointing') && !box) throw new UsageError('--metric pointing needs --box x0,y0,x1,y1 (the object, in input pixels)');
      const score = choice('--score', o.score, ['softmax', 'logit']) as 'softmax' | 'logit';
      const step = o.step === undefined ? undefined : intOption('--step', o.step, 1);
      const layers = o.layers === undefined ? undefined : intOption('--layers', o.layers, 1);
      const every = o.every === undefined ? undefined : intOption('--every', o.every, 1);
      const log = o.json === true ? (..._: unknown[]) => {} : (...a: unknown[]) => console.log(...a);
      try {
        await init();
        const s = await setupExplain(o);
        log(`model: ${s.what}; input ${s.shape.join('×')}, ${s.pixels} pixels; CAM layer ${s.layer}; ${s.images.length} image${s.images.length > 1 ? 's' : ''}; metrics ${[...want].join(', ')}`);
        const rows: MethodMetrics[] = [];
        for (const m of methods) {
          const r = await measure(s, m, want, { score, box, step, layers, every });
          rows.push(r);
          log(`  ${m.title}: ${(r.ms / 1000).toFixed(1)} s`);
        }
        log('');
        log(metricsTable(rows));
        for (const r of rows) if (r.randomization) log(`${r.title}: ${r.randomization.verdict}`);
        if (o.json) await emitJson(o.json, { model: o.model ?? o.weights, layer: s.layer, score, images: s.images.map((i) => i.path), metrics: [...want], methods: rows });
        s.model.dispose();
      } finally {
        shutdown();
      }
    });
}
