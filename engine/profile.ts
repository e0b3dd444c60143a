// GPU time per kernel from timestamp queries, for `lanterna`'s benchmarks (`--profile`).
//
// While a profile is open, the device gives every dispatch its own compute pass with
// `timestampWrites` at the pass's beginning and end: Dawn and Chrome only write timestamps at
// pass boundaries, and one pass per dispatch is what makes the times per kernel. This changes
// the batching (one pass each instead of one for a whole step), so profiled runs are not the
// benchmark's timed runs. Outside a profile nothing here runs.

/** GPU time of one kernel (all dispatches of one shader) in a `Profile`. */
export interface KernelTime {
  /** The kernel's pipeline key (kernels/*.ts), which groups dispatches of the same shader. */
  key: string;
  /** Dispatches of this kernel while the profile was open. */
  count: number;
  /** Sum of (end − beginning) of the kernel's passes, in ms. */
  ms: number;
}

/**
 * GPU time per kernel, from `gpu().stopProfile()` after `gpu().startProfile()` (needs
 * `init({ profile: true })` and the adapter's 'timestamp-query').
 */
export interface Profile {
  /** Dispatches recorded while the profile was open. */
  dispatches: number;
  /** Dispatches that got timestamps (fewer when `capacity` ran out). */
  timed: number;
  /** Sum of all timed passes, ms (GPU busy time, excluding gaps between passes). */
  totalMs: number;
  /** Per kernel key, slowest first. */
  kernels: KernelTime[];
}

const QUERY_RESOLVE = 0x200;
const COPY_SRC = 0x4;

export class Profiler {
  private readonly querySet: GPUQuerySet;
  readonly resolveBuffer: GPUBuffer;
  private keys: string[] = [];
  dispatches = 0;

  constructor(
    device: GPUDevice,
    /** Dispatches that can be timed in one profile (WebGPU allows 4096 queries per set: 2 each). */
    readonly capacity = 2048,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity, label: 'profile timestamps' });
    this.resolveBuffer = device.createBuffer({ size: 16 * capacity, usage: QUERY_RESOLVE | COPY_SRC, label: 'profile resolve' });
  }

  /** The timestamp writes for the next dispatch's pass (undefined once capacity is spent). */
  next(key: string): GPUComputePassTimestampWrites | undefined {
    this.dispatches++;
    if (this.keys.length >= this.capacity) return undefined;
    const i = this.keys.length;
    this.keys.push(key);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /**
   * Before an encoder is finished: resolves every query written so far. All of them, each time,
   * because resolveQuerySet's destination offset must be 256-byte aligned; it is profile-only work.
   */
  resolve(enc: GPUCommandEncoder): void {
    if (this.keys.length) enc.resolveQuerySet(this.querySet, 0, 2 * this.keys.length, this.resolveBuffer, 0);
  }

  get timedCount(): number {
    return this.keys.length;
  }

  /** Groups the resolved timestamps (`raw`: 2 × u64 ns per dispatch) by kernel key. */
  summarise(raw: ArrayBuffer): Profile {
    const t = new BigUint64Array(raw);
    const by = new Map<string, KernelTime>();
    let total = 0;
    this.keys.forEach((key, i) => {
      const d = t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) / 1e6 : 0;
      total += d;
      const k = by.get(key) ?? by.set(key, { key, count: 0, ms: 0 }).get(key)!;
      k.count++;
      k.ms += d;
    });
    const kernels = [...by.values()].sort((a, b) => b.ms - a.ms).map((k) => ({ ...k, ms: +k.ms.toFixed(4) }));
    return { dispatches: this.dispatches, timed: this.keys.length, totalMs: +total.toFixed(4), kernels };
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
