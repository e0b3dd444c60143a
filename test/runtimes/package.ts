// Tests the package as a user gets it, not the source tree: `npm pack`, a fresh project in a
// temporary folder, `npm install` of the tarball (from npm's cache, which `npm ci` filled), then,
// in that project only: the examples in Node (examples/*.mjs, the gradient studies included), a strict TypeScript consumer, the
// Deno example, `npx lanterna`, and examples/browser.html in headless Chromium twice: as a plain
// page (import map) and bundled by esbuild from the installed package.
//   node dist/test/runtimes/package.js [--keep] [--only pack,node,ts,deno,cli,browser]
// Prints one `##lanterna-result` line (one count per check), or `##lanterna-skip` when npm cannot
// install the tarball offline. --keep leaves the project folder for inspection.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { repoRoot } from '../../web/build.ts';
import { buildLib } from '../../web/build_lib.ts';
import { serveDir } from '../../web/serve.ts';
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from './chromium_launch.ts';
import { resultLine, SKIP_TAG } from './harness.ts';

const ROOT = repoRoot();
const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const wants = (g: string) => !only || only.includes(g);
const result = { file: 'package (npm pack → fresh project)', passed: 0, failed: 0, skipped: 0, ms: 0 };
const t0 = Date.now();
const NOISE = /artificially reduced from \d+ to \d+|XDG_RUNTIME_DIR/;

/** What the tarball must hold, and what it must not. */
const REQUIRED = ['bin/lanterna.js', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/cli/main.js', 'models/cam1.h5', 'models/cam2.h5', 'data/imagenet_class_index.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
const FORBIDDEN = [/^dist\/(test|bench|web)\//, /\.map$/, /\.log$/, /history\.json$/, /checks\.txt$/, /^(test|scripts|bench|web|docs|examples)\//, /\.tgz$/];
const MAX_PACKED = 4 * 2 ** 20;

async function check(name: string, fn: () => Promise<string | void> | string | void): Promise<boolean> {
  const t = Date.now();
  try {
    const info = await fn();
    result.passed++;
    console.log(`  ✔ ${name}${info ? ` — ${info}` : ''} (${((Date.now() - t) / 1000).toFixed(1)}s)`);
    return true;
  } catch (e) {
    result.failed++;
    console.log(`  ✘ ${name}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
    return false;
  }
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function run(cmd: string, args: string[], cwd: string, timeoutS = 300, env: Record<string, string> = {}): SpawnSyncReturns<string> & { out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutS * 1000, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 2 ** 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => !NOISE.test(l))
    .join('\n')
    .trim();
  return Object.assign(r, { out });
}

function ok(r: ReturnType<typeof run>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status ?? r.signal}: ${r.out.split('\n').slice(-6).join(' | ')}`);
  return r.out;
}

function findDeno(): string | null {
  for (const cmd of [join(ROOT, 'node_modules/.bin/deno'), 'deno']) if (spawnSync(cmd, ['--version']).status === 0) return cmd;
  return null;
}

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

async function main(): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'lanterna-package-'));
  const proj = join(work, 'consumer');
  let server: Server | undefined;
  try {
    // The browser entry points are built by `npm run build` (the prepack script); the test
    // command builds with tsc only, so they are made here first and the pack skips the scripts.
    await buildLib(join(ROOT, 'dist/browser'));
    let info: PackInfo | undefined;
    const packed = await check('npm pack: the tarball holds what users need and nothing else', () => {
      const r = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT, 120);
      ok(r, 'npm pack');
      info = (JSON.parse(r.stdout) as PackInfo[])[0];
      const files = info.files.map((f) => f.path);
      const missing = REQUIRED.filter((f) => !files.includes(f));
      assert(!missing.length, `missing from the tarball: ${missing.join(', ')}`);
      const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
      const dangling = targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !files.includes(t));
      assert(!dangling.length, `package.json exports point at files not in the tarball: ${dangling.join(', ')}`);
      const bad = files.filter((f) => FORBIDDEN.some((re) => re.test(f)));
      assert(!bad.length, `files users do not need: ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ` and ${bad.length - 8} more` : ''}`);
      assert(info.size <= MAX_PACKED, `${info.size} bytes packed, over the ${MAX_PACKED} budget`);
      const byTop = new Map<string, number>();
      for (const f of info.files) {
        const top = f.path.split('/').slice(0, f.path.startsWith('dist/') ? 2 : 1).join('/');
        byTop.set(top, (byTop.get(top) ?? 0) + f.size);
      }
      console.log(`    ${[...byTop].map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} KiB`).join(', ')}`);
      return `${info.filename}: ${files.length} files, ${(info.size / 2 ** 20).toFixed(2)} MiB packed, ${(info.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked`;
    });
    if (!packed || !info) return;

    mkdirSync(proj);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'lanterna-consumer', private: true, type: 'module' }, null, 2));
    const r = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], proj, 600);
    if (r.status !== 0) {
      // No registry and no cache: the project cannot be installed at all here (not a defect of ours).
      if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENOTCACHED|network/i.test(r.out)) {
        console.log(`${SKIP_TAG}npm could not install the tarball's dependencies (offline, nothing cached): ${r.out.split('\n').slice(-2).join(' ')}`);
        result.skipped++;
        return;
      }
      await check('npm install of the tarball into a fresh project', () => ok(r, 'npm install') && undefined);
      return;
    }
    result.passed++;
    console.log(`  ✔ npm install ${info.filename} into a fresh project (${proj})`);
    cpSync(join(ROOT, 'examples'), join(proj, 'examples'), { recursive: true });

    if (wants('node')) {
      const ex = join(proj, 'examples');
      await check('examples/gradients.mjs (Node)', () => {
        const out = ok(run('node', ['gradients.mjs'], ex), 'gradients.mjs');
        assert(/finite differences agree/.test(out) && /tanh\(/.test(out), `unexpected output: ${out}`);
        return out.split('\n').find((l) => l.startsWith('df/dx'));
      });
      await check('examples/training.mjs (Node): learns, saves, reloads', () => {
        const out = ok(run('node', ['training.mjs'], ex), 'training.mjs');
        const acc = Number(/^test accuracy ([\d.]+)/m.exec(out)?.[1]);
        const again = Number(/reloaded from small_cnn.h5: test accuracy ([\d.]+)/.exec(out)?.[1]);
        assert(acc > 0.7, `test accuracy ${acc} after 3 epochs on 2 000 digits (expected > 0.7): ${out}`);
        assert(again === acc, `the reloaded model scores ${again}, the trained one ${acc}`);
        return `test accuracy ${acc}, reloaded ${again}`;
      });
      await check('examples/explaining.mjs (Node): Grad-CAM overlay PNG', () => {
        const out = ok(run('node', ['explaining.mjs'], ex), 'explaining.mjs');
        assert(/class 7 \(p = /.test(out), `digit7.png not classified as 7: ${out}`);
        const png = PNG.sync.read(readFileSync(join(ex, 'gradcam.png')));
        assert(png.width === 28 && png.height === 28, `gradcam.png is ${png.width}×${png.height}`);
        return out.split('\n')[0].replace(proj, '.');
      });
      // The gradient studies (issue 19): each asserts the figure that tells its story.
      await check('examples/vanishing_gradients.mjs (Node): sigmoid gradients vanish, ReLU ones do not', () => {
        const out = ok(run('node', ['vanishing_gradients.mjs'], ex), 'vanishing_gradients.mjs');
        const ratio = Number(/^first layer, sigmoid \/ relu: ([\d.e+-]+)/m.exec(out)?.[1]);
        const relu = Number(/^first layer \/ last layer: sigmoid [\d.e+-]+, relu ([\d.e+-]+)/m.exec(out)?.[1]);
        assert(ratio < 1e-3, `sigmoid's first-layer gradient norm is ${ratio} × ReLU's (expected < 1e-3): ${out}`);
        assert(relu > 0.1, `ReLU's first/last layer gradient norm ratio ${relu} (expected > 0.1): ${out}`);
        return `first layer sigmoid/relu ${ratio}`;
      });
      await check('examples/dead_relu.mjs (Node): a learning rate too high kills most ReLUs for good', () => {
        const out = ok(run('node', ['dead_relu.mjs'], ex), 'dead_relu.mjs');
        const share = (re: RegExp) => Number(re.exec(out)?.[1]);
        const sane = share(/^lr 0\.5: .*after 20 steps ([\d.]+)% dead/m);
        const high = share(/^lr 8: .*after 20 steps ([\d.]+)% dead/m);
        const later = share(/then 20 steps at lr 0\.5: ([\d.]+)% dead/);
        assert(sane < 10 && high > 50 && later > 50, `dead shares: sane lr ${sane}%, high lr ${high}%, then sane again ${later}% (expected < 10, > 50, > 50): ${out}`);
        return `dead: ${sane}% at lr 0.5, ${high}% at lr 8, ${later}% after recovering`;
      });
      await check('examples/differentiable_gradcam.mjs (Node): ∂(Grad-CAM map)/∂image matches finite differences', () => {
        const out = ok(run('node', ['differentiable_gradcam.mjs'], ex), 'differentiable_gradcam.mjs');
        const worst = Number(/^worst relative error ([\d.e+-]+) over 5 pixels/m.exec(out)?.[1]);
        assert(worst < 1e-3, `worst relative error ${worst} (expected < 1e-3): ${out}`);
        return `worst relative error ${worst} over 5 pixels`;
      });
    }

    if (wants('ts'))
      await check('strict TypeScript consumer (strict, skipLibCheck false, no @types/node): compiles and runs', () => {
        const dir = join(proj, 'ts');
        cpSync(join(ROOT, 'test/runtimes/fixtures/consumer'), dir, { recursive: true });
        ok(run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], dir, 180), 'tsc');
        const out = ok(run('node', ['out/consumer.js'], dir), 'node out/consumer.js');
        assert(/typed consumer: grad 2,4,6, 1 epoch, map 8x8, png \d+ bytes/.test(out) && /graph ok/.test(out), `unexpected output: ${out}`);
        return out.split('\n')[0];
      });

    if (wants('deno')) {
      const deno = findDeno();
      if (!deno) {
        result.skipped++;
        console.log('  - SKIPPED Deno consumer: no deno');
      } else
        await check('examples/deno.ts (Deno, npm package from node_modules): deno check and run', () => {
          const ex = join(proj, 'examples');
          ok(run(deno, ['check', 'deno.ts'], ex, 180), 'deno check');
          const out = ok(run(deno, ['run', '-A', 'deno.ts'], ex, 180), 'deno run');
          assert(/d\(Σx²\)\/dx = 1 -2\.4\d* 4/.test(out) && /class 7 \(p = /.test(out), `unexpected output: ${out}`);
          return out.split('\n').slice(-1)[0];
        });
    }

    if (wants('cli')) {
      await check('npx lanterna --version / --help from the installed package', () => {
        const v = ok(run('npx', ['--no-install', 'lanterna', '--version'], proj, 60), 'lanterna --version');
        assert(v.trim() === pkg.version, `--version printed '${v}', package.json says ${pkg.version}`);
        const h = ok(run('npx', ['--no-install', 'lanterna', '--help'], proj, 60), 'lanterna --help');
        const missing = ['train', 'evaluate', 'predict', 'cam', 'gradcam', 'info'].filter((c) => !new RegExp(`^\\s+${c}\\b`, 'm').test(h));
        assert(!missing.length, `--help does not list: ${missing.join(', ')}`);
        return `version ${v.trim()}`;
      });
      await check('npx lanterna cam with the shipped model, quiet (no driver warnings on stderr)', () => {
        const r = run('npx', ['--no-install', 'lanterna', 'cam', '--model', 'node_modules/lanterna/models/cam1.h5', '--images', '2', '--out', 'cam.png'], proj, 120);
        const out = ok(r, 'lanterna cam');
        assert(existsSync(join(proj, 'cam.png')), `no cam.png: ${out}`);
        assert(!/artificially reduced|Loader Message/.test(r.stderr), `the driver's warnings reached the terminal: ${r.stderr.slice(0, 300)}`);
        return out.split('\n')[0];
      });
    }

    if (wants('browser')) await browserChecks(proj, (s) => (server = s));
  } finally {
    server?.close();
    if (argv.includes('--keep')) console.log(`  (kept ${work})`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** examples/browser.html as it is (import map), and its script bundled by esbuild into a page. */
async function browserChecks(proj: string, keepServer: (s: Server) => void): Promise<void> {
  let playwright: typeof import('playwright-core');
  try {
    playwright = await loadPlaywright((why) => {
      throw new Error(why);
    });
  } catch (e) {
    result.skipped += 2;
    console.log(`  - SKIPPED browser pages: ${(e as Error).message}`);
    return;
  }
  const ex = join(proj, 'examples');
  const bundled = await check('esbuild bundles examples/browser.js from the installed package (browser condition)', async () => {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({ entryPoints: [join(ex, 'browser.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(ex, 'bundle/browser.js'), absWorkingDir: proj, logLevel: 'silent', metafile: true });
    const fromPkg = Object.keys(r.metafile.inputs).filter((f) => f.includes('node_modules/lanterna/dist/browser/'));
    assert(fromPkg.length > 0, 'the bundle took nothing from node_modules/lanterna/dist/browser (wrong export condition?)');
    const html = readFileSync(join(ex, 'browser.html'), 'utf8')
      .replace(/<script type="importmap">.*?<\/script>\n?/s, '')
      .replace('src="browser.js"', 'src="bundle/browser.js"');
    writeFileSync(join(ex, 'bundled.html'), html);
    return `${fromPkg.length} files of the package's browser build in the bundle`;
  });
  const { server, url } = await serveDir(proj, 0);
  keepServer(server);
  const browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  try {
    for (const [page, what] of [
      ['examples/browser.html', 'plain page with an import map'],
      ['examples/bundled.html', 'page bundled by esbuild'],
    ] as const) {
      if (page === 'examples/bundled.html' && !bundled) continue;
      await check(`${page} in headless Chromium (${what}): gradients and Grad-CAM`, async () => {
        const p = await browser.newPage();
        const errors: string[] = [];
        p.on('pageerror', (e) => errors.push(e.message));
        try {
          await p.goto(url + page);
          await p.waitForFunction(() => document.body?.dataset.status !== undefined, null, { timeout: 180_000, polling: 250 });
          const status = await p.evaluate(() => document.body.dataset.status);
          const text = await p.evaluate(() => document.getElementById('out')?.textContent ?? '');
          assert(status === 'ok', `status ${status}: ${text} ${errors.join(' | ')}`);
          assert(/d\(Σx²\)\/dx = 1 -2\.4\d* 4/.test(text) && /class 7 \(p = /.test(text), `unexpected output: ${text}`);
          const lit = await p.evaluate(() => {
            const c = document.getElementById('overlay') as HTMLCanvasElement;
            const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) n++;
            return n;
          });
          assert(lit > 1000, `the overlay canvas has only ${lit} non-black pixels`);
          return text.trim().split('\n').slice(-1)[0];
        } finally {
          await p.close();
        }
      });
    }
  } finally {
    await browser.close();
  }
}

main()
  .catch((e) => {
    result.failed++;
    console.log(`  ✘ the package test stopped: ${(e as Error).stack ?? e}`);
  })
  .finally(() => {
    result.ms = Date.now() - t0;
    console.log(resultLine(result));
  });
