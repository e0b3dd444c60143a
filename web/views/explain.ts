// Explain an image: the user picks (or drops) a model and an image, both read locally. The model
// is a Keras file (a full model, or weights in VGG16's layout such as Keras'
// vgg16_weights_tf_dim_ordering_tf_kernels.h5), or a TF.js layers model: model.json with its
// weight shards, picked together. The page shows the top-5 predictions and the Grad-CAM of two
// classes side by side (explain/grad_cam.ts: one forward pass, one backward pass per class), with
// the target classes (searchable ImageNet names), the layer (any layer with a spatial output),
// the score (softmax or logit), the pixel preprocessing (the file's record, else chosen here),
// the colour map and the opacity as controls, and each overlay downloadable as PNG.

import { defaultImagePixels } from '../../cli/image_pixels.ts';
import * as E from '../../engine/index.ts';
import { colormapByName, COLORMAPS } from '../../explain/colormap.ts';
import { EXPLAINERS } from '../../explain/explainers.ts';
import { confidenceChange, deletion, imageAt, insertion, road } from '../../explain/metrics/index.ts';
import { overlayHeatmap, resizeNearestPil, rgbToGray, type RgbImage } from '../../explain/image_ops.ts';
import { defaultCamLayer, spatialLayers } from '../../explain/layers.ts';
import { buildFromWeights, checkWeightsFor, vgg16, vgg16OptionsFromWeights } from '../../nn/applications/vgg16.ts';
import { applications, recogniseApplication } from '../../nn/applications/index.ts';
import { IMAGE_PIXELS, type ImagePixels, imagenetClasses, imagenetClassIndex, preprocessPixels, setImagenetClassIndex, topK } from '../../nn/applications/imagenet.ts';
import { modelFromConfig } from '../../nn/from_config.ts';
import { loadWeightsInto, PREPROCESSING_ATTR, type LoadedModel, type Preprocessing } from '../../nn/model_file.ts';
import type { App } from '../app.ts';
import { fetchBytes } from '../files.ts';
import { readKerasFile } from '../keras_reader.ts';
import { isTfjsPick, loadTfjsFiles } from '../tfjs_files.ts';
import { Alert, download, h, paintRgb, Progress } from '../ui.ts';

type Pixels = ImagePixels;
type Model = LoadedModel['model'];

interface Loaded {
  model: Model;
  name: string;
  spatial: string[];
  classes: number;
}

/** A model just read, before the view takes it. */
interface Read {
  model: Model;
  name: string;
  preprocessing: Preprocessing | null;
  /** Where pixels come from when the file records none (a known architecture), else null. */
  pixels: { pixels: Pixels; from: string } | null;
}

const MB = (b: number) => `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`;
const nextFrame = () => new Promise((r) => setTimeout(r, 0));

export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const note = h('div', { class: 'note', 'aria-live': 'polite' });
  const progress = new Progress();
  // No `accept`: tfjs-converter's shards have no extension (group1-shard1of1), a filter would hide them.
  const modelIn = h('input', { id: 'explain-model', type: 'file', multiple: true, title: 'a Keras .h5 / .keras file, or a TF.js model.json with its weight shards' });
  const imageIn = h('input', { id: 'explain-image', type: 'file', accept: 'image/*' });
  const classList = h('datalist', { id: 'explain-classes' });
  const classIn = [0, 1].map((i) =>
    h('input', { id: `explain-class-${i}`, list: 'explain-classes', size: 22, placeholder: i ? 'top-2 prediction' : 'top-1 prediction', 'aria-label': `target class ${i ? 'B' : 'A'} (type to search)` }),
  );
  const methodSel = h(
    'select',
    { id: 'explain-method', title: 'explanation method' },
    ...(['cam', 'attribution'] as const).map((kind) =>
      h('optgroup', { label: kind === 'cam' ? 'CAM family' : 'pixel attributions' }, ...Object.values(EXPLAINERS).filter((m) => m.kind === kind).map((m) => h('option', { value: m.name }, m.title))),
    ),
  );
  const layerSel = h('select', { id: 'explain-layer' });
  const scoreSel = h('select', { id: 'explain-score' }, h('option', { value: 'softmax' }, 'softmax (lecture)'), h('option', { value: 'logit' }, 'logit (paper)'));
  const cmapSel = h('select', { id: 'explain-colormap' }, ...Object.keys(COLORMAPS).map((k) => h('option', { value: k }, k)));
  const alphaIn = h('input', { id: 'explain-alpha', type: 'range', min: 0, max: 1, step: 0.05, value: 0.4, 'aria-label': 'opacity of the heatmap' });
  const pixelsSel = h('select', { id: 'explain-pixels', title: 'input preprocessing' }, ...IMAGE_PIXELS.map((p) => h('option', { value: p }, p)));
  const modelInfo = h('div', { class: 'muted', id: 'explain-model-info' }, 'No model yet: pick a Keras .h5 / .keras (e.g. VGG16 weights) or a TF.js model.json with its shards, or drop them here.');
  const top5 = h('ol', { class: 'top5', id: 'explain-top5' });
  const timing = h('div', { class: 'muted', id: 'explain-timing' });
  const canvases = [0, 1].map((i) => h('canvas', { id: `explain-overlay-${i}`, class: 'overlay', role: 'img', 'aria-label': `Grad-CAM overlay ${i + 1}` }));
  const captions = [0, 1].map(() => h('figcaption'));
  const dlBtns = [0, 1].map((i) => h('button', { id: `explain-download-${i}`, disabled: true }, 'Download PNG'));
  cmapSel.value = 'jet';
  methodSel.value = 'gradcam';
  const measureBtn = h('button', { id: 'explain-measure', disabled: true, title: 'deletion / insertion AUC (RISE), ROAD and Average Drop of class A’s map' }, 'Measure faithfulness');
  const metricsOut = h('table', { id: 'explain-metrics', class: 'metrics' });

  root.append(
    h('div', { class: 'controls' }, h('label', {}, 'model (Keras, or TF.js model.json + shards) ', modelIn), h('label', {}, 'image ', imageIn)),
    progress.el,
    alert.el,
    note,
    modelInfo,
    h('div', { class: 'controls' },
      h('label', {}, 'class A ', classIn[0]), h('label', {}, 'class B ', classIn[1]), classList,
      h('label', {}, 'method ', methodSel), h('label', {}, 'layer ', layerSel), h('label', {}, 'gradient of ', scoreSel),
      h('label', {}, 'colormap ', cmapSel), h('label', {}, 'opacity ', alphaIn), h('label', {}, 'pixels ', pixelsSel)),
    h('div', { class: 'row' },
      h('div', { class: 'card' }, h('h3', {}, 'top-5'), top5, timing, h('h3', {}, 'faithfulness'), measureBtn, metricsOut),
      h('div', { class: 'card', style: 'flex: 1 1 420px' },
        h('div', { class: 'pair', id: 'explain-pair' }, ...[0, 1].map((i) => h('figure', {}, captions[i], canvases[i], dlBtns[i]))))),
  );

  let loaded: Loaded | null = null;
  let image: (RgbImage & { name: string }) | null = null;
  let chosenLayer: string | null = null;
  // raw: the map as the method gives it (a CAM at its layer's h×w); full: at the model input's size.
  let maps: { raw: Float32Array; full: Float32Array; h: number; w: number; classIndex: number; probability: number }[] = [];
  let lastInput: Float32Array | null = null;
  let classIndexReady: Promise<void> | null = null;

  const setState = (s: 'loading' | 'done' | 'error') => (root.dataset.state = s);
  const fail = (e: unknown) => {
    alert.show(e);
    progress.hide();
    setState('error');
  };

  const className = (k: number) => (loaded?.classes === 1000 ? imagenetClasses()[k].name : `class ${k}`);
  const classLabel = (k: number) => (loaded?.classes === 1000 ? `${imagenetClasses()[k].name} (${k})` : `class ${k}`);

  /** A Keras file, read in a worker: a full model, or weights in VGG16's layout. */
  async function readKeras(file: File): Promise<Read> {
    progress.set(0, `reading ${file.name}`);
    const kf = await readKerasFile(
      file,
      (d, t) => progress.set((0.5 * d) / t, `reading ${file.name}: ${MB(d)} / ${MB(t)}`),
      () => progress.set(null, `reading the Keras layout and weights of ${file.name} (${MB(file.size)}), in a worker…`),
    );
    progress.set(0.75, 'building the model and uploading the weights to the GPU…');
    await nextFrame();
    let read: Read;
    if (kf.modelConfig) {
      const model = modelFromConfig(kf.modelConfig as any, file.name, { kerasVersion: kf.kerasVersion }).build();
      loadWeightsInto(model, kf, file.name);
      const recorded = kf.extraAttrs[PREPROCESSING_ATTR];
      read = { model, name: file.name, preprocessing: recorded ? (JSON.parse(recorded) as Preprocessing) : null, pixels: null };
    } else {
      // VGG16's layout at any width (our test files too), else an official applications file.
      const o = vgg16OptionsFromWeights(kf);
      const app = o ? null : recogniseApplication(kf);
      if (o) {
        const model = vgg16(o);
        buildFromWeights(model, checkWeightsFor(model, kf, file.name));
        read = { model, name: file.name, preprocessing: null, pixels: { pixels: 'caffe', from: "VGG16's preprocess_input" } };
      } else if (app) {
        let model: Model;
        if (app.app.fromWeights) model = app.app.fromWeights(kf, file.name, app.options);
        else {
          model = app.app.build(app.options);
          app.app.loadWeights(model, kf, file.name);
        }
        read = { model, name: file.name, preprocessing: null, pixels: { pixels: app.app.pixels, from: `${app.app.kerasName}'s preprocess_input` } };
      } else
        throw new Error(
          `${file.name}: holds weights only (no model_config), and its layers match none of the known architectures (${applications().map((a) => a.name).join(', ')}); give a full model file (Keras model.save)`,
        );
    }
    for (const l of kf.layers) for (const w of l.weights) w.data = new Float32Array(0); // host copies: on the GPU now
    return read;
  }

  /** A TF.js layers model: model.json and its shards among `files`, read on this thread through MEMFS. */
  async function readTfjs(files: File[]): Promise<Read> {
    progress.set(0, `reading ${files.length} files`);
    const r = await loadTfjsFiles(files, (d, t) => progress.set((0.75 * d) / t, `reading ${files.length} files: ${MB(d)} / ${MB(t)}`));
    const name = `${r.json.name} + ${r.shards.length} shard${r.shards.length === 1 ? '' : 's'}`;
    return { model: r.model, name, preprocessing: r.preprocessing, pixels: null };
  }

  async function loadModelFiles(files: File[]) {
    alert.clear();
    note.textContent = '';
    setState('loading');
    try {
      if (loaded?.classes !== 1000) classIndexReady ??= fetchBytes('assets/imagenet_class_index.json').then((b) => setImagenetClassIndex(JSON.parse(new TextDecoder().decode(b))));
      await classIndexReady;
      const t0 = performance.now();
      const read = isTfjsPick(files) ? await readTfjs(files) : await readKeras(files[0]);
      const { model, name } = read;
      const shape = model.inputShape!;
      const spatial = spatialLayers(model);
      const refuse = (msg: string): never => {
        model.dispose();
        throw new Error(`${name}: ${msg}`);
      };
      if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) refuse(`the model's input is [${shape}], not an image [H, W, 1 or 3]`);
      if (!spatial.length) refuse(`the model has no layer with a spatial output [H, W, C] to explain (layers: ${model.layers.map((l) => l.name).join(', ')})`);
      const classes = model.outputShape.reduce((a, b) => a * b, 1);
      // The file's record; else a known architecture; else a guess the user can change here.
      const px =
        read.preprocessing?.pixels ? { pixels: read.preprocessing.pixels as Pixels, from: 'recorded in the file' }
        : read.pixels ?? defaultImagePixels({ model, preprocessing: null }) ?? { pixels: 'caffe' as Pixels, from: 'a guess for a 1000-class model: pick its own below' };
      if (!IMAGE_PIXELS.includes(px.pixels)) refuse(`the file records pixels '${px.pixels}', not one of ${IMAGE_PIXELS.join(', ')}`);
      loaded?.model.dispose();
      clearResults();
      loaded = { model, name, spatial, classes };
      pixelsSel.value = px.pixels;
      pixelsSel.disabled = !!read.preprocessing?.pixels;
      layerSel.replaceChildren(...spatial.map((c) => h('option', { value: c }, `${c} ${model.getLayer(c).outputShape!.join('×')}`)));
      classList.replaceChildren(...Array.from({ length: classes }, (_, k) => h('option', { value: classes === 1000 ? `${imagenetClasses()[k].name} (${k})` : String(k) })));
      const params = model.countParams();
      modelInfo.textContent = `${name}: ${model.layers.length} layers, ${params.toLocaleString('en-US')} parameters, input ${shape.join('×')}, ${classes} classes, ${px.pixels} pixels (${px.from}); loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      progress.hide();
      const fallback = defaultCamLayer(model)!;
      if (chosenLayer && !spatial.includes(chosenLayer)) {
        const wanted = chosenLayer;
        chosenLayer = null;
        layerSel.value = fallback;
        throw new Error(`${name} has no layer '${wanted}'; its layers with a spatial output are ${spatial.join(', ')}. Pick one in the layer list.`);
      }
      layerSel.value = chosenLayer ?? fallback;
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
    return preprocessPixels(x, pixelsSel.value as Pixels, C);
  }

  async function compute() {
    if (!loaded || !image) {
      note.textContent = !loaded ? 'Now pick a model (Keras file, or TF.js model.json + shards).' : 'Now pick an image.';
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
      const method = EXPLAINERS[methodSel.value];
      const [H, W, C] = model.inputShape!;
      // First the predictions (for the default classes), then each class's map.
      const result = await app.gpu(
        async () => {
          const x = E.tensor(x0, [1, ...model.inputShape!]);
          try {
            const probs = (await E.tidy(() => E.noGrad(() => model.forward(x).output).data())) as Float32Array;
            const best = topK(probs, 5);
            const targets = [targetClass(0, best[0].index), targetClass(1, best[Math.min(1, best.length - 1)].index)];
            const t1 = performance.now();
            const preprocess = (px: Float32Array) => preprocessPixels(px, pixelsSel.value as Pixels, C);
            const m = [];
            for (const k of targets) {
              const e = await method.run(model, x, { layer, score, classes: [k], preprocess });
              m.push({ raw: e.raw?.maps[0] ?? e.maps[0], full: e.maps[0], h: e.raw?.h ?? H, w: e.raw?.w ?? W, classIndex: k, probability: probs[k] });
            }
            return { probs, best, m, ms: performance.now() - t1 };
          } finally {
            x.dispose();
          }
        },
        { pauseTraining: true },
      );
      maps = result.m;
      lastInput = x0;
      metricsOut.replaceChildren();
      measureBtn.disabled = false;
      top5.replaceChildren(...result.best.map((b) => h('li', {}, `${classLabel(b.index)}: ${b.score.toFixed(4)}`)));
      timing.textContent = `${method.title} of 2 classes: ${result.ms.toFixed(0)} ms (all: ${(performance.now() - t0).toFixed(0)} ms)`;
      render();
      setState('done');
    } catch (e) {
      fail(e);
    }
  }

  /** Forgets the maps of a previous model (they would describe the wrong network). */
  function clearResults() {
    maps = [];
    lastInput = null;
    measureBtn.disabled = true;
    metricsOut.replaceChildren();
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
      const method = EXPLAINERS[methodSel.value];
      captions[i].textContent = `${method.title}: ${classLabel(m.classIndex)}, p = ${m.probability.toFixed(4)}${method.kind === 'cam' ? ` — ${layerSel.value} ${m.h}×${m.w}` : ''}, ${scoreSel.value}`;
      dlBtns[i].disabled = false;
    });
    colormapByName(cmapSel.value);
  }

  modelIn.addEventListener('change', () => {
    const files = [...(modelIn.files ?? [])];
    modelIn.value = ''; // so that picking the same files again reloads them
    if (files.length) void loadModelFiles(files);
  });
  // Files dropped anywhere on the view: one image is the image, anything else the model.
  root.addEventListener('dragover', (e) => {
    if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
  });
  root.addEventListener('drop', (e) => {
    const files = [...(e.dataTransfer?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    if (files.length === 1 && files[0].type.startsWith('image/')) void loadImageFile(files[0]);
    else void loadModelFiles(files);
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
  methodSel.addEventListener('change', () => void compute());
  measureBtn.addEventListener('click', () => void measure());

  /** The faithfulness figures of class A's map (explain/metrics/), in the panel. */
  async function measure() {
    if (!loaded || !lastInput || !maps.length) return;
    alert.clear();
    setState('loading');
    measureBtn.disabled = true;
    try {
      const { model } = loaded;
      const m = maps[0];
      const img = imageAt(model, lastInput, 0);
      const r = await app.gpu(
        async () => {
          const del = await deletion(model, img, m.classIndex, m.full);
          const ins = await insertion(model, img, m.classIndex, m.full);
          const rd = await road(model, img, m.classIndex, m.full);
          const drop = await confidenceChange(model, [img], [m.classIndex], [m.full]);
          return { del: del.auc, ins: ins.auc, road: rd, drop: drop.averageDrop };
        },
        { pauseTraining: true },
      );
      const row = (k: string, v: string, hint: string) => h('tr', {}, h('th', {}, k), h('td', { class: 'num' }, v), h('td', { class: 'muted' }, hint));
      metricsOut.replaceChildren(
        h('caption', {}, `${EXPLAINERS[methodSel.value].title}, ${classLabel(m.classIndex)}`),
        row('deletion AUC', r.del.toFixed(3), 'lower is better'),
        row('insertion AUC', r.ins.toFixed(3), 'higher is better'),
        row('ROAD MoRF / LeRF', `${r.road.morfMean.toFixed(3)} / ${r.road.lerfMean.toFixed(3)}`, 'low / high'),
        row('Average Drop', `${r.drop.toFixed(1)} %`, 'lower is better'),
      );
      setState('done');
    } catch (e) {
      fail(e);
    } finally {
      measureBtn.disabled = !maps.length;
    }
  }
  pixelsSel.addEventListener('change', () => void compute());
  for (const c of classIn) c.addEventListener('change', () => void compute());
  cmapSel.addEventListener('change', render);
  alphaIn.addEventListener('input', render);
  dlBtns.forEach((b, i) =>
    b.addEventListener('click', () =>
      canvases[i].toBlob((blob) => {
        if (!blob) return alert.show('the overlay could not be encoded as PNG');
        const m = maps[i];
        download(blob, `${methodSel.value.replace(/\W+/g, '')}_${(image?.name ?? 'image').replace(/\.\w+$/, '')}_${className(m.classIndex).replace(/\W+/g, '_')}.png`, 'image/png');
      }, 'image/png'),
    ),
  );
  setState('done');
  return {};
}
