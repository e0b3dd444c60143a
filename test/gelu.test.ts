// Exact GELU's accuracy: WGSL has no erf, so the kernel carries an erfc approximation. Pins the
// float64 reference erfc64 to published values and the f32 kernel to ~1e-7 of it (the looser
// elementwise test would let a worse approximation such as Abramowitz–Stegun 7.1.26 through).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { erfc64, unaryRef } from '../kernels/elementwise.ts';
import { assertClose, ready } from './helpers.ts';

await ready;

test('erfc64 matches published values to 1e-15 relative', () => {
  // erfc(x) from Abramowitz & Stegun table 7.1 / mpmath.
  const known: [number, number][] = [
    [0, 1], [0.5, 0.4795001221869535], [1, 0.15729920705028513], [2, 0.004677734981047266],
    [2.5, 4.069520174449590e-4], [3, 2.209049699858544e-5], [6, 2.151973671249891e-17], [-1, 1.8427007929497148],
  ];
  for (const [x, want] of known) assert.ok(Math.abs(erfc64(x) / want - 1) < 1e-14, `erfc(${x}) = ${erfc64(x)}, want ${want}`);
});

test('f32 gelu is within 2e-7·max(|y|, 1) of the float64 reference on [-12, 12]', async () => {
  const n = 24001;
  const x = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
  const y = await E.tidy(() => E.gelu(E.tensor(x, [n])).data());
  const ref = unaryRef('gelu', x);
  const err = Array.from(y, (v, i) => Math.abs(v - ref[i]) / Math.max(Math.abs(ref[i]), 1));
  const worst = Math.max(...err);
  assert.ok(worst < 2e-7, `worst error ${worst.toExponential(2)} at x = ${x[err.indexOf(worst)]}`);
  // Far left, gelu is tiny (−2e-32 at −12) but nonzero: erfc keeps it relatively accurate where
  // 1 − erf would give 0; f32 exp(−72) itself carries ~|72|·6e-8 relative error, hence 1e-4.
  assertClose(y.subarray(0, 10), ref.subarray(0, 10), { atol: 0, rtol: 1e-4 }, 'gelu tail');
});

test.run();
