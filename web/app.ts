// What the views share: one GPU work queue. Every view runs its GPU work through `app.gpu(fn)`,
// one at a time in the order of the clicks, so that one result is not slowed by another view's
// work. (Overlapping would still be correct: engine scopes never mix across awaits, see
// engine/scope.ts.) Training runs outside the queue between its steps; a Grad-CAM asks training
// to pause first (`pauseTraining`) so that it does not share the GPU with training steps.

export interface TrainingHandle {
  running(): boolean;
  pause(): Promise<void>;
  resume(): void;
}

export class App {
  private tail: Promise<unknown> = Promise.resolve();
  training: TrainingHandle | null = null;
  readonly perf = document.getElementById('perf')!;

  gpu<T>(fn: () => Promise<T>, o: { pauseTraining?: boolean } = {}): Promise<T> {
    const run = async () => {
      const t = this.training;
      const paused = o.pauseTraining && t?.running() ? (await t.pause(), t) : null;
      try {
        return await fn();
      } finally {
        paused?.resume();
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
