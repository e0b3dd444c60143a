// Headless Chromium on SwiftShader's WebGPU (see ../shared/docs/ENVIRONMENT.md), shared by the
// runtime that runs the portable suites (chromium.ts) and the browser app's end-to-end test (web.ts).
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
