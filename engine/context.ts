// The current device. Ops run on it; `init()` creates it once per process (or page).

import { createGpu, type Gpu, type InitOptions } from './gpu.ts';
import { LanternaError } from './errors.ts';
import { loadAsyncContext } from './scope.ts';

let current: Gpu | null = null;
let pending: Promise<Gpu> | null = null;

/** Creates (once) and returns the device used by all ops. */
export async function init(opts: InitOptions = {}): Promise<Gpu> {
  if (current && !current.lost) return current;
  await loadAsyncContext(); // Deno: AsyncLocalStorage comes by import (see scope.ts)
  pending ??= createGpu(opts).finally(() => (pending = null));
  current = await pending;
  return current;
}

/** The device created by `init()`. Throws a `LanternaError` when `init()` has not run yet. */
export function gpu(): Gpu {
  if (!current) throw new LanternaError('No GPU device yet: call `await init()` before creating tensors or running ops.');
  return current;
}

/** Releases the device; a later init() creates a fresh one. */
export function shutdown(): void {
  current?.destroy();
  current = null;
}
