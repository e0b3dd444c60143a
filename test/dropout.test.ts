import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { dropoutRef } from '../kernels/dropout.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(17);

test('dropout matches the reference mask and scaling (atol 1e-6), keeps about 1 − rate', async () => {
  for (const [n, rate, seed] of [
    [1, 0.5, 1],
    [1000, 0.25, 7],
    [70001, 0.5, 123456789],
  ] as [number, number, number][]) {
    const x = r.uniform(n, 0.5, 2);
    const y = await E.tidy(() => E.dropout(E.tensor(x, [n]), rate, seed).data());
    assertClose(y, dropoutRef(x, rate, seed), { atol: 1e-6, rtol: 1e-6 }, `n=${n} rate=${rate}`);
    if (n > 1000) {
      const kept = Array.from(y).filter((v) => v !== 0).length / n;
      if (Math.abs(kept - (1 - rate)) > 0.01) throw new Error(`kept ${kept}, expected ${1 - rate}`);
    }
  }
});

test('a different seed gives a different mask', async () => {
  const x = new Float32Array(256).fill(1);
  const [a, b] = await E.tidy(() => Promise.all([E.dropout(E.tensor(x, [256]), 0.5, 1).data(), E.dropout(E.tensor(x, [256]), 0.5, 2).data()]));
  if (a.every((v, i) => v === b[i])) throw new Error('masks equal');
});

test('dropout backward matches finite differences (same mask)', async () => {
  const x = r.uniform(40, -1, 1);
  await checkGrad('dropout', ([t]) => E.dropout(t, 0.3, 99), ([a]) => dropoutRef(a, 0.3, 99), [{ data: x, shape: [4, 10] }]);
});

test.run();
