// The benchmark suite's Node entry point: our engine beside TensorFlow.js 4.22's WebGPU backend
// on the same adapter (Dawn), in one process. The suite itself is main.ts (options there).
//
//   npm run bench                              # build into dist/, run the default suite
//   node dist/bench/run.js [options]           # see main.ts, or --help
//   LANTERNA_VULKAN=swiftshader|lavapipe, or VK_ICD_FILENAMES, choose the driver (engine/adapter.ts).
//
// Writes <out>/<adapter>-<date>.json, .md and .svg (a -2, -3 … suffix rather than overwrite).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchShutdown, parseArgs, runBench, type BenchHost } from './main.ts';
import type { BenchReport } from './report.ts';
import { MOBILENET_JSON, type BenchData } from './workloads/mobilenet.ts';

export { parseArgs, benchShutdown };

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // <outDir>/bench → repository

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}

function gitInfo(): { commit?: string; dirty?: boolean } {
  try {
    return { commit: git(['rev-parse', '--short', 'HEAD']), dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    return {}; // not a git checkout (a bundle on the lent GPU machine)
  }
}

/** A short hash of the kernel and engine sources, since results depend on uncommitted work too. */
function sourceHash(): string | undefined {
  try {
    const h = createHash('sha256');
    for (const dir of ['kernels', 'engine', 'engine/ops']) {
      const d = join(ROOT, dir);
      for (const f of readdirSync(d).filter((n) => n.endsWith('.ts')).sort()) h.update(`${dir}/${f}\0`).update(readFileSync(join(d, f)));
    }
    return h.digest('hex').slice(0, 12);
  } catch {
    return undefined; // sources not shipped (a bundle)
  }
}

const outDir = (out: string | undefined) => resolve(out ?? join(ROOT, 'bench', 'results'));

/** The shared data folder (LANTERNA_DATA, else ../shared/data beside the repository), as the tests find it. */
function benchData(): BenchData | string {
  const dir = resolve(process.env.LANTERNA_DATA ?? join(ROOT, '..', 'shared', 'data'));
  if (!existsSync(join(dir, MOBILENET_JSON))) return `the real MobileNet files are absent (${join(dir, MOBILENET_JSON)}); set LANTERNA_DATA to the shared data folder`;
  return { dir, read: async (path) => readFileSync(path) };
}

export const nodeHost: BenchHost = {
  runtime: 'node',
  runtimeVersion: process.version,
  info: () => ({
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model?.trim(),
    ...gitInfo(),
    sourceHash: sourceHash(),
  }),
  load: () => +loadavg()[0].toFixed(2),
  data: benchData,
  exists: (out, base) => existsSync(join(outDir(out), base + '.json')),
  save(out, base, files) {
    const dir = outDir(out);
    mkdirSync(dir, { recursive: true });
    return files.map(([ext, text]) => {
      const f = join(dir, base + ext);
      writeFileSync(f, text);
      return f;
    });
  },
};

/** Runs the suite under Node; returns the report and where it was written. */
export function benchMain(argv: string[]): Promise<{ report: BenchReport; files: string[] }> {
  return runBench(argv, nodeHost);
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  try {
    await benchMain(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await benchShutdown();
    setTimeout(() => process.exit(), 3000).unref();
  }
}
