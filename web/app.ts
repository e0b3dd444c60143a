// What the views share: one GPU work queue. Engine scopes (E.tidy) are a process-wide stack, so
// two async computations must not interleave their scopes: every view runs its GPU work through
// `app.gpu(fn)`, one at a time. Training runs outside the queue between its steps; work that
// holds a scope open across awaits (Grad-CAM) asks training to pause first (`pauseTraining`).

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
