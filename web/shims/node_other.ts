// Browser stand-ins for the few other Node built-ins that library modules import at their top
// (web/build.ts maps node:os, node:path, node:url, node:module, node:fs/promises, node:crypto here). Only what
// the app's code paths call is real; the rest throws a clear error if ever reached.

export const tmpdir = () => '/tmp';

export function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/+/g, '/');
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : p.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const b = p.slice(p.lastIndexOf('/') + 1);
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(i) : '';
}

export const resolve = join;

export function fileURLToPath(u: string | URL): string {
  return new URL(String(u)).pathname;
}

const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser`);
};
export const createRequire = unavailable('module.createRequire');
export const open = unavailable('fs.promises.open');
export const stat = unavailable('fs.promises.stat');
// The applications' weights digests are for tests in Node; the page never calls them.
export const createHash = unavailable('crypto.createHash');
export default { tmpdir, join, dirname, basename, extname, resolve, fileURLToPath, createRequire, open, stat, createHash };
