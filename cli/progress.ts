// A per-epoch progress bar (cli-progress) showing step, loss, accuracy, images/s and ETA.

import cliProgress from 'cli-progress';
import type { BatchInfo } from '../nn/fit.ts';

export class EpochBar {
  private bar: cliProgress.SingleBar | null = null;
  constructor(
    private epochs: number,
    private quiet = !process.stdout.isTTY,
  ) {}

  update(b: BatchInfo): void {
    const payload = { epoch: String(b.epoch).padStart(String(this.epochs).length), epochs: this.epochs, loss: b.loss.toFixed(4), acc: b.accuracy.toFixed(4), ips: Math.round(b.imagesPerSecond) };
    if (this.quiet) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: 'epoch {epoch}/{epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}',
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
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
  }
}
