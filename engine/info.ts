// What Lanterna is running on: runtime, WebGPU implementation, adapter, Vulkan driver (ICD file)
// and the device limits in force. Used by `lanterna info`; users can print it too:
//
//   import { describeDevice, formatDevice } from './engine/info.ts';
//   console.log(formatDevice(await describeDevice()));

import { gpuEntry, runtime } from './adapter.ts';
import { init } from './context.ts';
import type { DevicePlan } from '../kernels/plan.ts';
import type { Gpu, Limits } from './gpu.ts';
import { envVar } from './settings.ts';

/**
 * What Lanterna runs on: runtime, WebGPU implementation, adapter, Vulkan driver, limits and kernel plan. From
 * `describeDevice()`.
 */
export interface DeviceDescription {
  /** The JavaScript runtime. */
  runtime: 'node' | 'deno' | 'browser';
  /** e.g. "v20.20.2" (Node), "2.9.6" (Deno), the user agent (browser). */
  runtimeVersion: string;
  /** The WebGPU implementation: Dawn (Node's `webgpu` package, Chromium), wgpu (Deno). */
  webgpu: string;
  /** GPU vendor as the adapter reports it; may be empty. */
  vendor: string;
  /** GPU architecture as the adapter reports it; may be empty. */
  architecture: string;
  /** Device name as the adapter reports it; may be empty. */
  device: string;
  /** The adapter's free-text description; may be empty. */
  description: string;
  /** A readable driver name derived from the above, e.g. "lavapipe (Mesa, runs on the CPU)". */
  driver: string;
  /** True for software drivers (SwiftShader, lavapipe): kernels choose CPU-friendly variants. */
  cpuAdapter: boolean;
  /** The Vulkan ICD file in use, when one was named; null when the Vulkan loader chose (or in a browser). */
  icd: string | null;
  /** Where `icd` came from. */
  icdSource: 'lanterna' | 'environment' | 'loader' | 'browser';
  /** When the loader chose: the ICD files it can see in the standard folders. */
  icdCandidates?: string[];
  /** Optional WebGPU features requested for the device. */
  features: string[];
  /** The device limits in force (requested at the adapter's maximum). */
  limits: Limits;
  /** The device plan: kernel variants and settings in force (kernels/plan.ts). */
  plan: DevicePlan;
}

declare const Deno: any;
const g = globalThis as any;
const importNode = (name: string): Promise<any> => import(/* @vite-ignore */ name);
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];


async function listIcdFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ICD_DIRS) {
    try {
      let names: string[] = [];
      if (runtime === 'deno') names = [...Deno.readDirSync(dir)].map((e: any) => e.name);
      else if (runtime === 'node') names = (await importNode('node:fs')).readdirSync(dir);
      out.push(...names.filter((n) => n.endsWith('.json')).sort().map((n) => `${dir}/${n}`));
    } catch {
      // folder absent
    }
  }
  return out;
}

function driverName(text: string, icd: string | null): string {
  const t = `${text} ${icd ?? ''}`.toLowerCase();
  if (t.includes('swiftshader')) return 'SwiftShader (Google, runs on the CPU)';
  if (t.includes('llvmpipe') || t.includes('lavapipe') || t.includes('lvp_icd')) {
    const mesa = /mesa ([0-9][0-9.]*)/i.exec(text);
    return `lavapipe (Mesa${mesa ? ' ' + mesa[1] : ''}, runs on the CPU)`;
  }
  if (t.includes('nvidia')) return 'NVIDIA';
  if (t.includes('amd') || t.includes('radv') || t.includes('radeon')) return 'AMD';
  if (t.includes('intel')) return 'Intel';
  if (t.includes('apple') || t.includes('metal')) return 'Apple';
  return 'unknown';
}

function runtimeVersion(): string {
  if (runtime === 'node') return String(g.process.version);
  if (runtime === 'deno') return String(Deno.version?.deno ?? '');
  return String(g.navigator?.userAgent ?? '');
}

/**
 * Describes the device Lanterna's ops run on, creating it (`init()`) if need be; or describes
 * the given device.
 */
export async function describeDevice(device?: Gpu): Promise<DeviceDescription> {
  const d = device ?? (await init());
  const a = d.adapterInfo;
  const chosen = runtime === 'browser' ? undefined : (await gpuEntry()).icd;
  const fromEnv = envVar('VK_ICD_FILENAMES') ?? envVar('VK_DRIVER_FILES');
  const icd = runtime === 'browser' ? null : (chosen ?? fromEnv ?? a.icd ?? null);
  const icdSource = runtime === 'browser' ? 'browser' : chosen ? 'lanterna' : icd ? 'environment' : 'loader';
  const out: DeviceDescription = {
    runtime,
    runtimeVersion: runtimeVersion(),
    webgpu: runtime === 'node' ? 'Dawn (npm package webgpu)' : runtime === 'deno' ? 'wgpu (built into Deno)' : "the browser's",
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    description: a.description,
    driver: driverName(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`, icd),
    cpuAdapter: d.plan.cpuDriver,
    icd,
    icdSource,
    features: [...d.features],
    limits: { ...d.limits },
    plan: d.plan,
  };
  if (icdSource === 'loader') out.icdCandidates = await listIcdFiles();
  return out;
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${+(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${+(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

const BYTE_LIMITS = new Set(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize']);

// Vulkan/PCI vendor IDs, which some implementations (wgpu) report instead of a name.
const VENDOR_IDS: Record<number, string> = {
  0x10de: 'NVIDIA',
  0x1002: 'AMD',
  0x8086: 'Intel',
  0x10005: 'Mesa',
  0x1ae0: 'Google',
  0x13b5: 'ARM',
  0x5143: 'Qualcomm',
  0x106b: 'Apple',
};

function vendorText(v: string): string {
  if (!v) return '(not reported)';
  const id = /^\d+$/.test(v) ? Number(v) : /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : NaN;
  return id in VENDOR_IDS ? `${v} (0x${id.toString(16)}: ${VENDOR_IDS[id]})` : v;
}

/** A readable, multi-line rendering of describeDevice()'s result. */
export function formatDevice(d: DeviceDescription): string {
  const icdNote = {
    lanterna: 'chosen by Lanterna as no GPU was found; to choose, set VK_ICD_FILENAMES or LANTERNA_VULKAN=swiftshader|lavapipe',
    environment: 'from VK_ICD_FILENAMES',
    loader: 'chosen by the Vulkan loader',
    browser: "the browser's own",
  }[d.icdSource];
  const rows: [string, string][] = [
    ['runtime', `${d.runtime} ${d.runtimeVersion}`],
    ['WebGPU', d.webgpu],
    ['vendor', vendorText(d.vendor)],
    ['architecture', d.architecture || '(not reported)'],
    ['device', d.device || '(not reported)'],
    ['description', d.description || '(not reported)'],
    ['driver', d.driver],
    ['ICD file', d.icd ? `${d.icd}  (${icdNote})` : icdNote],
  ];
  if (d.icdCandidates) rows.push(['ICD files seen', d.icdCandidates.length ? d.icdCandidates.join(', ') : 'none']);
  rows.push(['features', d.features.length ? d.features.join(', ') : 'none']);
  const p = d.plan;
  if (p) {
    const offered = Object.entries(p.features).filter(([, on]) => on).map(([f]) => f);
    rows.push([
      'plan',
      `${p.cpuDriver ? 'CPU driver' : 'GPU'}; GEMM ${p.gemm}${p.gemm === 'register' ? ` ${p.regTile}×${p.regTile}` : ''}${p.winograd ? `; 3×3 convs by Winograd F(${p.winograd}×${p.winograd}, 3×3)` : ''}; tiles ${p.tiles ? `${p.tiles.TM}×${p.tiles.TN} forced` : `by size${p.narrowTiles ? '' : ', no 128×32'}`}; rows ${p.rowVariant ?? 'by length'}` +
        `; adapter offers ${offered.length ? offered.join(', ') : 'no optional feature used'}${p.debug ? '; debug' : ''} (LANTERNA_* settings change it)`,
    ]);
  }
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = rows.map(([k, v]) => k.padEnd(w) + v);
  lines.push('limits in force');
  const lw = Math.max(...Object.keys(d.limits).map((k) => k.length)) + 2;
  for (const [k, v] of Object.entries(d.limits)) {
    lines.push('  ' + k.padEnd(lw) + (BYTE_LIMITS.has(k) ? `${v} (${bytes(v)})` : String(v)));
  }
  return lines.join('\n');
}
