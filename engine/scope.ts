// Scopes free every tensor created inside them except the ones returned (or kept), so that a
// training step or a CAM leaves nothing behind on the GPU.

import type { Tensor } from './tensor.ts';

const stack: Set<Tensor>[] = [];

export function track(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** Removes a tensor from all open scopes: the caller now owns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of stack) s.delete(t);
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

function close(scope: Set<Tensor>, result: unknown): void {
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const idx = stack.lastIndexOf(scope);
  if (idx >= 0) stack.splice(idx, 1);
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of survivors) if (scope.has(t)) parent.add(t);
}

/**
 * Runs `fn` and disposes the tensors it created, except those in its result (a tensor, or
 * arrays / plain objects of tensors). Async functions are supported; tensors created by other
 * code while they await also land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (close(scope, v), v),
      (e) => {
        close(scope, undefined);
        throw e;
      },
    ) as T;
  }
  close(scope, result);
  return result;
}
