// `lanterna cam`: class activation maps of MNIST test digits from a GAP network (the lecture's
// Programs 2 and 4), saved as one PNG grid with the predicted class and probability per tile;
// with --image, CAM of photographs on any GAP → Dense / 1×1 Conv2D network (cam_images.ts).

import { OUTPUT_HELP } from '../model_output.ts';
import { ARCH_HELP, WEIGHTS_HELP } from '../model_source.ts';
import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { existsSync } from 'node:fs';
import { LanternaError } from '../../engine/errors.ts';
import { init, shutdown } from '../../engine/context.ts';
import * as E from '../../engine/index.ts';
import { Cam } from '../../explain/cam.ts';
import { colormapByName } from '../../explain/colormap.ts';
import { grid } from '../../explain/grid.ts';
import { mnistCamTile } from '../../explain/mnist_tiles.ts';
import { writePng } from '../../explain/png.ts';
import { loadMnist } from '../../nn/data/mnist.ts';
import { addInputOptions, digitsAsInput, type InputFlags, loadMnistModel, mnistInputShape, pixelModeFor } from '../mnist_input.ts';
import { choice, colormapOption, emitJson, intList, intOption, UsageError } from '../options.ts';
import { shipped } from '../paths.ts';
import { camImages } from './cam_images.ts';

interface CamOpts extends InputFlags {
  model?: string;
  weights?: string;
  arch?: string;
  image?: string[];
  alpha?: string;
  images: string;
  index?: string;
  class?: string;
  layer?: string;
  upsample: string;
  colormap: string;
  out: string;
  json?: boolean | string;
  columns: string;
}

export const DEFAULT_MODEL = 'models/cam2.h5';

/** Shown by `lanterna cam --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna cam --images 10 --out cam.png', what: 'CAM of the first 10 test digits by the shipped cam2 network, as one PNG grid' },
  { cmd: 'lanterna cam --model models/cam1.h5 --index 0,7,42 --upsample bilinear --out cam1.png', what: "the coarse 3×3 maps of cam1 for three chosen digits" },
  { cmd: 'lanterna cam --model mobilenet.h5 --image cat.jpg --out cat-cam.jpg', what: 'CAM of a photograph on any network ending in global average pooling' },
];

export function register(program: Command): void {
  addInputOptions(program.command('cam').description('class activation maps (CAM) of MNIST test digits as one PNG grid, or of images (--image) as overlays'))
    .option('--model <file>', `model ending in GlobalAveragePooling2D → Dense or 1×1 Conv2D (Reshape/Dropout/Flatten between allowed): Keras .h5/.keras or TF.js model.json (default: the shipped ${DEFAULT_MODEL})`)
    .option('--weights <file>', `with --image: ${WEIGHTS_HELP} (Xception: the lecture's exercise)`)
    .option('--arch <name>', ARCH_HELP)
    .option('--image <files...>', 'explain these JPEG/PNG images instead of MNIST digits (needs --model or --weights); --pixels then takes caffe, tf, torch, unit, raw or inverted, defaulting as `predict`')
    .option('--alpha <a>', 'with --image: heatmap opacity over the image', '0.4')
    .option('--images <n>', 'the first N test digits', '10')
    .option('--index <list>', 'these test digits instead, e.g. 0,7,42')
    .option('--class <c>', 'map this class instead of each digit’s (image’s) prediction; with --image an ImageNet name works too')
    .option('--layer <name>', 'feature layer (default: the one before global average pooling)')
    .option('--output <name>', OUTPUT_HELP)
    .option('--upsample <mode>', 'nearest (as the lecture), bilinear or none', 'nearest')
    .option('--colormap <name>', 'inferno (as the lecture), jet, viridis or gray', 'inferno')
    .option('--columns <n>', 'tiles per row', '10')
    .option('--json [file]', 'also write the raw maps and predictions as JSON (to stdout, or to a file)')
    .option('--out <file>', 'output PNG', 'cam.png')
    .action(async (o: CamOpts) => {
      if (o.image) {
        if (!o.model && !o.weights) throw new UsageError('--image needs --model or --weights (a network ending in global average pooling and a Dense or 1×1 Conv2D classifier)');
        return camImages({ ...o, image: o.image });
      }
      const upsample = choice('--upsample', o.upsample, ['nearest', 'bilinear', 'none']);
      const lut = colormapByName(colormapOption(o.colormap));
      if (!/\.png$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the CAM grid is written as PNG; name a .png file`);
      const idx = o.index ? intList('--index', o.index) : [...Array(intOption('--images', o.images, 1)).keys()];
      const cls = o.class !== undefined ? intOption('--class', o.class, 0) : null;
      const columns = intOption('--columns', o.columns, 1);
      const modelPath = o.model ?? shipped(DEFAULT_MODEL);
      if (!existsSync(modelPath)) throw new LanternaError(`${modelPath}: no such model file${o.model ? '' : ' (the shipped default is missing: train one with `lanterna train --preset cam2`)'}`);
      try {
        await init();
        const loaded = await loadMnistModel(modelPath, o);
        const model = loaded.model;
        const shape = mnistInputShape(model.inputShape, modelPath);
        const { mode } = pixelModeFor(loaded, o, modelPath);
        const test = await loadMnist({ split: 'test' });
        for (const i of idx) if (i >= test.n) throw new UsageError(`--index ${i}: the test set has ${test.n} digits (0..${test.n - 1})`);
        const pixels = idx.map((i) => test.images.subarray(i * 784, (i + 1) * 784));
        const x = new Float32Array(idx.length * 784);
        pixels.forEach((p, k) => x.set(digitsAsInput(p, mode), k * 784));
        const cam = new Cam(model);
        const layer = o.layer ?? cam.defaultLayer();
        const maps = await E.asyncTidy((s) =>
          cam.explain(s.run(() => E.tensor(x, [idx.length, ...shape])), {
            layer,
            classes: cls === null ? null : idx.map(() => cls),
            upsample: upsample === 'none' ? undefined : { size: [28, 28], mode: upsample as 'nearest' | 'bilinear' },
          }),
        );
        const tiles = maps.map((m, k) => {
          const values = m.upsampled ?? nearestTo28(m.raw, m.h, m.w);
          return mnistCamTile(pixels[k], values, lut, `${m.classIndex} ${m.probability.toFixed(3)}`);
        });
        await writePng(o.out, grid(tiles, columns));
        const h = maps[0].h;
        // With a bare --json, stdout carries the JSON alone: the report goes to stderr.
        const say = o.json === true ? (t: string) => console.error(t) : (t: string) => console.log(t);
        say(`${modelPath}: CAM from layer '${layer}' (${h}×${maps[0].w}), ${upsample} upsampling, ${idx.length} digits → ${o.out}`);
        for (const [k, m] of maps.entries())
          say(`  digit #${idx[k]} (label ${test.labels[idx[k]]}): class ${m.classIndex} p=${m.probability.toFixed(5)}`);
        if (o.json) await emitJson(o.json, {
              model: modelPath,
              layer,
              upsample,
              images: maps.map((m, k) => ({ index: idx[k], label: test.labels[idx[k]], class: m.classIndex, probability: m.probability, h: m.h, w: m.w, cam: Array.from(m.raw) })),
            });
        model.dispose();
      } finally {
        shutdown();
      }
    });
}

/** With --upsample none, tiles still need 28×28: repeat each map cell (blocky, honest). */
function nearestTo28(raw: Float32Array, h: number, w: number): Float32Array {
  return Float32Array.from({ length: 784 }, (_, i) => raw[Math.floor((Math.floor(i / 28) * h) / 28) * w + Math.floor(((i % 28) * w) / 28)]);
}
