// `lanterna gradcam`: Grad-CAM of photographs on VGG16 with Keras' ImageNet weights (the lecture's
// Program 5 and its exercises), or on any Keras model file. Prints the top-5 predictions as
// Keras' decode_predictions, the timings and the GPU memory; writes one overlay per image and
// class (jet at alpha 0.4 over the image at its own size, as the Keras Grad-CAM example), or one
// picture with the classes side by side; --json adds the raw maps.
//
// Everything that can fail on the user's input (options, images, class names, the weights file,
// the layer) fails before any output file is written; files are written whole (temp + rename).

import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { basename, extname } from 'node:path';
import { init, shutdown } from '../../engine/context.ts';
import { LanternaError } from '../../engine/errors.ts';
import { describeDevice } from '../../engine/info.ts';
import * as E from '../../engine/index.ts';
import { GradCam } from '../../explain/grad_cam.ts';
import { grid } from '../../explain/grid.ts';
import { encodeImage, overlayHeatmap, readImage, type RgbImage } from '../../explain/image_io.ts';
import { writeFileAtomic } from '../../explain/png.ts';
import { decodePredictions, type ImagePixels, topK } from '../../nn/applications/imagenet.ts';
import { VGG16_WEIGHTS_ENV } from '../../nn/applications/vgg16.ts';
import { finalSoftmax, noSoftmaxReason } from '../../nn/head.ts';
import type { Model } from '../../nn/model.ts';
import { pixelsFlag as pixelsFlagOf, PIXELS_HELP } from '../image_pixels.ts';
import { choice, colormapOption, emitJson, intOption, numberOption, UsageError } from '../options.ts';
import { ARCH_HELP, loadCliModel, WEIGHTS_HELP } from '../model_source.ts';
import { className, modelInput, parseClasses, pickLayer, userStep, withSuffix } from '../explain_input.ts';
import { chooseOutput, OUTPUT_HELP, outputSize } from '../model_output.ts';

interface GradcamOpts {
  weights?: string;
  model?: string;
  image: string[];
  layer?: string;
  output?: string;
  arch?: string;
  class?: string;
  score: string;
  colormap: string;
  alpha: string;
  out: string;
  sideBySide?: boolean;
  pixels?: string;
  top: string;
  json?: boolean | string;
}

type Pixels = ImagePixels;

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (t: number) => (t >= 10000 ? `${(t / 1000).toFixed(1)} s` : `${t.toFixed(0)} ms`);

export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna gradcam --model models/cam1.h5 --image digit.png --out digit-gradcam.png', what: "Grad-CAM of the digit's predicted class on the shipped MNIST network" },
  { cmd: 'lanterna gradcam --weights vgg16_weights_tf_dim_ordering_tf_kernels.h5 --image cat.jpg --out cat-gradcam.jpg', what: "the Keras example: VGG16's top class, last conv block" },
  { cmd: 'lanterna gradcam --weights vgg16_weights_tf_dim_ordering_tf_kernels.h5 --image cat.jpg --class tabby,bull_mastiff --side-by-side --out both.jpg', what: 'two classes side by side in one picture' },
];

export function register(program: Command): void {
  program
    .command('gradcam')
    .description('Grad-CAM of images: a Keras applications weights file (--weights: VGG16, …), or any Keras / TF.js model file (--model)')
    .option('--weights <file>', `${WEIGHTS_HELP}, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5; default: $${VGG16_WEIGHTS_ENV}`)
    .option('--arch <name>', ARCH_HELP)
    .option('--model <file>', 'a full Keras model file instead (architecture from its config), e.g. an MNIST model')
    .requiredOption('--image <files...>', 'JPEG or PNG images (the weights are loaded once for all)')
    .option('--output <name>', OUTPUT_HELP)
    .option('--layer <name>', 'layer to explain (default: the last spatial conv block\'s output: block5_conv3 for VGG16, conv_pw_13_relu for MobileNet; block4_conv3 gives 28×28)')
    .option('--class <list>', 'target classes, by index or ImageNet name: 281,243 or tabby,bull_mastiff (default: the top-1)')
    .option('--score <s>', 'differentiate the softmax output (as the lecture and the Keras example) or the logit (pre-softmax, the paper)', 'softmax')
    .option('--colormap <name>', 'jet (as Keras), inferno, viridis or gray', 'jet')
    .option('--alpha <a>', 'heatmap opacity over the image', '0.4')
    .option('--out <file>', 'overlay picture, .png or .jpg; several images or classes add _<image> / _<class> to the name', 'gradcam.png')
    .option('--side-by-side', 'several classes: one picture with their overlays side by side')
    .option('--pixels <mode>', `${PIXELS_HELP} (with --weights: the family's preprocess_input)`)
    .option('--top <n>', 'predictions to print', '5')
    .option('--json [file]', 'write the predictions and raw maps as JSON (to stdout instead of the text, or to a file)')
    .action(async (o: GradcamOpts) => {
      // --- Everything about the user's input, before the GPU and before any file.
      if (o.weights && o.model) throw new UsageError('give --weights (an applications weights file) or --model (a full model file), not both');
      const weightsPath = o.model ? undefined : (o.weights ?? process.env[VGG16_WEIGHTS_ENV]);
      if (!o.model && !weightsPath)
        throw new UsageError(`no model: give --weights vgg16_weights_tf_dim_ordering_tf_kernels.h5 (or set ${VGG16_WEIGHTS_ENV}), or --model FILE`);
      const score = choice('--score', o.score, ['softmax', 'logit']) as 'softmax' | 'logit';
      colormapOption(o.colormap);
      const alpha = numberOption('--alpha', o.alpha, 0, 1);
      const top = intOption('--top', o.top, 1);
      if (!/\.(png|jpe?g)$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the overlay is written as PNG or JPEG; name a .png, .jpg or .jpeg file`);
      const pixelsFlag = pixelsFlagOf(o.pixels);
      const jsonOnly = o.json === true;
      const log = jsonOnly ? (..._: unknown[]) => {} : (...a: unknown[]) => console.log(...a);
      const tDecode = performance.now();
      const images = await userStep(() => o.image.map((p) => ({ path: p, img: readImage(p) })));
      const decodeMs = performance.now() - tDecode;
      // An applications file's 1000 ImageNet classes are known before loading anything.
      let classes = o.model ? null : parseClasses(o.class, 1000);

      try {
        await init();
        const g = E.gpu();
        const dev = await describeDevice(g);
        // --- The model, uploaded once.
        const t0 = performance.now();
        const src = await userStep(() => loadCliModel({ model: o.model, weights: weightsPath, arch: o.arch }, pixelsFlag));
        const model: Model = src.model;
        const what = src.what;
        const pixels: Pixels = src.pixels;
        const pixelsFrom = src.pixelsFrom;
        const loadMs = performance.now() - t0;
        const shape = model.inputShape!;
        if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3))
          throw new LanternaError(`${o.model ?? weightsPath}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
        const source = o.model ?? weightsPath ?? 'VGG16';
        const output = chooseOutput(model, o.output, source);
        if (model.outputShapes[output].length !== 1)
          throw new LanternaError(`${source}: the model's output is [${model.outputShapes[output]}], not class scores: Grad-CAM needs a classifier (a file with its top)`);
        const numClasses = outputSize(model, output);
        if (o.model) classes = parseClasses(o.class, numClasses);
        if (score === 'logit' && !finalSoftmax(model.tailLayers(output))) throw new LanternaError(`${o.model ?? weightsPath}: --score logit: ${noSoftmaxReason(model.name, model.tailLayers(output))}`);
        const layer = pickLayer(model, o.layer, source);
        const weightBytes = g.pool.stats().liveBytes;
        log(`model: ${what}, ${model.countParams().toLocaleString('en-US')} parameters, loaded in ${ms(loadMs)}`);
        log(`device: ${dev.driver} (${dev.description || dev.device}); binding limit ${MiB(g.limits.maxStorageBufferBindingSize)}`);
        log(
          `Grad-CAM: layer ${layer} ${model.getLayer(layer).outputShape!.slice(0, 2).join('×')}, score ${score}` +
            (score === 'softmax' ? ' (gradient of the softmax output, as the lecture; --score logit for the paper’s pre-softmax score)' : ' (pre-softmax score, as the paper)'),
        );
        log(`input: ${shape.join('×')}, ${pixels} pixels (${pixelsFrom}); decoded ${images.length} image${images.length > 1 ? 's' : ''} in ${ms(decodeMs)}`);

        const gradcam = new GradCam(model);
        const report: unknown[] = [];
        const writes: { path: string; bytes: Uint8Array }[] = [];
        let peak = 0;
        for (const { path, img } of images) {
          g.pool.resetPeak();
          const tp = performance.now();
          const x = modelInput(img, shape, pixels);
          const prepMs = performance.now() - tp;
          const timings: { forwardMs?: number; totalMs?: number } = {};
          const targets = classes;
          const maps = await E.asyncTidy((s) =>
            gradcam.explain(s.run(() => E.tensor(x, [1, ...shape])), { layer, score, classes: targets ? [targets] : null, timings, output }),
          );
          const stats = g.pool.stats();
          peak = Math.max(peak, stats.peakLiveBytes);
          const out = maps[0].output;
          const preds =
            numClasses === 1000
              ? decodePredictions(out, top)[0]
              : topK(out, top).map(({ index, score: p }) => ({ index, wnid: '', name: String(index), probability: p }));
          // Overlays at the image's own size.
          const to = performance.now();
          const overlays = maps.map((m) => overlayHeatmap(img, m.raw, m.h, m.w, { colormap: o.colormap, alpha }));
          const stem = basename(path, extname(path));
          const base = images.length > 1 ? withSuffix(o.out, stem) : o.out;
          const files: string[] = [];
          if (maps.length > 1 && o.sideBySide) {
            const pic: RgbImage = grid(
              maps.map((m, i) => ({ ...overlays[i], caption: `${m.classIndex} ${m.probability.toFixed(3)}` })), // the caption font has digits only
              maps.length,
              4,
              Math.max(1, Math.round(img.width / 320)),
            );
            writes.push({ path: base, bytes: encodeImage(base, pic) });
            files.push(base);
          } else
            maps.forEach((m, i) => {
              const file = maps.length > 1 ? withSuffix(base, className(m.classIndex, numClasses)) : base;
              writes.push({ path: file, bytes: encodeImage(file, overlays[i]) });
              files.push(file);
            });
          const overlayMs = performance.now() - to;

          log('');
          log(`${path}: ${img.width}×${img.height} ${img.format.toUpperCase()} ${img.mode}${img.progressive ? ' progressive' : ''}${img.exifOrientation && img.exifOrientation !== 1 ? ` (EXIF orientation ${img.exifOrientation} not applied, as Keras' load_img)` : ''}`);
          if (numClasses === 1000) log(`Predicted: [${preds.map((p) => `('${p.wnid}', '${p.name}', ${p.probability.toPrecision(7)})`).join(', ')}]`);
          preds.forEach((p, i) => log(`  ${i + 1}. ${numClasses === 1000 ? `${p.name} (${p.wnid}, class ${p.index})` : `class ${p.index}`}: ${p.probability.toFixed(4)}`));
          maps.forEach((m, i) => {
            const mx = Math.max(...m.raw);
            log(`  Grad-CAM class ${m.classIndex}${numClasses === 1000 ? ` ${className(m.classIndex, numClasses)}` : ''} (p=${m.probability.toFixed(4)}): ${m.h}×${m.w} map, max ${mx.toPrecision(4)} → ${files[o.sideBySide && maps.length > 1 ? 0 : i]}`);
          });
          log(
            `  time: preprocess ${ms(prepMs)}, forward ${ms(timings.forwardMs!)}, forward + Grad-CAM ${ms(timings.totalMs!)}` +
              `${maps.length > 1 ? ` (${maps.length} classes: one forward, ${maps.length} backward passes)` : ''}, overlay ${ms(overlayMs)}`,
          );
          log(`  GPU memory: weights ${MiB(weightBytes)}, peak ${MiB(stats.peakLiveBytes)} (pool holds ${MiB(stats.liveBytes + stats.freeBytes)})`);
          report.push({
            image: path,
            width: img.width,
            height: img.height,
            format: img.format,
            mode: img.mode,
            predictions: preds.map((p) => ({ index: p.index, wnid: p.wnid || undefined, name: p.name, probability: p.probability })),
            maps: maps.map((m, i) => ({ class: m.classIndex, name: className(m.classIndex, numClasses), probability: m.probability, h: m.h, w: m.w, map: Array.from(m.raw), file: files[o.sideBySide && maps.length > 1 ? 0 : i] })),
            timings: { preprocessMs: prepMs, forwardMs: timings.forwardMs, gradcamMs: timings.totalMs, overlayMs },
            peakGpuBytes: stats.peakLiveBytes,
          });
        }
        // All computed: now the files, each whole.
        for (const w of writes) await writeFileAtomic(w.path, w.bytes);
        log(`\nwrote ${writes.map((w) => w.path).join(', ')}; peak GPU memory ${MiB(peak)} (weights ${MiB(weightBytes)})`);
        if (o.json) await emitJson(o.json, { model: o.model ?? 'vgg16', weights: weightsPath, device: dev.driver, layer, score, pixels, loadMs, weightBytes, peakGpuBytes: peak, images: report });
        model.dispose();
      } finally {
        shutdown();
      }
    });
}
