// `lanterna explain`: several explanation methods on the same images, side by side — one picture
// per image (the input, then one overlay per method, at the model's input size), the time of each
// method, and with --json every map at the input's resolution.

import type { Command } from 'commander';
import { basename, extname } from 'node:path';
import { init, shutdown } from '../../engine/context.ts';
import * as E from '../../engine/index.ts';
import { EXPLAINERS, explainersFor, type Explanation } from '../../explain/explainers.ts';
import { enlarge, grid } from '../../explain/grid.ts';
import { encodeImage, overlayHeatmap, resizeNearestPil, type RgbImage } from '../../explain/image_io.ts';
import { writeFileAtomic } from '../../explain/png.ts';
import { topK } from '../../nn/applications/imagenet.ts';
import { confidenceChange, deletion, imageAt, insertion, road } from '../../explain/metrics/index.ts';
import type { Model } from '../../nn/model.ts';
import type { Example } from '../help.ts';
import { classesFor, preprocessFor, setupExplain, userStep, withSuffix, type ExplainOptions } from '../explain_input.ts';
import { PIXELS_HELP } from '../image_pixels.ts';
import { ARCH_HELP, checkModelSource, WEIGHTS_HELP } from '../model_source.ts';
import { OUTPUT_HELP } from '../model_output.ts';
import { choice, colormapOption, emitJson, intOption, numberOption, UsageError } from '../options.ts';

interface Opts extends ExplainOptions {
  method: string;
  metrics?: string;
  step?: string;
  score: string;
  colormap: string;
  alpha: string;
  columns?: string;
  out: string;
  json?: boolean | string;
}

const ms = (t: number) => (t >= 10000 ? `${(t / 1000).toFixed(1)} s` : `${t.toFixed(0)} ms`);

/** The image at the model's input size (RGB), enlarged to at least ~224 pixels for small inputs. */
export function displayImage(img: { rgb: Uint8Array; width: number; height: number }, h: number, w: number): RgbImage {
  const small: RgbImage = { rgb: resizeNearestPil(img.rgb, img.width, img.height, 3, w, h), width: w, height: h };
  const f = Math.max(1, Math.floor(224 / Math.max(h, w)));
  return f > 1 ? enlarge(small, f) : small;
}

const CAPTION_METRICS = ['deletion', 'insertion', 'road', 'drop'] as const;
type CaptionMetric = (typeof CAPTION_METRICS)[number];

/** The asked metrics of one map, for the tile's caption (short names) and the JSON. */
async function mapMetrics(model: Model, x: Float32Array, cls: number, map: Float32Array, want: CaptionMetric[], step?: number): Promise<Record<string, number>> {
  const img = imageAt(model, x, 0);
  const r: Record<string, number> = {};
  for (const m of want) {
    if (m === 'deletion') r.deletion = (await deletion(model, img, cls, map, { step })).auc;
    if (m === 'insertion') r.insertion = (await insertion(model, img, cls, map, { step })).auc;
    if (m === 'road') r.road = (await road(model, img, cls, map)).combined;
    if (m === 'drop') r.drop = (await confidenceChange(model, [img], [cls], [map])).averageDrop;
  }
  return r;
}

const SHORT: Record<string, string> = { deletion: 'DEL', insertion: 'INS', road: 'ROAD', drop: 'DROP' };
const captionOf = (title: string, m: Record<string, number>) =>
  [title.toUpperCase(), ...Object.entries(m).map(([k, v]) => `${SHORT[k]} ${k === 'drop' ? v.toFixed(0) + '%' : v.toFixed(2)}`)].join(' ');

/**
 * What a tile shows of a pixel attribution: |value| clipped at its 99th percentile (Captum's
 * visualisation: a few extreme pixels would otherwise leave the rest invisible). CAM maps as they are.
 */
export function displayMap(map: Float32Array, kind: 'cam' | 'attribution'): Float32Array {
  if (kind === 'cam') return map;
  const a = map.map(Math.abs);
  const sorted = Float32Array.from(a).sort();
  const top = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] || 1;
  return a.map((v) => Math.min(1, v / top));
}

export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna explain --method gradcam,gradcam++,scorecam,eigencam --model models/cam2.h5 --image digit.png --out methods.png', what: 'four CAM methods side by side on an MNIST network' },
  { cmd: 'lanterna explain --method all --weights vgg16_weights_tf_dim_ordering_tf_kernels.h5 --image cat.jpg --class tabby --metrics deletion,insertion', what: 'every method on VGG16 for one class, with two faithfulness figures under each' },
  { cmd: 'lanterna explain --method gradcam,hirescam --model mobilenet/model.json --image cat.jpg --layer conv_pw_11_relu --json maps.json', what: 'a chosen layer, and the maps as JSON' },
];

export function register(program: Command): void {
  program
    .command('explain')
    .description('several explanation methods on the same images, side by side (CAM family and pixel attributions)')
    .requiredOption('--method <list>', `comma-separated methods, or all: ${Object.keys(EXPLAINERS).join(', ')}`)
    .option('--model <file>', 'a Keras (.h5, .keras) or TF.js (model.json) model file')
    .option('--weights <file>', WEIGHTS_HELP)
    .option('--arch <name>', ARCH_HELP)
    .requiredOption('--image <files...>', 'JPEG or PNG images')
    .option('--layer <name>', 'the layer CAM-family methods weigh (default: the last spatial layer)')
    .option('--class <list>', 'target class (index, or ImageNet name for 1000-class models): one for all images or one per image (default: each image’s top-1)')
    .option('--score <s>', 'softmax or logit (gradient methods)', 'softmax')
    .option('--output <name>', OUTPUT_HELP)
    .option('--pixels <mode>', PIXELS_HELP)
    .option('--colormap <name>', 'jet, inferno, viridis or gray', 'jet')
    .option('--alpha <a>', 'heatmap opacity', '0.5')
    .option('--metrics <list>', `faithfulness figures under each tile: ${CAPTION_METRICS.join(', ')} (lanterna metrics has them all)`)
    .option('--step <n>', 'with --metrics deletion / insertion: pixels changed per step (default: one row)')
    .option('--columns <n>', 'tiles per row (default: all in one row)')
    .option('--out <file>', 'picture (.png or .jpg); several images add _<image> to the name', 'explain.png')
    .option('--json [file]', 'also write every map (at the input size) as JSON, to stdout or a file')
    .action(async (o: Opts) => {
      checkModelSource(o);
      const methods = o.method.trim().toLowerCase() === 'all' ? Object.values(EXPLAINERS) : await userStep(() => explainersFor(o.method)).catch((e) => {
        throw new UsageError(`--method ${o.method}: ${(e as Error).message}`);
      });
      const score = choice('--score', o.score, ['softmax', 'logit']) as 'softmax' | 'logit';
      const colormap = colormapOption(o.colormap);
      const alpha = numberOption('--alpha', o.alpha, 0, 1);
      const columns = o.columns === undefined ? methods.length + 1 : intOption('--columns', o.columns, 1);
      const want = o.metrics === undefined ? [] : o.metrics.split(',').map((m) => choice('--metrics', m.trim(), CAPTION_METRICS) as CaptionMetric);
      const step = o.step === undefined ? undefined : intOption('--step', o.step, 1);
      if (!/\.(png|jpe?g)$/i.test(o.out)) throw new UsageError(`--out ${o.out}: name a .png, .jpg or .jpeg file`);
      const log = o.json === true ? (..._: unknown[]) => {} : (...a: unknown[]) => console.log(...a);
      try {
        await init();
        const s = await setupExplain(o);
        const [H, W] = s.shape;
        log(`model: ${s.what}; input ${s.shape.join('×')}, ${s.pixels} pixels (${s.pixelsFrom}); CAM layer ${s.layer}; score ${score}`);
        const writes: { path: string; bytes: Uint8Array }[] = [];
        const report: unknown[] = [];
        for (const [i, { path, img, x }] of s.images.entries()) {
          const probs = await s.model.predict(x, 1, s.output);
          const top = topK(probs, Math.min(5, probs.length));
          const display = displayImage(img, H, W);
          const tiles = [{ ...display, caption: `INPUT ${top[0].index} ${top[0].score.toFixed(2)}` }];
          const results: (Explanation & { ms: number; figures: Record<string, number> })[] = [];
          log(`\n${path}: top-1 class ${top[0].index} (p = ${top[0].score.toFixed(4)})`);
          for (const m of methods) {
            const t0 = performance.now();
            const e = await E.asyncTidy(async (sc) => m.run(s.model, sc.run(() => E.tensor(x, [1, ...s.shape])), { layer: s.layer, classes: classesFor(s, i, 1), score, output: s.output, preprocess: preprocessFor(s) }));
            const t = performance.now() - t0;
            const figures = await mapMetrics(s.model, x, e.classes[0], e.maps[0], want, step);
            results.push({ ...e, ms: t, figures });
            tiles.push({ ...overlayHeatmap(display, displayMap(e.maps[0], m.kind), H, W, { colormap, alpha }), caption: captionOf(e.title, figures) });
            log(`  ${e.title.padEnd(22)} class ${e.classes[0]}  ${ms(t).padStart(7)}${want.length ? '  ' + captionOf('', figures).trim().toLowerCase() : ''}`);
          }
          const pic = grid(tiles, columns, 4, Math.max(1, Math.round(display.width / 160)));
          const file = s.images.length > 1 ? withSuffix(o.out, basename(path, extname(path))) : o.out;
          writes.push({ path: file, bytes: encodeImage(file, pic) });
          report.push({
            image: path,
            predictions: top.map((p) => ({ index: p.index, probability: p.score })),
            file,
            methods: results.map((r) => ({ method: r.method, title: r.title, class: r.classes[0], ms: r.ms, metrics: r.figures, height: r.height, width: r.width, map: Array.from(r.maps[0]) })),
          });
        }
        for (const w of writes) await writeFileAtomic(w.path, w.bytes);
        log(`\nwrote ${writes.map((w) => w.path).join(', ')}`);
        if (o.json) await emitJson(o.json, { model: o.model ?? o.weights, layer: s.layer, score, pixels: s.pixels, images: report });
        s.model.dispose();
      } finally {
        shutdown();
      }
    });
}
