// Finding a WebGPU implementation in Node (npm `webgpu`, i.e. Dawn), Deno and browsers
// (`navigator.gpu`), and on a Linux machine with no GPU, a software Vulkan driver.
// Vulkan's loader reads VK_ICD_FILENAMES once, at the first requestAdapter(), so the choice
// has to be made before that call: it cannot be retried in-process.

import { LanternaError } from './errors.ts';

type Env = { get(k: string): string | undefined; set(k: string, v: string): void };
type Fs = { exists(p: string): boolean; list(dir: string): string[] };

declare const Deno: any;
const g = globalThis as any;
export const runtime: 'deno' | 'node' | 'browser' =
  typeof g.Deno !== 'undefined' ? 'deno' : typeof g.process?.versions?.node === 'string' ? 'node' : 'browser';

// Variable specifiers keep bundlers from trying to resolve Node-only modules for the browser.
const importNode = (name: string): Promise<any> => import(/* @vite-ignore */ name);

async function hostEnvFs(): Promise<{ env: Env; fs: Fs } | null> {
  if (runtime === 'node') {
    const fs = await importNode('node:fs');
    return {
      env: { get: (k) => g.process.env[k], set: (k, v) => (g.process.env[k] = v) },
      fs: {
        exists: (p) => fs.existsSync(p),
        list: (d) => (fs.existsSync(d) ? fs.readdirSync(d) : []),
      },
    };
  }
  if (runtime === 'deno') {
    const tryIt = <T>(f: () => T, d: T): T => {
      try {
        return f();
      } catch {
        return d;
      }
    };
    return {
      env: { get: (k) => tryIt(() => Deno.env.get(k), undefined), set: (k, v) => tryIt(() => Deno.env.set(k, v), undefined) },
      fs: {
        exists: (p) => tryIt(() => (Deno.statSync(p), true), false),
        list: (d) => tryIt(() => [...Deno.readDirSync(d)].map((e: any) => e.name), []),
      },
    };
  }
  return null;
}

/** Mesa ≥ 24 names its lavapipe ICD lvp_icd.json; Debian 12's Mesa 22.3 (refused by Dawn) adds the arch. */
export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export const INSTALL_HINT =
  'No WebGPU adapter could be found. On a Linux machine without a GPU, install a software Vulkan driver as root: ' +
  '`apt-get install -y libvulkan1 chromium-common` (SwiftShader) or lavapipe from Mesa >= 24 ' +
  '(`apt-get install -y -t bookworm-backports mesa-vulkan-drivers` on Debian 12), or run `bash scripts/setup.sh`. ' +
  'To pick a driver yourself, set VK_ICD_FILENAMES to its ICD json file.';

/**
 * Chooses a Vulkan driver when none is named: a machine with a GPU is left to the loader; otherwise
 * lavapipe (faster on CPUs) or SwiftShader. LANTERNA_VULKAN=swiftshader|lavapipe overrides.
 * Returns the ICD file chosen, or undefined when the loader is left to decide.
 */
export function chooseSoftwareDriver(env: Env, fs: Fs): string | undefined {
  if (!env.get('XDG_RUNTIME_DIR') && fs.exists('/tmp')) env.set('XDG_RUNTIME_DIR', '/tmp'); // silences loader noise
  if (env.get('VK_ICD_FILENAMES') || env.get('VK_DRIVER_FILES')) return undefined;
  const want = env.get('LANTERNA_VULKAN');
  // Mesa installs ICD files for Intel and AMD whether or not such a GPU is present, so look
  // for the device nodes of a real GPU instead.
  const hardware = fs.exists('/dev/nvidia0') || fs.list('/dev/dri').some((f) => f.startsWith('renderD'));
  if (!want && hardware) return undefined;
  const order =
    want === 'swiftshader' ? [SWIFTSHADER_ICD, LAVAPIPE_ICD] : [LAVAPIPE_ICD, SWIFTSHADER_ICD];
  for (const icd of order) {
    if (fs.exists(icd)) {
      env.set('VK_ICD_FILENAMES', icd);
      return icd;
    }
  }
  return undefined;
}

export interface GpuEntry {
  gpu: GPU;
  runtime: typeof runtime;
  icd?: string;
}

let entry: Promise<GpuEntry> | null = null;

/** The runtime's GPU object, with the Vulkan driver chosen first where that applies. */
export function gpuEntry(): Promise<GpuEntry> {
  return (entry ??= (async () => {
    const host = await hostEnvFs();
    const icd = host ? chooseSoftwareDriver(host.env, host.fs) : undefined;
    if (g.navigator?.gpu) return { gpu: g.navigator.gpu as GPU, runtime, icd };
    if (runtime === 'node') {
      let mod: any;
      try {
        mod = await importNode('webgpu');
      } catch (e) {
        throw new LanternaError(`The npm package 'webgpu' (Dawn for Node) could not be loaded: ${(e as Error).message}. Run npm install.`);
      }
      Object.assign(g, mod.globals);
      // Dawn rounds timestamps to 100 µs unless told not to (a browser's defence against timing
      // attacks); unrounded ones are what make --profile's per-kernel times readable.
      return { gpu: mod.create(['disable-dawn-features=timestamp_quantization']) as GPU, runtime, icd };
    }
    throw new LanternaError(
      runtime === 'browser'
        ? 'This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge, or enable WebGPU.'
        : 'Deno has no navigator.gpu here. ' + INSTALL_HINT,
    );
  })());
}
