// The training progress without a terminal: periodic plain lines with step, loss, accuracy,
// images/s and an ETA, none more often than the interval, none at the last step.

import { test } from 'uvu';
import { EpochBar, formatEta } from '../cli/progress.ts';

test('formatEta reads as h/m/s and says ? when unknown', () => {
  const cases: [number, string][] = [[5, '5s'], [65, '1m05s'], [3725, '1h02m'], [NaN, '?'], [-1, '?']];
  for (const [s, want] of cases) if (formatEta(s) !== want) throw new Error(`${s}: ${formatEta(s)} != ${want}`);
});

test('without a TTY, a plain line at most once per interval, with an ETA from the elapsed time', async () => {
  const lines: string[] = [];
  const count = (): number => lines.length;
  const bar = new EpochBar(3, false, 40, (l) => lines.push(l));
  const info = (step: number) => ({ epoch: 2, step, steps: 10, loss: 0.5, accuracy: 0.875, imagesPerSecond: 1234.4, batchLoss: 0.5, batchAccuracy: 0.875, batchSize: 100 });
  bar.update(info(1)); // starts the clock, prints nothing
  bar.update(info(2)); // too soon
  if (count() !== 0) throw new Error(`printed too early: ${lines}`);
  await new Promise((r) => setTimeout(r, 60));
  bar.update(info(5));
  bar.update(info(6)); // too soon again
  if (count() !== 1) throw new Error(`expected one line, got ${JSON.stringify(lines)}`);
  const l = lines[0];
  for (const s of ['epoch 2/3', 'step 5/10', 'loss 0.5000', 'acc 0.8750', '1234 img/s', 'ETA '])
    if (!l.includes(s)) throw new Error(`"${s}" missing from: ${l}`);
  if (l.endsWith('ETA ?')) throw new Error(`no ETA: ${l}`);
  await new Promise((r) => setTimeout(r, 60));
  bar.update(info(10)); // the epoch's last step: the epoch line follows, so nothing here
  if (count() !== 1) throw new Error(`printed at the last step: ${lines.at(-1)}`);
  bar.end();
});

test.run();
