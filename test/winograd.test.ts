// The Winograd F(2×2, 3×3) forward (engine/ops/conv2d_winograd.ts) against the float64 loop
// reference, on every CPU driver (forced on with the register GEMM), with the path shown taken.
import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { gpu } from '../engine/context.ts';
import { convGeometry, type Padding } from '../kernels/conv2d.ts';
import { conv2dInputGradRef, conv2dRef } from '../kernels/conv2d_ref.ts';
import { clearWinogradCache } from '../engine/ops/conv2d_winograd.ts';
import { assertClose, ready, rng, withBindingLimit } from './helpers.ts';

await ready;
const r = rng(11);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
// winogradMinMacs 0: the small shapes here take the path (the default leaves convs under 16.8 M
// multiply-adds to the direct kernel; one test below checks that).
const OFF = { gemm: 'register', winograd: 0 } as const;

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
  { x: [2, 8, 8, 32], o: 4, padding: 'same' },
  { x: [2, 9, 11, 32], o: 12, padding: 'same', bias: true },
  { x: [3, 10, 11, 36], o: 8, padding: 'valid', bias: true, relu: true },
  { x: [1, 14, 14, 32], o: 16, padding: [1, 0, 0, 1], relu: true },
  { x: [2, 11, 13, 40], o: 20, padding: [2, 1, 1, 2], bias: true },
  { x: [1, 28, 28, 64], o: 32, padding: 'same', bias: true, relu: true },
];

const describe = (c: Case) => `x[${c.x}] o ${c.o} ${JSON.stringify(c.padding)}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}`;

async function conv(c: Case, x: Float32Array, w: Float32Array, b: Float32Array | undefined) {
  const d0 = gpu().counters.dispatches;
  const y = await E.tidy(() =>
    E.conv2d(E.tensor(x, c.x), E.tensor(w, [3, 3, c.x[3], c.o]), b ? E.tensor(b, [c.o]) : null, { padding: c.padding, activation: c.relu ? 'relu' : 'linear' }).data(),
  );
  return { y, dispatches: gpu().counters.dispatches - d0 };
}

for (const m of [2, 4] as const) {
const ON = { gemm: 'register', winograd: m, winogradMinMacs: 0 } as const;
test(`Winograd F(${m}×${m}, 3×3) forward matches the float64 reference (to a bound relative to the output scale) and takes the path`, () =>
  gpu().withPlan(ON, async () => {
    for (const c of CASES) {
      const g = convGeometry(c.x, [3, 3, c.x[3], c.o], [1, 1], c.padding);
      const x = r.uniform(size(c.x)), w = r.uniform(9 * c.x[3] * c.o), b = c.bias ? r.uniform(c.o) : undefined;
      const want = conv2dRef(x, w, g, b);
      if (c.relu) for (let i = 0; i < want.length; i++) want[i] = Math.max(want[i], 0);
      const { y, dispatches } = await conv(c, x, w, b);
      // Bounds relative to the output's scale (max |y|), about 5× the worst measured on these
      // cases: F2 1.7e-7–2.9e-7 (float32 rounding of a direct conv), F4 1.6e-6–4.6e-6 (its
      // points ±2, ±½ put entries of 8 and 1/24 in the transforms: about a decimal digit).
      const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      assertClose(y, want, { atol: (m === 2 ? 1.5e-6 : 2.5e-5) * scale, rtol: 0 }, `winograd F${m} ${describe(c)}`);
      // Filter transform, input transform, one batched GEMM, output transform (uploads are not dispatches).
      if (dispatches !== 4) throw new Error(`${describe(c)}: ${dispatches} dispatches, expected the Winograd path's 4`);
    }
  }),
);

test(`F${m}: Winograd is off where it does not apply or is not asked for (one direct dispatch)`, () =>
  gpu().withPlan(ON, async () => {
    // Below WINOGRAD_MIN_C (16 channels), below WINOGRAD_MIN_TILES (4 tiles), channels not in
    // vec4, stride 2, a 5×5 filter: the direct kernel.
    for (const [c, wShape, strides] of [
      [{ x: [2, 8, 8, 16], padding: 'same' }, [3, 3, 16, 8], 1],
      [{ x: [1, 2 * m, 2 * m, 32], padding: 'same' }, [3, 3, 32, 8], 1],
      [{ x: [1, 8, 8, 34], padding: 'same' }, [3, 3, 34, 8], 1],
      [{ x: [1, 8, 8, 32], padding: 'same' }, [3, 3, 32, 6], 1],
      [{ x: [2, 16, 16, 32], padding: 'same' }, [3, 3, 32, 8], 2],
      [{ x: [1, 12, 12, 32], padding: 'same' }, [5, 5, 32, 8], 1],
    ] as const) {
      const d0 = gpu().counters.dispatches;
      await E.tidy(() => E.conv2d(E.tensor(r.uniform(size(c.x)), [...c.x]), E.tensor(r.uniform(size(wShape)), [...wShape]), null, { strides, padding: c.padding }).data());
      const n = gpu().counters.dispatches - d0;
      if (n !== 1) throw new Error(`x[${c.x}] stride ${strides}: ${n} dispatches, expected the direct kernel's 1`);
    }
    // The default threshold: 16.8 M multiply-adds (a 10×10×64→96 conv, 5.5 M, stays direct).
    await gpu().withPlan({ winogradMinMacs: 2 ** 24 }, async () => {
      for (const [xs, o, want] of [[[1, 10, 10, 64], 96, 1], [[1, 33, 33, 32], 64, 4]] as const) {
        const d0 = gpu().counters.dispatches;
        await E.tidy(() => E.conv2d(E.tensor(r.uniform(size(xs)), [...xs]), E.tensor(r.uniform(9 * xs[3] * o), [3, 3, xs[3], o]), null, { padding: 'same' }).data());
        const n = gpu().counters.dispatches - d0;
        if (n !== want) throw new Error(`x[${xs}] → ${o} under the default threshold: ${n} dispatches, expected ${want}`);
      }
    });
    await gpu().withPlan(OFF, async () => {
      const c: Case = { x: [2, 8, 8, 32], o: 8, padding: 'same' };
      const { dispatches } = await conv(c, r.uniform(size(c.x)), r.uniform(9 * 32 * 8), undefined);
      if (dispatches !== 1) throw new Error(`winograd off: ${dispatches} dispatches`);
    });
  }),
);

// 64 KiB bindings (16 K floats): U takes α²·32 floats a tile (α² = 16 or 36), so ~28 or ~12
// tiles a chunk. 7 images of 12×12×32 (3 per binding): chunks cross images. 2 images of
// 16×16×32 under 48 KiB (one image per binding): chunks stay inside an image.
for (const [limit, xs] of [[64 * 1024, [7, 12, 12, 32]], [48 * 1024, [2, 16, 16, 32]]] as const) {
  test(`F${m}: Winograd in chunks of tiles under ${limit / 1024} KiB bindings, x[${xs}] (matches the reference)`, () =>
    gpu().withPlan(ON, () =>
      withBindingLimit(limit, async () => {
        const c: Case = { x: [...xs], o: 8, padding: 'same', bias: true, relu: true };
        const g = convGeometry(c.x, [3, 3, 32, 8], [1, 1], 'same');
        const x = r.uniform(size(c.x)), w = r.uniform(9 * 32 * 8), b = r.uniform(8);
        const want = conv2dRef(x, w, g, b).map((v) => Math.max(v, 0));
        const { y, dispatches } = await conv(c, x, w, b);
        assertClose(y, want, { atol: 1e-4, rtol: 1e-4 }, `winograd in chunks x[${xs}]`);
        const tiles = xs[0] * Math.ceil(xs[1] / m) * Math.ceil(xs[2] / m);
        const perChunk = Math.floor((limit / 4) / ((m + 2) ** 2 * 32));
        if (dispatches < 1 + 3 * Math.ceil(tiles / perChunk)) throw new Error(`${dispatches} dispatches: ${tiles} tiles were not split`);
      }),
    ),
  );
}

test(`F${m}: gradients through a Winograd forward equal those through the direct one`, () =>
  gpu().withPlan(ON, async () => {
    const xs = [2, 10, 10, 32], ws = [3, 3, 32, 36];
    const x = r.uniform(size(xs)), w = r.uniform(size(ws)), b = r.uniform(36), dy = r.uniform(2 * 10 * 10 * 36);
    const grads = async () =>
      E.asyncTidy(async (s) => {
        const [tx, tw, tb] = [E.tensor(x, xs).requireGrad(), E.tensor(w, ws).requireGrad(), E.tensor(b, [36]).requireGrad()];
        const g = s.run(() => E.grad(E.sum(E.mul(E.conv2d(tx, tw, tb, { padding: 'same', activation: 'relu' }), E.tensor(dy, [2, 10, 10, 36]))), [tx, tw, tb]));
        return Promise.all(g.map((t) => t.data()));
      });
    const on = await grads();
    const off = await gpu().withPlan(OFF, grads);
    for (const [i, name] of ['dx', 'dW', 'db'].entries()) assertClose(on[i], off[i], { atol: 1e-4, rtol: 1e-4 }, name);
  }),
);

// The input gradient of a stride-1 3×3 conv is a forward conv of dy with the flipped, transposed
// filter and pads 2 − p: 'same', 'valid' (pads 2: the full correlation) and asymmetric ones.
test(`F${m}: the input gradient by Winograd matches the float64 reference, and takes the path`, () =>
  gpu().withPlan(ON, async () => {
    for (const [xs, o, padding] of [
      [[2, 10, 9, 8], 32, 'same'],
      [[1, 12, 12, 12], 36, 'valid'],
      [[1, 11, 13, 4], 32, [0, 2, 1, 0]],
    ] as [[number, number, number, number], number, Padding][]) {
      const g = convGeometry(xs, [3, 3, xs[3], o], [1, 1], padding);
      const w = r.uniform(9 * xs[3] * o), dy = r.uniform(g.N * g.HO * g.WO * o);
      const want = conv2dInputGradRef(dy, w, g);
      const d0 = gpu().counters.dispatches;
      const dx = await E.tidy(() => E.conv2dInputGrad(E.tensor(dy, [g.N, g.HO, g.WO, o]), E.tensor(w, [3, 3, xs[3], o]), g).data());
      const n = gpu().counters.dispatches - d0;
      const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      assertClose(dx, want, { atol: (m === 2 ? 1.5e-6 : 2.5e-5) * scale, rtol: 0 }, `dx F${m} x[${xs}] o ${o} ${JSON.stringify(padding)}`);
      // Transpose, filter transform, input transform, GEMM, output transform.
      if (n !== 5) throw new Error(`dx x[${xs}]: ${n} dispatches, expected the Winograd path's 5`);
    }
  }),
);
}

test('the filter transform is reused while the weights are unwritten, redone after an in-place update, freed with them', () =>
  gpu().withPlan({ gemm: 'register', winograd: 4, winogradMinMacs: 0 }, async () => {
    clearWinogradCache();
    const xs = [1, 12, 12, 32] as const, ws = [3, 3, 32, 8] as const;
    const g = convGeometry(xs, ws, [1, 1], 'same');
    const x = r.uniform(size(xs)), w0 = r.uniform(size(ws)), grad = r.uniform(size(ws));
    const tx = E.keep(E.tensor(x, [...xs])), tw = E.keep(E.tensor(w0, [...ws])), tg = E.keep(E.tensor(grad, [...ws]));
    const run = async () => {
      const d0 = gpu().counters.dispatches;
      const y = await E.tidy(() => E.conv2d(tx, tw, null, { padding: 'same' }).data());
      return { y, n: gpu().counters.dispatches - d0 };
    };
    const first = await run(), again = await run();
    if (first.n !== 4 || again.n !== 3) throw new Error(`dispatches ${first.n} then ${again.n}: expected 4, then 3 (V reused)`);
    assertClose(again.y, first.y, { atol: 0, rtol: 0 }, 'reused V');
    // An SGD step writes the weights in place: V must follow them.
    E.sgdStep(tw, tg, null, { lr: 0.5 });
    const w1 = Float64Array.from(w0, (v, i) => Math.fround(v - 0.5 * grad[i]));
    const after = await run();
    if (after.n !== 4) throw new Error(`after the update: ${after.n} dispatches, expected 4 (V redone)`);
    const want = conv2dRef(x, w1, g);
    const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    assertClose(after.y, want, { atol: 2.5e-5 * scale, rtol: 0 }, 'after an in-place update');
    tw.dispose();
    const tw2 = E.keep(E.tensor(w0, [...ws]));
    const fresh = await E.tidy(() => E.conv2d(tx, tw2, null, { padding: 'same' }).data());
    assertClose(fresh, first.y, { atol: 0, rtol: 0 }, 'a new weight tensor');
    for (const t of [tx, tg, tw2]) t.dispose();
    clearWinogradCache();
  }),
);

test.run();
