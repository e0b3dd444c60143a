// The same library under Deno (WebGPU is Deno's own): gradients, then Grad-CAM of the package's
// MNIST network on digit7.png. Run from a project where lanterna is installed (npm i lanterna):
//   deno run -A deno.ts
import * as L from 'lanterna';

await L.init();
const x = L.keep(L.tensor([0.5, -1.2, 2.0], [3]).requireGrad());
L.tidy(() => L.backward(L.sum(L.mul(x, x))));
const g = await x.grad!.data();
console.log('d(Σx²)/dx =', Array.from(g).join(' '));

const shipped = new URL('models/cam2.h5', import.meta.resolve('lanterna/package.json'));
const { model, preprocessing } = await L.loadModel(shipped.pathname);
const [h, w, c] = model.inputShape!;
const img = L.loadImg(new URL('digit7.png', import.meta.url).pathname, { targetSize: [h, w], colorMode: 'grayscale' });
const input = L.keep(L.tensor(L.preprocessPixels(img.pixels, preprocessing?.pixels ?? 'unit', c), [1, h, w, c]));
const [map]: L.CamMap[] = await new L.GradCam(model).explain(input, { layer: L.defaultCamLayer(model) ?? undefined });
console.log(`Deno ${Deno.version.deno}: class ${map.classIndex} (p = ${map.probability.toFixed(4)}), Grad-CAM ${map.h}×${map.w}`);
L.shutdown();
