// Builds the library's browser entry points (package.json `exports` → "browser"): lib/*.ts bundled
// by esbuild with the Node built-ins mapped to web/shims/ (as the app is built), split so that the
// four entry points share one copy of the engine (one device, one tape) in a page.
//   node dist/web/build_lib.js [outDir]      (npm run build runs it into dist/browser)

import { rmSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserPlugin, repoRoot } from './build.ts';

export const LIB_ENTRIES = ['index', 'engine', 'nn', 'explain'];

export async function buildLib(outDir: string): Promise<{ files: string[]; ms: number }> {
  const t0 = performance.now();
  const root = repoRoot();
  const esbuild = await import('esbuild');
  rmSync(outDir, { recursive: true, force: true }); // chunk names carry hashes: old ones would pile up
  const result = await esbuild.build({
    entryPoints: LIB_ENTRIES.map((e) => join(root, 'lib', `${e}.ts`)),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: false,
    minify: false,
    logLevel: 'silent',
    absWorkingDir: root,
    metafile: true,
    define: { 'process.pid': '0', 'process.env': '{}' },
    plugins: [browserPlugin(root)],
  });
  const external = Object.keys(result.metafile.inputs).filter((f) => /^https?:/.test(f));
  if (external.length) throw new Error(`web/build_lib: the bundle would load ${external.join(', ')} from the network`);
  return { files: Object.keys(result.metafile.outputs), ms: performance.now() - t0 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(repoRoot(), 'dist/browser'));
  const r = await buildLib(out);
  console.log(`build: browser entry points in ${out} (${r.files.length} files) in ${(r.ms / 1000).toFixed(1)} s`);
}
