// `--profile`: one run of a workload's our side with every dispatch timed on the GPU
// (engine/profile.ts), plus the dispatches, submits and readbacks of that run. Runs after the
// workload's timed runs, on a fresh instance, since profiling changes how work is batched.

import * as E from '../engine/index.ts';
import type { Profile } from '../engine/index.ts';
import type { Workload } from './harness.ts';

export interface OursProfile {
  /** Per run, without profiling: what batching does (1 submit per training step, …). */
  counts: { dispatches: number; submits: number; readbacks: number; uploads: number };
  /** Per-kernel GPU time; absent when the adapter has no timestamps (see `unavailable`). */
  gpu?: Profile;
  unavailable?: string;
  /** The profiled run's wall time (one pass per dispatch: slower than the timed runs). */
  wallMs?: number;
}

/** Why this device cannot time kernels, or null when it can. */
export function timestampsUnavailable(): string | null {
  const g = E.gpu();
  if (g.canProfile) return null;
  return g.profileRequested
    ? "timestamps are unavailable on this adapter (no 'timestamp-query' feature)"
    : 'timestamps are unavailable: the device was created without profiling (init({ profile: true }) or LANTERNA_PROFILE=1)';
}

export async function profileOurs(w: Workload): Promise<OursProfile> {
  const g = E.gpu();
  const inst = await w.ours();
  try {
    await inst.probe(); // compiles the pipelines and fills the pools
    await g.sync();
    const c0 = { ...g.counters };
    let free = await inst.run();
    await g.sync();
    const c1 = { ...g.counters };
    free();
    const counts = { dispatches: c1.dispatches - c0.dispatches, submits: c1.submits - c0.submits, readbacks: c1.readbacks - c0.readbacks, uploads: c1.uploads - c0.uploads };
    const why = timestampsUnavailable();
    if (why) return { counts, unavailable: why };
    g.startProfile();
    const t0 = performance.now();
    try {
      free = await inst.run();
    } catch (e) {
      await g.stopProfile().catch(() => {});
      throw e;
    }
    const gpu = await g.stopProfile();
    const wallMs = +(performance.now() - t0).toFixed(1);
    free();
    return { counts, gpu, wallMs };
  } finally {
    inst.dispose();
    await g.sync().catch(() => {});
  }
}
