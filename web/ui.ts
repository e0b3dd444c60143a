// Small DOM helpers shared by the views: element creation, the alert element every view shows
// its errors in, progress, probability bars, and painting RGB images and heatmaps on canvases.

import { colorize, minMax } from '../explain/colormap.ts';
import type { RgbImage } from '../explain/grid.ts';

type Attrs = Record<string, string | number | boolean | EventListener>;

/** `h('button', {class: 'x', onclick: f}, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k.replace(/^on/, ''), v);
    else if (v === false) continue;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  e.append(...children);
  return e;
}

/** A message element with role="alert": `show(error)`, `clear()`. */
export class Alert {
  readonly el = h('div', { role: 'alert', 'aria-live': 'assertive' });
  show(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.el.textContent = msg.split('\n')[0];
    console.error(e);
  }
  clear(): void {
    this.el.textContent = '';
  }
}

/** Runs `fn`, showing any error in `alert` (never rethrows: the page stays usable). */
export async function guarded<T>(alert: Alert, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    alert.clear();
    return await fn();
  } catch (e) {
    alert.show(e);
    return undefined;
  }
}

/** A labelled <progress>: `set(fraction | null, text)`; null shows an indeterminate bar. */
export class Progress {
  readonly bar = h('progress', { max: 1, value: 0 });
  readonly label = h('span', { class: 'muted' });
  readonly el = h('div', { hidden: true }, this.bar, ' ', this.label);
  set(fraction: number | null, text: string): void {
    this.el.hidden = false;
    if (fraction === null) this.bar.removeAttribute('value');
    else this.bar.value = Math.max(0, Math.min(1, fraction));
    this.label.textContent = text;
  }
  hide(): void {
    this.el.hidden = true;
  }
}

/** Paints an RGB image on a canvas at its own size. */
export function paintRgb(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const data = ctx.createImageData(img.width, img.height);
  for (let i = 0, n = img.width * img.height; i < n; i++) {
    data.data[4 * i] = img.rgb[3 * i];
    data.data[4 * i + 1] = img.rgb[3 * i + 1];
    data.data[4 * i + 2] = img.rgb[3 * i + 2];
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

/** A map (min–max normalised) through a colour table, painted at w×h. */
export function paintMap(canvas: HTMLCanvasElement, map: ArrayLike<number>, w: number, h: number, lut: Uint8Array): void {
  paintRgb(canvas, { width: w, height: h, rgb: colorize(minMax(map), lut) });
}

/** Ten (or C) probability bars with a button per class; `onPick(c)` when one is chosen. */
export class ProbBars {
  readonly el = h('div', { class: 'bars', role: 'group', 'aria-label': 'class probabilities' });
  private rows: { btn: HTMLButtonElement; fill: HTMLDivElement; bar: HTMLDivElement; text: HTMLSpanElement }[] = [];
  constructor(labels: string[], onPick: (c: number) => void) {
    labels.forEach((label, c) => {
      const btn = h('button', { 'aria-pressed': 'false', title: `show the CAM of class ${label}`, 'data-class': c, onclick: () => onPick(c) }, label);
      const fill = h('div');
      const bar = h('div', { class: 'bar' }, fill);
      const text = h('span', { class: 'prob' }, '–');
      this.el.append(btn, bar, text);
      this.rows.push({ btn, fill, bar, text });
    });
  }
  update(p: ArrayLike<number>, top: number, shown: number): void {
    this.rows.forEach((r, c) => {
      r.fill.style.width = `${(100 * p[c]).toFixed(1)}%`;
      r.text.textContent = p[c].toFixed(3);
      r.bar.classList.toggle('top', c === top);
      r.btn.setAttribute('aria-pressed', String(c === shown));
    });
  }
}

/** A table of a map's raw values (h×w), for reading numbers beside the picture. */
export function valuesTable(map: ArrayLike<number>, h2: number, w: number, digits: number): HTMLTableElement {
  const t = h('table', { class: 'grid-values', 'aria-label': `raw CAM values, ${h2}×${w}` });
  for (let y = 0; y < h2; y++) {
    const tr = h('tr');
    for (let x = 0; x < w; x++) tr.append(h('td', {}, map[y * w + x].toFixed(digits)));
    t.append(tr);
  }
  return t;
}

/** Keyboard for a tablist: arrows move, Home/End jump (WAI-ARIA tabs pattern). */
export function tabs(buttons: HTMLButtonElement[], show: (i: number) => void): void {
  const select = (i: number, focus: boolean) => {
    buttons.forEach((b, k) => {
      b.setAttribute('aria-selected', String(k === i));
      b.tabIndex = k === i ? 0 : -1;
      document.getElementById(b.getAttribute('aria-controls')!)!.hidden = k !== i;
    });
    if (focus) buttons[i].focus();
    show(i);
  };
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => select(i, false));
    b.addEventListener('keydown', (e) => {
      const n = buttons.length;
      const j = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i + n - 1) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
      if (j >= 0) {
        e.preventDefault();
        select(j, true);
      }
    });
  });
}

export function download(bytes: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
