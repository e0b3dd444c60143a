// Scopes free every tensor created inside them except the ones returned (or kept), so that a
// training step or a CAM leaves nothing behind on the GPU.
//
// Each tensor belongs to at most one scope: the one current when it was made. Which scope is
// current must never leak from one piece of async work into another that runs while the first
// awaits (two explanations in a web app, an explanation during training). So:
//
// - Synchronous code enters a scope only for the duration of a synchronous call (`tidy(fn)`,
//   `s.run(fn)`): the scope is current from the call until fn returns, never while the event
//   loop runs someone else's code.
// - Where the runtime has AsyncLocalStorage (Node, Deno), `tidy(fn)` also follows an async fn
//   across its awaits: a tensor made after an await inside fn lands in fn's scope and no other.
// - Where it has not (browsers), `tidy(async fn)` throws rather than guess; async code uses an
//   explicit scope: `asyncTidy(async (s) => { … s.run(() => ops) … await … })`, which behaves
//   the same in every runtime. The library's own async code (explain, fit) does so.
//
// A scope's survivors (its result) pass to the scope that was current when it was opened, its
// parent; if that has closed meanwhile, to the nearest ancestor still open.

import { LanternaError } from './errors.ts';
import type { Tensor } from './tensor.ts';

/** The part of node:async_hooks' AsyncLocalStorage used here. */
interface AsyncStorage<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

/**
 * A set of tensors freed together. Make one with `scope()` (or let `tidy` / `asyncTidy` do it); tensors
 * created inside its `run` calls belong to it until `close`.
 */
export class Scope {
  /** @internal The tensors this scope owns (disposed ones leave it). */
  readonly tensors = new Set<Tensor>();
  private done = false;

  /** @internal Use scope() (or tidy / asyncTidy). */
  constructor(
    /** The scope current when this one was opened: it receives this scope's survivors. */
    readonly parent: Scope | null,
  ) {
    openScopes++;
  }

  /** True once `close` has run: `run` then throws. */
  get closed(): boolean {
    return this.done;
  }

  /**
   * Runs the synchronous `fn` with this scope current: the tensors it creates (and the survivors
   * of tidy calls inside it) belong to this scope. fn must not be async: await between run calls.
   */
  run<T>(fn: () => T): T {
    if (this.done) throw new LanternaError('Scope.run: this scope is already closed');
    if (isAsyncFunction(fn)) throw new LanternaError('Scope.run(fn) takes a synchronous fn: call run() for each synchronous part and await between them');
    const r = enter(this, fn);
    if (r instanceof Promise) {
      r.catch(() => {});
      throw new LanternaError('Scope.run(fn) takes a synchronous fn, and this one returned a promise: await it outside run()');
    }
    return r;
  }

  /**
   * Disposes every tensor of this scope except those in `result` (a tensor, or arrays / plain
   * objects of tensors), which pass to the parent scope (or to the caller, at top level).
   * Closing twice does nothing.
   */
  close(result?: unknown): void {
    if (this.done) return;
    this.done = true;
    openScopes--;
    const survivors = new Set<Tensor>();
    collect(result, survivors);
    const heir = openAncestor(this.parent);
    const members = [...this.tensors];
    this.tensors.clear();
    for (const t of members) {
      owner.delete(t);
      if (!survivors.has(t)) t.dispose();
      else if (heir) adopt(heir, t);
    }
  }
}

const owner = new WeakMap<Tensor, Scope>();
/** The scopes entered by synchronous calls now on the JS stack (only used without AsyncLocalStorage). */
const stack: Scope[] = [];
let openScopes = 0;
let storage: AsyncStorage<Scope> | null = null;
let storageProbed = false;
/** What setAsyncContextForTesting(false) put aside. */
let hidden: AsyncStorage<Scope> | null = null;

/** node:async_hooks' AsyncLocalStorage class, once found. */
let StorageClass: (new () => AsyncStorage<any>) | null = null;

function storageFrom(mod: unknown): AsyncStorage<Scope> | null {
  const C = (mod as { AsyncLocalStorage?: new () => AsyncStorage<Scope> } | undefined)?.AsyncLocalStorage;
  if (typeof C !== 'function') return null;
  StorageClass = C;
  return new C();
}

/**
 * A further async context for engine state that must follow async work across awaits (noGrad's
 * gradient mode), or null where the runtime has none or tests pretend so.
 */
export function asyncContext<T>(): { getStore(): T | undefined; run<R>(store: T, fn: () => R): R } | null {
  return storage && StorageClass ? new StorageClass() : null;
}

// Node ≥ 20.16 (and Deno with a `process` global) hand out built-ins synchronously; a bundler
// sees no import here, so browser bundles stay free of node: modules.
try {
  storage = storageFrom((globalThis as any).process?.getBuiltinModule?.('node:async_hooks'));
} catch {
  storage = null;
}

/**
 * Finds AsyncLocalStorage where only an import gives it (Deno without `process.getBuiltinModule`,
 * older Node). init() calls this before any tensor can exist; browsers have none and skip it.
 */
export async function loadAsyncContext(): Promise<void> {
  if (storage || storageProbed) return;
  storageProbed = true;
  const g = globalThis as any;
  if (!g.Deno && !g.process?.versions?.node) return;
  const spec = 'node:async_hooks'; // not a literal: bundlers leave it alone
  try {
    const s = storageFrom(await import(/* @vite-ignore */ spec));
    if (s && openScopes === 0) storage = s;
  } catch {
    // no node:async_hooks: async tidy needs the explicit scope API, as in a browser
  }
}

/** Whether tidy() can follow an async function across its awaits in this runtime. */
export function followsAwait(): boolean {
  return storage !== null;
}

/**
 * Tests only: pretends this runtime has no AsyncLocalStorage (false), as in a browser, or
 * restores it (true). Only while no scope is open.
 */
export function setAsyncContextForTesting(on: boolean): void {
  if (openScopes > 0) throw new LanternaError(`setAsyncContextForTesting: ${openScopes} scope(s) still open`);
  if (!on) {
    hidden ??= storage;
    storage = null;
  } else if (hidden) {
    storage = hidden;
    hidden = null;
  }
}

function enter<T>(s: Scope, fn: () => T): T {
  if (storage) return storage.run(s, fn);
  stack.push(s);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

function openAncestor(s: Scope | null | undefined): Scope | null {
  while (s && s.closed) s = s.parent;
  return s ?? null;
}

/** The scope that a tensor made now belongs to, or null (the caller owns it). */
export function currentScope(): Scope | null {
  return openAncestor(storage ? storage.getStore() : stack[stack.length - 1]);
}

function adopt(s: Scope, t: Tensor): void {
  s.tensors.add(t);
  owner.set(t, s);
}

/** Called by every new tensor. */
export function track(t: Tensor): void {
  const s = currentScope();
  if (s) adopt(s, t);
}

/** Called by Tensor.dispose: a disposed tensor leaves its scope (so long async scopes stay small). */
export function untrack(t: Tensor): void {
  owner.get(t)?.tensors.delete(t);
  owner.delete(t);
}

/**
 * Takes a tensor out of the scope that owns it (and of no other: a scope of concurrent work is
 * never touched): the caller now owns it and disposes it.
 */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  if ((v as Tensor).isTensor === true) {
    out.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/** An `async` function (told before calling it, so a refusal runs none of it). */
export function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction';
}

/** An explicit scope, for async code: create tensors in `s.run(…)`, await between, `s.close(keep)` at the end. */
export function scope(): Scope {
  return new Scope(currentScope());
}

/**
 * Runs `fn` and disposes the tensors it created, except those in its result (a tensor, or
 * arrays / plain objects of tensors), which pass to the enclosing scope.
 *
 * If fn returns a promise, the scope closes when it settles (so the promise may read tensors
 * made in fn). An async fn is followed across its awaits where the runtime has
 * AsyncLocalStorage (Node, Deno): tensors made after an await land in this scope, never in one
 * of concurrent work. In a browser, `tidy(async …)` throws: use asyncTidy(). A plain fn that
 * returns a promise (`tidy(() => y.data())`) works everywhere; there the scope holds what fn
 * made synchronously (tensors made later in `.then` callbacks belong to whatever scope is
 * current when they run, in a browser none).
 */
export function tidy<T>(fn: () => T): T {
  if (!storage && isAsyncFunction(fn))
    throw new LanternaError(
      'tidy(async () => …): this runtime has no AsyncLocalStorage (a browser), so tensors made after an await could not be told from ' +
        'those of other async work. Use asyncTidy(async (s) => { const y = s.run(() => ops…); await …; }) instead, or keep the await outside tidy.',
    );
  const s = new Scope(currentScope());
  let result: T;
  try {
    result = enter(s, fn);
  } catch (e) {
    s.close();
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (s.close(v), v),
      (e) => {
        s.close();
        throw e;
      },
    ) as T;
  }
  s.close(result);
  return result;
}

/**
 * The explicit form of an async tidy, the same in every runtime: `fn` receives a scope and
 * creates its tensors inside `s.run(() => …)` (synchronous parts, awaiting between them). When
 * fn settles, the scope's tensors are disposed except those in its result, which pass to the
 * enclosing scope. Tensors made outside s.run are not the scope's.
 */
export async function asyncTidy<T>(fn: (s: Scope) => Promise<T>): Promise<T> {
  const s = scope();
  let result: T;
  try {
    result = await fn(s);
  } catch (e) {
    s.close();
    throw e;
  }
  s.close(result);
  return result;
}
