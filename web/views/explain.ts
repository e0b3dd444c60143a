// Explain an image: the user picks a Keras file (a full model, or weights in VGG16's layout such
// as Keras' vgg16_weights_tf_dim_ordering_tf_kernels.h5) and an image, both read locally. The page
// shows the top-5 predictions and the Grad-CAM of two classes side by side (explain/grad_cam.ts:
// one forward pass, one backward pass per class), with the target classes (searchable ImageNet
// names), the layer (any conv layer), the score (softmax or logit), the colour map and the opacity
// as controls, and each overlay downloadable as PNG.

import * as E from '../../engine/index.ts';
import { colormapByName, COLORMAPS } from '../../explain/colormap.ts';
import { GradCam } from '../../explain/grad_cam.ts';
import { overlayHeatmap, resizeNearestPil, rgbToGray, type RgbImage } from '../../explain/image_ops.ts';
import { buildFromWeights, checkWeightsFor, vgg16, vgg16OptionsFromWeights } from '../../nn/applications/vgg16.ts';
import { type ImagePixels, imagenetClasses, imagenetClassIndex, preprocessPixels, setImagenetClassIndex, topK } from '../../nn/applications/imagenet.ts';
import { modelFromConfig } from '../../nn/from_config.ts';
import { Conv2D } from '../../nn/layers/conv2d.ts';
import { loadWeightsInto, PREPROCESSING_ATTR } from '../../nn/model_file.ts';
import type { Model } from '../../nn/model.ts';
import type { App } from '../app.ts';
import { fetchBytes } from '../files.ts';
import { readKerasFile } from '../keras_reader.ts';
import { Alert, download, h, paintRgb, Progress } from '../ui.ts';

type Pixels = ImagePixels;

interface Loaded {
  model: Model;
  name: string;
  pixels: Pixels;
  convs: string[];
  classes: number;
}

const MB = (b: number) => `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`;
const nextFrame = () => new Promise((r) => setTimeout(r, 0));

export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const note = h('div', { class: 'note', 'aria-live': 'polite' });
  const progress = new Progress();
  const modelIn = h('input', { id: 'explain-model', type: 'file', accept: '.h5,.hdf5,.keras' });
  const imageIn = h('input', { id: 'explain-image', type: 'file', accept: 'image/*' });
  const classList = h('datalist', { id: 'explain-classes' });
  const classIn = [0, 1].map((i) =>
    h('input', { id: `explain-class-${i}`, list: 'explain-classes', size: 22, placeholder: i ? 'top-2 prediction' : 'top-1 prediction', 'aria-label': `target class ${i ? 'B' : 'A'} (type to search)` }),
  );
  const layerSel = h('select', { id: 'explain-layer' });
  const scoreSel = h('select', { id: 'explain-score' }, h('option', { value: 'softmax' }, 'softmax (lecture)'), h('option', { value: 'logit' }, 'logit (paper)'));
  const cmapSel = h('select', { id: 'explain-colormap' }, ...Object.keys(COLORMAPS).map((k) => h('option', { value: k }, k)));
  const alphaIn = h('input', { id: 'explain-alpha', type: 'range', min: 0, max: 1, step: 0.05, value: 0.4, 'aria-label': 'opacity of the heatmap' });
  const pixelsSel = h('select', { id: 'explain-pixels', title: 'input preprocessing' },
    h('option', { value: 'auto' }, 'auto'), ...['caffe', 'unit', 'inverted', 'raw', 'tf'].map((p) => h('option', { value: p }, p)));
  const modelInfo = h('div', { class: 'muted', id: 'explain-model-info' }, 'No model yet: pick a Keras .h5 (e.g. VGG16 weights).');
  const top5 = h('ol', { class: 'top5', id: 'explain-top5' });
  const timing = h('div', { class: 'muted', id: 'explain-timing' });
  const canvases = [0, 1].map((i) => h('canvas', { id: `explain-overlay-${i}`, class: 'overlay', role: 'img', 'aria-label': `Grad-CAM overlay ${i + 1}` }));
  const captions = [0, 1].map(() => h('figcaption'));
  const dlBtns = [0, 1].map((i) => h('button', { id: `explain-download-${i}`, disabled: true }, 'Download PNG'));
  cmapSel.value = 'jet';

  root.append(
    h('div', { class: 'controls' }, h('label', {}, 'Keras model ', modelIn), h('label', {}, 'image ', imageIn)),
    progress.el,
    alert.el,
    note,
    modelInfo,
    h('div', { class: 'controls' },
      h('label', {}, 'class A ', classIn[0]), h('label', {}, 'class B ', classIn[1]), classList,
      h('label', {}, 'layer ', layerSel), h('label', {}, 'gradient of ', scoreSel),
      h('label', {}, 'colormap ', cmapSel), h('label', {}, 'opacity ', alphaIn), h('label', {}, 'pixels ', pixelsSel)),
    h('div', { class: 'row' },
      h('div', { class: 'card' }, h('h3', {}, 'top-5'), top5, timing),
      h('div', { class: 'card', style: 'flex: 1 1 420px' },
        h('div', { class: 'pair', id: 'explain-pair' }, ...[0, 1].map((i) => h('figure', {}, captions[i], canvases[i], dlBtns[i]))))),
  );

  let loaded: Loaded | null = null;
  let image: (RgbImage & { name: string }) | null = null;
  let chosenLayer: string | null = null;
  let maps: { raw: Float32Array; h: number; w: number; classIndex: number; probability: number }[] = [];
  let classIndexReady: Promise<void> | null = null;

  const setState = (s: 'loading' | 'done' | 'error') => (root.dataset.state = s);
  const fail = (e: unknown) => {
    alert.show(e);
    progress.hide();
    setState('error');
  };

  const className = (k: number) => (loaded?.classes === 1000 ? imagenetClasses()[k].name : `class ${k}`);
  const classLabel = (k: number) => (loaded?.classes === 1000 ? `${imagenetClasses()[k].name} (${k})` : `class ${k}`);

  async function loadModelFile(file: File) {
    alert.clear();
    note.textContent = '';
    setState('loading');
    try {
      if (loaded?.classes !== 1000) classIndexReady ??= fetchBytes('assets/imagenet_class_index.json').then((b) => setImagenetClassIndex(JSON.parse(new TextDecoder().decode(b))));
      await classIndexReady;
      const t0 = performance.now();
      progress.set(0, `reading ${file.name}`);
      const kf = await readKerasFile(
        file,
        (d, t) => progress.set((0.5 * d) / t, `reading ${file.name}: ${MB(d)} / ${MB(t)}`),
        () => progress.set(null, `reading the Keras layout and weights of ${file.name} (${MB(file.size)}), in a worker…`),
      );
      progress.set(0.75, 'building the model and uploading the weights to the GPU…');
      await nextFrame();
      let model: Model;
      let pixels: Pixels;
      const recorded = kf.extraAttrs[PREPROCESSING_ATTR];
      if (kf.modelConfig) {
        model = modelFromConfig(kf.modelConfig as any, file.name).build();
        loadWeightsInto(model, kf, file.name);
        pixels = recorded ? (JSON.parse(recorded).pixels as Pixels) : 'unit';
      } else {
        const o = vgg16OptionsFromWeights(kf);
        if (!o)
          throw new Error(`${file.name}: holds weights only (no model_config), and not in VGG16's layer layout, so the architecture is unknown; give a full model file (Keras model.save)`);
        model = vgg16(o);
        buildFromWeights(model, checkWeightsFor(model, kf, file.name));
        pixels = 'caffe';
      }
      for (const l of kf.layers) for (const w of l.weights) w.data = new Float32Array(0); // host copies: on the GPU now
      const shape = model.inputShape!;
      if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) {
        model.dispose();
        throw new Error(`${file.name}: the model's input is [${shape}], not an image [H, W, 1 or 3]`);
      }
      const convs = model.layers.filter((l) => l instanceof Conv2D).map((l) => l.name);
      if (!convs.length) {
        model.dispose();
        throw new Error(`${file.name}: the model has no Conv2D layer to explain (layers: ${model.layers.map((l) => l.name).join(', ')})`);
      }
      loaded?.model.dispose();
      clearResults();
      const classes = model.outputShape.reduce((a, b) => a * b, 1);
      loaded = { model, name: file.name, pixels, convs, classes };
      layerSel.replaceChildren(...convs.map((c) => h('option', { value: c }, `${c} ${model.getLayer(c).outputShape!.slice(0, 2).join('×')}`)));
      classList.replaceChildren(...Array.from({ length: classes }, (_, k) => h('option', { value: classes === 1000 ? `${imagenetClasses()[k].name} (${k})` : String(k) })));
      const params = model.countParams();
      modelInfo.textContent = `${file.name}: ${model.layers.length} layers, ${params.toLocaleString('en-US')} parameters, input ${shape.join('×')}, ${classes} classes, ${pixels} pixels${recorded ? ' (recorded in the file)' : ''}; loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      progress.hide();
      if (chosenLayer && !convs.includes(chosenLayer)) {
        const wanted = chosenLayer;
        chosenLayer = null;
        layerSel.value = convs[convs.length - 1];
        throw new Error(`${file.name} has no layer '${wanted}'; its conv layers are ${convs.join(', ')}. Pick one in the layer list.`);
      }
      layerSel.value = chosenLayer ?? convs[convs.length - 1];
      await compute();
    } catch (e) {
      fail(e);
    }
  }

  async function loadImageFile(file: File) {
    alert.clear();
    setState('loading');
    try {
      let bmp: ImageBitmap;
      try {
        bmp = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'none' } as ImageBitmapOptions);
      } catch (e) {
        throw new Error(`${file.name}: cannot be decoded as an image (${(e as Error).message || 'unknown format'}); pick a JPEG, PNG, GIF, WebP or BMP file`);
      }
      const c = document.createElement('canvas');
      c.width = bmp.width;
      c.height = bmp.height;
      const ctx = c.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(bmp, 0, 0);
      bmp.close();
      const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
      const rgb = new Uint8Array(c.width * c.height * 3);
      for (let i = 0, n = c.width * c.height; i < n; i++) {
        rgb[3 * i] = rgba[4 * i];
        rgb[3 * i + 1] = rgba[4 * i + 1];
        rgb[3 * i + 2] = rgba[4 * i + 2];
      }
      image = { width: c.width, height: c.height, rgb, name: file.name };
      await compute();
    } catch (e) {
      fail(e);
    }
  }

  function targetClass(i: number, fallback: number): number {
    const s = classIn[i].value.trim();
    if (!s) return fallback;
    const m = /\((\d+)\)\s*$/.exec(s) ?? /^(\d+)$/.exec(s);
    const n = loaded!.classes;
    if (m) {
      const k = Number(m[1]);
      if (k >= n) throw new Error(`class ${k}: the model has ${n} classes (0..${n - 1})`);
      return k;
    }
    if (n !== 1000) throw new Error(`class '${s}': class names are ImageNet's; this model has ${n} classes, give an index 0..${n - 1}`);
    return imagenetClassIndex(s);
  }

  function modelInput(): Float32Array {
    const [H, W, C] = loaded!.model.inputShape!;
    const img = image!;
    const px = C === 1 ? resizeNearestPil(rgbToGray(img.rgb), img.width, img.height, 1, W, H) : resizeNearestPil(img.rgb, img.width, img.height, 3, W, H);
    const x = Float32Array.from(px);
    const mode = pixelsSel.value === 'auto' ? loaded!.pixels : (pixelsSel.value as Pixels);
    return preprocessPixels(x, mode, C);
  }

  async function compute() {
    if (!loaded || !image) {
      note.textContent = !loaded ? 'Now pick a Keras model file.' : 'Now pick an image.';
      setState('done');
      return;
    }
    note.textContent = '';
    alert.clear();
    setState('loading');
    try {
      const { model } = loaded;
      const layer = layerSel.value;
      const score = scoreSel.value as 'softmax' | 'logit';
      const x0 = modelInput();
      const t0 = performance.now();
      const timings: { forwardMs?: number; totalMs?: number } = {};
      // First the predictions (for the default classes), then both classes' maps in one call.
      const result = await app.gpu(
        async () => {
          const x = E.tensor(x0, [1, ...model.inputShape!]);
          try {
            const probs = (await E.tidy(() => E.noGrad(() => model.forward(x).output).data())) as Float32Array;
            const best = topK(probs, 5);
            const targets = [targetClass(0, best[0].index), targetClass(1, best[Math.min(1, best.length - 1)].index)];
            const m = await new GradCam(model).explain(x, { layer, score, classes: [targets], timings });
            return { probs, best, m };
          } finally {
            x.dispose();
          }
        },
        { pauseTraining: true },
      );
      maps = result.m;
      top5.replaceChildren(...result.best.map((b) => h('li', {}, `${classLabel(b.index)}: ${b.score.toFixed(4)}`)));
      timing.textContent = `forward + Grad-CAM of 2 classes: ${timings.totalMs!.toFixed(0)} ms (all: ${(performance.now() - t0).toFixed(0)} ms)`;
      render();
      setState('done');
    } catch (e) {
      fail(e);
    }
  }

  /** Forgets the maps of a previous model (they would describe the wrong network). */
  function clearResults() {
    maps = [];
    top5.replaceChildren();
    timing.textContent = '';
    canvases.forEach((c, i) => {
      c.width = c.height = 0;
      captions[i].textContent = '';
      dlBtns[i].disabled = true;
    });
  }

  function render() {
    if (!image || !maps.length) return;
    const alpha = Number(alphaIn.value);
    maps.forEach((m, i) => {
      paintRgb(canvases[i], overlayHeatmap(image!, m.raw, m.h, m.w, { colormap: cmapSel.value, alpha }));
      captions[i].textContent = `${classLabel(m.classIndex)}, p = ${m.probability.toFixed(4)} — ${layerSel.value} ${m.h}×${m.w}, ${scoreSel.value}`;
      dlBtns[i].disabled = false;
    });
    colormapByName(cmapSel.value);
  }

  modelIn.addEventListener('change', () => {
    const f = modelIn.files?.[0];
    modelIn.value = ''; // so that picking the same file again reloads it
    if (f) void loadModelFile(f);
  });
  imageIn.addEventListener('change', () => {
    const f = imageIn.files?.[0];
    imageIn.value = '';
    if (f) void loadImageFile(f);
  });
  layerSel.addEventListener('change', () => {
    chosenLayer = layerSel.value;
    void compute();
  });
  scoreSel.addEventListener('change', () => void compute());
  pixelsSel.addEventListener('change', () => void compute());
  for (const c of classIn) c.addEventListener('change', () => void compute());
  cmapSel.addEventListener('change', render);
  alphaIn.addEventListener('input', render);
  dlBtns.forEach((b, i) =>
    b.addEventListener('click', () =>
      canvases[i].toBlob((blob) => {
        if (!blob) return alert.show('the overlay could not be encoded as PNG');
        const m = maps[i];
        download(blob, `gradcam_${(image?.name ?? 'image').replace(/\.\w+$/, '')}_${className(m.classIndex).replace(/\W+/g, '_')}.png`, 'image/png');
      }, 'image/png'),
    ),
  );
  setState('done');
  return {};
}
