// Option parsing helpers: bad values become one-line errors naming the option.

import { LanternaError } from '../engine/errors.ts';
import { writeFileAtomic } from '../explain/atomic_write.ts';

export function intOption(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new LanternaError(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

export function choice(name: string, v: string, allowed: readonly string[]): string {
  if (!allowed.includes(v)) throw new LanternaError(`${name} must be one of ${allowed.join(', ')}; got '${v}'`);
  return v;
}

export function intList(name: string, v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((n) => !Number.isInteger(n) || n < 0)) throw new LanternaError(`${name} must be a comma-separated list of integers ≥ 0, got '${v}'`);
  return out;
}

/** `--json [file]`: the document to stdout (bare flag) or written atomically to the file. */
export async function emitJson(target: true | string, doc: unknown): Promise<void> {
  const text = JSON.stringify(doc, null, 1);
  if (typeof target === 'string') await writeFileAtomic(target, text);
  else console.log(text);
}
