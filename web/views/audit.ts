// Audit: the tank story in the page. cam1 is trained here (nn/fit.ts's Trainer, Adam, batch 50) on
// 3000 MNIST digits that carry a spurious cue of their class (nn/data/shortcut.ts: the 'mark' in
// the top-left corner, or the 'weather' of the background). Every few steps the view measures, on
// 200 test digits, the accuracy with and without the cue and how many predictions a swapped cue
// changes, and redraws six test digits with their maps, so the maps can be seen moving onto the
// corner. Then a digit drawn on the pad (or a test digit) gets the cue of any class, and the
// prediction follows the cue, while the clean cam1 keeps reading the digit.
// Which maps: docs/TANK.md measured that at cam1's last layer (3×3, each cell sees the whole digit)
// no method points at the mark; LayerCAM at max_pooling2d_1 and Grad-CAM at max_pooling2d_2 do.

import * as E from '../../engine/index.ts';
import { measureMap } from '../../explain/audit/measures.ts';
import type { CamMap, CamMethod } from '../../explain/cam_base.ts';
import { colormapByName } from '../../explain/colormap.ts';
import { GradCam } from '../../explain/grad_cam.ts';
import type { Tile } from '../../explain/grid.ts';
import { LayerCam } from '../../explain/layer_cam.ts';
import { mnistCamTile } from '../../explain/mnist_tiles.ts';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, parseIdx, parseIdxHeader } from '../../nn/data/idx.ts';
import { toFloat, type Mnist, type PixelMode } from '../../nn/data/mnist.ts';
import { drawCue, MARK_SIZE, markMask, shortcutSet, type CueKind } from '../../nn/data/shortcut.ts';
import { Trainer } from '../../nn/fit.ts';
import type { Model } from '../../nn/model.ts';
import { preset } from '../../nn/presets.ts';
import type { App } from '../app.ts';
import { fetchBytes } from '../files.ts';
import { InkPad } from '../pad.ts';
import { Alert, guarded, h, paintRgb, ProbBars, Progress } from '../ui.ts';
import { shippedModel } from './draw.ts';

const TRAIN_DIGITS = 3000;
const BATCH = 50;
/** Adam's step: twice Keras' default, which learns the mark in 80 steps instead of 100 (measured). */
const LR = 0.002;
const EVAL_DIGITS = 200;
const STRIP = 6;
const SIDE = 28;
const NO_MODEL = 'No model yet: train one (about a hundred steps learn the mark) or load the shipped one.';

/** The maps offered, by the layers where docs/TANK.md found them pointing at the mark (or not). */
const MAPS = {
  'layercam@max_pooling2d_1': { label: 'LayerCAM at max_pooling2d_1 (7×7)', make: (m: Model): CamMethod => new LayerCam(m), layer: 'max_pooling2d_1' },
  'gradcam@max_pooling2d_2': { label: 'Grad-CAM at max_pooling2d_2 (3×3)', make: (m: Model): CamMethod => new GradCam(m), layer: 'max_pooling2d_2' },
  'gradcam@conv2d_3': { label: "Grad-CAM at cam1's last layer conv2d_3 (3×3: misses the mark)", make: (m: Model): CamMethod => new GradCam(m), layer: 'conv2d_3' },
} as const;
type MapName = keyof typeof MAPS;

/** One measurement on the test digits during training (read by the end-to-end test). */
export interface AuditEval {
  /** Training steps done. */
  step: number;
  /** Seconds since training started (loading excluded). */
  seconds: number;
  /** Accuracy with each digit's own cue. */
  withCue: number;
  /** Accuracy with no cue (the digits as MNIST has them). */
  noCue: number;
  /** Share of predictions that change when the cue is swapped for another class's. */
  flip: number;
  /** Share of swapped digits predicted as the new cue's class. */
  follows: number;
  /** For the mark: of the strip's digits, how many maps peak on the mark. */
  peaks: number;
}

let trainBytes: Promise<Mnist> | null = null;
let testBytes: Promise<Mnist> | null = null;

/**
 * The first `bytes` bytes of a same-origin file, and its whole size; the rest is not downloaded
 * (3000 training digits are 2.4 MB of the 47 MB file).
 */
async function fetchPrefix(url: string, bytes: number, progress?: (f: number) => void): Promise<{ head: Uint8Array; size: number }> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  const size = Number(res.headers.get('content-length') ?? 0);
  const head = new Uint8Array(bytes);
  let got = 0;
  const reader = res.body.getReader();
  while (got < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    head.set(value.subarray(0, bytes - got), got);
    got += value.length;
    progress?.(Math.min(1, got / bytes));
  }
  await reader.cancel();
  if (got < bytes) throw new Error(`${url}: ${got} bytes, fewer than the ${bytes} needed`);
  return { head, size: size || got };
}

/** The first `keep` digits of an MNIST split from the page's assets (web/build.ts copies them). */
async function loadSplit(prefix: 'train' | 't10k', keep: number, progress?: (f: number) => void): Promise<Mnist> {
  const name = `${prefix}-images-idx3-ubyte`;
  const { head, size } = await fetchPrefix(`assets/mnist/${name}`, 16 + keep * 784, progress);
  const h = parseIdxHeader(head.subarray(0, 16), name, size, IDX_UBYTE_IMAGES);
  const labs = parseIdx(await fetchBytes(`assets/mnist/${prefix}-labels-idx1-ubyte`), `${prefix}-labels-idx1-ubyte`, IDX_UBYTE_LABELS);
  if (h.dims[0] !== labs.dims[0]) throw new Error(`MNIST ${prefix}: ${h.dims[0]} images but ${labs.dims[0]} labels`);
  if (h.dims[0] < keep || h.dims[1] !== 28 || h.dims[2] !== 28) throw new Error(`${name}: ${h.dims.join('×')} digits, expected at least ${keep}×28×28`);
  return { images: head.slice(16), labels: labs.data.slice(0, keep), n: keep, rows: 28, cols: 28 };
}

function argmax(p: ArrayLike<number>, at = 0, n = 10): number {
  let top = 0;
  for (let c = 1; c < n; c++) if (p[at + c] > p[at + top]) top = c;
  return top;
}

/** A map tile with the mark's corner outlined (dark dashes), so that "on the corner" can be read. */
function tileOf(bytes: Uint8Array, map: ArrayLike<number>, kind: CueKind, scale: number): Tile {
  const t = mnistCamTile(bytes, map, colormapByName('jet'), '', scale);
  if (kind !== 'mark') return t;
  const edge = MARK_SIZE * scale;
  for (let k = 0; k <= edge; k++)
    if ((k >> 1) % 2 === 0)
      for (const [x, y] of [[k, edge], [edge, k]]) if (x < t.width && y < t.height) t.rgb.set([20, 20, 20], 3 * (y * t.width + x));
  return t;
}

/** Builds the Audit view in `root`; GPU work of the pad goes through `app.gpu`, training runs between its steps. */
export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const progress = new Progress();
  const cueSel = h('select', { id: 'audit-cue' }, h('option', { value: 'mark' }, 'mark (8×8 corner pattern)'), h('option', { value: 'weather' }, 'weather (background brightness)'));
  const corrSel = h('select', { id: 'audit-corr', title: 'how often a training digit carries its own class’s cue (else another class’s)' },
    h('option', { value: '1' }, '1'), h('option', { value: '0.95' }, '0.95'), h('option', { value: '0.8' }, '0.8'));
  const mapSel = h('select', { id: 'audit-map' }, ...Object.entries(MAPS).map(([k, v]) => h('option', { value: k }, v.label)));
  const stepsIn = h('input', { id: 'audit-steps', type: 'number', min: 10, max: 5000, step: 10, value: 300, size: 5, title: 'the training stops after this many steps; Train again for more' });
  const trainBtn = h('button', { id: 'audit-train' }, 'Train');
  const resetBtn = h('button', { id: 'audit-reset', title: 'forget the model' }, 'Reset');
  const loadBtn = h('button', { id: 'audit-load', title: 'the model `lanterna train --shortcut` made (20 000 digits, 3 or 2 epochs)' }, 'Load the shipped model');
  const modelLine = h('div', { class: 'muted', id: 'audit-model' }, NO_MODEL);
  const stats = h('div', { class: 'stats', id: 'audit-stats', 'aria-live': 'off' }, 'not started');
  const evalLine = h('div', { class: 'stats', id: 'audit-eval', 'aria-live': 'polite' });
  const curves = h('canvas', { class: 'curves', id: 'audit-curves', width: 460, height: 230, role: 'img', 'aria-label': 'loss, accuracy and flip rate during training' });
  const stripTitle = h('h3', {});
  const strip = h('div', { class: 'tiles', id: 'audit-strip' });
  const mapNote = h('div', { class: 'muted', id: 'audit-map-note' });

  const pad = new InkPad('audit-pad', () => {
    testLabel = null;
    changed();
  });
  const clearBtn = h('button', { id: 'audit-clear', onclick: () => pad.clear() }, 'Clear');
  const testIndexIn = h('input', { id: 'audit-test-index', type: 'number', min: 0, max: 999, value: 0, size: 4, title: 'which of MNIST’s test digits' });
  const testBtn = h('button', { id: 'audit-test-digit', title: 'put this MNIST test digit on the pad (then the next one)' }, 'Test digit');
  const cueChoices: (string | number)[] = ['none', 'own', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const cueBtns = cueChoices.map((c) =>
    h('button', { id: `audit-cue-${c}`, 'aria-pressed': 'false', onclick: () => setCue(c) }, c === 'none' ? 'none' : c === 'own' ? 'own class' : String(c)));
  const seen = h('canvas', { id: 'audit-seen', class: 'pix camview', role: 'img', 'aria-label': 'the digit with its cue, and the map of the predicted class' });
  const seenTitle = h('h3', {}, 'what the model sees');
  const predicted = h('div', { class: 'big', id: 'audit-predicted', 'aria-live': 'polite' }, '–');
  const bars = new ProbBars(Array.from({ length: 10 }, (_, c) => String(c)), () => undefined);
  const cleanSeen = h('canvas', { id: 'audit-clean-map', class: 'pix camview', role: 'img', 'aria-label': 'the clean cam1’s map on the same image' });
  const cleanLine = h('div', { id: 'audit-clean' }, '–');
  const verdictLine = h('div', { class: 'note', id: 'audit-verdict', 'aria-live': 'polite' });

  root.append(
    h('div', { class: 'controls' },
      h('label', {}, 'cue ', cueSel), h('label', {}, 'correlation in training ', corrSel), h('label', {}, 'steps ', stepsIn), trainBtn, resetBtn, loadBtn, h('label', {}, 'map ', mapSel)),
    modelLine,
    alert.el,
    progress.el,
    h('div', { class: 'row' },
      h('div', { class: 'card' }, h('h3', {}, 'loss (blue), batch accuracy (orange), cue swap flips (red)'), curves, stats, evalLine),
      h('div', { class: 'card' }, stripTitle, strip, mapNote)),
    h('h2', {}, 'Draw a digit, then change its cue'),
    h('div', { class: 'row' },
      h('div', { class: 'card' }, pad.el, h('div', { class: 'controls' }, clearBtn, testBtn, h('label', {}, '# ', testIndexIn))),
      h('div', { class: 'card' },
        h('div', { class: 'cue-picker', role: 'group', 'aria-label': 'the cue drawn on the digit' }, 'cue: ', ...cueBtns),
        h('div', { class: 'pair' },
          h('figure', { class: 'audit-fig' }, seenTitle, seen, h('div', {}, 'prediction ', predicted), bars.el),
          h('figure', { class: 'audit-fig' }, h('h3', {}, 'the clean cam1, same image and map'), cleanSeen, cleanLine)),
        verdictLine)),
  );

  type State = 'idle' | 'loading' | 'running' | 'stopping' | 'paused';
  const ui = { state: 'idle' as State, losses: [] as number[], accs: [] as number[], evals: [] as AuditEval[], source: '' };
  (globalThis as any).lanternaAudit = ui;
  let model: Model | null = null;
  let trainer: Trainer | null = null;
  let shipped = false;
  let kind: CueKind = 'mark';
  let pixels: PixelMode = 'inverted';
  let step = 0;
  let trainMs = 0;
  let stop = false;
  let cue: string | number = 'own';
  let testLabel: number | null = null;

  const setState = (s: State) => {
    ui.state = s;
    root.dataset.state = s;
    trainBtn.textContent = s === 'running' ? 'Stop' : s === 'stopping' ? 'Stopping…' : s === 'paused' && !shipped ? 'Train more' : 'Train';
    trainBtn.disabled = s === 'loading' || s === 'stopping';
    cueSel.disabled = corrSel.disabled = loadBtn.disabled = resetBtn.disabled = s === 'running' || s === 'stopping' || s === 'loading';
  };
  setState('idle');

  const mapName = () => mapSel.value as MapName;
  function describeMap() {
    const m = MAPS[mapName()];
    stripTitle.textContent = `six test digits: own cue (top), another class's cue (bottom); ${m.label}`;
    mapNote.textContent =
      kind === 'weather'
        ? 'The weather is the whole background: no map can single it out (docs/TANK.md). Watch the flip rate: it says how much the model follows the weather.'
        : mapName() === 'gradcam@conv2d_3'
          ? "At cam1's last layer each of the 3×3 cells sees the whole digit, so the maps stay on the digit even when the model reads the mark (docs/TANK.md)."
          : 'The dashed square is the mark. Captions: label → prediction (top), cue → prediction (bottom).';
  }
  describeMap();

  function reset() {
    // Freed in the GPU queue, after any pad update still using them.
    const [oldModel, oldTrainer] = [shipped ? null : model, trainer];
    void app.gpu(async () => {
      oldModel?.dispose();
      oldTrainer?.optimizer.dispose();
    });
    model = trainer = null;
    shipped = false;
    step = trainMs = 0;
    ui.losses.length = ui.accs.length = ui.evals.length = 0;
    ui.source = '';
    stats.textContent = 'not started';
    evalLine.textContent = '';
    strip.replaceChildren();
    modelLine.textContent = NO_MODEL;
    drawCurves();
    setState('idle');
    changed();
  }

  // The test digits of the measurements, per cue kind: own cue, no cue, another class's cue.
  const evalSets = new Map<CueKind, { matched: Mnist; removed: Mnist; swapped: ReturnType<typeof shortcutSet> }>();
  async function testData() {
    testBytes ??= loadSplit('t10k', 1000);
    try {
      return await testBytes;
    } catch (e) {
      testBytes = null;
      throw e;
    }
  }
  async function evalSet(k: CueKind) {
    let s = evalSets.get(k);
    if (!s) {
      const t = await testData();
      const base = { ...t, images: t.images.subarray(0, EVAL_DIGITS * 784), labels: t.labels.subarray(0, EVAL_DIGITS), n: EVAL_DIGITS };
      s = { matched: shortcutSet(base, { kind: k, mode: 'matched' }), removed: base, swapped: shortcutSet(base, { kind: k, mode: 'swapped' }) };
      evalSets.set(k, s);
    }
    return s;
  }

  /** The maps of `n` images (bytes) by the chosen method, each for its predicted class. */
  async function mapsOf(m: Model, px: PixelMode, bytes: Uint8Array, n: number): Promise<CamMap[]> {
    const choice = MAPS[mapName()];
    const x = E.tensor(toFloat(bytes, px), [n, SIDE, SIDE, 1]);
    try {
      return await choice.make(m).explain(x, { layer: choice.layer, upsample: { size: [SIDE, SIDE], mode: 'bilinear' } });
    } finally {
      x.dispose();
    }
  }

  /** Accuracy with and without the cue and the swap's flips on the test digits, and the strip. */
  async function measure(): Promise<void> {
    if (!model) return;
    const s = await evalSet(kind);
    const n = EVAL_DIGITS;
    const [pm, pr, ps] = [await model.predict(toFloat(s.matched.images, pixels)), await model.predict(toFloat(s.removed.images, pixels)), await model.predict(toFloat(s.swapped.images, pixels))];
    let withCue = 0, noCue = 0, flip = 0, follows = 0;
    for (let i = 0; i < n; i++) {
      const a = argmax(pm, i * 10), b = argmax(pr, i * 10), c = argmax(ps, i * 10);
      withCue += +(a === s.matched.labels[i]);
      noCue += +(b === s.removed.labels[i]);
      flip += +(a !== c);
      follows += +(c === s.swapped.cues[i]);
    }
    // The strip: the first STRIP digits with their own cue, then with the swapped one, one batch.
    const per = SIDE * SIDE;
    const both = new Uint8Array(2 * STRIP * per);
    both.set(s.matched.images.subarray(0, STRIP * per));
    both.set(s.swapped.images.subarray(0, STRIP * per), STRIP * per);
    const maps = await mapsOf(model, pixels, both, 2 * STRIP);
    const mask = markMask();
    let peaks = 0;
    const figs = Array.from({ length: STRIP }, (_, i) => {
      const own = maps[i], sw = maps[STRIP + i];
      if (kind === 'mark' && measureMap(own.upsampled!, mask).hit) peaks++;
      const label = s.matched.labels[i];
      const top = h('canvas', { class: 'pix', role: 'img', 'aria-label': `test digit ${label} with its own cue: predicted ${own.classIndex}` });
      const bottom = h('canvas', { class: 'pix', role: 'img', 'aria-label': `test digit ${label} with the cue of ${s.swapped.cues[i]}: predicted ${sw.classIndex}` });
      paintRgb(top, tileOf(both.subarray(i * per, (i + 1) * per), own.upsampled!, kind, 3));
      paintRgb(bottom, tileOf(both.subarray((STRIP + i) * per, (STRIP + i + 1) * per), sw.upsampled!, kind, 3));
      return h('figure', {}, top, h('figcaption', { class: own.classIndex === label ? '' : 'wrong' }, `${label}→${own.classIndex}`),
        bottom, h('figcaption', { class: sw.classIndex === s.swapped.cues[i] ? 'wrong' : '' }, `cue ${s.swapped.cues[i]}→${sw.classIndex}`));
    });
    strip.replaceChildren(...figs);
    const e: AuditEval = { step, seconds: trainMs / 1000, withCue: withCue / n, noCue: noCue / n, flip: flip / n, follows: follows / n, peaks };
    ui.evals.push(e);
    const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
    evalLine.textContent = `step ${step} (${e.seconds.toFixed(0)} s), ${n} test digits: accuracy with their own cue ${pct(e.withCue)}, without a cue ${pct(e.noCue)}; swapping the cue changes ${pct(e.flip)} of predictions (${pct(e.follows)} become the new cue's class)` +
      (kind === 'mark' ? `; the map peaks on the mark for ${peaks} of ${STRIP} digits` : '');
    drawCurves();
  }

  async function train() {
    const target = Math.max(10, Math.min(5000, Math.floor(Number(stepsIn.value) || 300)));
    if (shipped) reset(); // training starts from a fresh cam1, not from the shipped file's weights
    setState('loading');
    trainBytes ??= loadSplit('train', TRAIN_DIGITS, (f) => progress.set(f, `the first ${TRAIN_DIGITS} MNIST training digits: ${(100 * f).toFixed(0)}%`));
    let base: Mnist;
    try {
      [base] = await Promise.all([trainBytes, testData()]);
    } catch (e) {
      trainBytes = null;
      throw e;
    } finally {
      progress.hide();
    }
    const corr = Number(corrSel.value);
    if (!model) {
      kind = cueSel.value as CueKind;
      pixels = 'inverted';
      model = preset('cam1', 1);
      trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
      (trainer.optimizer as unknown as { learningRate: number }).learningRate = LR;
      ui.source = `trained here: cue ${kind}, correlation ${corr}`;
      modelLine.textContent = `cam1 trained in this page on ${TRAIN_DIGITS} digits with the ${kind} cue at correlation ${corr} (Adam ${LR}, batch ${BATCH}, the lecture's inverted pixels).`;
      describeMap();
      await measure();
    }
    const set = shortcutSet(base, { kind, mode: 'trained', correlation: corr, seed: 1 });
    const data = { x: toFloat(set.images, pixels), y: set.labels };
    const stopAt = step + target;
    // fit records steps ahead of their readback and asks shouldStop once after recording each
    // (and once after each epoch, when every step is read back): counting the asks stops it at
    // exactly `stopAt` steps.
    let recorded = step;
    stop = false;
    setState('running');
    let t = performance.now();
    await trainer!.fit(data, {
      batchSize: BATCH,
      epochs: Infinity,
      shuffle: true,
      seed: 1 + step,
      shouldStop: () => ++recorded >= stopAt || stop,
      onEpochEnd: () => {
        recorded = step - 1;
      },
      onBatchEnd: async (info) => {
        step++;
        ui.losses.push(info.batchLoss);
        ui.accs.push(info.batchAccuracy);
        stats.textContent = `step ${step} of ${stopAt} · loss ${info.batchLoss.toFixed(4)} · batch accuracy ${info.batchAccuracy.toFixed(3)} · ${Math.round(info.imagesPerSecond)} images/s`;
        drawCurves();
        if (step % 20 === 0 || step === stopAt) {
          trainMs += performance.now() - t;
          await measure();
          changed();
          t = performance.now();
        }
      },
    });
    trainMs += performance.now() - t;
    if (ui.evals.at(-1)?.step !== step) await measure();
    changed();
    setState('paused');
  }

  function toggleTraining() {
    if (ui.state === 'running') {
      stop = true;
      setState('stopping');
      return;
    }
    if (ui.state !== 'idle' && ui.state !== 'paused') return;
    void guarded(alert, train).then(() => {
      if (ui.state !== 'paused') setState(model ? 'paused' : 'idle');
    });
  }

  async function loadShipped() {
    const k = cueSel.value as CueKind;
    reset();
    setState('loading');
    try {
      const loaded = await shippedModel(`shortcut-${k}`);
      model = loaded.model;
      shipped = true;
      kind = k;
      pixels = loaded.preprocessing?.pixels ?? 'inverted';
      corrSel.value = '1';
      ui.source = `shipped shortcut-${k}.h5`;
      stats.textContent = 'not trained here: the shipped model';
      modelLine.textContent = `The shipped models/shortcut-${k}.h5: cam1 trained by \`lanterna train --shortcut ${k}\` on 20 000 digits, correlation 1.`;
      describeMap();
      await testData();
      await app.gpu(measure);
      changed();
    } finally {
      setState(model ? 'paused' : 'idle');
    }
  }

  // --- The pad: the digit, its cue, the two models' predictions ----------------------------------
  function setCue(c: string | number) {
    cue = c;
    cueBtns.forEach((b, i) => b.setAttribute('aria-pressed', String(cueChoices[i] === c)));
    changed();
  }

  let dirty = false;
  let busy = false;
  function changed() {
    dirty = true;
    if (!busy) void redraw();
  }
  async function redraw() {
    busy = true;
    root.dataset.busy = 'true';
    while (dirty) {
      dirty = false;
      await guarded(alert, () => app.gpu(predictPad));
    }
    busy = false;
    root.dataset.busy = 'false';
  }

  async function predictPad() {
    const raw = pad.bytes();
    const clean = await shippedModel('cam1');
    const cleanPx = clean.preprocessing?.pixels ?? 'inverted';
    const k = model ? kind : (cueSel.value as CueKind);
    let own = testLabel;
    if (own === null) own = argmax(await clean.model.predict(toFloat(raw, cleanPx)));
    const cls = cue === 'none' ? -1 : cue === 'own' ? own : (cue as number);
    const img = raw.slice();
    if (cls >= 0) drawCue(img, k, cls);
    const [c] = await mapsOf(clean.model, cleanPx, img, 1);
    paintRgb(cleanSeen, tileOf(img, c.upsampled!, k, 8));
    root.dataset.clean = String(c.classIndex);
    cleanLine.textContent = `predicts ${c.classIndex} (p = ${c.probability.toFixed(3)})`;
    const cueWords = cls < 0 ? 'no cue' : `the ${k} of class ${cls}${cue === 'own' ? (testLabel === null ? ' (its own class, as the clean cam1 reads the digit)' : ' (its own class: the label)') : ''}`;
    if (!model) {
      paintRgb(seen, tileOf(img, new Float32Array(SIDE * SIDE), k, 8));
      seenTitle.textContent = `the digit with ${cueWords}`;
      predicted.textContent = '–';
      delete root.dataset.predicted;
      verdictLine.textContent = 'Train a model above or load the shipped one to see what it predicts.';
      return;
    }
    const [m] = await mapsOf(model, pixels, img, 1);
    paintRgb(seen, tileOf(img, m.upsampled!, k, 8));
    seenTitle.textContent = `the digit with ${cueWords}; ${MAPS[mapName()].label}`;
    predicted.textContent = String(m.classIndex);
    root.dataset.predicted = String(m.classIndex);
    root.dataset.cueClass = String(cls);
    bars.update(m.output, m.classIndex, m.classIndex);
    verdictLine.textContent =
      cls >= 0 && m.classIndex === cls && c.classIndex !== cls
        ? `The shortcut model says ${m.classIndex}, the class of the cue; the clean cam1 reads the digit as ${c.classIndex}.`
        : m.classIndex === c.classIndex
          ? `Both models say ${m.classIndex}.`
          : `The shortcut model says ${m.classIndex}, the clean cam1 ${c.classIndex}.`;
  }

  testBtn.addEventListener('click', () =>
    guarded(alert, async () => {
      const t = await testData();
      const i = Math.max(0, Math.floor(Number(testIndexIn.value) || 0)) % t.n;
      testIndexIn.value = String((i + 1) % t.n);
      pad.set(t.images.subarray(i * 784, (i + 1) * 784)); // its onChange forgets the label, and the redraw runs later
      testLabel = t.labels[i];
    }),
  );
  trainBtn.addEventListener('click', toggleTraining);
  resetBtn.addEventListener('click', reset);
  loadBtn.addEventListener('click', () => void guarded(alert, loadShipped));
  cueSel.addEventListener('change', () => {
    if (model) reset();
    kind = cueSel.value as CueKind;
    describeMap();
    changed();
  });
  corrSel.addEventListener('change', () => {
    if (model) reset();
  });
  mapSel.addEventListener('change', () => {
    describeMap();
    if (model && ui.state !== 'running') void guarded(alert, () => app.gpu(measure));
    changed();
  });

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
    ctx.fillText('100%', W - R + 2, T + 8);
    ctx.fillText('0', W - R + 4, H - B);
    ctx.fillText(`step ${n}`, W / 2 - 20, H - 6);
    if (n < 2) return;
    const x = (i: number) => L + ((W - L - R) * i) / (n - 1);
    const y = (v: number, max: number) => T + (H - T - B) * (1 - Math.min(v, max) / max);
    const series = (pts: [number, number][], max: number, colour: string, dots = false) => {
      ctx.strokeStyle = ctx.fillStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach(([i, v], k) => (k ? ctx.lineTo(x(i), y(v, max)) : ctx.moveTo(x(i), y(v, max))));
      ctx.stroke();
      if (dots) for (const [i, v] of pts) ctx.fillRect(x(i) - 2, y(v, max) - 2, 4, 4);
    };
    series(ui.losses.map((v, i) => [i, v]), maxLoss, '#1f77b4');
    series(ui.accs.map((v, i) => [i, v]), 1, '#ff7f0e');
    series(ui.evals.map((e) => [Math.max(0, e.step - 1), e.flip]), 1, '#d62728', true);
  }
  drawCurves();
  setCue('own');
  return {};
}
