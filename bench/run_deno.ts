// The benchmark suite under Deno, on Deno's own WebGPU (wgpu), with TF.js 4.22's WebGPU backend
// on the same navigator.gpu. Run from the repository root (Deno resolves the npm packages from
// package.json and node_modules):
//   npm run bench:deno -- [options]          # options: see main.ts
//   node_modules/.bin/deno run -A --no-lock bench/run_deno.ts [options]
// Writes bench/results/deno-<adapter>-<date>.json, .md, .svg. `--result-line` (for the CI)
// prints one `##lanterna-result` line (test/runtimes/harness.ts) instead of failing the process.

import { benchChecks, benchShutdown, runBench, type BenchHost } from './main.ts';

declare const Deno: any;

const tryOr = <T>(f: () => T, d: T): T => {
  try {
    return f();
  } catch {
    return d;
  }
};
const outDir = (out: string | undefined) => out ?? 'bench/results';

function git(args: string[]): string | undefined {
  return tryOr(() => {
    const r = new Deno.Command('git', { args, stdout: 'piped', stderr: 'null' }).outputSync();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : undefined;
  }, undefined);
}

const denoHost: BenchHost = {
  runtime: 'deno',
  runtimeVersion: String(Deno.version?.deno ?? ''),
  info: () => {
    const status = git(['status', '--porcelain', '--untracked-files=no']);
    return {
      platform: `${Deno.build.os}-${Deno.build.arch}`,
      cpus: (globalThis as any).navigator?.hardwareConcurrency,
      commit: git(['rev-parse', '--short', 'HEAD']),
      ...(status === undefined ? {} : { dirty: status !== '' }),
    };
  },
  load: () => tryOr(() => +Deno.loadavg()[0].toFixed(2), undefined),
  exists: (out, base) => tryOr(() => (Deno.statSync(`${outDir(out)}/${base}.json`), true), false),
  save(out, base, files) {
    const dir = outDir(out);
    Deno.mkdirSync(dir, { recursive: true });
    return files.map(([ext, text]) => {
      const f = `${dir}/${base}${ext}`;
      Deno.writeTextFileSync(f, text);
      return f;
    });
  },
};

const args: string[] = [...Deno.args];
const resultLine = args.includes('--result-line');
let code = 0;
try {
  const { report } = await runBench(args.filter((a) => a !== '--result-line'), denoHost);
  if (resultLine && report) {
    const c = benchChecks(report);
    console.log('##lanterna-device ' + JSON.stringify(report.device));
    console.log('##lanterna-result ' + JSON.stringify({ file: 'bench (deno, tiny)', ...c, ms: Math.round(Number(report.host.seconds) * 1000) }));
  }
} catch (e) {
  const msg = (e as Error).message;
  const noAdapter = /no WebGPU adapter|navigator\.gpu/i.test(msg);
  if (resultLine && noAdapter) console.log('##lanterna-skip ' + JSON.stringify({ reason: `no WebGPU adapter in Deno: ${msg.split('\n')[0]}` }));
  else if (resultLine) console.log('##lanterna-result ' + JSON.stringify({ file: 'bench (deno, tiny)', passed: 0, failed: 1, skipped: 0, ms: 0, error: msg.split('\n')[0] }));
  else console.error(`bench: ${msg}`);
  code = resultLine && noAdapter ? 0 : 1;
} finally {
  await benchShutdown().catch(() => {});
}
Deno.exit(code);
