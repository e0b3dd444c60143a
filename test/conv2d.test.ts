import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { convGeometry, type ConvGeom, type Padding } from '../kernels/conv2d.ts';
import { conv2dInputGradRef, conv2dRef, conv2dWeightGradRef } from '../kernels/conv2d_ref.ts';
import { tiledSplits, tilesFor, type Tiles } from '../kernels/tiled.ts';
import { assertClose, checkGrad, ready, rng, kernelVariants, withVariant, withBindingLimit } from './helpers.ts';

/** A GPU's own block choice (no forced tiles), whatever adapter runs the tests. */
const GPU_CHOICE = { tiles: null, narrowTiles: true } as const;

await ready;
const r = rng(5);
const VARIANTS = kernelVariants();
// 'tiled-big': { TM: 128, TN: 64 } blocks forced.
const BIG: Tiles = { TM: 128, TN: 64 };
const TOL = { atol: 1e-4, rtol: 1e-4 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);


interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: [number, number];
  padding: Padding;
  bias?: boolean;
}

// 1×1, 3×3, 7×7, rectangular kernels; stride 2 on odd sizes; same / valid / asymmetric explicit
// pads; channel counts that are and are not multiples of 4 (the vec4 and scalar paths); outputs
// bigger than one workgroup; batch > 1.
const CASES: Case[] = [
  { x: [2, 5, 5, 8], w: [1, 1, 8, 6], strides: [1, 1], padding: 'valid' },
  { x: [2, 7, 7, 4], w: [3, 3, 4, 8], strides: [1, 1], padding: 'same', bias: true },
  { x: [1, 12, 11, 3], w: [7, 7, 3, 5], strides: [1, 1], padding: 'same', bias: true },
  { x: [2, 15, 13, 4], w: [7, 7, 4, 4], strides: [2, 2], padding: 'same' },
  { x: [3, 9, 9, 3], w: [3, 3, 3, 4], strides: [2, 2], padding: 'valid', bias: true },
  { x: [1, 9, 10, 2], w: [2, 2, 2, 3], strides: [2, 2], padding: 'same' },
  { x: [2, 8, 9, 5], w: [5, 3, 5, 7], strides: [1, 2], padding: 'same' },
  { x: [1, 6, 7, 4], w: [3, 2, 4, 1], strides: [2, 1], padding: [1, 0, 2, 1] },
  { x: [2, 20, 20, 16], w: [3, 3, 16, 32], strides: [1, 1], padding: 'same', bias: true },
  { x: [1, 6, 6, 64], w: [3, 3, 64, 8], strides: [1, 1], padding: 'same', bias: true }, // tiled forward splits K
  { x: [1, 9, 9, 4], w: [3, 3, 4, 16], strides: [2, 2], padding: 'same' }, // tiled dx: 16 output channels, stride 2
];
// The tiled forward's split-K path (partials, then bias and relu in the summing pass) must stay exercised.
// The GPU's own block choice at cam2's sizes (100 images of 28×28 = 78 400 rows): 128×32 for its
// 16- and 32-channel input gradients, 64-wide and more from 64 channels on.
for (const [N, want] of [[16, '128x32'], [32, '128x32'], [64, '128x64'], [128, '128x128']] as const) {
  const t = tilesFor(78400, N, GPU_CHOICE);
  if (`${t.TM}x${t.TN}` !== want) throw new Error(`tilesFor(78400, ${N}) = ${t.TM}x${t.TN}, expected ${want}`);
}
if (tiledSplits(36, 8, 576, GPU_CHOICE) < 2 || tiledSplits(25, 8, 576, GPU_CHOICE) < 2) throw new Error('no forward case splits K any more');

const describe = (c: Case) => `x[${c.x}] w[${c.w}] s[${c.strides}] ${JSON.stringify(c.padding)}`;

function data(c: Case) {
  const g = convGeometry(c.x, c.w, c.strides, c.padding);
  return { g, x: r.uniform(size(c.x)), w: r.uniform(size(c.w)), b: c.bias ? r.uniform(c.w[3]) : undefined };
}

for (const v of VARIANTS) {
  test(`${v}: conv2d forward matches the reference (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      for (const c of CASES) {
        const { g, x, w, b } = data(c);
        const y = await E.tidy(() =>
          E.conv2d(E.tensor(x, c.x), E.tensor(w, c.w), b ? E.tensor(b, [c.w[3]]) : null, { strides: c.strides, padding: c.padding }).data(),
        );
        assertClose(y, conv2dRef(x, w, g, b), TOL, `${v} ${describe(c)}`);
      }
    }),
  );

  test(`${v}: conv2d input and weight gradients match the loop references (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      for (const c of CASES) {
        const { g, x, w } = data(c);
        const dy = r.uniform(g.N * g.HO * g.WO * g.O);
        const [dx, dw] = await E.asyncTidy(async (s) => {
          const [tx, tw] = s.run(() => {
            const tx = E.tensor(x, c.x).requireGrad();
            const tw = E.tensor(w, c.w).requireGrad();
            const y = E.conv2d(tx, tw, null, { strides: c.strides, padding: c.padding });
            E.backward(y, E.tensor(dy, y.shape));
            return [tx, tw];
          });
          return [await tx.grad!.data(), await tw.grad!.data()];
        });
        assertClose(dx, conv2dInputGradRef(dy, w, g), TOL, `${v} dx ${describe(c)}`);
        assertClose(dw, conv2dWeightGradRef(x, dy, g), TOL, `${v} dW ${describe(c)}`);
      }
    }),
  );

  test(`${v}: conv2d backward (x, w, b) matches finite differences of the forward reference`, () =>
    withVariant(v, BIG, async () => {
      const small: Case[] = [
        { x: [2, 5, 5, 3], w: [3, 3, 3, 2], strides: [1, 1], padding: 'same', bias: true },
        { x: [1, 7, 6, 4], w: [3, 3, 4, 4], strides: [2, 2], padding: 'same', bias: true },
        { x: [1, 6, 5, 2], w: [2, 3, 2, 3], strides: [2, 1], padding: [0, 1, 1, 0], bias: true },
        { x: [2, 4, 4, 4], w: [1, 1, 4, 5], strides: [1, 1], padding: 'valid', bias: true },
      ];
      for (const c of small) {
        const { g, x, w, b } = data(c);
        await checkGrad(
          `${v} ${describe(c)}`,
          ([tx, tw, tb]) => E.conv2d(tx, tw, tb, { strides: c.strides, padding: c.padding }),
          ([xx, ww, bb]) => conv2dRef(xx, ww, g, bb),
          [
            { data: x, shape: c.x },
            { data: w, shape: c.w },
            { data: b!, shape: [c.w[3]] },
          ],
        );
      }
    }),
  );

  test(`${v}: conv2d with activation 'relu' (fused) equals relu(conv2d), forward and backward`, () =>
    withVariant(v, BIG, async () => {
      const cases: Case[] = [
        { x: [2, 6, 5, 4], w: [3, 3, 4, 8], strides: [1, 1], padding: 'same', bias: true }, // vec4 stores
        { x: [1, 7, 6, 3], w: [3, 3, 3, 5], strides: [2, 2], padding: 'valid', bias: true }, // scalar stores
        { x: [1, 5, 5, 64], w: [3, 3, 64, 8], strides: [1, 1], padding: 'same', bias: true }, // tiled: split K, relu in the sum
      ];
      for (const c of cases) {
        const { g, x, w, b } = data(c);
        const dy = r.uniform(g.N * g.HO * g.WO * g.O);
        const run = (fused: boolean) =>
          E.asyncTidy(async (s) => {
            const [y, tx, tw, tb] = s.run(() => {
              const [tx, tw, tb] = [E.tensor(x, c.x).requireGrad(), E.tensor(w, c.w).requireGrad(), E.tensor(b!, [c.w[3]]).requireGrad()];
              const o = { strides: c.strides, padding: c.padding };
              const y = fused ? E.conv2d(tx, tw, tb, { ...o, activation: 'relu' }) : E.relu(E.conv2d(tx, tw, tb, o));
              E.backward(y, E.tensor(dy, y.shape));
              return [y, tx, tw, tb];
            });
            return [await y.data(), await tx.grad!.data(), await tw.grad!.data(), await tb.grad!.data()];
          });
        const fused = await run(true);
        const plain = await run(false);
        const zeros = fused[0].filter((t) => t === 0).length;
        if (zeros === 0 || zeros === fused[0].length) throw new Error(`${describe(c)}: relu clipped ${zeros} of ${fused[0].length}: the test does not exercise it`);
        ['y', 'dx', 'dW', 'db'].forEach((what, i) => assertClose(fused[i], plain[i], { atol: 1e-6, rtol: 1e-6 }, `${v} ${describe(c)} ${what}`));
        const ref = conv2dRef(x, w, g, b).map((t) => Math.max(t, 0));
        assertClose(fused[0], ref, TOL, `${v} ${describe(c)} vs reference`);
      }
    }),
  );

  test(`${v}: activations above a (pretended) binding limit go a few images at a time (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      // 2 KiB per binding: x [5, 6, 6, 4] is 576 B per image, so 3 images per piece; dW accumulates.
      // 10 KiB: x [5, 16, 16, 4] goes 2 images at a time, and the tiled dW splits K (5 ways, the
      // last piece leaving a split empty), the partials accumulating over pieces.
      const pieces: [number, Case][] = [
        [2048, { x: [5, 6, 6, 4], w: [3, 3, 4, 4], strides: [1, 1], padding: 'same', bias: true }],
        [10240, { x: [5, 16, 16, 4], w: [3, 3, 4, 4], strides: [1, 1], padding: 'same', bias: true }],
      ];
      if (tiledSplits(36, 4, 5 * 16 * 16, GPU_CHOICE) !== 5) throw new Error('the second case no longer splits K: the test misses the split path');
      for (const [limit, c] of pieces) {
      await withBindingLimit(limit, async () => {
        const { g, x, w, b } = data(c);
        const dy = r.uniform(g.N * g.HO * g.WO * g.O);
        const [y, dx, dw] = await E.asyncTidy(async (s) => {
          const [out, tx, tw] = s.run(() => {
            const tx = E.tensor(x, c.x).requireGrad();
            const tw = E.tensor(w, c.w).requireGrad();
            const out = E.conv2d(tx, tw, E.tensor(b!, [c.w[3]]), { padding: 'same' });
            E.backward(out, E.tensor(dy, out.shape));
            return [out, tx, tw];
          });
          return [await out.data(), await tx.grad!.data(), await tw.grad!.data()];
        });
        assertClose(y, conv2dRef(x, w, g, b), TOL, `${v} pieces forward`);
        assertClose(dx, conv2dInputGradRef(dy, w, g), TOL, `${v} pieces dx`);
        assertClose(dw, conv2dWeightGradRef(x, dy, g), TOL, `${v} pieces dW`);
      });
      }
    }),
  );
}

test("'same' padding follows Keras/TF: the odd pad goes to the bottom/right", () => {
  const g: ConvGeom = convGeometry([1, 10, 9, 1], [3, 4, 1, 1], [2, 2], 'same');
  // H: out 5, total (5−1)·2+3−10 = 1 → top 0, bottom 1. W: out 5, total (5−1)·2+4−9 = 3 → left 1, right 2.
  const got = [g.HO, g.WO, g.PT, g.PB, g.PL, g.PR];
  if (got.join() !== [5, 5, 0, 1, 1, 2].join()) throw new Error(`geometry ${got}`);
});

test('conv2d rejects bad arguments, naming the shapes', () => {
  const msg = (f: () => unknown) => {
    try {
      E.tidy(f);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  const m1 = msg(() => E.conv2d(E.zeros([1, 5, 5, 3]), E.zeros([3, 3, 4, 2])));
  if (!m1.includes('conv2d') || !m1.includes('[1,5,5,3]') || !m1.includes('[3,3,4,2]')) throw new Error(`bad message: ${m1}`);
  const m2 = msg(() => E.conv2d(E.zeros([1, 2, 2, 1]), E.zeros([3, 3, 1, 1])));
  if (!m2.includes('does not fit')) throw new Error(`bad message: ${m2}`);
  // Dilation is supported (engine/ops/conv2d_general.ts); a dilated window too wide for the input is not.
  const m3 = msg(() => E.conv2d(E.zeros([1, 5, 5, 1]), E.zeros([3, 3, 1, 1]), null, { dilations: 3 }));
  if (!m3.includes('dilation') || !m3.includes('does not fit')) throw new Error(`bad message: ${m3}`);
  const m4 = msg(() => E.conv2d(E.zeros([1, 5, 5, 1]), E.zeros([3, 3, 1, 2]), E.zeros([3])));
  if (!m4.includes('bias') || !m4.includes('[3]')) throw new Error(`bad message: ${m4}`);
});

test.run();
