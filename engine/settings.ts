// LANTERNA_* settings, read the same way in every runtime: the environment in Node and Deno;
// in a browser, `globalThis.LANTERNA_SETTINGS` (an object of strings, set before init()) and
// the page's URL parameters (?LANTERNA_GEMM=tiled). init({ settings }) overrides them all.
// The device layer reads them once, into the device plan (kernels/plan.ts); nothing else does.

import { parseSettings, type Settings } from '../kernels/plan.ts';
import { runtime } from './adapter.ts';

declare const Deno: any;
const g = globalThis as any;

/** An environment variable in Node or Deno (undefined without permission, or in a browser). */
export function envVar(name: string): string | undefined {
  try {
    if (runtime === 'deno') return Deno.env.get(name);
    if (runtime === 'node') return g.process.env[name];
  } catch {
    // Deno without --allow-env
  }
  return undefined;
}

function browserSetting(name: string): string | undefined {
  const obj = g.LANTERNA_SETTINGS;
  if (obj && typeof obj[name] === 'string') return obj[name];
  try {
    return new URLSearchParams(g.location?.search ?? '').get(name) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The settings in force, with `overrides` (LANTERNA_* names to strings) taking precedence. */
export function readSettings(overrides: Readonly<Record<string, string>> = {}): Settings {
  return parseSettings((name) => overrides[name] ?? (runtime === 'browser' ? browserSetting(name) : envVar(name)));
}
