// `lanterna train --shortcut KIND [--correlation P]`: the tank story's "cloud detector", cam1's
// recipe on MNIST with a spurious cue (nn/data/shortcut.ts). What differs from a plain run: the
// training digits carry the cue, the model is named shortcut-<kind>[-P], fewer digits and epochs
// by default (the cue is learnt in a few hundred steps), the file records the cue, and the test
// accuracy is reported on the three test sets: cue as in training, removed, swapped.

import { toFloat, type Mnist, type PixelMode } from '../nn/data/mnist.ts';
import { CUE_KINDS, SHORTCUT_ATTR, shortcutModelName, shortcutSet, shortcutTestSets, type CueKind, type ShortcutRecord } from '../nn/data/shortcut.ts';
import { evaluate } from '../nn/fit.ts';
import type { Model } from '../nn/model.ts';
import { choice, UsageError } from './options.ts';

/**
 * Epochs and training digits of a shortcut run unless --epochs / --limit say otherwise: 20 000
 * digits (10% held out, so 180 steps of 100 per epoch); the mark for 3 epochs, the weather for 2
 * (it is learnt by then, and a third brought Adam's late loss spikes in two runs out of three).
 */
export const SHORTCUT_DEFAULTS = { epochs: { mark: 3, weather: 2 }, limit: 20000 } as const;

/** A shortcut training run, from the train command's options; null without --shortcut. */
export interface ShortcutRun {
  /** The record written into the model file. */
  record: ShortcutRecord;
  /** The model's base name ('shortcut-mark'). */
  name: string;
  /** The training digits with the cue drawn in. */
  trainSet(train: Mnist): Mnist;
  /** The root attributes to save (the record). */
  attrs(): Record<string, string>;
  /** Accuracy on the three test sets, one line each, through `log`. */
  report(model: Model, test: Mnist, pixels: PixelMode, log: (s: string) => void): Promise<void>;
}

/** The run `--shortcut` and `--correlation` ask for (checked), or null without --shortcut. */
export function shortcutRun(kind: string | undefined, correlation: string | undefined, seed: number): ShortcutRun | null {
  if (kind === undefined) {
    if (correlation !== undefined) throw new UsageError('--correlation goes with --shortcut KIND');
    return null;
  }
  choice('--shortcut', kind, CUE_KINDS);
  const p = correlation === undefined ? 1 : Number(correlation);
  if (!(p >= 0 && p <= 1)) throw new UsageError(`--correlation must be a number in 0..1, got '${correlation}'`);
  const record: ShortcutRecord = { kind: kind as CueKind, correlation: p, seed };
  return {
    record,
    name: shortcutModelName(record.kind, p),
    trainSet: (train) => shortcutSet(train, { kind: record.kind, mode: 'trained', correlation: p, seed }),
    attrs: () => ({ [SHORTCUT_ATTR]: JSON.stringify(record) }),
    async report(model, test, pixels, log) {
      const sets = shortcutTestSets(test, record.kind, p, seed);
      const words = { trained: `cue as in training (correlation ${p})`, removed: 'cue removed', swapped: "cue swapped to another class's" };
      for (const k of ['trained', 'removed', 'swapped'] as const) {
        const r = await evaluate(model, { x: toFloat(sets[k].images, pixels), y: sets[k].labels });
        log(`test accuracy, ${words[k]}: ${r.accuracy.toFixed(4)} (${r.n} digits)`);
      }
    },
  };
}
