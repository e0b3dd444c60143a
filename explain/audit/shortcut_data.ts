// The audit's data for the shortcut datasets (nn/data/shortcut.ts): the test digits with their own
// class's cue (what the maps explain), the same digits with another class's cue (the
// counterfactual), the cue region of each, and the digit's own pixels as the object.

import { toFloat, type Mnist, type PixelMode } from '../../nn/data/mnist.ts';
import { cueMask, digitMask, markMask, shortcutSet, type CueKind } from '../../nn/data/shortcut.ts';
import type { RgbImage } from '../grid.ts';
import type { AuditData } from './audit.ts';

/** The audit data of one cue kind, with what the report and the verdict need to show it. */
export interface ShortcutAudit {
  /** The inputs, labels, masks and counterfactual. */
  data: AuditData;
  /** Image i as shown (cue in place), dark ink on white as the lecture shows digits. */
  shown: (i: number) => RgbImage;
  /** Image i with the swapped cue, as shown. */
  shownSwapped: (i: number) => RgbImage;
  /** The class whose cue image i carries in the counterfactual. */
  swappedCues: Int8Array;
  /** Words for the cue ('the corner mark'). */
  cueName: string;
  /** Words for the counterfactual. */
  change: string;
  /** Whether the cue is global (the pointing game is then no evidence). */
  global: boolean;
}

/**
 * The audit of cue `kind` on the digits of `base` (MNIST's test split, or its first N): each digit
 * with its own class's cue ('matched'), and with another class's ('swapped', the counterfactual),
 * made into inputs with `pixels` (the model's preprocessing). Seeded as the test sets are.
 */
export function shortcutAuditData(base: Mnist, kind: CueKind, pixels: PixelMode, seed = 1): ShortcutAudit {
  const matched = shortcutSet(base, { kind, mode: 'matched', seed });
  const swapped = shortcutSet(base, { kind, mode: 'swapped', seed });
  const per = base.rows * base.cols;
  const digit = (i: number) => base.images.subarray(i * per, (i + 1) * per);
  const mark = markMask(base.rows, base.cols);
  const show = (bytes: Uint8Array, i: number): RgbImage => {
    const rgb = new Uint8Array(per * 3);
    for (let j = 0; j < per; j++) rgb.fill(255 - bytes[i * per + j], 3 * j, 3 * j + 3);
    return { rgb, width: base.cols, height: base.rows };
  };
  return {
    data: {
      x: toFloat(matched.images, pixels),
      labels: base.labels,
      cue: kind === 'mark' ? () => mark : (i) => cueMask(kind, digit(i), base.rows, base.cols),
      object: (i) => digitMask(digit(i)),
      counterfactual: { x: toFloat(swapped.images, pixels), cues: swapped.cues },
    },
    shown: (i) => show(matched.images, i),
    shownSwapped: (i) => show(swapped.images, i),
    swappedCues: swapped.cues,
    cueName: kind === 'mark' ? 'the corner mark' : 'the background',
    change: kind === 'mark' ? "swapping the mark for another class's" : "swapping the weather (the background's brightness) for another class's",
    global: kind === 'weather',
  };
}
