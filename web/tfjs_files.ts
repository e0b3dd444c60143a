// A TF.js layers model picked (or dropped) as several files: model.json and its weight shards.
// They are written into one fresh MEMFS folder under the names the manifest gives, and the
// library's loadModel reads model.json there as it reads a folder on disk. The picked files carry
// no folders, so shards are matched by file name; what is missing is named before anything is
// read, and error messages speak of the picked names, not of MEMFS paths.

import { h5ready } from '../nn/io/h5.ts';
import { loadModel, type LoadedModel } from '../nn/model_file.ts';
import { DIR, fileToMemfs, nextName, type OnProgress } from './memfs.ts';
import { mkdirs, rmSync } from './shims/node_fs.ts';

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const list = (files: readonly File[]) => files.map((f) => f.name).join(', ');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Whether picked files are meant as a TF.js model (rather than one Keras file): several, or a .json or .bin among them. */
export function isTfjsPick(files: readonly File[]): boolean {
  return files.length > 1 || files.some((f) => /\.(json|bin)$/i.test(f.name));
}

/** The model.json among the picked files (one .json, or the one named model.json). */
export function pickModelJson(files: readonly File[]): File {
  const jsons = files.filter((f) => /\.json$/i.test(f.name));
  if (!jsons.length)
    throw new Error(`model.json is missing among the ${plural(files.length, 'picked file')} (${list(files)}): pick a TF.js model's model.json together with its weight shards, or one Keras .h5 / .keras file`);
  if (jsons.length === 1) return jsons[0];
  const named = jsons.filter((f) => f.name === 'model.json');
  if (named.length === 1) return named[0];
  throw new Error(`${plural(jsons.length, '.json file')} picked (${list(jsons)}): pick one TF.js model.json with its weight shards`);
}

/** The shard paths that model.json's weightsManifest lists (in order, each once); [] if it lists none readably (loadModel then says why). */
function manifestPaths(json: unknown): string[] {
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) return [];
  const paths = manifest.flatMap((g) => (Array.isArray(g?.paths) ? g.paths.filter((p: unknown): p is string => typeof p === 'string' && p !== '') : []));
  return [...new Set(paths)];
}

/**
 * Loads a TF.js layers model from picked files: checks that model.json and every shard its
 * manifest lists are among them, copies them into MEMFS, runs loadModel, and removes the copies.
 */
export async function loadTfjsFiles(files: readonly File[], onProgress?: OnProgress): Promise<LoadedModel & { json: File; shards: File[] }> {
  const json = pickModelJson(files);
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(await json.text());
  } catch {
    // loadModel reports it, in its words.
  }
  const byName = new Map(files.filter((f) => f !== json).map((f) => [f.name, f]));
  const paths = manifestPaths(parsed);
  const missing = paths.filter((p) => !byName.has(baseName(p)));
  if (missing.length)
    throw new Error(
      `${json.name}: weight ${missing.length === 1 ? 'shard' : 'shards'} ${missing.join(', ')} listed in its weightsManifest ${missing.length === 1 ? 'was' : 'were'} not picked; ` +
        `pick model.json together with all its shards (picked: ${list(files)})`,
    );
  for (const p of paths)
    if (p.startsWith('/') || p.split('/').includes('..')) throw new Error(`${json.name}: shard path '${p}' is not a file name beside model.json`);
  const shards = paths.map((p) => byName.get(baseName(p))!);
  const total = json.size + shards.reduce((s, f) => s + f.size, 0);
  const dir = `${DIR}/${nextName('tfjs')}`;
  await h5ready();
  let done = 0;
  const copy = async (f: File, rel: string) => {
    const at = `${dir}/${rel}`;
    mkdirs(at.slice(0, at.lastIndexOf('/')));
    await fileToMemfs(f, (d) => onProgress?.(done + d, total), at);
    done += f.size;
  };
  try {
    mkdirs(dir);
    await copy(json, json.name);
    for (let i = 0; i < paths.length; i++) await copy(shards[i], paths[i]);
    const loaded = await loadModel(`${dir}/${json.name}`);
    return { ...loaded, json, shards };
  } catch (e) {
    throw e instanceof Error ? new Error(e.message.split(`${dir}/`).join('')) : e;
  } finally {
    rmSync(dir, { force: true, recursive: true });
  }
}
