// `lanterna predict --model FILE --image IMG…`: a model's top-k classes for images, printed as
// Keras' decode_predictions (or, --json, as {"model", "images": [{"image", "predictions":
// [{"index", "label", "score"}]}]}; label is the ImageNet name for 1000-class outputs, else null).
//
// Pixels: cli/image_pixels.ts (--pixels, the file's record, a known application, else unit).

import { ARCH_HELP, checkModelSource, loadCliModel, WEIGHTS_HELP } from '../model_source.ts';
import { chooseOutput, OUTPUT_HELP, outputSize } from '../model_output.ts';
import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { init, shutdown } from '../../engine/context.ts';
import { LanternaError } from '../../engine/errors.ts';
import { loadImg, readImage } from '../../explain/image_io.ts';
import { imagenetClasses, preprocessPixels, topK } from '../../nn/applications/imagenet.ts';
import { pixelsFlag, PIXELS_HELP } from '../image_pixels.ts';
import { intOption } from '../options.ts';

interface PredictOpts {
  model?: string;
  weights?: string;
  arch?: string;
  image: string[];
  pixels?: string;
  top: string;
  output?: string;
  json?: boolean;
}

async function oneLine<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
}

/** Shown by `lanterna predict --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna predict --model models/cam1.h5 --image digit.png', what: 'the digit a picture shows, by the shipped MNIST network' },
  { cmd: 'lanterna predict --weights resnet50_weights_tf_dim_ordering_tf_kernels.h5 --image cat.jpg --top 3', what: "ImageNet's top 3 by ResNet50 from Keras' official weights file" },
  { cmd: 'lanterna predict --model mobilenet/model.json --image cat.jpg dog.jpg --json', what: 'a TF.js model, two images, the result as JSON' },
];

export function register(program: Command): void {
  program
    .command('predict')
    .description("a model's top classes for images (Keras .h5/.keras, or a TF.js model.json or its folder)")
    .option('--model <file>', 'Keras model file, or TF.js model.json (or the folder holding it)')
    .option('--weights <file>', WEIGHTS_HELP)
    .option('--arch <name>', ARCH_HELP)
    .requiredOption('--image <files...>', 'JPEG or PNG images, resized to the model input as Keras load_img (nearest)')
    .option('--pixels <mode>', PIXELS_HELP)
    .option('--top <n>', 'classes to print per image', '5')
    .option('--output <name>', OUTPUT_HELP)
    .option('--json', 'print {"model", "images": [{"image", "predictions": [{"index", "label", "score"}]}]} instead of text')
    .action(async (o: PredictOpts) => {
      const top = intOption('--top', o.top, 1);
      const flag = pixelsFlag(o.pixels);
      checkModelSource(o);
      const images = await oneLine(() => o.image.map((path) => ({ path, img: readImage(path) })));
      try {
        await init();
        const src = await loadCliModel({ model: o.model, weights: o.weights, arch: o.arch }, flag);
        const model = src.model;
        const where = src.path;
        const shape = model.inputShape!;
        if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3))
          throw new LanternaError(`${where}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
        const output = chooseOutput(model, o.output, where);
        const numClasses = outputSize(model, output);
        const imagenet = numClasses === 1000;
        const { pixels, pixelsFrom: from } = src;
        const [h, w, c] = shape;
        const per = h * w * c;
        const x = new Float32Array(images.length * per);
        images.forEach(({ img }, i) => {
          const px = loadImg(img, { targetSize: [h, w], colorMode: c === 1 ? 'grayscale' : 'rgb' }).pixels;
          x.set(preprocessPixels(px, pixels, c), i * per);
        });
        const y = await model.predict(x, 8, output);
        const classes = imagenet ? imagenetClasses() : null;
        const results = images.map(({ path }, i) => ({
          image: path,
          predictions: topK(y, top, i * numClasses, numClasses).map(({ index, score }) => ({ index, label: classes ? classes[index].name : null, score })),
        }));
        if (o.json) console.log(JSON.stringify({ model: where, images: results }, null, 1));
        else {
          console.log(`model: ${src.what}, input ${shape.join('×')}, ${pixels} pixels (${from}), ${numClasses} outputs`);
          for (const r of results) {
            console.log(`\n${r.image}:`);
            if (classes) console.log(`Predicted: [${r.predictions.map((p) => `('${classes[p.index].wnid}', '${p.label}', ${p.score.toPrecision(7)})`).join(', ')}]`);
            r.predictions.forEach((p, k) => console.log(`  ${k + 1}. ${classes ? `${p.label} (${classes[p.index].wnid}, class ${p.index})` : `class ${p.index}`}: ${p.score.toFixed(4)}`));
          }
        }
        model.dispose();
      } finally {
        shutdown();
      }
    });
}
