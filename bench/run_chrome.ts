// The benchmark suite in headless Chromium: bundles page.ts (with TF.js from node_modules, no
// CDN) with esbuild, serves it from 127.0.0.1, and drives Debian's /usr/bin/chromium on
// SwiftShader's WebGPU through playwright-core. The page POSTs its results here; they are
// written as bench/results/chromium-<adapter>-<date>.json, .md, .svg.
//
//   npm run bench:chrome -- [options]            # options: see main.ts
//   node dist/bench/run_chrome.js --serve [--port N] [options]
//                                                # only serve: open the printed address by hand
//   --timeout S      give up on the page after S seconds (default 7200)
//   --screenshot F   save a PNG of the finished page (table and chart) as F
//   --result-line    (CI) print one `##lanterna-result` line, or `##lanterna-skip` when
//                    Chromium cannot start or has no adapter
// Environment: CHROMIUM_PATH (default /usr/bin/chromium).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from '../test/runtimes/chromium_launch.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // <outDir>/bench → repository
/** tfjs-backend-wasm's binaries, served as /wasm/… (the page's BenchHost.wasmPaths). */
const WASM_DIR = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
const RESULT = '##lanterna-result ';
const SKIP = '##lanterna-skip ';

const argv = process.argv.slice(2);
const take = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const [, v] = argv.splice(i, 2);
  return v;
};
const flag = (f: string) => (argv.includes(f) ? (argv.splice(argv.indexOf(f), 1), true) : false);
const serveOnly = flag('--serve');
const resultLine = flag('--result-line');
const port = Number(take('--port') ?? (serveOnly ? 8765 : 0));
const timeoutS = Number(take('--timeout') ?? 7200);
const screenshot = take('--screenshot');
const outIdx = argv.indexOf('--out');
const outDir = resolve(outIdx >= 0 ? argv[outIdx + 1] : join(ROOT, 'bench', 'results'));

class Skip extends Error {}

async function bundle(dir: string): Promise<void> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Skip(`esbuild cannot be loaded: ${(e as Error).message}`);
  }
  writeFileSync(join(dir, 'index.html'), readFileSync(join(ROOT, 'bench/page.html')));
  await esbuild.build({
    entryPoints: [join(ROOT, 'bench/page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(dir, 'page.js'),
    logLevel: 'warning',
    absWorkingDir: ROOT,
    plugins: [nodeOnlyStubs],
  });
}

/**
 * nn/applications/vgg16.ts can load Keras files (nn/io: node:fs, h5wasm's Node build); the
 * benchmark never does. Those modules become empty CommonJS stubs in the page, so that the
 * bundle builds and a call into them would fail loudly.
 */
const nodeOnlyStubs = {
  name: 'node-only-stubs',
  setup(b: any) {
    b.onResolve({ filter: /^(node:.*|module|h5wasm(\/.*)?)$/ }, (a: any) => ({ path: a.path, namespace: 'node-only-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only-stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/** Serves the page; POST /save writes a report's files (the first name of a run is made free once). */
function serve(dir: string): Promise<{ server: Server; url: string }> {
  const names = new Map<string, string>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'POST' && path === '/save') {
      let body = '';
      req.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => {
        try {
          const { base, files } = JSON.parse(body) as { base: string; files: [string, string][] };
          if (!/^[\w.-]+$/.test(base) || files.some(([ext]) => !/^\.(json|md|svg)$/.test(ext))) throw new Error('bad name');
          let name = names.get(base);
          if (!name) {
            name = base;
            for (let k = 2; existsSync(join(outDir, name + '.json')); k++) name = `${base}-${k}`;
            names.set(base, name);
          }
          mkdirSync(outDir, { recursive: true });
          const written = files.map(([ext, text]) => (writeFileSync(join(outDir, name + ext), text), join(outDir, name + ext)));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(written));
          lastWritten = written;
        } catch (e) {
          res.writeHead(400).end(String(e));
        }
      });
      return;
    }
    // Cross-origin isolation lets TF.js's wasm backend use threads (SharedArrayBuffer), as a
    // page deployed with these headers would.
    const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    const wasm = /^\/wasm\/(tfjs-backend-wasm[\w-]*\.wasm)$/.exec(path);
    if (req.method === 'GET' && wasm && existsSync(join(WASM_DIR, wasm[1]))) {
      res.writeHead(200, { 'content-type': 'application/wasm', ...isolated }).end(readFileSync(join(WASM_DIR, wasm[1])));
      return;
    }
    const file = { '/': 'index.html', '/index.html': 'index.html', '/page.js': 'page.js' }[path];
    if (req.method !== 'GET' || !file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html', ...isolated }).end(readFileSync(join(dir, file)));
  });
  return new Promise((ok, fail) => {
    server.on('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as any).port}/` }));
  });
}

let lastWritten: string[] = [];

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bench-page-'));
  let server: Server | undefined;
  let browser: any;
  try {
    await bundle(dir);
    const served = await serve(dir);
    server = served.server;
    const url = `${served.url}${argv.length ? `?args=${encodeURIComponent(argv.join(' '))}` : ''}`;
    if (serveOnly) {
      console.log(`serving the benchmark page at ${url}\n(open it in a browser with WebGPU; results are written to ${outDir}; Ctrl-C stops)`);
      await new Promise(() => {});
    }
    const playwright = await loadPlaywright((why) => {
      throw new Skip(why);
    });
    try {
      // Developer features: timestamps at full resolution (Chrome quantizes them to 100 µs otherwise).
      browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-webgpu-developer-features'], timeout: 60_000 });
    } catch (e) {
      throw new Skip(`Chromium did not start: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!resultLine) console.log(`page: ${url}`);
    const page = await browser.newPage();
    page.on('console', (m: any) => console.log(m.text()));
    let problem: string | undefined;
    page.on('pageerror', (e: Error) => (problem ??= `uncaught error in the page: ${e.message}`));
    page.on('crash', () => (problem ??= 'the page crashed'));
    await page.goto(url);
    try {
      await page.waitForFunction(() => (globalThis as any).__benchDone === true, null, { timeout: timeoutS * 1000, polling: 500 });
    } catch (e) {
      problem ??= (e as Error).message.split('\n')[0];
    }
    const state = await page
      .evaluate(() => ({ checks: (globalThis as any).__benchChecks, error: (globalThis as any).__benchError, device: (globalThis as any).__benchDevice }))
      .catch(() => ({}) as any);
    if (resultLine && state.device) console.log('##lanterna-device ' + JSON.stringify(state.device));
    const error: string | undefined = problem ?? state.error;
    if (error && /no WebGPU|navigator\.gpu|requestAdapter|No WebGPU adapter/i.test(error)) throw new Skip(`no WebGPU adapter in Chromium: ${error}`);
    if (lastWritten.length) console.log(`wrote ${lastWritten.join(', ')}`);
    if (screenshot) await page.screenshot({ path: resolve(screenshot), fullPage: true }).catch((e: Error) => console.error(`screenshot: ${e.message}`));
    if (resultLine)
      console.log(RESULT + JSON.stringify(state.checks && !error ? { file: 'bench (chromium, tiny)', ms: 0, ...state.checks } : { file: 'bench (chromium, tiny)', passed: 0, failed: 1, skipped: 0, ms: 0, error: error ?? 'no result' }));
    else if (error) console.error(`bench: ${error}`);
    return error ? 1 : 0;
  } catch (e) {
    if (!(e instanceof Skip)) throw e;
    if (resultLine) console.log(SKIP + JSON.stringify({ reason: e.message }));
    else console.error(`bench: ${e.message}`);
    return resultLine ? 0 : 1;
  } finally {
    await browser?.close().catch(() => undefined);
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
