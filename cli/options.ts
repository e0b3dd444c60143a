// Option parsing helpers: bad values become one-line errors naming the option. They are usage
// errors (exit code 2, cli/main.ts): what the command line says is wrong, whatever the files hold.

import { LanternaError } from '../engine/errors.ts';
import { COLORMAPS } from '../explain/colormap.ts';
import { writeFileAtomic } from '../explain/atomic_write.ts';

/**
 * The command line itself is wrong: an option value of the wrong form, options that do not go
 * together, a required choice left out. The CLI exits with code 2 (1 is for runtime errors).
 */
export class UsageError extends LanternaError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An integer ≥ `min` given as option `name`. */
export function intOption(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

/** A finite number in [min, max] (either bound may be omitted). */
export function numberOption(name: string, v: string, min = -Infinity, max = Infinity): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    const range = min > -Infinity && max < Infinity ? ` in [${min}, ${max}]` : min > -Infinity ? ` ≥ ${min}` : max < Infinity ? ` ≤ ${max}` : '';
    throw new UsageError(`${name} must be a number${range}, got '${v}'`);
  }
  return n;
}

/** One of `allowed`, given as option `name`. */
export function choice(name: string, v: string, allowed: readonly string[]): string {
  if (!allowed.includes(v)) throw new UsageError(`${name} must be one of ${allowed.join(', ')}; got '${v}'`);
  return v;
}

/** --colormap, checked before anything is loaded. */
export function colormapOption(v: string): keyof typeof COLORMAPS {
  return choice('--colormap', v, Object.keys(COLORMAPS)) as keyof typeof COLORMAPS;
}

/** '0,7,42' → [0, 7, 42] (integers ≥ 0), given as option `name`. */
export function intList(name: string, v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`${name} must be a comma-separated list of integers ≥ 0, got '${v}'`);
  return out;
}

/** `--json [file]`: the document to stdout (bare flag) or written atomically to the file. */
export async function emitJson(target: true | string, doc: unknown): Promise<void> {
  const text = JSON.stringify(doc, null, 1);
  if (typeof target === 'string') await writeFileAtomic(target, text);
  else console.log(text);
}
