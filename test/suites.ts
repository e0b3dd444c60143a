// The portable suites: test files that exercise only kernels and the engine (no node:fs, no
// files, no Node-only packages), so that they run unchanged under Node (Dawn), Deno (wgpu) and
// headless Chromium. scripts/test.sh runs each of them in all three runtimes.
//
// Paths are relative to the repository root, as TypeScript sources. Files that do not exist (yet)
// are left out at run time, so a suite can be listed here before it is written.

export const PORTABLE_SUITES: readonly string[] = [
  'test/elementwise.test.ts',
  'test/reduce.test.ts',
  'test/layout.test.ts',
  'test/matmul.test.ts',
  'test/conv2d.test.ts',
  'test/depthwise.test.ts',
  'test/conv_general.test.ts',
  'test/winograd.test.ts',
  'test/pooling.test.ts',
  'test/resize.test.ts',
  'test/softmax.test.ts',
  'test/loss.test.ts',
  'test/optim.test.ts',
  'test/autograd.test.ts',
  'test/dropout.test.ts',
  'test/device.test.ts',
  'test/scope_concurrency.test.ts',
  'test/gradients_api.test.ts',
];
