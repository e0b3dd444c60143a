// `lanterna predict --model FILE --image IMG…`: a model's top-k classes for images, printed as
// Keras' decode_predictions (or, --json, as {"model", "images": [{"image", "predictions":
// [{"index", "label", "score"}]}]}; label is the ImageNet name for 1000-class outputs, else null).
//
// Pixels: --pixels, else the model file's recorded preprocessing, else a known Keras application
// recognised by its layer names (MobileNet → tf, VGG → caffe). An unknown 1000-class RGB model
// has no safe default (caffe, tf and torch models all exist and a wrong guess gives confident
// nonsense), so it asks for --pixels; other models (MNIST-like) default to unit x/255.

import type { Command } from 'commander';
import { init, shutdown } from '../../engine/context.ts';
import { LanternaError } from '../../engine/errors.ts';
import { loadImg, readImage } from '../../explain/image_io.ts';
import { IMAGE_PIXELS, type ImagePixels, imagenetClasses, preprocessPixels, topK } from '../../nn/applications/imagenet.ts';
import { loadModel } from '../../nn/model_file.ts';
import type { Sequential } from '../../nn/sequential.ts';
import { choice, intOption } from '../options.ts';

interface PredictOpts {
  model: string;
  image: string[];
  pixels?: string;
  top: string;
  json?: boolean;
}

/** Keras applications whose layer names give their preprocess_input away. */
function knownApplication(model: Sequential): { name: string; pixels: ImagePixels } | null {
  const has = (n: string) => model.layers.some((l) => l.name === n);
  if (has('conv_pw_1') && has('conv_dw_1')) return { name: 'MobileNet', pixels: 'tf' };
  if (has('block1_conv1') && has('fc1') && has('predictions')) return { name: 'VGG', pixels: 'caffe' };
  return null;
}

async function oneLine<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof LanternaError ? e : new LanternaError((e as Error).message);
  }
}

export function register(program: Command): void {
  program
    .command('predict')
    .description("a model's top classes for images (Keras .h5/.keras, or a TF.js model.json or its folder)")
    .requiredOption('--model <file>', 'Keras model file, or TF.js model.json (or the folder holding it)')
    .requiredOption('--image <files...>', 'JPEG or PNG images, resized to the model input as Keras load_img (nearest)')
    .option(
      '--pixels <mode>',
      `input preprocessing: caffe (VGG, ResNet), tf x/127.5−1 (MobileNet, Xception), torch (x/255−mean)/std (DenseNet), unit x/255, raw, inverted 1−x/255. ` +
        `Default: the file's record; else MobileNet tf and VGG caffe by their layer names; other 1000-class models must give it; else unit`,
    )
    .option('--top <n>', 'classes to print per image', '5')
    .option('--json', 'print {"model", "images": [{"image", "predictions": [{"index", "label", "score"}]}]} instead of text')
    .action(async (o: PredictOpts) => {
      const top = intOption('--top', o.top, 1);
      const pixelsFlag = o.pixels === undefined ? undefined : (choice('--pixels', o.pixels, IMAGE_PIXELS) as ImagePixels);
      const images = await oneLine(() => o.image.map((path) => ({ path, img: readImage(path) })));
      try {
        await init();
        const loaded = await oneLine(() => loadModel(o.model));
        const model = loaded.model;
        const shape = model.inputShape!;
        if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3))
          throw new LanternaError(`${o.model}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
        const numClasses = model.outputShape.reduce((a, b) => a * b, 1);
        const imagenet = numClasses === 1000;
        const app = knownApplication(model);
        const recorded = loaded.preprocessing?.pixels as ImagePixels | undefined;
        let pixels = pixelsFlag ?? recorded ?? app?.pixels;
        const from = pixelsFlag ? '--pixels' : recorded ? 'recorded in the file' : app ? `${app.name}'s preprocess_input, from its layer names` : 'default';
        if (!pixels) {
          if (imagenet && shape[2] === 3)
            throw new LanternaError(`${o.model}: a 1000-class model with no recorded preprocessing: give --pixels (caffe for VGG/ResNet, tf for MobileNet/Xception, torch for DenseNet)`);
          pixels = 'unit';
        }
        const [h, w, c] = shape;
        const per = h * w * c;
        const x = new Float32Array(images.length * per);
        images.forEach(({ img }, i) => {
          const px = loadImg(img, { targetSize: [h, w], colorMode: c === 1 ? 'grayscale' : 'rgb' }).pixels;
          x.set(preprocessPixels(px, pixels!, c), i * per);
        });
        const y = await model.predict(x, 8);
        const classes = imagenet ? imagenetClasses() : null;
        const results = images.map(({ path }, i) => ({
          image: path,
          predictions: topK(y, top, i * numClasses, numClasses).map(({ index, score }) => ({ index, label: classes ? classes[index].name : null, score })),
        }));
        if (o.json) console.log(JSON.stringify({ model: o.model, images: results }, null, 1));
        else {
          console.log(`model: ${o.model} (${loaded.file.format}), input ${shape.join('×')}, ${pixels} pixels (${from}), ${numClasses} outputs`);
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
