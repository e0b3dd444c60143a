// TensorFlow.js 4.22 (WebGPU backend) on the same adapter as our engine.
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
  engine: Engine;
  dispose(): void;
  /** Set when TF.js could not start in this runtime (main.ts then runs our side only). */
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
  };
}

const g = globalThis as any;

/** Loads TF.js with its WebGPU backend on the GPU object our engine uses. Call after E.init(). */
export async function setupTfjs(): Promise<TfjsSetup> {
  const { gpu } = await gpuEntry();
  if (!g.navigator) g.navigator = { gpu };
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  // The union package, as TF.js users load it: tfjs-core alone registers no gradients under
  // Node (its CommonJS build leaves out register_all_gradients), so training would fail.
  const tf: any = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend on this adapter');
  await tf.ready();
  const backend = tf.backend();
  const info = backend.adapterInfo ?? {};
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
    // What backend.getBufferData() does before it maps a buffer, minus the copy: end the pass,
    // submit everything recorded, then wait for the queue.
    sync: async () => {
      const b = tf.backend();
      if (b.commandEncoder || b.computePassEncoder) {
        b.ensureCommandEncoderReady();
        b.endComputePassEncoder();
        b.submitQueue();
      }
      await b.device.queue.onSubmittedWorkDone();
      if (gpuError !== null) {
        const msg = gpuError;
        gpuError = null;
        throw new Error(`TF.js WebGPU error: ${msg}`);
      }
    },
    counters: () => {
      const m = tf.memory();
      return { liveTensors: m.numTensors }; // difference per run: 0 unless leaking
    },
  };
  return {
    tf,
    backend: tf.getBackend(),
    version: String(tf.version_core ?? tf.version?.['tfjs-core'] ?? '?'),
    adapterInfo: { vendor: info.vendor, architecture: info.architecture },
    engine,
    dispose: () => {
      try {
        const dev = tf.backend()?.device;
        tf.engine().reset();
        dev?.destroy?.();
      } catch {
        // best effort at exit
      }
    },
  };
}
