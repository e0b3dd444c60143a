// Anomaly mode: the first NaN or ±Inf an op produces, forward or backward, named with the op,
// its input shapes and the line of user code that created the op. No op waits for the GPU: after
// each op's float output a small kernel lowers a device-wide flag to the op's sequence number if
// any value is not finite (kernels/anomaly.ts); a host table maps sequence numbers to ops. The
// flag travels with the next readback (readAll, data()) or is read once when detectAnomaly ends.
// Off, it costs one boolean test per op and per recorded node.

import { ANOMALY_CLEAN, anomalyCheckKernel } from '../kernels/anomaly.ts';
import { LanternaError, fmtShape } from './errors.ts';
import type { Binding } from './bind_groups.ts';
import { STORAGE, type Gpu } from './gpu.ts';

/** What the check table knows about one checked op. */
interface Entry {
  op: string;
  phase: 'forward' | 'backward';
  /** dtype and shape of each tensor input, as 'float32[2,3]'. */
  inputs: string[];
  /** For a backward op: the forward op whose gradient rule ran it. */
  of?: string;
  /** Stack frames of the forward op's creation, innermost first, engine frames removed. */
  frames: string[];
}

interface State {
  flag: GPUBuffer;
  seq: number;
  entries: Map<number, Entry>;
  /** The last dispatch's output, checked when the next dispatch writes elsewhere (ops of several dispatches). */
  pending: { op: string; binding: Binding; n: number; entry: Entry } | null;
}

const states = new Map<Gpu, State>();
let depth = 0;
let backwardDepth = 0;
let backwardOf: { op: string; frames: string[] } | null = null;
const creations = new WeakMap<object, string[]>();

/** Whether anomaly mode is on for this device: inside detectAnomaly, or LANTERNA_ANOMALY=1. */
export function anomalyOn(g: Gpu): boolean {
  return depth > 0 || g.plan.anomaly;
}

/**
 * The first NaN or ±Inf raised as an error: which op produced it, in which pass, its inputs' shapes
 * and where in the caller's code the (forward) op was created.
 */
export class AnomalyError extends LanternaError {
  constructor(
    message: string,
    /** The op that produced the value ('log', 'sqrt.grad', …). */
    readonly op: string,
    /** 'forward' or 'backward'. */
    readonly phase: 'forward' | 'backward',
    /** 'NaN' or 'Inf'. */
    readonly value: 'NaN' | 'Inf',
    /** The op's tensor inputs, as 'float32[2,3]'. */
    readonly inputs: string[],
    /** Stack frames of the forward op's creation in the caller's code, innermost first. */
    readonly frames: string[],
  ) {
    super(message);
    this.name = 'AnomalyError';
  }
}

// The engine's own files: frames in them are not "the user's code". Set from this file's URL,
// so it holds for dist/, dist-dev/ and the sources alike.
const here = (() => {
  try {
    const u = new URL('..', import.meta.url).href;
    return [`${u}engine/`, `${u}kernels/`].flatMap((p) => [p, p.replace(/^file:\/\//, '')]);
  } catch {
    return [];
  }
})();

/** Frames of the current stack outside the engine, innermost first (at most 8). */
function userFrames(): string[] {
  const E = Error as any;
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  E.stackTraceLimit = limit;
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''))
    .filter((l) => l && !l.startsWith('Error'));
  const outside = frames.filter((f) => !here.some((p) => f.includes(p)) && !/(^|\()node:/.test(f));
  // A bundle (the web app) holds engine and caller in one file: keep the whole stack then.
  return (outside.length ? outside : frames).slice(0, 8);
}

/** 'file:line:col' of a frame, relative to the working directory where it lies under it. */
function place(frame: string | undefined): string {
  if (!frame) return 'an unknown place';
  const m = /\(([^()]+)\)$/.exec(frame);
  let loc = (m ? m[1] : frame).replace(/^file:\/\//, '');
  const cwd: string | undefined = (globalThis as any).process?.cwd?.();
  if (cwd && loc.startsWith(cwd + '/')) loc = loc.slice(cwd.length + 1);
  return loc;
}

/** Called by record() while the mode is on: remembers where a tape node was created, for its backward ops. */
export function noteCreation(node: object): void {
  creations.set(node, userFrames());
}

/** Runs `fn` as (part of) a backward pass; `node`: the tape node whose gradient rule runs. */
export function asBackward<T>(node: { op: string } | null, fn: () => T): T {
  const prev = backwardOf;
  backwardDepth++;
  if (node) backwardOf = { op: node.op, frames: creations.get(node) ?? [] };
  try {
    return fn();
  } finally {
    backwardDepth--;
    backwardOf = prev;
  }
}

function stateOf(g: Gpu): State {
  let s = states.get(g);
  if (!s) {
    const flag = g.pool.acquire(16, STORAGE, 'anomaly flag');
    g.upload(flag, Uint32Array.of(ANOMALY_CLEAN, 0, 0, 0));
    s = { flag, seq: 0, entries: new Map(), pending: null };
    states.set(g, s);
    g.beforeFlush = () => emit(g);
    // A freed buffer may come back as another op's output: its waiting check goes first.
    g.beforeRelease = (b) => {
      if (states.get(g)?.pending?.binding.buffer === b) emit(g);
    };
  }
  return s;
}

/** Records the check of the pending output, if any. */
function emit(g: Gpu): void {
  const s = states.get(g);
  const p = s?.pending;
  if (!s || !p) return;
  s.pending = null;
  const seq = ++s.seq;
  s.entries.set(seq, p.entry);
  g.dispatch(anomalyCheckKernel(p.n, seq), [p.binding, { buffer: s.flag, offset: 0, size: 16 }], `anomaly check of ${p.op}`);
}

/** A tensor-like argument of a dispatch: shape and dtype are all this file reads. */
interface Described {
  shape: readonly number[];
  dtype: string;
}

/**
 * Called by run.ts after a dispatch while the mode is on: queues the check of its float outputs
 * (bound as `binding`, `n` values checked), described for the table.
 */
export function watch(g: Gpu, op: string, inputs: (Described | null)[], outputs: { t: Described; binding: Binding; n: number }[]): void {
  const s = stateOf(g);
  const floats = outputs.filter((o) => o.t.dtype === 'float32' && o.n > 0);
  for (const o of floats) {
    const p = s.pending;
    // A second dispatch of the same op into the same buffer: check once, after the last.
    if (p && p.op === op && p.binding.buffer === o.binding.buffer && p.binding.offset === o.binding.offset && p.binding.size === o.binding.size) continue;
    emit(g);
    const backward = backwardDepth > 0;
    const entry: Entry = {
      op,
      phase: backward ? 'backward' : 'forward',
      inputs: inputs.filter((t): t is Described => t !== null).map((t) => `${t.dtype}${fmtShape(t.shape)}`),
      of: backward ? backwardOf?.op : undefined,
      frames: backward ? (backwardOf?.frames ?? []) : userFrames(),
    };
    s.pending = { op, binding: o.binding, n: o.n, entry };
  }
}

/**
 * Called before a dispatch while the mode is on: the waiting check goes first unless this is the
 * same op writing the same buffer again (an op of several dispatches; the buffer was not freed
 * in between, or beforeRelease would have emitted it).
 */
export function beforeDispatch(g: Gpu, op: string, outputs: Binding[]): void {
  const p = states.get(g)?.pending;
  if (p && !(p.op === op && outputs.some((b) => b.buffer === p.binding.buffer))) emit(g);
}

/**
 * For a readback: the flag's byte range to read with it (null when the mode never ran on `g`),
 * after the pending check is recorded, so that the copy sees it.
 */
export function flagPart(g: Gpu): { buffer: GPUBuffer; offset: number; bytes: number; upTo: number } | null {
  const s = states.get(g);
  if (!s) return null;
  emit(g);
  return { buffer: s.flag, offset: 0, bytes: 4, upTo: s.seq };
}

/** Judges a flag read back: throws the AnomalyError it names, else forgets the ops it covered. */
export function judgeFlag(g: Gpu, bytes: ArrayBuffer, upTo: number): void {
  const s = states.get(g);
  if (!s) return;
  const flag = new Uint32Array(bytes)[0];
  if (flag === ANOMALY_CLEAN) {
    for (const k of s.entries.keys()) if (k <= upTo) s.entries.delete(k);
    if (!anomalyOn(g) && s.entries.size === 0 && !s.pending) forget(g, s);
    return;
  }
  const seq = Math.floor(flag / 2);
  const e = s.entries.get(seq);
  // Start afresh: later ops may have produced values from this one, and they are not news.
  s.entries.clear();
  s.pending = null;
  g.upload(s.flag, Uint32Array.of(ANOMALY_CLEAN, 0, 0, 0));
  if (!anomalyOn(g)) forget(g, s);
  const value = flag % 2 ? 'Inf' : 'NaN';
  if (!e) throw new AnomalyError(`anomaly: a non-finite value (${value}) was produced by an op that is no longer known (#${seq})`, '?', 'forward', value, [], []);
  const pass = e.phase === 'forward' ? 'the forward pass' : e.of ? `the backward pass of ${e.of}` : 'the backward pass (summing gradients)';
  const ins = e.inputs.length ? `inputs ${e.inputs.join(', ')}` : 'no tensor inputs';
  const where =
    e.phase === 'forward'
      ? `created at ${place(e.frames[0])}`
      : !e.of
        ? 'no forward op'
        : e.frames.length
          ? `${e.of} created at ${place(e.frames[0])}`
          : `${e.of} was created before anomaly mode was on (run the forward pass inside detectAnomaly to see where)`;
  throw new AnomalyError(`anomaly: first non-finite value (${value}) produced by ${e.op} in ${pass}, ${ins}; ${where}`, e.op, e.phase, value, e.inputs, e.frames);
}

function forget(g: Gpu, s: State): void {
  states.delete(g);
  g.beforeFlush = null;
  g.beforeRelease = null;
  g.pool.release(s.flag);
}

/** Reads the flag of every device the mode ran on, throwing the first anomaly. */
async function checkAll(): Promise<void> {
  for (const g of [...states.keys()]) {
    if (g.lost) {
      states.delete(g);
      continue;
    }
    const part = flagPart(g)!;
    const [bytes] = await g.readMany([part], 'anomaly flag');
    judgeFlag(g, bytes, part.upTo);
  }
}

/**
 * Runs `fn` in anomaly mode: every float output of an op, forward or backward, is checked on the
 * GPU for NaN and ±Inf, and the first one found raises an `AnomalyError` naming the op, its input
 * shapes, the pass, and the line of your code that created the (forward) op. The error comes at
 * the first readback inside `fn` (`data()`, `item()`, `readAll`) or when `fn` ends, not at the op
 * itself: no op waits for the GPU. LANTERNA_ANOMALY=1 turns the mode on everywhere. It costs one
 * small dispatch per op and a stack capture per op while on, nothing when off. The mode is global
 * while `fn` runs (other code running meanwhile is checked too).
 */
export async function detectAnomaly<T>(fn: () => T | Promise<T>): Promise<T> {
  depth++;
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    depth--;
    // A NaN often surfaces later as another error (a failed check, a bad shape): the anomaly is the cause.
    if (!(e instanceof AnomalyError)) await checkAll();
    throw e;
  }
  depth--;
  await checkAll();
  return result;
}
