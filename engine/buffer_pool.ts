// Buffer pool. GPU buffers are created once per size class and recycled, so that a training
// step allocates no new buffer after warm-up. Reuse is safe without fences because every use
// goes through the one queue, which executes in order (see Gpu.upload for the one exception).
// A size class hands out its oldest idle buffer first (not the last released): the buffers a
// step gets then depend only on which are idle, not on the order earlier work released them,
// so a repeated training step binds the same buffers every time and finds its bind groups
// cached (Gpu.dispatch).

export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers ever created by the pool (grows only on a miss). */
  created: number;
  /** Buffers sitting idle in the free lists. */
  freeBuffers: number;
  freeBytes: number;
  /** Highest liveBytes since the pool was made or resetPeak() was called. */
  peakLiveBytes: number;
  /** Highest liveBytes + freeBytes (all the pool holds on the GPU) over the same span. */
  peakHeldBytes: number;
}

/** Size classes 2^k·{1, 1.25, 1.5, 1.75} waste at most 25%; very large buffers are exact (4 KiB). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  if (b >= 64 * 1024 * 1024) return Math.ceil(b / 4096) * 4096;
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (p * f >= b) return p * f;
  return 2 * p;
}

export class BufferPool {
  /** Idle buffers per usage and size class, newest first (acquire pops the oldest from the end). */
  private free = new Map<string, GPUBuffer[]>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private live = new Set<GPUBuffer>();
  private liveBytes = 0;
  private freeBytes = 0;
  private freeCount = 0;
  private peakLive = 0;
  private peakHeld = 0;
  created = 0;

  constructor(private device: GPUDevice) {}

  acquire(bytes: number, usage: number, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const k = `${usage}:${size}`;
    let buf = this.free.get(k)?.pop();
    if (buf) {
      this.freeBytes -= size;
      this.freeCount--;
    } else {
      buf = this.device.createBuffer({ size, usage, label });
      this.created++;
      this.idOf(buf);
    }
    this.live.add(buf);
    this.liveBytes += size;
    this.peakLive = Math.max(this.peakLive, this.liveBytes);
    this.peakHeld = Math.max(this.peakHeld, this.liveBytes + this.freeBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) return;
    const k = `${buf.usage}:${buf.size}`;
    this.liveBytes -= buf.size;
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    const id = this.idOf(buf);
    let at = list.length;
    while (at > 0 && this.idOf(list[at - 1]) < id) at--;
    list.splice(at, 0, buf);
    this.freeBytes += buf.size;
    this.freeCount++;
  }

  /** A number for each buffer, in order of first sight (a buffer made here: of creation); never reused. */
  idOf(buf: GPUBuffer): number {
    let id = this.ids.get(buf);
    if (id === undefined) this.ids.set(buf, (id = this.nextId++));
    return id;
  }

  /** Destroys idle buffers (e.g. after loading a large model, before the next one). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.freeBytes = 0;
    this.freeCount = 0;
  }

  /** Starts a new span for peakLiveBytes / peakHeldBytes (e.g. before one image). */
  resetPeak(): void {
    this.peakLive = this.liveBytes;
    this.peakHeld = this.liveBytes + this.freeBytes;
  }

  stats(): PoolStats {
    return {
      liveBuffers: this.live.size,
      liveBytes: this.liveBytes,
      created: this.created,
      freeBuffers: this.freeCount,
      freeBytes: this.freeBytes,
      peakLiveBytes: this.peakLive,
      peakHeldBytes: this.peakHeld,
    };
  }
}
