// A per-epoch progress bar (cli-progress, drawn on stderr) showing step, loss, accuracy, images/s
// and ETA. When stdout or stderr is not a terminal (a log file, CI, nohup) a bar would be noise,
// but silence for an hour is worse: a plain line is printed on stdout instead, at most every
// `LANTERNA_PROGRESS_SECONDS` (30 s). Under bin/lanterna.js stderr is the launcher's pipe, which
// cli/terminal.ts sees through.

import cliProgress from 'cli-progress';
import type { BatchInfo } from '../nn/fit.ts';
import { barStream, stderrTerminal } from './terminal.ts';

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** The line printed instead of the bar when stdout is not a terminal. */
export function plainLine(b: BatchInfo, epochs: number, elapsedS: number): string {
  const eta = b.step > 0 ? (elapsedS / b.step) * (b.steps - b.step) : NaN;
  return `epoch ${b.epoch}/${epochs} step ${b.step}/${b.steps} | loss ${b.loss.toFixed(4)} | acc ${b.accuracy.toFixed(4)} | ${Math.round(b.imagesPerSecond)} img/s | ETA ${formatEta(eta)}`;
}

export class EpochBar {
  private bar: cliProgress.SingleBar | null = null;
  private lastPlain = 0;
  private epochStart = 0;
  constructor(
    private epochs: number,
    private tty = !!process.stdout.isTTY && stderrTerminal() !== null,
    private plainEveryMs = 1000 * Number(process.env.LANTERNA_PROGRESS_SECONDS || 30),
    private print: (line: string) => void = (l) => console.log(l),
  ) {}

  update(b: BatchInfo): void {
    if (!this.tty) {
      const now = Date.now();
      if (this.lastPlain === 0) this.lastPlain = this.epochStart = now; // first line after one interval
      else if (now - this.lastPlain >= this.plainEveryMs && b.step < b.steps) {
        this.lastPlain = now;
        this.print(plainLine(b, this.epochs, (now - this.epochStart) / 1000));
      }
      return;
    }
    const payload = { epoch: String(b.epoch).padStart(String(this.epochs).length), epochs: this.epochs, loss: b.loss.toFixed(4), acc: b.accuracy.toFixed(4), ips: Math.round(b.imagesPerSecond) };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: 'epoch {epoch}/{epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}',
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
          stream: barStream(),
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(b.steps, 0, payload);
    }
    this.bar.update(b.step, payload);
  }

  end(): void {
    this.bar?.stop();
    this.bar = null;
    this.lastPlain = 0;
  }
}
