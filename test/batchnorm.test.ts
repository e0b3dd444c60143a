import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { batchNormRef } from '../kernels/batchnorm.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(21);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// 1 channel, odd channel counts, rank 2 and 4, more than one workgroup (2·9·8·7 = 1008 > 256);
// C a multiple of 4 takes the vec4 kernel ([3, 4], [2, 9, 7, 12]: 378 threads, two workgroups).
const SHAPES = [[5, 1], [3, 7], [2, 3, 5, 3], [2, 9, 8, 7], [3, 4], [2, 9, 7, 12]];
// Every combination of the optional mean, γ and β.
const HAS = [
  { mean: true, gamma: true, beta: true },
  { mean: false, gamma: false, beta: false },
  { mean: true, gamma: false, beta: true },
  { mean: false, gamma: true, beta: false },
];

function data(shape: number[]) {
  const C = shape[shape.length - 1];
  return { x: r.uniform(size(shape), -2, 2), m: r.uniform(C, -1, 1), v: r.uniform(C, 0.1, 2), g: r.uniform(C, -2, 2), b: r.uniform(C, -1, 1) };
}

test('batchNorm forward matches the reference for every optional input (atol 1e-5, rtol 1e-5)', async () => {
  for (const shape of SHAPES)
    for (const has of HAS) {
      const d = data(shape);
      const C = shape[shape.length - 1];
      const got = await E.tidy(() =>
        E.batchNorm(E.tensor(d.x, shape), has.mean ? E.tensor(d.m, [C]) : null, E.tensor(d.v, [C]), has.gamma ? E.tensor(d.g, [C]) : null, has.beta ? E.tensor(d.b, [C]) : null, 1e-3),
      ).data();
      const want = batchNormRef(d.x, has.mean ? d.m : null, d.v, has.gamma ? d.g : null, has.beta ? d.b : null, 1e-3);
      assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `[${shape}] ${JSON.stringify(has)}`);
    }
});

test('batchNorm equals the composed (x − m)/sqrt(v + ε)·γ + β to float rounding', async () => {
  const shape = [1, 6, 6, 16];
  const d = data(shape);
  const [f, c] = E.tidy(() => {
    const x = E.tensor(d.x, shape), m = E.tensor(d.m, [16]), v = E.tensor(d.v, [16]), g = E.tensor(d.g, [16]), b = E.tensor(d.b, [16]);
    return [E.batchNorm(x, m, v, g, b, 1e-3), E.add(E.mul(E.div(E.sub(x, m), E.sqrt(E.affine(v, 1, 1e-3))), g), b)];
  });
  const fused = await f.data();
  const composed = await c.data();
  f.dispose();
  c.dispose();
  assertClose(fused, composed, { atol: 1e-6, rtol: 1e-6 }, 'fused vs composed');
});

test('batchNorm backward matches finite differences in x, mean, var, γ, β (atol 1e-3, rtol 1e-2)', async () => {
  for (const shape of [[3, 4], [2, 3, 2, 5]]) // C = 4: vec4; C = 5: scalar
    for (const has of HAS) {
      const d = data(shape);
      const C = shape[shape.length - 1];
      const inputs = [{ data: d.x, shape }];
      if (has.mean) inputs.push({ data: d.m, shape: [C] });
      inputs.push({ data: d.v, shape: [C] });
      if (has.gamma) inputs.push({ data: d.g, shape: [C] });
      if (has.beta) inputs.push({ data: d.b, shape: [C] });
      const split = <T>(xs: T[]): [T, T | null, T, T | null, T | null] => {
        let k = 0;
        return [xs[k++], has.mean ? xs[k++] : null, xs[k++], has.gamma ? xs[k++] : null, has.beta ? xs[k++] : null];
      };
      await checkGrad(
        `batchNorm [${shape}] ${JSON.stringify(has)}`,
        (ts) => {
          const [x, m, v, g, b] = split(ts);
          return E.batchNorm(x, m, v, g, b, 1e-3);
        },
        (xs) => {
          const [x, m, v, g, b] = split(xs);
          return batchNormRef(x, m, v, g, b, 1e-3);
        },
        inputs,
      );
    }
});

test('batchNorm with batch statistics of x (training) differentiates through them (atol 1e-3, rtol 1e-2)', async () => {
  const shape = [4, 3, 5];
  const C = 5;
  const d = data(shape);
  const stats = (x: ArrayLike<number>) => {
    const m = new Float64Array(C), v = new Float64Array(C), n = x.length / C;
    for (let i = 0; i < x.length; i++) m[i % C] += x[i] / n;
    for (let i = 0; i < x.length; i++) v[i % C] += (x[i] - m[i % C]) ** 2 / n;
    return { m, v };
  };
  await checkGrad(
    'batchNorm, training statistics',
    ([x, g, b]) => {
      const m = E.mean(x, [0, 1]);
      return E.batchNorm(x, m, E.mean(E.square(E.sub(x, m)), [0, 1]), g, b, 1e-3);
    },
    ([x, g, b]) => {
      const { m, v } = stats(x);
      return batchNormRef(x, m, v, g, b, 1e-3);
    },
    [{ data: d.x, shape }, { data: d.g, shape: [C] }, { data: d.b, shape: [C] }],
  );
});

test('batchNorm names the op and the shapes at fault', () => {
  throwsNaming(() => E.batchNorm(E.zeros([2, 3]), E.zeros([4]), E.ones([3]), null, null, 1e-3), 'batchNorm', 'mean [4]', '[3]');
  throwsNaming(() => E.batchNorm(E.zeros([2, 3]), null, E.ones([2]), null, null, 1e-3), 'batchNorm', 'variance [2]');
  assert.ok(true);
});

test.run();
