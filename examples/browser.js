// The page's script (examples/browser.html, or bundled by esbuild): gradients, then Grad-CAM of the
// package's MNIST network on digit7.png, drawn on a canvas. Files arrive by fetch, as bytes.
import * as L from 'lanterna';

const out = document.getElementById('out');
const log = (s) => (out.textContent += s + '\n');
const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());

try {
  await L.init();
  const x = L.keep(L.tensor([0.5, -1.2, 2.0], [3]).requireGrad());
  L.tidy(() => L.backward(L.sum(L.mul(x, x))));
  log(`d(Σx²)/dx = ${Array.from(await x.grad.data()).join(' ')}`);

  const { model, preprocessing } = await L.loadModelFromBytes(await bytes('../node_modules/lanterna/models/cam2.h5'), 'cam2.h5');
  const [h, w, c] = model.inputShape;
  const img = L.loadImg(L.decodeImage(await bytes('digit7.png'), 'digit7.png'), { targetSize: [h, w], colorMode: 'grayscale' });
  const input = L.keep(L.tensor(L.preprocessPixels(img.pixels, preprocessing?.pixels ?? 'unit', c), [1, h, w, c]));
  const [map] = await new L.GradCam(model).explain(input, { layer: L.defaultCamLayer(model) });
  log(`class ${map.classIndex} (p = ${map.probability.toFixed(4)}), Grad-CAM ${map.h}×${map.w}`);

  const overlay = L.overlayHeatmap(img.source, map.raw, map.h, map.w);
  const canvas = document.getElementById('overlay');
  const rgba = new ImageData(overlay.width, overlay.height);
  for (let i = 0; i < overlay.width * overlay.height; i++) rgba.data.set([...overlay.rgb.subarray(3 * i, 3 * i + 3), 255], 4 * i);
  const tmp = new OffscreenCanvas(overlay.width, overlay.height);
  tmp.getContext('2d').putImageData(rgba, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  document.body.dataset.status = 'ok';
} catch (e) {
  log(`error: ${e.message}`);
  document.body.dataset.status = 'error';
}
