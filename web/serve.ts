// `npm run web`: builds the browser app (web/build.ts) into dist-web/ and serves it on
// 127.0.0.1 only, printing the URL. Static files only, from that folder.
//   node dist/web/serve.js [--port 8080] [--no-build]

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, repoRoot } from './build.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.h5': 'application/x-hdf5',
  '.png': 'image/png',
  '': 'application/octet-stream', // the MNIST IDX files
};

/** Serves `dir` on 127.0.0.1:`port` (0: any free port). */
export function serveDir(dir: string, port = 0): Promise<{ server: Server; url: string }> {
  const base = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolve(base, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    const type = TYPES[extname(file)];
    if (!(file === base || file.startsWith(base + sep)) || type === undefined || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size, 'cache-control': 'no-cache' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--port');
  const port = Number(i >= 0 ? args[i + 1] : (process.env.PORT ?? 8080));
  const dir = join(repoRoot(), 'dist-web');
  if (!args.includes('--no-build')) {
    const r = await buildWeb(dir);
    console.log(`web: built ${dir} (main.js ${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${(r.ms / 1000).toFixed(1)} s`);
  }
  try {
    const { url } = await serveDir(dir, port);
    console.log(`Lanterna in the browser: ${url}   (127.0.0.1 only; Ctrl+C stops)`);
  } catch (e) {
    console.error(`web: cannot listen on 127.0.0.1:${port}: ${(e as Error).message} (try --port 0)`);
    process.exit(1);
  }
}
