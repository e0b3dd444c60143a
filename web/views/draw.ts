// Draw: a 28×28 canvas drawn large; each stroke runs the shipped cam1 or cam2 model on the digit
// and shows the ten class probabilities and the CAM of the predicted class (or of any class the
// user picks), overlaid on the drawing, beside the raw map (3×3 for cam1, 28×28 for cam2).
// One forward pass per update gives every class's map and the probabilities in one readback
// (Cam.allClasses), so picking a class costs no GPU work. Updates coalesce: while one is in
// flight, further strokes only mark the drawing dirty, and one more update follows.

import * as E from '../../engine/index.ts';
import { Cam, type AllClassMaps } from '../../explain/cam.ts';
import { colormapByName, COLORMAPS } from '../../explain/colormap.ts';
import { mnistCamTile } from '../../explain/mnist_tiles.ts';
import { toFloat } from '../../nn/data/mnist.ts';
import type { LoadedModel } from '../../nn/model_file.ts';
import type { App } from '../app.ts';
import { fetchBytes, modelFromBytes } from '../files.ts';
import { InkPad } from '../pad.ts';
import { Alert, guarded, h, paintMap, paintRgb, ProbBars, valuesTable } from '../ui.ts';

const SIDE = 28;

/** Per-page record of predict + CAM times (ms), read by the end-to-end test. */
export const drawTimings: number[] = [];
(globalThis as any).lanternaDrawTimings = drawTimings;

const models = new Map<string, Promise<LoadedModel>>();
/** A model shipped with the page (assets/NAME.h5, copied by web/build.ts), read once. */
export function shippedModel(name: 'cam1' | 'cam2' | 'shortcut-mark' | 'shortcut-weather'): Promise<LoadedModel> {
  let p = models.get(name);
  if (!p) {
    p = fetchBytes(`assets/${name}.h5`).then((b) => modelFromBytes(b, `${name}.h5`));
    p.catch(() => models.delete(name));
    models.set(name, p);
  }
  return p;
}

export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const pad = new InkPad('draw-pad', () => changed());
  const ink = pad.ink;
  const modelSel = h('select', { id: 'draw-model' }, h('option', { value: 'cam1' }, 'cam1 (pooling: 3×3 CAM)'), h('option', { value: 'cam2' }, 'cam2 (no pooling: 28×28 CAM)'));
  const cmapSel = h('select', { id: 'draw-colormap' }, ...Object.keys(COLORMAPS).map((k) => h('option', { value: k }, k)));
  const clearBtn = h('button', { id: 'draw-clear', onclick: () => clear() }, 'Clear');
  const benchBtn = h('button', { id: 'draw-bench', title: 'run predict + CAM 20 times on this drawing and show the median' }, 'Time it');
  const predicted = h('div', { class: 'big', id: 'draw-predicted', 'aria-live': 'polite' }, '–');
  const bars = new ProbBars(Array.from({ length: 10 }, (_, c) => String(c)), (c) => pick(c));
  const camCanvas = h('canvas', { id: 'draw-cam', class: 'pix camview', role: 'img', 'aria-label': 'CAM overlaid on the drawing' });
  const rawCanvas = h('canvas', { id: 'draw-raw', class: 'pix camview', role: 'img', 'aria-label': 'raw CAM grid' });
  const camTitle = h('h3', {}, 'CAM');
  const rawTitle = h('h3', {}, 'raw grid');
  const values = h('div', { class: 'grid-scroll', id: 'draw-values' });
  const timing = h('div', { class: 'muted', id: 'draw-timing' });

  root.append(
    h('div', { class: 'controls' }, h('label', {}, 'model ', modelSel), h('label', {}, 'colormap ', cmapSel), clearBtn, benchBtn,
      h('span', { class: 'muted' }, 'Draw a digit; click a class to see its CAM.')),
    alert.el,
    h('div', { class: 'row' },
      h('div', { class: 'card' }, pad.el),
      h('div', { class: 'card' }, h('div', {}, 'prediction ', predicted), bars.el, timing),
      h('div', { class: 'card' }, h('div', { class: 'pair' }, h('figure', {}, camTitle, camCanvas), h('figure', {}, rawTitle, rawCanvas, values))),
    ),
  );
  cmapSel.value = 'jet';

  let shown: number | null = null; // class picked by the user; null: the predicted one
  let last: AllClassMaps | null = null;
  let dirty = false;
  let busy = false;

  function changed() {
    dirty = true;
    if (!busy) void run();
  }

  function clear() {
    shown = null;
    pad.clear();
  }

  function pick(c: number) {
    shown = shown === c ? null : c;
    render();
  }

  // Coalescing loop: at most one update in flight; strokes meanwhile trigger exactly one more.
  async function run() {
    busy = true;
    root.dataset.busy = 'true';
    while (dirty) {
      dirty = false;
      await guarded(alert, () => app.gpu(predict));
    }
    busy = false;
    root.dataset.busy = 'false';
  }

  const compiled = new Set<string>();
  /** Upload, forward, every class's CAM, upsampling and the one readback: what a stroke costs. */
  async function once(name: 'cam1' | 'cam2'): Promise<number> {
    const { model, preprocessing } = await shippedModel(name);
    const bytes = Uint8Array.from(ink, (v) => Math.round(v * 255));
    const t0 = performance.now();
    const x = E.tensor(toFloat(bytes, preprocessing?.pixels ?? 'inverted'), [1, SIDE, SIDE, 1]);
    try {
      last = await new Cam(model).allClasses(x, { upsample: { size: [SIDE, SIDE], mode: 'nearest' } });
    } finally {
      x.dispose();
    }
    return performance.now() - t0;
  }

  async function predict() {
    const name = modelSel.value as 'cam1' | 'cam2';
    const ms = await once(name);
    const first = !compiled.has(name);
    compiled.add(name);
    if (!first) drawTimings.push(ms);
    const msg = `predict + CAM (${name}): ${ms.toFixed(1)} ms${first ? ' (first run: shaders compiled)' : ''}`;
    app.perf.textContent = msg;
    timing.textContent = `${msg}, one readback of ${10 + 10 * last!.h * last!.w + 10 * SIDE * SIDE} values`;
    render();
  }

  function render() {
    if (!last) return;
    const p = last.output;
    let top = 0;
    for (let c = 1; c < 10; c++) if (p[c] > p[top]) top = c;
    const c = shown ?? top;
    predicted.textContent = String(top);
    root.dataset.predicted = String(top);
    root.dataset.shownClass = String(c);
    bars.update(p, top, c);
    const lut = colormapByName(cmapSel.value);
    const { h: mh, w: mw } = last;
    const raw = last.maps.subarray(c * mh * mw, (c + 1) * mh * mw);
    const bytes = Uint8Array.from(ink, (v) => Math.round(v * 255));
    paintRgb(camCanvas, mnistCamTile(bytes, last.upsampled!.subarray(c * SIDE * SIDE, (c + 1) * SIDE * SIDE), lut, '', 8));
    paintMap(rawCanvas, raw, mw, mh, lut);
    camTitle.textContent = `CAM of class ${c}${shown === null ? ' (predicted)' : ''}, p = ${p[c].toFixed(3)}`;
    rawTitle.textContent = `raw ${mh}×${mw} map`;
    values.replaceChildren(valuesTable(raw, mh, mw, mh <= 4 ? 3 : 1));
  }

  benchBtn.addEventListener('click', () =>
    guarded(alert, () =>
      app.gpu(async () => {
        const name = modelSel.value as 'cam1' | 'cam2';
        await once(name);
        compiled.add(name);
        const t: number[] = [];
        for (let k = 0; k < 20; k++) t.push(await once(name));
        t.sort((a, b) => a - b);
        const med = t[10];
        root.dataset.benchMs = med.toFixed(2);
        app.perf.textContent = `predict + CAM (${name}): median ${med.toFixed(1)} ms of 20 (min ${t[0].toFixed(1)})`;
        timing.textContent = app.perf.textContent;
      }),
    ),
  );

  modelSel.addEventListener('change', () => {
    last = null;
    changed();
  });
  cmapSel.addEventListener('change', render);
  changed();
  return {};
}
