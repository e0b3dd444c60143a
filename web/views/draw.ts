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
import { Alert, guarded, h, paintMap, paintRgb, ProbBars, valuesTable } from '../ui.ts';

const SIDE = 28;

/** Per-page record of predict + CAM times (ms), read by the end-to-end test. */
export const drawTimings: number[] = [];
(globalThis as any).lanternaDrawTimings = drawTimings;

const models = new Map<string, Promise<LoadedModel>>();
export function shippedModel(name: 'cam1' | 'cam2'): Promise<LoadedModel> {
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
  const ink = new Float32Array(SIDE * SIDE);
  const pad = h('canvas', { id: 'draw-pad', class: 'pix', width: SIDE, height: SIDE, tabindex: 0, role: 'img',
    'aria-label': 'drawing pad, 28 by 28 pixels: draw with the mouse, a finger or a pen; or with the keyboard: arrows move, Space lifts or lowers the pen, Delete clears' });
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
      h('div', { class: 'card' }, pad),
      h('div', { class: 'card' }, h('div', {}, 'prediction ', predicted), bars.el, timing),
      h('div', { class: 'card' }, h('div', { class: 'pair' }, h('figure', {}, camTitle, camCanvas), h('figure', {}, rawTitle, rawCanvas, values))),
    ),
  );
  cmapSel.value = 'jet';

  let shown: number | null = null; // class picked by the user; null: the predicted one
  let last: AllClassMaps | null = null;
  let dirty = false;
  let busy = false;

  const paintPad = (cursor?: [number, number]) => {
    const rgb = new Uint8Array(SIDE * SIDE * 3);
    for (let i = 0; i < ink.length; i++) rgb.fill(Math.round(255 * (1 - ink[i])), 3 * i, 3 * i + 3);
    if (cursor) rgb.set([230, 60, 20], 3 * (cursor[1] * SIDE + cursor[0]));
    paintRgb(pad, { width: SIDE, height: SIDE, rgb });
  };

  // A soft round brush on the 28×28 grid: full ink within 0.9 cell of the stroke, fading to 0 at 1.9.
  const stamp = (x: number, y: number) => {
    for (let j = Math.max(0, Math.floor(y - 2)); j <= Math.min(SIDE - 1, Math.ceil(y + 2)); j++)
      for (let i = Math.max(0, Math.floor(x - 2)); i <= Math.min(SIDE - 1, Math.ceil(x + 2)); i++) {
        const d = Math.hypot(i + 0.5 - x, j + 0.5 - y);
        const v = Math.max(0, Math.min(1, 1.9 - d));
        if (v > ink[j * SIDE + i]) ink[j * SIDE + i] = v;
      }
  };
  const line = (a: [number, number], b: [number, number]) => {
    const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * 4));
    for (let k = 0; k <= n; k++) stamp(a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n);
  };

  let prev: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIDE, ((e.clientY - r.top) / r.height) * SIDE];
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    prev = at(e);
    line(prev, prev);
    changed();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!prev) return;
    const p = at(e);
    line(prev, p);
    prev = p;
    changed();
  });
  const up = () => (prev = null);
  pad.addEventListener('pointerup', up);
  pad.addEventListener('pointercancel', up);

  // Keyboard drawing.
  let cursor: [number, number] = [14, 14];
  let penDown = false;
  pad.addEventListener('keydown', (e) => {
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[e.key]) {
      const from: [number, number] = [cursor[0] + 0.5, cursor[1] + 0.5];
      cursor = [Math.max(0, Math.min(SIDE - 1, cursor[0] + moves[e.key][0])), Math.max(0, Math.min(SIDE - 1, cursor[1] + moves[e.key][1]))];
      if (penDown) line(from, [cursor[0] + 0.5, cursor[1] + 0.5]);
    } else if (e.key === ' ' || e.key === 'Enter') {
      penDown = !penDown;
      if (penDown) stamp(cursor[0] + 0.5, cursor[1] + 0.5);
    } else if (e.key === 'Delete' || e.key === 'Backspace') return void (e.preventDefault(), clear());
    else return;
    e.preventDefault();
    penDown ? changed(cursor) : paintPad(cursor);
  });
  pad.addEventListener('blur', () => paintPad());

  function changed(cursorAt?: [number, number]) {
    paintPad(cursorAt);
    dirty = true;
    if (!busy) void run();
  }

  function clear() {
    ink.fill(0);
    shown = null;
    changed();
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
  paintPad();
  changed();
  return {};
}
