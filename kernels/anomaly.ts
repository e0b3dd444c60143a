// Anomaly mode's check (engine/anomaly.ts): after an op writes a float output, one thread per
// element tests it, and a non-finite one lowers a device-wide flag to the op's sequence number.
// The flag is read once, later, so no op waits for the GPU. Encoding: seq·2 + (1 for ±Inf, 0 for
// NaN), so the smallest flag names the first op and, within it, prefers NaN.

import type { Kernel } from './program.ts';
import { defineKernel } from './spec.ts';

const nonFinite = defineKernel({
  name: 'anomalyCheck',
  bindings: [
    { name: 'V', access: 'read' },
    { name: 'FLAG', access: 'write', type: 'atomic<u32>' },
  ],
  uniforms: { n: 'u32', seq: 'u32' },
  workgroupSize: 256,
  dispatch: { flat: 'n' },
  // The exponent test on the bits: x != x may be folded away by a shader compiler.
  main: () => `let b = bitcast<u32>(V[i]);
  if ((b & 0x7f800000u) == 0x7f800000u) {
    let inf = select(0u, 1u, (b & 0x007fffffu) == 0u);
    atomicMin(&FLAG[0], u.seq * 2u + inf);
  }`,
});

/** float32 values (n) → lowers FLAG[0] to seq·2 + isInf when any is NaN or ±Inf. */
export function anomalyCheckKernel(n: number, seq: number): Kernel {
  return nonFinite({}, { n, seq });
}

/** The flag's value when every checked value was finite. */
export const ANOMALY_CLEAN = 0xffffffff;
