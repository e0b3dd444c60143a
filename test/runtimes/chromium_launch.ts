// How Lanterna starts Debian's Chromium headless on SwiftShader's WebGPU (no GPU needed), for
// the test runner (chromium.ts), the browser app's test (web.ts) and the benchmark (bench/run_chrome.ts).

import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * playwright-core, once Chromium is known to be there. `skip` reports why not: a missing browser
 * or driver skips a runtime, it does not fail it.
 */
export async function loadPlaywright(skip: (reason: string) => never): Promise<typeof import('playwright-core')> {
  if (!existsSync(CHROMIUM)) skip(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  try {
    return await import('playwright-core');
  } catch (e) {
    return skip(`playwright-core cannot be loaded (npm i -D playwright-core): ${(e as Error).message}`);
  }
}
