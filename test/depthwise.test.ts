import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { depthwiseGeometry, depthwiseWeightGradSplits } from '../kernels/depthwise.ts';
import { depthwiseInputGradRef, depthwiseRef, depthwiseWeightGradRef } from '../kernels/depthwise_ref.ts';
import { assertClose, checkGrad, ready, rng } from './helpers.ts';

await ready;
const r = rng(14);
const TOL = { atol: 1e-4, rtol: 1e-4 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case {
  x: [number, number, number, number];
  /** [KH, KW, M]; C comes from x. */
  k: [number, number, number];
  strides: [number, number];
  dilation?: [number, number];
  padding: 'same' | 'valid';
  bias?: boolean;
}

// 1×1 images, odd sizes, stride 2 on odd sizes, same / valid, depth multiplier 1 and 2, dilation 2,
// channel counts 1, 3, 8 and 32, batch 2, rectangular kernels, and outputs past one workgroup.
// M = 1 with C a multiple of 4 (x[2,9,8,8], x[2,14,13,32] with bias) takes the vec4 forward.
const CASES: Case[] = [
  { x: [1, 1, 1, 3], k: [3, 3, 1], strides: [1, 1], padding: 'same', bias: true },
  { x: [2, 1, 1, 8], k: [3, 3, 2], strides: [2, 2], padding: 'same' },
  { x: [2, 5, 7, 1], k: [3, 3, 1], strides: [1, 1], padding: 'valid', bias: true },
  { x: [1, 7, 7, 3], k: [3, 3, 2], strides: [2, 2], padding: 'same', bias: true },
  { x: [2, 9, 8, 8], k: [3, 3, 1], strides: [2, 2], padding: 'valid' },
  { x: [1, 9, 9, 8], k: [3, 3, 2], strides: [1, 1], dilation: [2, 2], padding: 'same', bias: true },
  { x: [2, 8, 7, 3], k: [3, 2, 1], strides: [1, 1], dilation: [2, 1], padding: 'valid' },
  { x: [2, 14, 13, 32], k: [3, 3, 1], strides: [2, 2], padding: 'same', bias: true },
  { x: [1, 12, 12, 32], k: [3, 3, 2], strides: [1, 1], padding: 'same' },
  { x: [1, 6, 5, 1], k: [5, 5, 2], strides: [1, 2], padding: 'same' },
];

const describe = (c: Case) => `x[${c.x}] k[${c.k}] s[${c.strides}] d[${c.dilation ?? [1, 1]}] ${c.padding}${c.bias ? ' +bias' : ''}`;

function data(c: Case) {
  const wShape = [c.k[0], c.k[1], c.x[3], c.k[2]];
  const g = depthwiseGeometry(c.x, wShape, c.strides, c.dilation ?? [1, 1], c.padding);
  const CM = c.x[3] * c.k[2];
  return { g, wShape, CM, x: r.uniform(size(c.x)), w: r.uniform(size(wShape)), b: c.bias ? r.uniform(CM) : undefined };
}

const opts = (c: Case) => ({ strides: c.strides, padding: c.padding, dilation: c.dilation });

test('depthwise geometry follows Keras: same pads the dilated window, odd pad at the bottom/right', () => {
  // H 9, k 3, d 2: span 5, pad 4 → 2 / 2. H 6, k 3, s 2: HO 3, pad max(2·2 + 3 − 6, 0) = 1 → 0 / 1.
  const a = depthwiseGeometry([1, 9, 9, 1], [3, 3, 1, 1], [1, 1], [2, 2], 'same');
  assert.equal([a.HO, a.PT, a.PB], [9, 2, 2]);
  const b = depthwiseGeometry([1, 6, 6, 1], [3, 3, 1, 1], [2, 2], [1, 1], 'same');
  assert.equal([b.HO, b.PT, b.PB], [3, 0, 1]);
  const c = depthwiseGeometry([1, 9, 9, 1], [3, 3, 1, 1], [1, 1], [2, 2], 'valid');
  assert.equal(c.HO, 5);
});

test('depthwiseConv2d forward matches the reference (atol 1e-4, rtol 1e-4)', async () => {
  for (const c of CASES) {
    const { g, wShape, CM, x, w, b } = data(c);
    const y = await E.tidy(() => E.depthwiseConv2d(E.tensor(x, c.x), E.tensor(w, wShape), b ? E.tensor(b, [CM]) : null, opts(c)).data());
    assertClose(y, depthwiseRef(x, w, g, b), TOL, describe(c));
  }
});

test('depthwiseConv2d input and weight gradients match the loop references (atol 1e-4, rtol 1e-4)', async () => {
  for (const c of CASES) {
    const { g, wShape, x, w } = data(c);
    const dy = r.uniform(g.N * g.HO * g.WO * g.C * g.M);
    const [dx, dw] = await E.asyncTidy(async (s) => {
      const [tx, tw] = s.run(() => {
        const tx = E.tensor(x, c.x).requireGrad();
        const tw = E.tensor(w, wShape).requireGrad();
        E.backward(E.depthwiseConv2d(tx, tw, null, opts(c)), E.tensor(dy, [g.N, g.HO, g.WO, g.C * g.M]));
        return [tx, tw];
      });
      return [await tx.grad!.data(), await tw.grad!.data()];
    });
    assertClose(dx, depthwiseInputGradRef(dy, w, g), TOL, `dx ${describe(c)}`);
    assertClose(dw, depthwiseWeightGradRef(x, dy, g), TOL, `dW ${describe(c)}`);
  }
  // The split dW path (partial sums over pixel ranges) must stay exercised.
  const split = CASES.map((c) => data(c).g).filter((g) => depthwiseWeightGradSplits(g) > 1);
  assert.ok(split.length >= 2, 'no case splits dW over pixels any more');
});

test('depthwiseConv2d backward (x, w, bias) matches finite differences of the forward reference', async () => {
  const small: Case[] = [
    { x: [2, 5, 5, 3], k: [3, 3, 2], strides: [1, 1], padding: 'same', bias: true },
    { x: [1, 7, 6, 1], k: [3, 3, 1], strides: [2, 2], padding: 'same', bias: true },
    { x: [1, 7, 7, 2], k: [3, 3, 1], strides: [1, 1], dilation: [2, 2], padding: 'valid', bias: true },
    { x: [2, 1, 1, 4], k: [3, 3, 2], strides: [1, 1], padding: 'same', bias: true },
  ];
  for (const c of small) {
    const { g, wShape, CM, x, w, b } = data(c);
    await checkGrad(
      describe(c),
      ([tx, tw, tb]) => E.depthwiseConv2d(tx, tw, tb, opts(c)),
      ([xx, ww, bb]) => depthwiseRef(xx, ww, g, bb),
      [
        { data: x, shape: c.x },
        { data: w, shape: wShape },
        { data: b!, shape: [CM] },
      ],
    );
  }
});

test('depthwiseConv2d names the shapes at fault', () => {
  const x = E.zeros([1, 5, 5, 3]);
  const throwsWith = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => re.test(e.message));
  throwsWith(() => E.depthwiseConv2d(x, E.zeros([3, 3, 4, 1])), /depthwiseConv2d.*kernel channels 4 differ.*\[1, ?5, ?5, ?3\]/);
  throwsWith(() => E.depthwiseConv2d(x, E.zeros([3, 3, 3, 2]), E.zeros([3])), /bias \[3\] must be \[6\]/);
  throwsWith(() => E.depthwiseConv2d(x, E.zeros([7, 7, 3, 1])), /7×7 window.*does not fit/);
  throwsWith(() => E.depthwiseConv2d(x, E.zeros([3, 3, 3, 1]), null, { strides: 2, dilation: 2 }), /one of them must be 1/);
  throwsWith(() => E.depthwiseConv2d(E.zeros([5, 5, 3]), E.zeros([3, 3, 3, 1])), /NHWC/);
});

test.run();
