// The 28×28 drawing pad the Draw and Audit views share: a canvas drawn large, a soft round brush,
// pointer strokes (mouse, finger, pen) and keyboard drawing (arrows move, Space lifts or lowers
// the pen, Delete clears). It owns the ink; the view hears `onChange` after every change of it.

import { h, paintRgb } from './ui.ts';

/** Side of the pad, in MNIST pixels. */
export const PAD_SIDE = 28;
const SIDE = PAD_SIDE;

/** A drawing pad: `el` to mount, `ink` (0..1 per pixel, row-major), `bytes()`, `clear()`, `set()`. */
export class InkPad {
  /** Ink per pixel, 0 (paper) .. 1 (full ink). */
  readonly ink = new Float32Array(SIDE * SIDE);
  /** The canvas to mount. */
  readonly el: HTMLCanvasElement;
  private cursor: [number, number] = [14, 14];
  private penDown = false;
  private prev: [number, number] | null = null;

  /**
   * @param id - The canvas element's id.
   * @param onChange - Called after each change of the ink (not after a mere cursor move).
   */
  constructor(id: string, private readonly onChange: () => void) {
    this.el = h('canvas', { id, class: 'pix', width: SIDE, height: SIDE, tabindex: 0, role: 'img',
      'aria-label': 'drawing pad, 28 by 28 pixels: draw with the mouse, a finger or a pen; or with the keyboard: arrows move, Space lifts or lowers the pen, Delete clears' });
    const pad = this.el;
    const at = (e: PointerEvent): [number, number] => {
      const r = pad.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * SIDE, ((e.clientY - r.top) / r.height) * SIDE];
    };
    pad.addEventListener('pointerdown', (e) => {
      pad.setPointerCapture(e.pointerId);
      this.prev = at(e);
      this.line(this.prev, this.prev);
      this.changed();
    });
    pad.addEventListener('pointermove', (e) => {
      if (!this.prev) return;
      const p = at(e);
      this.line(this.prev, p);
      this.prev = p;
      this.changed();
    });
    const up = () => (this.prev = null);
    pad.addEventListener('pointerup', up);
    pad.addEventListener('pointercancel', up);
    pad.addEventListener('keydown', (e) => this.key(e));
    pad.addEventListener('blur', () => this.paint());
    this.paint();
  }

  /** The ink as MNIST bytes (0 = paper, 255 = ink). */
  bytes(): Uint8Array {
    return Uint8Array.from(this.ink, (v) => Math.round(v * 255));
  }

  /** Erases the ink (and tells the view). */
  clear(): void {
    this.ink.fill(0);
    this.changed();
  }

  /** Replaces the ink with MNIST bytes (a test digit), and tells the view. */
  set(bytes: ArrayLike<number>): void {
    if (bytes.length !== SIDE * SIDE) throw new Error(`pad: ${bytes.length} pixels are not a ${SIDE}×${SIDE} digit`);
    for (let i = 0; i < this.ink.length; i++) this.ink[i] = bytes[i] / 255;
    this.changed();
  }

  /** Repaints the pad, with the keyboard cursor when given. */
  paint(cursor?: [number, number]): void {
    const rgb = new Uint8Array(SIDE * SIDE * 3);
    for (let i = 0; i < this.ink.length; i++) rgb.fill(Math.round(255 * (1 - this.ink[i])), 3 * i, 3 * i + 3);
    if (cursor) rgb.set([230, 60, 20], 3 * (cursor[1] * SIDE + cursor[0]));
    paintRgb(this.el, { width: SIDE, height: SIDE, rgb });
  }

  private changed(cursor?: [number, number]): void {
    this.paint(cursor);
    this.onChange();
  }

  // A soft round brush on the 28×28 grid: full ink within 0.9 cell of the stroke, fading to 0 at 1.9.
  private stamp(x: number, y: number): void {
    for (let j = Math.max(0, Math.floor(y - 2)); j <= Math.min(SIDE - 1, Math.ceil(y + 2)); j++)
      for (let i = Math.max(0, Math.floor(x - 2)); i <= Math.min(SIDE - 1, Math.ceil(x + 2)); i++) {
        const d = Math.hypot(i + 0.5 - x, j + 0.5 - y);
        const v = Math.max(0, Math.min(1, 1.9 - d));
        if (v > this.ink[j * SIDE + i]) this.ink[j * SIDE + i] = v;
      }
  }

  private line(a: [number, number], b: [number, number]): void {
    const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * 4));
    for (let k = 0; k <= n; k++) this.stamp(a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n);
  }

  private key(e: KeyboardEvent): void {
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const c = this.cursor;
    if (moves[e.key]) {
      const from: [number, number] = [c[0] + 0.5, c[1] + 0.5];
      this.cursor = [Math.max(0, Math.min(SIDE - 1, c[0] + moves[e.key][0])), Math.max(0, Math.min(SIDE - 1, c[1] + moves[e.key][1]))];
      if (this.penDown) this.line(from, [this.cursor[0] + 0.5, this.cursor[1] + 0.5]);
    } else if (e.key === ' ' || e.key === 'Enter') {
      this.penDown = !this.penDown;
      if (this.penDown) this.stamp(c[0] + 0.5, c[1] + 0.5);
    } else if (e.key === 'Delete' || e.key === 'Backspace') return void (e.preventDefault(), this.clear());
    else return;
    e.preventDefault();
    this.penDown ? this.changed(this.cursor) : this.paint(this.cursor);
  }
}
