// The device layer: adapter and limits, pipeline cache, buffer pool, uniform arena, command
// batching and readback. It knows kernels only as `Kernel` (source, key, bindings, grid) and
// nothing about tensors or ops.
//
// Batching: dispatches are recorded into one open compute pass and submitted together at the
// next readback, upload or explicit flush(), never once per op. Uniforms of all dispatches of a
// batch live in one arena buffer, written once just before the submit.
// Bind groups come from a cache (engine/bind_groups.ts).

import type { Kernel } from '../kernels/program.ts';
import { makePlan, type DevicePlan } from '../kernels/plan.ts';
import { readSettings } from './settings.ts';
import { gpuEntry, INSTALL_HINT, runtime } from './adapter.ts';
import { GpuError, LanternaError } from './errors.ts';
import { BindGroupCache, type Binding } from './bind_groups.ts';
export type { Binding } from './bind_groups.ts';
import { BufferPool, type PoolStats } from './buffer_pool.ts';
import { Profiler, type Profile } from './profile.ts';

/** The adapter the device was created on, as WebGPU and the runtime describe it. */
export interface AdapterDescription {
  /** GPU vendor ('nvidia', 'mesa', …); may be empty. */
  vendor: string;
  /** GPU architecture as the adapter reports it; may be empty. */
  architecture: string;
  /** Device name as the adapter reports it; may be empty. */
  device: string;
  /** The adapter's free-text description ('llvmpipe (LLVM 15.0.7, 256 bits)', …); may be empty. */
  description: string;
  /** The JavaScript runtime and WebGPU implementation ('node (Dawn)', 'deno (wgpu)', 'browser'). */
  runtime: string;
  /** The Vulkan ICD file Lanterna chose, when it chose one (Node with the `webgpu` package). */
  icd?: string;
}

/** Limits we ask for; each is requested at the adapter's maximum. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;
/**
 * The device limits Lanterna requested (each at the adapter's maximum) plus the two offset alignments, in
 * bytes or counts as WebGPU defines them.
 */
export type Limits = Record<(typeof WANTED_LIMITS)[number] | 'minStorageBufferOffsetAlignment' | 'minUniformBufferOffsetAlignment', number>;

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (numeric: globals may be absent in Deno)
const UNIFORM_USAGE = 0x40 | 0x8; // UNIFORM | COPY_DST
const READBACK_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST

/** Running totals of GPU work since the device was created (read them with `gpu().stats()`). */
export interface Counters {
  /** Compute dispatches recorded (about one per op call). */
  dispatches: number;
  /** Command buffers submitted: work is batched until a readback, an upload or a flush. */
  submits: number;
  /** GPU-to-host reads (`Tensor.data()`, `read()`, `item()`). */
  readbacks: number;
  /** Host-to-GPU writes (tensor creation, weight loads). */
  uploads: number;
  /** Compute pipelines compiled (one per distinct kernel variant). */
  pipelines: number;
  /** Bind groups created (the rest came from the cache). */
  bindGroups: number;
}

/**
 * The WebGPU device every op runs on, with its pipeline cache, buffer pool and command batching. Create it
 * with `init()`, get it with `gpu()`; ops use it for you.
 */
export class Gpu {
  /** The pool that recycles GPU buffers of disposed tensors (internal; its totals are in `stats()`). */
  readonly pool: BufferPool;
  /** Work counters, updated as ops run. */
  readonly counters: Counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, pipelines: 0, bindGroups: 0 };
  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private groups: BindGroupCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arenaCpu: Uint8Array;
  private arenaGpu: GPUBuffer;
  private arenaUsed = 0;
  private lostReason: string | null = null;
  private pendingError: string | null = null;
  /** A 16-byte zero buffer bound where a kernel's optional binding is absent. */
  private absent: GPUBuffer;
  /** Open between startProfile() and stopProfile(): one timed compute pass per dispatch. */
  private profiler: Profiler | null = null;
  /** Called before each submit while anomaly mode has a check waiting (engine/anomaly.ts). */
  beforeFlush: (() => void) | null = null;
  /** Called before a tensor's buffer goes back to the pool while anomaly mode has a check waiting on it. */
  beforeRelease: ((buffer: GPUBuffer) => void) | null = null;
  /** Set by createGpu when the caller asked for profiling (whether or not the adapter could). */
  profileRequested = false;

  constructor(
    /** The underlying WebGPU device. */
    readonly device: GPUDevice,
    /** The adapter the device was created on. */
    readonly adapterInfo: AdapterDescription,
    /** The limits the device was created with. */
    readonly limits: Limits,
    /** The optional WebGPU features the device was created with (e.g. 'timestamp-query', 'shader-f16'). */
    readonly features: string[],
    /** Every device- and settings-dependent choice (kernels/plan.ts); see withPlan. */
    public plan: DevicePlan,
  ) {
    this.pool = new BufferPool(device);
    this.absent = device.createBuffer({ size: 16, usage: STORAGE, label: 'absent optional binding' });
    this.arenaCpu = new Uint8Array(256 * 1024);
    this.arenaGpu = device.createBuffer({ size: this.arenaCpu.byteLength, usage: UNIFORM_USAGE, label: 'uniform arena' });
    this.groups = new BindGroupCache(device, this.pool, this.arenaGpu, this.counters);
    device.addEventListener?.('uncapturederror', (ev: any) => {
      this.pendingError ??= String(ev.error?.message ?? ev.error);
    });
    device.lost.then((info) => {
      this.lostReason = `${info.reason ?? 'unknown'}: ${info.message || 'no message'}`;
    });
  }

  /** When set, each dispatch runs in an error scope so a GPU error names its op exactly (slow). */
  get debug(): boolean {
    return this.plan.debug;
  }

  /**
   * Runs `fn` under the plan with `patch` applied over the current one, then restores it (tests
   * and benchmarks compare variants on one device this way; calls nest). Overlapping calls that
   * are not nested (two async callers at once) would run under each other's plan: the one that
   * finds the plan not as it left it says so.
   */
  async withPlan<T>(patch: Partial<DevicePlan>, fn: () => Promise<T> | T): Promise<T> {
    const saved = this.plan;
    const mine = Object.freeze({ ...saved, ...patch });
    this.plan = mine;
    let ok = false;
    try {
      const r = await fn();
      ok = true;
      return r;
    } finally {
      const overlapped = this.plan !== mine;
      this.plan = saved;
      if (overlapped && ok) throw new LanternaError('withPlan: another withPlan overlapped this one (not nested): their results ran under mixed plans');
    }
  }

  /** True once the device is lost (driver reset, `destroy()`); `init()` then creates a new one. */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** Throws if the device is gone or the GPU reported an error since the last check. */
  check(what: string): void {
    if (this.lostReason !== null) throw new GpuError(`GPU device lost (${this.lostReason}); cannot run ${what}`);
    if (this.pendingError !== null) {
      const msg = this.pendingError;
      this.pendingError = null;
      throw new GpuError(`GPU error reported before ${what}: ${msg}`);
    }
  }

  /** Whether a kernel with this key has been compiled: tests check that a launch path is taken. */
  hasPipeline(key: string): boolean {
    return this.pipelines.has(key);
  }

  private pipeline(kernel: Kernel, label: string) {
    let p = this.pipelines.get(kernel.key);
    if (p) return p;
    const entries: GPUBindGroupLayoutEntry[] = kernel.bindings.map((b, i) => ({
      binding: i,
      visibility: 4, // COMPUTE
      buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
    }));
    if (kernel.uniforms) entries.push({ binding: kernel.bindings.length, visibility: 4, buffer: { type: 'uniform', hasDynamicOffset: true } });
    const layout = this.device.createBindGroupLayout({ entries, label: kernel.key });
    const module = this.device.createShaderModule({ code: kernel.wgsl(), label: `${kernel.key} (first used by ${label})` });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: `${kernel.key} (${label})`,
    });
    p = { pipeline, layout };
    this.pipelines.set(kernel.key, p);
    this.counters.pipelines++;
    return p;
  }

  private ensurePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.encoder;
  }

  private writes = new WeakMap<GPUBuffer, number>();

  /**
   * How many times `buffer` has been written since it was made (a dispatch binding it for
   * writing, an upload, a copy or a clear into it). A derived value cached from a buffer (the
   * Winograd filter transform) is current while this has not changed.
   */
  writeCount(buffer: GPUBuffer): number {
    return this.writes.get(buffer) ?? 0;
  }

  private wrote(buffer: GPUBuffer): void {
    this.writes.set(buffer, (this.writes.get(buffer) ?? 0) + 1);
  }

  /** Records one dispatch. `label` (op and shapes) names it in GPU error messages. */
  dispatch(kernel: Kernel, given: (Binding | null)[], label: string): void {
    this.check(label);
    if (given.length !== kernel.bindings.length)
      throw new LanternaError(
        `${label}: kernel ${kernel.key} binds ${kernel.bindings.map((b) => b.name).join(', ')} (${kernel.bindings.length}), got ${given.length}`,
      );
    const bindings = given.map((b, i) => {
      if (b) return b;
      const d = kernel.bindings[i];
      if (!d.optional) throw new LanternaError(`${label}: kernel ${kernel.key} needs binding ${d.name}, got null`);
      return { buffer: this.absent, offset: 0, size: 16 };
    });
    const [x, y, z] = kernel.workgroups;
    if (x * y * z === 0) return;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) throw new LanternaError(`${label}: dispatch ${x}×${y}×${z} exceeds ${maxDim} workgroups per dimension`);
    if (this.debug) this.device.pushErrorScope('validation');
    const { pipeline, layout } = this.pipeline(kernel, label);
    let off = 0;
    const bytes = kernel.uniforms?.byteLength ?? 0;
    if (kernel.uniforms) {
      const align = this.limits.minUniformBufferOffsetAlignment;
      off = Math.ceil(this.arenaUsed / align) * align;
      if (off + bytes > this.arenaCpu.byteLength) {
        this.flush();
        off = 0;
      }
      this.arenaCpu.set(new Uint8Array(kernel.uniforms), off);
      this.arenaUsed = off + bytes;
    }
    const group = this.groups.get(kernel, layout, bindings, bytes, label, this.debug);
    if (this.profiler) {
      const enc = this.endPass();
      const timestampWrites = this.profiler.next(kernel.key);
      this.pass = enc.beginComputePass(timestampWrites ? { timestampWrites } : {});
    }
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    if (kernel.uniforms) pass.setBindGroup(0, group, [off]);
    else pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
    kernel.bindings.forEach((d, i) => {
      if (d.access === 'write' && given[i]) this.wrote(given[i]!.buffer);
    });
    if (this.profiler) this.endPass();
    if (this.debug)
      this.device.popErrorScope().then((e) => {
        if (e) this.pendingError ??= `${label}: ${e.message}`;
      });
  }

  /** Zero-fills a byte range (must be a multiple of 4). */
  clear(buffer: GPUBuffer, offset = 0, size?: number): void {
    this.wrote(buffer);
    this.endPass().clearBuffer(buffer, offset, size);
  }

  /**
   * Records a copy of `size` bytes from `src` at `srcOffset` to `dst` at `dstOffset` (offsets and size
   * multiples of 4).
   */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.wrote(dst);
    this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.beforeFlush?.();
    const enc = this.endPass();
    this.profiler?.resolve(enc);
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arenaCpu, 0, Math.ceil(this.arenaUsed / 4) * 4);
    this.arenaUsed = 0;
    this.device.queue.submit([enc.finish()]);
    this.encoder = null;
    this.counters.submits++;
  }

  /**
   * Writes host data into a buffer. Pending work is submitted first: queue.writeBuffer runs ahead
   * of any unsubmitted command, and a pooled buffer may still be read by one.
   */
  upload(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.check('upload');
    this.flush();
    this.wrote(buffer);
    const bytes = data.byteLength;
    const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
    if (bytes % 4 === 0) this.device.queue.writeBuffer(buffer, offset, src);
    else {
      const padded = new Uint8Array(Math.ceil(bytes / 4) * 4);
      padded.set(src);
      this.device.queue.writeBuffer(buffer, offset, padded);
    }
    this.counters.uploads++;
  }

  /** Copies a byte range back to the host. */
  async read(buffer: GPUBuffer, offset: number, bytes: number, what = 'readback'): Promise<ArrayBuffer> {
    return (await this.readMany([{ buffer, offset, bytes }], what))[0];
  }

  /**
   * Copies several byte ranges back with one submit and one mapping (e.g. a training step's loss
   * and correct count): each extra readback would cost a round trip to the GPU. The one place that
   * waits on the GPU.
   */
  async readMany(parts: { buffer: GPUBuffer; offset: number; bytes: number }[], what = 'readback'): Promise<ArrayBuffer[]> {
    this.check(what);
    const at: number[] = [];
    let size = 0;
    for (const p of parts) {
      at.push(size);
      size += Math.ceil(p.bytes / 4) * 4;
    }
    const staging = this.pool.acquire(Math.max(4, size), READBACK_USAGE, 'readback');
    parts.forEach((p, i) => this.copy(p.buffer, p.offset, staging, at[i], Math.ceil(p.bytes / 4) * 4));
    this.flush();
    this.counters.readbacks++;
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */, 0, Math.max(4, size));
    } catch (e) {
      this.pool.release(staging);
      this.check(what);
      throw new GpuError(`${what}: mapping the readback buffer failed: ${(e as Error).message}`);
    }
    const range = staging.getMappedRange(0, Math.max(4, size));
    const out = parts.map((p, i) => range.slice(at[i], at[i] + p.bytes));
    staging.unmap();
    this.pool.release(staging);
    this.check(what);
    return out;
  }

  /** Waits until all submitted work has finished (for timing). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check('sync');
  }

  /** Whether this device can time kernels: it was created with the `timestamp-query` feature. */
  get canProfile(): boolean {
    return this.features.includes('timestamp-query');
  }

  /**
   * Starts timing every dispatch (see engine/profile.ts). Needs a device created with
   * `init({ profile: true })` or LANTERNA_PROFILE=1 on an adapter offering `timestamp-query`.
   */
  startProfile(capacity?: number): void {
    if (!this.canProfile)
      throw new LanternaError(
        !this.profileRequested
          ? 'profiling needs the device to be created with init({ profile: true }) or LANTERNA_PROFILE=1'
          : "this adapter does not offer the 'timestamp-query' feature: kernel times are unavailable",
      );
    if (this.profiler) throw new LanternaError('a profile is already open');
    this.flush();
    this.profiler = new Profiler(this.device, capacity);
  }

  /** Ends the profile: waits for the GPU and returns the time per kernel. */
  async stopProfile(): Promise<Profile> {
    const p = this.profiler;
    if (!p) throw new LanternaError('no profile is open (startProfile() first)');
    this.flush();
    this.profiler = null;
    try {
      const raw = p.timedCount ? await this.read(p.resolveBuffer, 0, 16 * p.timedCount, 'profile timestamps') : new ArrayBuffer(0);
      this.counters.readbacks--; // the profile's own readback is not the profiled work's
      return p.summarise(raw);
    } finally {
      p.destroy();
    }
  }

  /** The buffer pool's totals (buffers, bytes in use and free) with the work counters. */
  stats(): PoolStats & Counters {
    return { ...this.pool.stats(), ...this.counters };
  }

  /**
   * Submits pending work, frees pooled buffers and destroys the device. Use `shutdown()` rather than this, so
   * that `init()` knows.
   */
  destroy(): void {
    this.flush();
    this.pool.trim();
    this.device.destroy();
  }
}

/** Options of `init()`: which adapter to ask for, and whether kernels can be timed. */
export interface InitOptions {
  /** Passed to `navigator.gpu.requestAdapter` (default 'high-performance'). */
  powerPreference?: 'high-performance' | 'low-power';
  /**
   * Request `timestamp-query` (where the adapter offers it) so that Gpu.startProfile() can time
   * kernels. Also LANTERNA_PROFILE=1. Off by default: nothing needs it outside profiling.
   */
  profile?: boolean;
  /** LANTERNA_* settings (names to strings), over those of the environment or page. */
  settings?: Readonly<Record<string, string>>;
}


/** Requests an adapter and a device with the adapter's real limits. */
export async function createGpu(opts: InitOptions = {}): Promise<Gpu> {
  const { gpu, icd } = await (async () => {
    try {
      return await gpuEntry();
    } catch (e) {
      if (e instanceof LanternaError) throw e;
      throw new LanternaError(`${INSTALL_HINT} (${(e as Error).message})`);
    }
  })();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new LanternaError(`${INSTALL_HINT} (requestAdapter failed: ${(e as Error).message})`);
  }
  if (!adapter) throw new LanternaError(INSTALL_HINT + (icd ? ` (tried ${icd})` : ''));
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as any)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  let settings;
  try {
    settings = readSettings(opts.settings);
  } catch (e) {
    throw new LanternaError((e as Error).message);
  }
  const profile = opts.profile ?? settings.profile ?? false;
  const features = (profile ? ['timestamp-query'] : []).filter((f) => adapter!.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  const limits = {} as Limits;
  for (const k of [...WANTED_LIMITS, 'minStorageBufferOffsetAlignment', 'minUniformBufferOffsetAlignment'] as const)
    limits[k] = (device.limits as any)[k];
  const info: any = (adapter as any).info ?? {};
  const desc: AdapterDescription = {
    vendor: String(info.vendor ?? ''),
    architecture: String(info.architecture ?? ''),
    device: String(info.device ?? ''),
    description: String(info.description ?? ''),
    runtime,
    icd: icd ?? (runtime !== 'browser' ? (globalThis as any).process?.env?.VK_ICD_FILENAMES : undefined),
  };
  const offered = [...adapter.features].map(String);
  const g = new Gpu(device, desc, limits, features, makePlan(desc, limits.maxStorageBufferBindingSize, offered, settings));
  g.profileRequested = profile;
  return g;
}

