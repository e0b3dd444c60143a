// Shortcut datasets: MNIST digits with a spurious cue that agrees with the label in training (the
// lecture's tank detector that learned the weather). Two cues:
//   mark     a local one: an 8×8 patch in the top-left corner (rows and columns 0..7: one cell of
//            cam1's 3×3 map; it holds 0.3% of MNIST's ink on average) lit in a class-specific
//            pattern of fine stripes or checks;
//   weather  a global one: the background's brightness, one level per class (overcast or sunny),
//            under the ink.
// Why these two: cam1 learns a digit about as fast as a small mark made of the same strokes: a 6×6
// coded mark, or faint background stripes, were still losing to the digit after 400 steps. An 8×8
// mark of pixel-fine orthogonal patterns and a brightness level are learnt first, as the weather
// was by the tank detector (the trials are in docs/TANK.md). Everything is bytes as MNIST stores them (0 = background, 255 = ink) and
// reproducible from a seed; nothing here touches the GPU or the file system, so a page can use it.

import { Rng } from '../random.ts';
import type { Mnist } from './mnist.ts';

/** The cue kinds: 'mark' (local, a corner patch) and 'weather' (global, background brightness). */
export const CUE_KINDS = ['mark', 'weather'] as const;
/** One of `CUE_KINDS`. */
export type CueKind = (typeof CUE_KINDS)[number];

/**
 * How a set's cues are drawn: 'trained' (the label's cue with probability `correlation`, else
 * another class's, as the training set and the "cue as in training" test set), 'matched' (always
 * the label's cue), 'removed' (no cue: the digit as MNIST has it), 'swapped' (always another
 * class's cue).
 */
export type CueMode = 'trained' | 'matched' | 'removed' | 'swapped';

/** Side of the corner patch of the 'mark' cue, in pixels (it starts at row 0, column 0). */
export const MARK_SIZE = 8;
/** Background brightness (0..255) of the 'weather' cue of class c: `WEATHER_STEP`·(c + 1). */
export const WEATHER_STEP = 15;

/**
 * The 'mark' cue's patterns, one per class: [a, b] lights pixel (y, x) of the 8×8 patch when the
 * bits of y & a and x & b hold an odd count between them. These are 10 of the 63 non-constant 8×8
 * Walsh patterns, high in sequency (pixel-fine stripes and checks, unlike any pen stroke): each
 * lights half the patch (the amount of ink says nothing) and any two differ in exactly half of it,
 * as far apart as 64 pixels allow.
 */
export const MARK_PATTERNS: readonly (readonly [number, number])[] = [[7, 0], [0, 7], [7, 7], [6, 0], [0, 6], [6, 6], [7, 6], [6, 7], [5, 5], [3, 3]];

/** Whether pixel (y, x) of the 8×8 patch is lit in class `cls`'s mark. */
export function markPixel(cls: number, y: number, x: number): boolean {
  checkClass(cls);
  const [a, b] = MARK_PATTERNS[cls];
  const bits = (v: number) => (v & 1) + ((v >> 1) & 1) + ((v >> 2) & 1);
  return (bits(y & a) + bits(x & b)) % 2 === 1;
}

/** The 'weather' of class c: its background brightness, 0..255 (15, 30, …, 150). */
export function weatherLevel(cls: number): number {
  checkClass(cls);
  return WEATHER_STEP * (cls + 1);
}

/** The pixels the 'mark' cue occupies in a rows×cols image: 1 inside the corner patch, else 0. */
export function markMask(rows = 28, cols = 28): Uint8Array {
  const m = new Uint8Array(rows * cols);
  for (let y = 0; y < MARK_SIZE; y++) for (let x = 0; x < MARK_SIZE; x++) m[y * cols + x] = 1;
  return m;
}

/** The byte value from which a pixel counts as the digit's own (`digitMask`). */
export const DIGIT_THRESHOLD = 128;

/** The digit's own pixels: 1 where the MNIST bytes (before any cue) are at least `threshold`. */
export function digitMask(pixels: ArrayLike<number>, threshold = DIGIT_THRESHOLD): Uint8Array {
  return Uint8Array.from({ length: pixels.length }, (_, i) => (pixels[i] >= threshold ? 1 : 0));
}

/**
 * Where the cue of `kind` lives in an image whose digit is `pixels` (bytes before the cue): the
 * corner patch for 'mark'; for 'weather' the whole background, every pixel that is not the
 * digit's (`digitMask`).
 */
export function cueMask(kind: CueKind, pixels: ArrayLike<number>, rows = 28, cols = 28): Uint8Array {
  checkKind(kind);
  if (pixels.length !== rows * cols) throw new Error(`cueMask: ${pixels.length} pixels are not a ${rows}×${cols} image`);
  if (kind === 'mark') return markMask(rows, cols);
  return digitMask(pixels).map((d) => 1 - d);
}

/**
 * Draws the cue of class `cls` into `img` (rows×cols bytes, changed in place): the corner patch's
 * pattern for 'mark' (lit pixels 255, the rest of the patch 0, whatever the digit had there); for
 * 'weather' the class's brightness under the ink (each background pixel, below `DIGIT_THRESHOLD`,
 * becomes the larger of itself and the level; the digit's pixels stay).
 */
export function drawCue(img: Uint8Array, kind: CueKind, cls: number, rows = 28, cols = 28): Uint8Array {
  checkKind(kind);
  checkClass(cls);
  if (img.length !== rows * cols) throw new Error(`drawCue: ${img.length} pixels are not a ${rows}×${cols} image`);
  if (kind === 'mark') {
    for (let y = 0; y < MARK_SIZE; y++) for (let x = 0; x < MARK_SIZE; x++) img[y * cols + x] = markPixel(cls, y, x) ? 255 : 0;
    return img;
  }
  const level = weatherLevel(cls);
  // Below the digit mask's threshold only: the weather changes the background (cueMask) alone.
  for (let i = 0; i < img.length; i++) if (img[i] < DIGIT_THRESHOLD && img[i] < level) img[i] = level;
  return img;
}

/** Options of `shortcutSet`. */
export interface ShortcutOptions {
  /** The cue: 'mark' or 'weather'. */
  kind: CueKind;
  /** How cues are drawn (`CueMode`); default 'trained'. */
  mode?: CueMode;
  /** For mode 'trained': the probability that an image carries its own class's cue; default 1. */
  correlation?: number;
  /** Seed of the cue assignment; default 1. */
  seed?: number;
}

/** MNIST digits with a cue drawn into each (`shortcutSet`). */
export interface ShortcutSet extends Mnist {
  /** The cue kind. */
  kind: CueKind;
  /** How the cues were drawn. */
  mode: CueMode;
  /** The correlation the cues were drawn with ('matched': 1, 'swapped': 0, 'removed': NaN). */
  correlation: number;
  /** Per image, the class whose cue it carries; −1 for none. */
  cues: Int8Array;
}

// Each mode draws from its own stream, so the test sets of one seed are independent of each other.
const MODE_SALT: Record<CueMode, number> = { trained: 0x9e3779b1, matched: 0x85ebca6b, removed: 0xc2b2ae35, swapped: 0x27d4eb2f };

/**
 * `base`'s digits with a cue of `o.kind` drawn into each copy, as `o.mode` says (`CueMode`). The
 * same base, options and seed give the same bytes. A class other than the label's is drawn
 * uniformly among the nine others. Throws on an unknown kind or mode, a correlation outside 0..1,
 * or an image that is not 28×28.
 */
export function shortcutSet(base: Mnist, o: ShortcutOptions): ShortcutSet {
  const { kind } = o;
  const mode = o.mode ?? 'trained';
  const correlation = o.correlation ?? 1;
  const seed = o.seed ?? 1;
  checkKind(kind);
  if (!(mode in MODE_SALT)) throw new Error(`shortcut data: mode must be one of ${Object.keys(MODE_SALT).join(', ')}, got '${String(mode)}'`);
  if (!(correlation >= 0 && correlation <= 1)) throw new Error(`shortcut data: correlation must lie in 0..1, got ${correlation}`);
  if (!Number.isInteger(seed)) throw new Error(`shortcut data: seed must be an integer, got ${seed}`);
  const { n, rows, cols } = base;
  if (rows !== 28 || cols !== 28) throw new Error(`shortcut data: digits are ${rows}×${cols}; the cues are drawn on 28×28 MNIST digits`);
  const per = rows * cols;
  const rng = new Rng((Math.imul(seed, 0x01000193) ^ MODE_SALT[mode] ^ (kind === 'mark' ? 0 : 0x5bd1e995)) >>> 0);
  const images = base.images.slice(0, n * per);
  const cues = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const label = base.labels[i];
    // Both draws are made for every image, so that with one seed, sets of different correlations
    // draw the same numbers for image i and differ only where its draw falls between them.
    const own = rng.next() < correlation;
    const other = (label + 1 + Math.floor(rng.next() * 9)) % 10;
    const cue = mode === 'removed' ? -1 : mode === 'matched' || (mode === 'trained' && own) ? label : other;
    cues[i] = cue;
    if (cue >= 0) drawCue(images.subarray(i * per, (i + 1) * per), kind, cue, rows, cols);
  }
  const corr = mode === 'trained' ? correlation : mode === 'matched' ? 1 : mode === 'swapped' ? 0 : NaN;
  return { images, labels: base.labels.slice(0, n), n, rows, cols, kind, mode, correlation: corr, cues };
}

/**
 * The three test sets of the tank story from one base (MNIST's test split): the cue as in training
 * (drawn with the training correlation), removed, and swapped to another class's cue.
 */
export function shortcutTestSets(base: Mnist, kind: CueKind, correlation = 1, seed = 1): { trained: ShortcutSet; removed: ShortcutSet; swapped: ShortcutSet } {
  return {
    trained: shortcutSet(base, { kind, mode: 'trained', correlation, seed }),
    removed: shortcutSet(base, { kind, mode: 'removed', seed }),
    swapped: shortcutSet(base, { kind, mode: 'swapped', seed }),
  };
}

/** Throws naming the kinds when `kind` is not one of `CUE_KINDS`. */
export function checkKind(kind: string): asserts kind is CueKind {
  if (!(CUE_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown shortcut cue '${kind}' (kinds: ${CUE_KINDS.join(', ')})`);
}

function checkClass(cls: number): void {
  if (!(Number.isInteger(cls) && cls >= 0 && cls < 10)) throw new Error(`shortcut cue: class ${cls} is not a digit 0..9`);
}

/** The root attribute of a model file trained on a shortcut dataset: JSON of a `ShortcutRecord`. */
export const SHORTCUT_ATTR = 'lanterna_shortcut';

/** How a model file's training data were made (recorded by `lanterna train --shortcut`). */
export interface ShortcutRecord {
  /** The cue. */
  kind: CueKind;
  /** The probability that a training image carried its own class's cue. */
  correlation: number;
  /** The seed of the cue assignment. */
  seed: number;
}

/** The shortcut record of a file's root attributes, or null when it has none or it is unreadable. */
export function shortcutRecordOf(attrs: Record<string, string> | undefined): ShortcutRecord | null {
  const s = attrs?.[SHORTCUT_ATTR];
  if (!s) return null;
  try {
    const r = JSON.parse(s) as ShortcutRecord;
    return (CUE_KINDS as readonly string[]).includes(r.kind) ? r : null;
  } catch {
    return null;
  }
}

/** A model's file name for a shortcut training run: 'shortcut-mark', or 'shortcut-mark-0.95' below correlation 1. */
export function shortcutModelName(kind: CueKind, correlation: number): string {
  return correlation === 1 ? `shortcut-${kind}` : `shortcut-${kind}-${correlation}`;
}
