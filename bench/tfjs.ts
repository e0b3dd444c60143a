// TensorFlow.js 4.22 (WebGPU backend) on the same adapter as our engine, and its wasm and cpu
// backends on the CPU beside it.
//
// Our engine is initialised first: engine/adapter.ts chooses the Vulkan driver (lavapipe or
// SwiftShader on a machine without a GPU, LANTERNA_VULKAN to pick, VK_ICD_FILENAMES wins) and
// creates the runtime's GPU object. TF.js's WebGPU backend looks for `navigator.gpu` when it is
// imported, so we hand it that same GPU object before importing it: both engines then request
// their adapter from one Dawn instance, with one Vulkan driver. Each has its own GPUDevice.

import * as E from '../engine/index.ts';
import { gpuEntry } from '../engine/adapter.ts';
import type { Engine } from './harness.ts';

export interface TfjsSetup {
  /** @tensorflow/tfjs (tfjs-core's ops, gradients registered), with the backend set. */
  tf: any;
  backend: string;
  version: string;
  /** What TF.js's backend reports of its adapter. */
  adapterInfo: Record<string, unknown>;
  /** TF.js's WebGPU backend. */
  engine: Engine;
  /** TF.js's other backends asked for (wasm, cpu), each a further side of every workload. */
  others: TfjsSide[];
  dispose(): void;
  /** Set when TF.js's WebGPU backend could not start in this runtime. */
  error?: string;
}

/** Our engine, as the harness sees it. */
export function oursEngine(): Engine {
  return {
    id: 'ours',
    label: 'Lanterna',
    sync: () => E.gpu().sync(),
    counters: () => {
      const s = E.gpu().stats() as unknown as Record<string, number>;
      // Differences per run: dispatches, submits, readbacks, uploads, GPU buffers created
      // (0 after warm-up when the pool serves everything) and live buffers (0 unless leaking).
      return { dispatches: s.dispatches, submits: s.submits, readbacks: s.readbacks, uploads: s.uploads, buffersCreated: s.created, liveBuffers: s.liveBuffers };
    },
    // The buffer pool's bytes handed out (size classes, so up to 25% above the tensors' own), as
    // the gradcam command's "GPU memory" line reports them.
    memory: {
      live: () => E.gpu().pool.stats().liveBytes,
      peak: () => E.gpu().pool.stats().peakLiveBytes,
      resetPeak: () => E.gpu().pool.resetPeak(),
    },
  };
}

const g = globalThis as any;

/** TF.js's backends the suite can run: WebGPU on our adapter, and its two CPU-side backends. */
export const TFJS_BACKENDS = ['webgpu', 'wasm', 'cpu'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

/**
 * FLOPs per run above which a CPU-side backend declines a workload (a run would take minutes).
 * Measured here (2 cores, Node 20): wasm (XNNPACK, SIMD, one thread) ~20 GFLOP/s on matmul 1024,
 * so 100 GFLOP is ~5 s a run; the plain-JS cpu backend ~0.4 GFLOP/s forward (4 GFLOP: ~10 s)
 * but ~0.02 GFLOP/s on training steps (cam2 at batch 2, 0.9 GFLOP: 47 s), so 0.05 GFLOP there.
 */
export const CPU_SIDE_MAX_FLOPS: Record<Exclude<TfjsBackend, 'webgpu'>, { forward: number; backward: number }> = {
  wasm: { forward: 100e9, backward: 20e9 },
  cpu: { forward: 4e9, backward: 0.05e9 },
};

export interface TfjsSide {
  backend: TfjsBackend;
  engine: Engine;
  tf: any;
  /** Set when this backend could not start here: its sides fail with this reason. */
  error?: string;
}

/** Where a runtime keeps tfjs-backend-wasm's .wasm files (a page: a URL prefix; Node, Deno: its own folder). */
export interface TfjsOptions {
  backends: readonly TfjsBackend[];
  wasmPaths?: string;
}

/**
 * Loads TF.js with its WebGPU backend on the GPU object our engine uses, and the other backends
 * asked for. Call after E.init(). The WebGPU side comes first (its failure is `error`); a
 * backend that cannot start here is a side whose every run fails with the reason.
 */
export async function setupTfjs(o: TfjsOptions = { backends: ['webgpu'] }): Promise<TfjsSetup> {
  const { gpu } = await gpuEntry();
  if (!g.navigator) g.navigator = { gpu };
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  // The union package, as TF.js users load it: tfjs-core alone registers no gradients under
  // Node (its CommonJS build leaves out register_all_gradients), so training would fail.
  const tf: any = await import('@tensorflow/tfjs');
  const version = String(tf.version_core ?? tf.version?.['tfjs-core'] ?? '?');
  await import('@tensorflow/tfjs-backend-webgpu');
  const web = await webgpuSide(tf).catch((e: Error) => broken('webgpu', e, tf));
  const others: TfjsSide[] = [];
  for (const b of o.backends.filter((b) => b !== 'webgpu') as Exclude<TfjsBackend, 'webgpu'>[])
    others.push(await cpuSide(tf, b, o.wasmPaths).catch((e: Error) => broken(b, e, tf)));
  if (!web.error) await tf.setBackend('webgpu');
  const info = web.error ? {} : (tf.findBackend('webgpu').adapterInfo ?? {});
  return {
    tf,
    backend: 'webgpu',
    version,
    adapterInfo: { vendor: info.vendor, architecture: info.architecture },
    engine: web.engine,
    others,
    ...(web.error ? { error: web.error } : {}),
    dispose: () => {
      try {
        const dev = tf.findBackend('webgpu')?.device;
        tf.engine().reset();
        dev?.destroy?.();
      } catch {
        // best effort at exit
      }
    },
  };
}

async function webgpuSide(tf: any): Promise<TfjsSide> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend on this adapter');
  await tf.ready();
  const backend = tf.findBackend('webgpu');
  // TF.js leaves GPU validation errors to the console (e.g. a 411 MB weight bound on lavapipe,
  // whose binding limit is 128 MiB: the dispatch is dropped and the result is wrong). Catch them,
  // so that the harness fails that side instead of timing work that was never done.
  let gpuError: string | null = null;
  backend.device.addEventListener?.('uncapturederror', (ev: any) => {
    gpuError ??= String(ev.error?.message ?? ev.error).split('\n')[0];
  });
  const engine: Engine = {
    id: 'tfjs-webgpu',
    label: 'TF.js 4.22 WebGPU',
    activate: () => activate(tf, 'webgpu'),
    // What backend.getBufferData() does before it maps a buffer, minus the copy: end the pass,
    // submit everything recorded, then wait for the queue.
    sync: async () => {
      if (backend.commandEncoder || backend.computePassEncoder) {
        backend.ensureCommandEncoderReady();
        backend.endComputePassEncoder();
        backend.submitQueue();
      }
      await backend.device.queue.onSubmittedWorkDone();
      if (gpuError !== null) {
        const msg = gpuError;
        gpuError = null;
        throw new Error(`TF.js WebGPU error: ${msg}`);
      }
    },
    counters: () => ({ liveTensors: tf.memory().numTensors }), // difference per run: 0 unless leaking
  };
  return { backend: 'webgpu', engine, tf };
}

/** TF.js's wasm (XNNPACK) or plain-JS cpu backend: its kernels run synchronously on the CPU. */
async function cpuSide(tf: any, b: 'wasm' | 'cpu', wasmPaths?: string): Promise<TfjsSide> {
  let label = 'TF.js 4.22 cpu (plain JS)';
  if (b === 'wasm') {
    const wasm: any = await import('@tensorflow/tfjs-backend-wasm');
    if (wasmPaths) wasm.setWasmPaths(wasmPaths);
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not start its wasm backend here');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = wasm.getThreadsCount?.() ?? 1;
    label = `TF.js 4.22 wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
  } else if (!(await tf.setBackend('cpu'))) throw new Error('TF.js could not start its cpu backend');
  const engine: Engine = {
    id: `tfjs-${b}`,
    label,
    activate: () => activate(tf, b),
    sync: async () => {},
    counters: () => ({ liveTensors: tf.memory().numTensors }),
    declines: (w) => {
      const f = w.flops ?? w.work;
      const max = CPU_SIDE_MAX_FLOPS[b][w.backward ? 'backward' : 'forward'];
      const g = (v: number) => +(v / 1e9).toPrecision(2);
      return f !== undefined && f > max ? `${g(f)} GFLOP a run, over its ${g(max)}${w.backward ? ' with gradients' : ''}` : undefined;
    },
  };
  return { backend: b, engine, tf };
}

async function activate(tf: any, b: TfjsBackend): Promise<void> {
  if (tf.getBackend() !== b && !(await tf.setBackend(b))) throw new Error(`TF.js could not switch to its ${b} backend`);
}

/** A backend that could not start: every run of its side fails, naming the reason. */
function broken(b: TfjsBackend, e: Error, tf: any): TfjsSide {
  const error = e.message.split('\n')[0].slice(0, 300);
  return {
    backend: b,
    tf,
    error,
    engine: {
      id: `tfjs-${b}`,
      label: `TF.js 4.22 ${b}`,
      sync: async () => {},
      activate: async () => {
        throw new Error(`TF.js ${b} unavailable here: ${error}`);
      },
    },
  };
}
