// Checks on GPU data that travel with a later readback instead of costing one of their own: the
// first element that breaks a condition (a class label outside [0, C), a NaN or ±Inf input).
// One workgroup strides over the data; each thread keeps the first bad index it meets, and a tree
// of mins gives the first of all. Output int32 [2]: [-1, 0] when all hold, else [index, value's
// bits] (the value itself for labels, bitcast for floats).

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

export type CheckKind = 'label' | 'finite';

const WG = 256;
const NONE = '0xffffffffu';

const firstBad = defineKernel({
  name: 'firstBad',
  bindings: (f: { kind: CheckKind }) => [
    { name: 'V', access: 'read', type: f.kind === 'label' ? 'i32' : 'f32' },
    { name: 'OUT', access: 'write', type: 'i32' },
  ],
  // c: label count; ignore: a label that is allowed anyway (ignoreIndex); hasIgnore: 0 or 1.
  uniforms: { n: 'u32', c: 'i32', ignore: 'i32', hasIgnore: 'u32' },
  workgroupSize: WG,
  dispatch: () => [1, 1, 1],
  decls: (f) => `var<workgroup> FIRST: array<u32, ${WG}>;
fn is_bad(k: u32) -> bool {
  ${
    f.kind === 'label'
      ? 'let v = V[k];\n  return (v < 0 || v >= u.c) && !(u.hasIgnore == 1u && v == u.ignore);'
      : "// exponent all ones: NaN or ±Inf (x != x may be folded away by a compiler)\n  return (bitcast<u32>(V[k]) & 0x7f800000u) == 0x7f800000u;"
  }
}
fn bits(k: u32) -> i32 {
  return ${f.kind === 'label' ? 'V[k]' : 'bitcast<i32>(V[k])'};
}`,
  main: () => `var first = ${NONE};
  for (var k = li; k < u.n; k += ${WG}u) {
    if (is_bad(k)) { first = k; break; }
  }
  FIRST[li] = first;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { FIRST[li] = min(FIRST[li], FIRST[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) {
    let k = FIRST[0];
    if (k == ${NONE}) { OUT[0] = -1; OUT[1] = 0; } else { OUT[0] = i32(k); OUT[1] = bits(k); }
  }`,
});

/** int32 labels (n values) → int32 [2]: the first label outside [0, c) that is not `ignore`. */
export function labelCheckKernel(n: number, c: number, ignore?: number): Kernel {
  return firstBad({ kind: 'label' }, { n, c, ignore: ignore ?? 0, hasIgnore: ignore === undefined ? 0 : 1 });
}

/** float32 values (n) → int32 [2]: the first NaN or ±Inf, with its bits. */
export function finiteCheckKernel(n: number): Kernel {
  return firstBad({ kind: 'finite' }, { n, c: 0, ignore: 0, hasIgnore: 0 });
}

/** The same checks in float64 on the host (tests): [index, value] of the first bad one, or null. */
export function firstBadRef(v: ArrayLike<number>, kind: CheckKind, c = 0, ignore?: number): [number, number] | null {
  for (let k = 0; k < v.length; k++) {
    const x = v[k];
    const bad = kind === 'label' ? (x < 0 || x >= c) && x !== ignore : !Number.isFinite(x);
    if (bad) return [k, x];
  }
  return null;
}
