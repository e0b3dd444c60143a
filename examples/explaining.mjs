// Explaining: a Keras (.h5, .keras) or TF.js (model.json) file, an image read and preprocessed as
// Keras does, Grad-CAM through the engine's own backward pass, and the map over the image as a PNG.
//   node explaining.mjs [model] [image] [pixels: unit|inverted|caffe|tf|torch]
// Without arguments: the package's MNIST network cam2.h5 and the digit in digit7.png.
import * as L from 'lanterna';

const here = (f) => new URL(f, import.meta.url).pathname;
const shipped = (f) => new URL(f, import.meta.resolve('lanterna/package.json')).pathname;
const [modelPath = shipped('models/cam2.h5'), imagePath = here('digit7.png'), pixelsArg] = process.argv.slice(2);

await L.init();
const { model, preprocessing } = await L.loadModel(modelPath);
const [h, w, channels] = model.inputShape;
const img = L.loadImg(imagePath, { targetSize: [h, w], colorMode: channels === 1 ? 'grayscale' : 'rgb' });
const pixels = pixelsArg ?? preprocessing?.pixels ?? 'unit'; // our files record it; Keras' do not
const x = L.keep(L.tensor(L.preprocessPixels(img.pixels, pixels, channels), [1, h, w, channels]));

const layer = L.defaultCamLayer(model); // the last layer with a spatial map
const [map] = await new L.GradCam(model).explain(x, { layer });
console.log(`${modelPath}: class ${map.classIndex} (p = ${map.probability.toFixed(4)}), Grad-CAM at '${layer}' (${map.h}×${map.w})`);

const overlay = L.overlayHeatmap(img.source, map.raw, map.h, map.w, { colormap: 'jet', alpha: 0.4 });
await L.writePng('gradcam.png', overlay);
console.log(`wrote gradcam.png (${overlay.width}×${overlay.height})`);
L.shutdown();
