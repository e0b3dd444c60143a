// Runs portable test files in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), on SwiftShader's WebGPU. The TypeScript sources are bundled with esbuild,
// served from 127.0.0.1 and run one page per file, so a crash only fails that file.
//   node dist/test/runtimes/chromium.js test/elementwise.test.ts [more files]
//   node dist/test/runtimes/chromium.js --probe
// Prints `##lanterna-result` lines (see harness.ts), or one `##lanterna-skip` line when the
// browser cannot be started or has no WebGPU adapter.
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), LANTERNA_TEST_TIMEOUT (seconds per file).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from './chromium_launch.ts';
import { resultLine, SKIP_TAG, type SuiteResult } from './harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/runtimes → repository
const TIMEOUT_MS = Number(process.env.LANTERNA_TEST_TIMEOUT || 1200) * 1000;
export { CHROMIUM_ARGS };

/** Thrown when the runtime cannot start: reported as SKIPPED, not as a failure. */
class Skip extends Error {}
const skip = (reason: string): never => {
  throw new Skip(reason);
};

/** The page's script: runs the suite named in ?suite=, or describes the adapter for ?probe. */
function entrySource(files: string[]): string {
  const abs = (f: string) => JSON.stringify(resolve(ROOT, f));
  return `
import { runSuite, resultLine, errorText, SKIP_TAG } from ${abs('test/runtimes/harness.ts')};
const suites = {
${files.map((f) => `  ${JSON.stringify(f)}: () => import(${abs(f)}),`).join('\n')}
};
const params = new URL(location.href).searchParams;
const out = (s) => console.log(s);
const finish = (line) => { console.log(line); globalThis.__lanternaDone = true; };
if (params.has('probe')) {
  try {
    const { describeDevice } = await import(${abs('engine/info.ts')});
    finish('##lanterna-device ' + JSON.stringify(await describeDevice()));
  } catch (e) {
    finish(SKIP_TAG + JSON.stringify({ reason: 'no WebGPU adapter in Chromium: ' + errorText(e).split('\\n')[0] }));
  }
} else {
  const file = params.get('suite');
  const result = await runSuite(file, suites[file] ?? (() => Promise.reject(new Error('not bundled'))), out);
  finish(resultLine(result));
}
`;
}

/**
 * Bundles the page with every file in `files` that esbuild can bundle for the browser; returns
 * the files that could not be, with esbuild's first error (those fail, the others still run).
 */
async function bundle(files: string[], dir: string): Promise<Map<string, string>> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    return skip(`esbuild cannot be loaded (npm i -D esbuild): ${(e as Error).message}`);
  }
  writeFileSync(join(dir, 'index.html'), readFileSync(join(ROOT, 'test/runtimes/chromium.html')));
  const build = (list: string[], write = true) => {
    writeFileSync(join(dir, 'entry.ts'), entrySource(list));
    return esbuild.build({
      entryPoints: [join(dir, 'entry.ts')],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outdir: dir,
      sourcemap: 'inline',
      logLevel: 'silent',
      absWorkingDir: ROOT,
      write,
    });
  };
  const bad = new Map<string, string>();
  try {
    await build(files);
    return bad;
  } catch {
    for (const f of files) {
      try {
        await build([f], false);
      } catch (e) {
        const err = (e as any).errors?.[0];
        bad.set(f, `cannot be bundled for the browser: ${err ? `${err.location?.file ?? ''}:${err.location?.line ?? ''}: ${err.text}` : (e as Error).message}`);
      }
    }
    await build(files.filter((f) => !bad.has(f)));
    return bad;
  }
}

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = resolve(dir, '.' + (path === '/' ? '/index.html' : path));
    if (!file.startsWith(dir) || !existsSync(file) || !types[extname(file)]) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as any).port}/` })));
}

// Page console output: uvu's progress dots arrive one message each and carry their own spacing;
// other messages get a newline. Colours only go to a terminal.
const ANSI = /\x1b\[[0-9;]*m/g;
const forward = (text: string) => {
  if (text.startsWith('##lanterna-')) return;
  const plain = text.replace(ANSI, '');
  if (!process.stdout.isTTY) text = plain;
  process.stdout.write(/[ \n]$/.test(plain) ? text : text + '\n');
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const probe = args[0] === '--probe';
  const files = args.filter((a) => !a.startsWith('--'));
  const playwright = await loadPlaywright(skip);
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-chromium-'));
  let server: Server | undefined;
  let browser: Awaited<ReturnType<typeof playwright.chromium.launch>> | undefined;
  try {
    const unbundled = await bundle(files, dir);
    const served = await serve(dir);
    server = served.server;
    try {
      browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    } catch (e) {
      return skip(`Chromium did not start: ${(e as Error).message.split('\n')[0]}`);
    }

    // Runs one page to its final tag line; null if the page crashed or timed out.
    const runPage = async (query: string, timeoutMs: number): Promise<{ line: string | null; problem?: string }> => {
      const page = await browser!.newPage();
      let line: string | null = null;
      let problem: string | undefined;
      page.on('console', (m) => {
        const t = m.text();
        if (t.startsWith('##lanterna-')) line = t;
        forward(t);
      });
      page.on('pageerror', (e) => {
        problem ??= `uncaught error in the page: ${e.message}`;
        process.stdout.write(`\n  ✘ ${problem}\n`);
      });
      page.on('crash', () => (problem ??= 'the page crashed'));
      try {
        await page.goto(served.url + query);
        await page.waitForFunction(() => (globalThis as any).__lanternaDone === true, null, { timeout: timeoutMs, polling: 250 });
      } catch (e) {
        problem ??= `${(e as Error).message.split('\n')[0]}`;
      }
      await page.close().catch(() => undefined);
      return { line, problem };
    };

    const p = await runPage('?probe=1', 120_000);
    if (!p.line) return skip(`the Chromium page did not report an adapter: ${p.problem ?? 'no output'}`);
    console.log(p.line);
    if (p.line.startsWith(SKIP_TAG)) return;
    if (probe) return;

    for (const file of files) {
      console.log(file);
      const t0 = Date.now();
      const why = unbundled.get(file);
      if (why) {
        console.log(`\n  ✘ ${file} ${why}`);
        console.log(resultLine({ file, passed: 0, failed: 1, skipped: 0, ms: 0, error: why }));
        continue;
      }
      const r = await runPage(`?suite=${encodeURIComponent(file)}`, TIMEOUT_MS);
      if (r.line) console.log(r.line);
      else {
        const result: SuiteResult = { file, passed: 0, failed: 1, skipped: 0, ms: Date.now() - t0, error: r.problem ?? 'no result' };
        console.log(`\n  ✘ ${file}: ${result.error}`);
        console.log(resultLine(result));
      }
      console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }
  } finally {
    await browser?.close().catch(() => undefined);
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  if (!(e instanceof Skip)) throw e;
  console.log(SKIP_TAG + JSON.stringify({ reason: e.message }));
}
