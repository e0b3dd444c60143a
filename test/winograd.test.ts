// The Winograd F(2×2, 3×3) forward (engine/ops/conv2d_winograd.ts) against the float64 loop
// reference, on every CPU driver (forced on with the register GEMM), with the path shown taken.
import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { gpu } from '../engine/context.ts';
import { convGeometry, type Padding } from '../kernels/conv2d.ts';
import { conv2dRef } from '../kernels/conv2d_ref.ts';
import { assertClose, ready, rng, withBindingLimit } from './helpers.ts';

await ready;
const r = rng(11);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ON = { gemm: 'register', winograd: true } as const;
const OFF = { gemm: 'register', winograd: false } as const;

interface Case {
  x: [number, number, number, number];
  o: number;
  padding: Padding;
  bias?: boolean;
  relu?: boolean;
}

// Odd and even outputs (a half-used last tile row and column), 'valid' and asymmetric explicit
// pads, tile counts that are and are not multiples of 4 (padded GEMM rows), batch > 1, the
// smallest C that takes the path, bias and relu in the output transform.
const CASES: Case[] = [
  { x: [1, 6, 6, 8], o: 4, padding: 'same' },
  { x: [2, 7, 5, 8], o: 12, padding: 'same', bias: true },
  { x: [3, 9, 9, 16], o: 8, padding: 'valid', bias: true, relu: true },
  { x: [1, 14, 14, 32], o: 16, padding: [1, 0, 0, 1], relu: true },
  { x: [2, 11, 13, 12], o: 20, padding: [2, 1, 1, 2], bias: true },
  { x: [1, 28, 28, 16], o: 32, padding: 'same', bias: true, relu: true },
];

const describe = (c: Case) => `x[${c.x}] o ${c.o} ${JSON.stringify(c.padding)}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}`;

async function conv(c: Case, x: Float32Array, w: Float32Array, b: Float32Array | undefined) {
  const d0 = gpu().counters.dispatches;
  const y = await E.tidy(() =>
    E.conv2d(E.tensor(x, c.x), E.tensor(w, [3, 3, c.x[3], c.o]), b ? E.tensor(b, [c.o]) : null, { padding: c.padding, activation: c.relu ? 'relu' : 'linear' }).data(),
  );
  return { y, dispatches: gpu().counters.dispatches - d0 };
}

test('Winograd F(2×2, 3×3) forward matches the float64 reference (atol 1e-4, rtol 1e-4) and takes the path', () =>
  gpu().withPlan(ON, async () => {
    for (const c of CASES) {
      const g = convGeometry(c.x, [3, 3, c.x[3], c.o], [1, 1], c.padding);
      const x = r.uniform(size(c.x)), w = r.uniform(9 * c.x[3] * c.o), b = c.bias ? r.uniform(c.o) : undefined;
      const want = conv2dRef(x, w, g, b);
      if (c.relu) for (let i = 0; i < want.length; i++) want[i] = Math.max(want[i], 0);
      const { y, dispatches } = await conv(c, x, w, b);
      assertClose(y, want, { atol: 1e-4, rtol: 1e-4 }, `winograd ${describe(c)}`);
      // Filter transform, input transform, one batched GEMM, output transform (tensor uploads are not dispatches).
      if (dispatches !== 4) throw new Error(`${describe(c)}: ${dispatches} dispatches, expected the Winograd path's 4`);
    }
  }),
);

test('Winograd is off where it does not apply or is not asked for (one direct dispatch)', () =>
  gpu().withPlan(ON, async () => {
    // C = 4 is below WINOGRAD_MIN_C; stride 2 and 5×5 are not F(2×2, 3×3).
    for (const [c, wShape, strides] of [
      [{ x: [2, 8, 8, 4], o: 8, padding: 'same' }, [3, 3, 4, 8], 1],
      [{ x: [2, 8, 8, 8], o: 8, padding: 'same' }, [3, 3, 8, 8], 2],
    ] as const) {
      const d0 = gpu().counters.dispatches;
      await E.tidy(() => E.conv2d(E.tensor(r.uniform(size(c.x)), [...c.x]), E.tensor(r.uniform(size(wShape)), [...wShape]), null, { strides, padding: c.padding }).data());
      const n = gpu().counters.dispatches - d0;
      if (n !== 1) throw new Error(`x[${c.x}] stride ${strides}: ${n} dispatches, expected the direct kernel's 1`);
    }
    await gpu().withPlan(OFF, async () => {
      const c: Case = { x: [2, 8, 8, 8], o: 8, padding: 'same' };
      const { dispatches } = await conv(c, r.uniform(size(c.x)), r.uniform(9 * 64), undefined);
      if (dispatches !== 1) throw new Error(`winograd off: ${dispatches} dispatches`);
    });
  }),
);

test('Winograd in chunks of images when one binding cannot hold the batch (matches the reference)', () =>
  gpu().withPlan(ON, () =>
    withBindingLimit(64 * 1024, async () => {
      // 16·max(C, O)·tiles = 16·16·36 floats per image: 3 images per 64 KiB binding, 7 images in 3 chunks.
      const c: Case = { x: [7, 12, 12, 16], o: 8, padding: 'same', bias: true, relu: true };
      const g = convGeometry(c.x, [3, 3, 16, 8], [1, 1], 'same');
      const x = r.uniform(size(c.x)), w = r.uniform(9 * 16 * 8), b = r.uniform(8);
      const want = conv2dRef(x, w, g, b).map((v) => Math.max(v, 0));
      const { y, dispatches } = await conv(c, x, w, b);
      assertClose(y, want, { atol: 1e-4, rtol: 1e-4 }, 'winograd in chunks');
      if (dispatches < 1 + 3 * 3) throw new Error(`${dispatches} dispatches: the batch was not split`);
    }),
  ),
);

test('gradients through a Winograd forward equal those through the direct one', () =>
  gpu().withPlan(ON, async () => {
    const xs = [2, 10, 10, 8], ws = [3, 3, 8, 12];
    const x = r.uniform(size(xs)), w = r.uniform(size(ws)), b = r.uniform(12), dy = r.uniform(2 * 10 * 10 * 12);
    const grads = async () =>
      E.asyncTidy(async (s) => {
        const [tx, tw, tb] = [E.tensor(x, xs).requireGrad(), E.tensor(w, ws).requireGrad(), E.tensor(b, [12]).requireGrad()];
        const g = s.run(() => E.grad(E.sum(E.mul(E.conv2d(tx, tw, tb, { padding: 'same', activation: 'relu' }), E.tensor(dy, [2, 10, 10, 12]))), [tx, tw, tb]));
        return Promise.all(g.map((t) => t.data()));
      });
    const on = await grads();
    const off = await gpu().withPlan(OFF, grads);
    for (const [i, name] of ['dx', 'dW', 'db'].entries()) assertClose(on[i], off[i], { atol: 1e-4, rtol: 1e-4 }, name);
  }),
);

test.run();
