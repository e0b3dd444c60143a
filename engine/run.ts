// The one bridge between ops and kernels: checks binding sizes against the adapter's limits,
// allocates outputs from the pool and records the dispatch with a label naming op and shapes.

import type { Kernel } from '../kernels/program.ts';
import { anomalyOn, beforeDispatch, watch } from './anomaly.ts';
import { ShapeError, fmtShape } from './errors.ts';
import type { Binding } from './gpu.ts';
import { empty, type DType, type Shape, Tensor } from './tensor.ts';

/** A byte range of a tensor's buffer, for ops that split a tensor over several bindings. */
export interface TensorSlice {
  tensor: Tensor;
  byteOffset: number;
  byteSize: number;
}

export type Arg = Tensor | TensorSlice;

function toBinding(op: string, a: Arg, i: number, limit: number): Binding {
  const t = a instanceof Tensor ? a : a.tensor;
  const s = t.storage;
  const offset = a instanceof Tensor ? 0 : a.byteOffset;
  const size = a instanceof Tensor ? Math.max(4, t.size * 4) : a.byteSize;
  if (size > limit)
    throw new ShapeError(
      op,
      `binding ${i} ${t.describe()} is ${size} bytes, above this adapter's maxStorageBufferBindingSize (${limit}); this op cannot split it`,
    );
  return { buffer: s.buffer, offset, size: Math.ceil(size / 4) * 4 };
}

export function label(op: string, args: (Arg | null)[]): string {
  return `${op} ${args.map((a) => (a ? fmtShape((a instanceof Tensor ? a : a.tensor).shape) : '-')).join(' ')}`;
}

/**
 * Dispatches `kernel` reading `inputs` and writing `outputs` (already allocated), in the order of
 * the kernel's bindings. null stands for an absent optional binding (kernels/spec.ts).
 */
export function dispatch(op: string, kernel: Kernel, inputs: (Arg | null)[], outputs: Arg[]): void {
  const first = [...inputs, ...outputs].find((a) => a !== null);
  if (!first) throw new ShapeError(op, 'a dispatch needs at least one tensor');
  const g = (first instanceof Tensor ? first : first.tensor).storage.gpu;
  const limit = g.limits.maxStorageBufferBindingSize;
  const all = [...inputs, ...outputs];
  const bindings = all.map((a, i) => (a ? toBinding(op, a, i, limit) : null));
  // Anomaly mode (engine/anomaly.ts); off, this one test is all it costs.
  if (anomalyOn(g)) {
    const outs = bindings.slice(inputs.length) as Binding[];
    beforeDispatch(g, op, outs);
    g.dispatch(kernel, bindings, label(op, all));
    const of = (a: Arg) => (a instanceof Tensor ? a : a.tensor);
    // Only the values the op writes: a kernel may bind more (vec4 rows), and the rest is stale.
    const n = (a: Arg) => (a instanceof Tensor ? a.size : Math.max(0, Math.floor(Math.min(a.byteSize, a.tensor.size * 4 - a.byteOffset) / 4)));
    watch(g, op, inputs.map((a) => (a ? of(a) : null)), outputs.map((a, i) => ({ t: of(a), binding: outs[i], n: n(a) })));
    return;
  }
  g.dispatch(kernel, bindings, label(op, all));
}

/** Allocates one output and dispatches. */
export function run(op: string, kernel: Kernel, inputs: (Arg | null)[], outShape: Shape, outDtype: DType = 'float32'): Tensor {
  const out = empty(outShape, outDtype);
  try {
    dispatch(op, kernel, inputs, [out]);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}
