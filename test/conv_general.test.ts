// conv2d with dilation and groups (the direct kernels of kernels/conv2d_general.ts): forward and
// both gradients against the float64 references, the backward against finite differences, and
// two checks that do not go through those references: a dilated conv equals the common path's
// conv with the kernel spread out by zeros (so 'same' pads as TF pads the dilated window), and a
// grouped conv equals the common path run on each group's channels.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import type { Padding } from '../kernels/conv2d.ts';
import { conv2dGeneralWeightGradSplits, convGeneralGeometry } from '../kernels/conv2d_general.ts';
import { conv2dGeneralInputGradRef, conv2dGeneralRef, conv2dGeneralWeightGradRef } from '../kernels/conv2d_general_ref.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(31);
const TOL = { atol: 1e-4, rtol: 1e-4 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case {
  x: [number, number, number, number];
  /** [KH, KW, O]; the kernel is [KH, KW, C/groups, O]. */
  k: [number, number, number];
  strides?: [number, number];
  dilation?: [number, number];
  groups?: number;
  padding: Padding;
  bias?: boolean;
}

// Dilation 2 and 3 (also per axis), groups 2, 3 and 4 (and groups = C, a depthwise conv), strides
// 1 and 2, same / valid / explicit pads, 1×1 images, 1×1 kernels, batch > 1, outputs past one
// workgroup, and a stride 2 with dilation 2 (the op allows what Keras' layer refuses).
const CASES: Case[] = [
  { x: [1, 9, 9, 3], k: [3, 3, 4], dilation: [2, 2], padding: 'same', bias: true },
  { x: [2, 10, 11, 4], k: [3, 3, 5], dilation: [3, 3], padding: 'valid' },
  { x: [2, 8, 8, 8], k: [3, 3, 6], strides: [2, 2], groups: 2, padding: 'same', bias: true },
  { x: [1, 7, 9, 8], k: [3, 2, 8], strides: [1, 2], groups: 4, padding: 'valid' },
  { x: [2, 12, 10, 8], k: [3, 3, 12], dilation: [2, 1], groups: 4, padding: 'same', bias: true },
  { x: [1, 1, 1, 4], k: [3, 3, 4], groups: 2, padding: 'same', bias: true },
  { x: [2, 6, 6, 6], k: [1, 1, 9], groups: 3, padding: 'valid' },
  { x: [1, 20, 20, 16], k: [3, 3, 32], dilation: [2, 2], groups: 2, padding: 'same', bias: true },
  { x: [1, 7, 7, 4], k: [3, 3, 4], groups: 4, padding: 'same' },
  { x: [2, 8, 7, 3], k: [3, 3, 2], dilation: [2, 2], padding: [1, 0, 2, 1] },
  { x: [1, 11, 10, 4], k: [3, 3, 4], strides: [2, 2], dilation: [2, 2], groups: 2, padding: 'same' },
  { x: [1, 6, 5, 2], k: [5, 5, 3], dilation: [2, 2], padding: 'same' },
];

const describe = (c: Case) =>
  `x[${c.x}] k[${c.k}] s[${c.strides ?? [1, 1]}] d[${c.dilation ?? [1, 1]}] g${c.groups ?? 1} ${JSON.stringify(c.padding)}${c.bias ? ' +bias' : ''}`;
const opts = (c: Case, activation?: 'relu') => ({ strides: c.strides, dilations: c.dilation, groups: c.groups, padding: c.padding, activation });

function data(c: Case) {
  const G = c.groups ?? 1;
  const wShape = [c.k[0], c.k[1], c.x[3] / G, c.k[2]];
  const g = convGeneralGeometry(c.x, wShape, c.strides ?? [1, 1], c.dilation ?? [1, 1], G, c.padding);
  return { g, wShape, x: r.uniform(size(c.x)), w: r.uniform(size(wShape)), b: c.bias ? r.uniform(c.k[2]) : undefined };
}

test('general conv geometry: same pads the dilated window as TF, odd pad at the bottom/right', () => {
  // H 9, k 3, d 2: span 5, pad 4 → 2 / 2. H 6, k 5, d 2: span 9, pad 8 → 4 / 4. H 11, k 3, d 2, s 2: HO 6, pad 5·2 + 5 − 11 = 4.
  const a = convGeneralGeometry([1, 9, 9, 3], [3, 3, 3, 4], [1, 1], [2, 2], 1, 'same');
  assert.equal([a.HO, a.PT, a.PB], [9, 2, 2]);
  const b = convGeneralGeometry([1, 6, 5, 2], [5, 5, 2, 3], [1, 1], [2, 2], 1, 'same');
  assert.equal([b.HO, b.WO, b.PT, b.PB, b.PL, b.PR], [6, 5, 4, 4, 4, 4]);
  const c = convGeneralGeometry([1, 11, 11, 4], [3, 3, 2, 4], [2, 2], [2, 2], 2, 'same');
  assert.equal([c.HO, c.PT, c.PB], [6, 2, 2]);
  const v = convGeneralGeometry([1, 10, 10, 4], [3, 3, 4, 5], [1, 1], [3, 3], 1, 'valid');
  assert.equal(v.HO, 4);
});

test('conv2d with dilation / groups: forward matches the reference (atol 1e-4, rtol 1e-4)', async () => {
  for (const c of CASES) {
    const { g, wShape, x, w, b } = data(c);
    const y = await E.tidy(() => E.conv2d(E.tensor(x, c.x), E.tensor(w, wShape), b ? E.tensor(b, [c.k[2]]) : null, opts(c)).data());
    assertClose(y, conv2dGeneralRef(x, w, g, b), TOL, describe(c));
  }
  assert.ok(E.gpu().hasPipeline('conv2d_general'), 'the general kernel did not run');
});

test('conv2d with dilation / groups and a fused relu: forward is relu of the reference', async () => {
  for (const c of [CASES[2], CASES[4]]) {
    const { g, wShape, x, w, b } = data(c);
    const y = await E.tidy(() => E.conv2d(E.tensor(x, c.x), E.tensor(w, wShape), b ? E.tensor(b, [c.k[2]]) : null, opts(c, 'relu')).data());
    assertClose(y, conv2dGeneralRef(x, w, g, b).map((v) => Math.max(v, 0)), TOL, `relu ${describe(c)}`);
  }
});

test('conv2d with dilation / groups: input and weight gradients match the loop references (atol 1e-4, rtol 1e-4)', async () => {
  for (const c of CASES) {
    const { g, wShape, x, w } = data(c);
    const dy = r.uniform(g.N * g.HO * g.WO * g.O);
    const [dx, dw] = await E.asyncTidy(async (s) => {
      const [tx, tw] = s.run(() => {
        const tx = E.tensor(x, c.x).requireGrad();
        const tw = E.tensor(w, wShape).requireGrad();
        E.backward(E.conv2d(tx, tw, null, opts(c)), E.tensor(dy, [g.N, g.HO, g.WO, g.O]));
        return [tx, tw];
      });
      return [await tx.grad!.data(), await tw.grad!.data()];
    });
    assertClose(dx, conv2dGeneralInputGradRef(dy, w, g), TOL, `dx ${describe(c)}`);
    assertClose(dw, conv2dGeneralWeightGradRef(x, dy, g), TOL, `dW ${describe(c)}`);
  }
  // Both dW paths (one pass, and partial sums over pixel ranges) must stay exercised.
  const splits = CASES.map((c) => conv2dGeneralWeightGradSplits(data(c).g));
  assert.ok(splits.some((s) => s === 1) && splits.filter((s) => s > 1).length >= 2, `dW splits ${splits}`);
});

test('conv2d with dilation / groups: backward (x, w, bias; relu) matches finite differences of the reference', async () => {
  const small: Case[] = [
    { x: [2, 5, 5, 4], k: [3, 3, 4], groups: 2, padding: 'same', bias: true },
    { x: [1, 7, 6, 3], k: [3, 3, 2], dilation: [2, 2], padding: 'same', bias: true },
    { x: [1, 7, 7, 6], k: [3, 2, 6], strides: [2, 1], groups: 3, padding: 'valid', bias: true },
    { x: [1, 8, 8, 4], k: [2, 2, 4], strides: [2, 2], dilation: [2, 2], groups: 4, padding: [1, 0, 0, 1], bias: true },
  ];
  for (const c of small) {
    const { g, wShape, x, w, b } = data(c);
    const inputs = [
      { data: x, shape: c.x },
      { data: w, shape: wShape },
      { data: b!, shape: [c.k[2]] },
    ];
    await checkGrad(describe(c), ([tx, tw, tb]) => E.conv2d(tx, tw, tb, opts(c)), ([xx, ww, bb]) => conv2dGeneralRef(xx, ww, g, bb), inputs);
  }
  // relu fused: its derivative comes from y; inputs are kept away from the kink by the random draw.
  const c = small[0];
  const { g, wShape, x, w, b } = data(c);
  await checkGrad(
    `relu ${describe(c)}`,
    ([tx, tw, tb]) => E.conv2d(tx, tw, tb, opts(c, 'relu')),
    ([xx, ww, bb]) => conv2dGeneralRef(xx, ww, g, bb).map((v) => Math.max(v, 0)),
    [
      { data: x, shape: c.x },
      { data: w, shape: wShape },
      { data: b!, shape: [c.k[2]] },
    ],
  );
});

/** w [KH, KW, C, O] spread to [(KH−1)·dh + 1, (KW−1)·dw + 1, C, O] with zeros between taps. */
function dilateKernel(w: Float32Array, s: number[], dh: number, dw: number): { w: Float32Array; shape: number[] } {
  const [KH, KW, C, O] = s;
  const EH = (KH - 1) * dh + 1;
  const EW = (KW - 1) * dw + 1;
  const out = new Float32Array(EH * EW * C * O);
  for (let ky = 0; ky < KH; ky++)
    for (let kx = 0; kx < KW; kx++) out.set(w.subarray((ky * KW + kx) * C * O, (ky * KW + kx + 1) * C * O), (ky * dh * EW + kx * dw) * C * O);
  return { w: out, shape: [EH, EW, C, O] };
}

test('a dilated conv equals the common path with a zero-spread kernel (same, valid, explicit pads)', async () => {
  for (const c of CASES.filter((c) => (c.groups ?? 1) === 1 && c.dilation)) {
    const { wShape, x, w, b } = data(c);
    const [dh, dw] = c.dilation!;
    const spread = dilateKernel(w, wShape, dh, dw);
    const [got, want] = await E.tidy(() => {
      const tx = E.tensor(x, c.x);
      const tb = b ? E.tensor(b, [c.k[2]]) : null;
      return Promise.all([E.conv2d(tx, E.tensor(w, wShape), tb, opts(c)).data(), E.conv2d(tx, E.tensor(spread.w, spread.shape), tb, { strides: c.strides, padding: c.padding }).data()]);
    });
    assertClose(got, want, TOL, `dilated vs spread ${describe(c)}`);
  }
});

test('a grouped conv equals the common path run on each group, concatenated along channels', async () => {
  for (const c of CASES.filter((c) => (c.groups ?? 1) > 1 && !c.dilation)) {
    const { g, wShape, x, w, b } = data(c);
    const G = g.G;
    const Cg = g.C / G;
    const Og = g.O / G;
    const got = await E.tidy(() => E.conv2d(E.tensor(x, c.x), E.tensor(w, wShape), b ? E.tensor(b, [g.O]) : null, opts(c)).data());
    const want = new Float32Array(got.length);
    for (let gi = 0; gi < G; gi++) {
      const xs = new Float32Array(g.N * g.H * g.W * Cg);
      for (let p = 0; p < g.N * g.H * g.W; p++) for (let k = 0; k < Cg; k++) xs[p * Cg + k] = x[p * g.C + gi * Cg + k];
      const ws = new Float32Array(g.KH * g.KW * Cg * Og);
      for (let t = 0; t < g.KH * g.KW * Cg; t++) for (let o = 0; o < Og; o++) ws[t * Og + o] = w[t * g.O + gi * Og + o];
      const bs = b ? b.slice(gi * Og, (gi + 1) * Og) : null;
      const ys = await E.tidy(() =>
        E.conv2d(E.tensor(xs, [g.N, g.H, g.W, Cg]), E.tensor(ws, [g.KH, g.KW, Cg, Og]), bs ? E.tensor(bs, [Og]) : null, { strides: c.strides, padding: c.padding }).data(),
      );
      for (let p = 0; p < g.N * g.HO * g.WO; p++) for (let o = 0; o < Og; o++) want[p * g.O + gi * Og + o] = ys[p * Og + o];
    }
    assertClose(got, want, TOL, `grouped vs per group ${describe(c)}`);
  }
});

test('groups = channels = filters is a depthwise conv', async () => {
  const c = CASES[8];
  const { wShape, x, w } = data(c);
  // [KH, KW, 1, C] as a grouped kernel is [KH, KW, C, 1] as a depthwise one: the same numbers.
  const [got, want] = await E.tidy(() =>
    Promise.all([E.conv2d(E.tensor(x, c.x), E.tensor(w, wShape), null, opts(c)).data(), E.depthwiseConv2d(E.tensor(x, c.x), E.tensor(w, [3, 3, 4, 1]), null, { padding: 'same' }).data()]),
  );
  assertClose(got, want, TOL, 'groups 4 vs depthwise');
});

test('conv2d names the shapes at fault for groups and dilation', () => {
  const x = () => E.zeros([1, 6, 6, 4]);
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 4, 6]), null, { groups: 2 }), 'conv2d', 'groups 2', 'C/groups input channels, not 4', 'kernel [3,3,4,6]');
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 2, 5]), null, { groups: 2 }), 'conv2d', 'groups 2', 'kernel\'s 5 filters');
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 4, 6]), null, { groups: 3 }), 'conv2d', 'groups 3');
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 4, 2]), null, { groups: 0 }), 'conv2d', 'groups must be a positive integer');
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 4, 2]), null, { dilations: 0 }), 'conv2d', 'dilations must be positive');
  throwsNaming(() => E.conv2d(x(), E.zeros([3, 3, 4, 2]), null, { dilations: 3 }), 'conv2d', '3×3 window (dilation [3,3])', 'does not fit');
});

test.run();
