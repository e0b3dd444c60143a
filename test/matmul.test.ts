import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/index.ts';
import { matmulRef } from '../kernels/matmul_ref.ts';
import { transposeMatrices } from '../engine/ops/matmul.ts';
import { tiledSplits, type Tiles } from '../kernels/tiled.ts';
import { assertClose, checkGrad, ready, rng, kernelVariants, withVariant, withBindingLimit } from './helpers.ts';

/** A GPU's own block choice (no forced tiles), whatever adapter runs the tests. */
const GPU_CHOICE = { tiles: null, narrowTiles: true } as const;

const g = await ready;
const r = rng(11);
const VARIANTS = kernelVariants();
// 'tiled-big': { TM: 128, TN: 128 } blocks forced.
const BIG: Tiles = { TM: 128, TN: 128 };
const TOL = { atol: 1e-4, rtol: 1e-4 };


/** c (shape [M, N], [N], [1, N], [M, 1] or [1]) expanded to [M, N]. */
function broadcastTo(c: ArrayLike<number>, shape: number[], M: number, N: number): Float64Array {
  const [rows, cols] = shape.length === 2 ? shape : [1, shape[0]];
  return Float64Array.from({ length: M * N }, (_, i) => c[(rows === 1 ? 0 : Math.floor(i / N)) * cols + (cols === 1 ? 0 : i % N)]);
}

// [M, N, K]: one element, odd, not multiples of 4 or of the tiles, several workgroups, aligned.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 9, 4],
  [5, 7, 9],
  [3, 1, 6],
  [67, 45, 131],
  [130, 200, 70],
  [64, 64, 64],
  [128, 96, 32],
  [3, 70, 1000], // tiled: K split 3 ways (a short last split), partials summed
  [2, 64, 600], // tiled: at most 4 rows by a row-major B go through the vec4 GEMV
  [1, 70, 256], // any variant, B transposed: one dot product per output (gemv_rows)
  [4, 9, 68],
  [4, 64, 36], // register variant: A transposed first, then the CPU GEMV by columns (4 rows)
];
// The tiled split-K path must stay exercised (here and by dense 64×784→32 below).
if (tiledSplits(3, 70, 1000, GPU_CHOICE) < 2 || tiledSplits(64, 32, 784, GPU_CHOICE) < 2) throw new Error('no test shape splits K any more');

for (const v of VARIANTS) {
  test(`${v}: matmul of every transposition matches the reference (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      for (const [M, N, K] of SHAPES)
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            const a = r.uniform(M * K);
            const b = r.uniform(K * N);
            const y = await E.tidy(() =>
              E.matmul(E.tensor(a, transA ? [K, M] : [M, K]), E.tensor(b, transB ? [N, K] : [K, N]), { transposeA: transA, transposeB: transB }).data(),
            );
            assertClose(y, matmulRef(a, b, { M, N, K, transA, transB }), TOL, `${v} ${M}x${N}x${K} tA=${transA} tB=${transB}`);
          }
      // GPUs: gemv_rows for a transposed B; CPU drivers: kernels/gemv_lanes.ts for both layouts.
      const gemvs = v.startsWith('register') ? ['gemv_dot:M=1', 'gemv_dot:M=4', 'gemv_cols:M=2', 'gemv_cols:M=4'] : ['gemv_rows:M=1', 'gemv_rows:M=4'];
      for (const key of gemvs) assert.ok(g.hasPipeline(key), `${v}: ${key} ran`);
    }),
  );

  test(`${v}: batched matmul, batch > 1 and one side broadcast (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      for (const [M, N, K] of [[5, 7, 9], [33, 20, 16]] as const)
        for (const [batchedA, batchedB] of [[true, true], [false, true], [true, false]]) {
          const Z = 3;
          const a = r.uniform((batchedA ? Z : 1) * M * K);
          const b = r.uniform((batchedB ? Z : 1) * K * N);
          const y = await E.tidy(() => {
            const ta = E.tensor(a, batchedA ? [Z, M, K] : [M, K]);
            const tb = E.tensor(b, batchedB ? [Z, K, N] : [K, N]);
            return E.matmul(ta, tb).data();
          });
          assertClose(y, matmulRef(a, b, { M, N, K, batch: Z, batchedA, batchedB }), TOL, `${v} batch ${Z} ${M}x${N}x${K} A${batchedA} B${batchedB}`);
        }
      // Rank 4 with equal leading dims (ONNX test_matmul_4d) and transposed batched operands.
      const a = r.uniform(2 * 3 * 4 * 5);
      const b = r.uniform(2 * 3 * 6 * 5);
      const y = await E.tidy(() => E.matmul(E.tensor(a, [2, 3, 5, 4]), E.tensor(b, [2, 3, 6, 5]), { transposeA: true, transposeB: true }).data());
      assertClose(y, matmulRef(a, b, { M: 4, N: 6, K: 5, batch: 6, transA: true, transB: true }), TOL, `${v} rank-4 transposed`);
    }),
  );

  test(`${v}: dense fuses the bias; gemm alpha, beta and broadcast C (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      // [1, 300, 8] and [4, 2000, 36]: the tiled variant's GEMV (K split, bias in the summing pass).
      for (const [M, inF, outF] of [[1, 1, 1], [7, 13, 10], [64, 784, 32], [3, 16, 5], [1, 300, 8], [4, 2000, 36]]) {
        const x = r.uniform(M * inF);
        const w = r.uniform(inF * outF);
        const bias = r.uniform(outF);
        const y = await E.tidy(() => E.dense(E.tensor(x, [M, inF]), E.tensor(w, [inF, outF]), E.tensor(bias, [outF])).data());
        assertClose(y, matmulRef(x, w, { M, N: outF, K: inF, bias }), TOL, `${v} dense ${M}x${inF}->${outF}`);
      }
      // Dense on a rank-3 input applies to the last axis.
      const x = r.uniform(2 * 3 * 8);
      const w = r.uniform(8 * 4);
      const y3 = await E.tidy(() => E.dense(E.tensor(x, [2, 3, 8]), E.tensor(w, [8, 4])).data());
      assertClose(y3, matmulRef(x, w, { M: 6, N: 4, K: 8 }), TOL, `${v} dense rank 3`);

      // [3, 8, 7]: at most 4 rows, the CPU GEMV's beta (by rows of Bᵀ, or columns of B).
      for (const [M, N, K, transB] of [[6, 5, 7, true], [3, 8, 7, true], [3, 8, 7, false]] as const)
      for (const cShape of [[M, N], [N], [1, N], [M, 1], [1]]) {
        const a = r.uniform(K * M);
        const b = r.uniform(N * K);
        const c = r.uniform(cShape.reduce((p, q) => p * q, 1));
        const y = await E.tidy(() => E.gemm(E.tensor(a, [K, M]), E.tensor(b, transB ? [N, K] : [K, N]), E.tensor(c, cShape), { alpha: 0.5, beta: -2, transA: true, transB }).data());
        const cFull = broadcastTo(c, cShape, M, N);
        assertClose(y, matmulRef(a, b, { M, N, K, transA: true, transB, alpha: 0.5, beta: -2, c: cFull }), TOL, `${v} gemm ${M}x${N}x${K} tB=${transB} C ${JSON.stringify(cShape)}`);
      }
    }),
  );

  test(`${v}: matmul backward (all transpositions, batch, broadcast) matches finite differences`, () =>
    withVariant(v, BIG, async () => {
      const [M, N, K] = [3, 5, 4];
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const as = transA ? [K, M] : [M, K];
          const bs = transB ? [N, K] : [K, N];
          await checkGrad(
            `${v} matmul tA=${transA} tB=${transB}`,
            ([a, b]) => E.matmul(a, b, { transposeA: transA, transposeB: transB }),
            ([a, b]) => matmulRef(a, b, { M, N, K, transA, transB }),
            [{ data: r.uniform(M * K), shape: as }, { data: r.uniform(K * N), shape: bs }],
          );
        }
      const Z = 2;
      await checkGrad(
        `${v} batched matmul, B broadcast`,
        ([a, b]) => E.matmul(a, b, { transposeB: true }),
        ([a, b]) => matmulRef(a, b, { M, N, K, batch: Z, transB: true, batchedB: false }),
        [{ data: r.uniform(Z * M * K), shape: [Z, M, K] }, { data: r.uniform(N * K), shape: [N, K] }],
      );
      await checkGrad(
        `${v} batched matmul, A broadcast`,
        ([a, b]) => E.matmul(a, b, { transposeA: true }),
        ([a, b]) => matmulRef(a, b, { M, N, K, batch: Z, transA: true, batchedA: false }),
        [{ data: r.uniform(K * M), shape: [K, M] }, { data: r.uniform(Z * K * N), shape: [Z, K, N] }],
      );
    }),
  );

  test(`${v}: dense and gemm backward match finite differences`, () =>
    withVariant(v, BIG, async () => {
      const [M, inF, outF] = [4, 6, 3];
      await checkGrad(
        `${v} dense`,
        ([x, w, b]) => E.dense(x, w, b),
        ([x, w, b]) => matmulRef(x, w, { M, N: outF, K: inF, bias: b }),
        [{ data: r.uniform(M * inF), shape: [M, inF] }, { data: r.uniform(inF * outF), shape: [inF, outF] }, { data: r.uniform(outF), shape: [outF] }],
      );
      await checkGrad(
        `${v} gemm`,
        ([a, b, c]) => E.gemm(a, b, c, { alpha: 1.5, beta: 0.5, transB: true }),
        ([a, b, c]) => matmulRef(a, b, { M, N: outF, K: inF, transB: true, alpha: 1.5, beta: 0.5, c: broadcastTo(c, [outF], M, outF) }),
        [{ data: r.uniform(M * inF), shape: [M, inF] }, { data: r.uniform(outF * inF), shape: [outF, inF] }, { data: r.uniform(outF), shape: [outF] }],
      );
    }),
  );

  test(`${v}: operands above a (pretended) binding limit are split along M, N or K (atol 1e-4, rtol 1e-4)`, () =>
    withVariant(v, BIG, async () => {
      // 4 KiB per binding: every operand below is several pieces, each starting at an aligned offset.
      await withBindingLimit(4096, async () => {
        for (const [M, N, K, transA, transB, Z] of [
          [40, 12, 70, false, false, 1], // A by rows, B by K (accumulating), C by rows
          [40, 12, 70, true, true, 1], // A by K, B by columns
          [3, 900, 5, false, false, 1], // C wide: columns
          [9, 33, 50, false, true, 2], // batched: one matrix at a time
          [2, 3, 1500, false, false, 1], // a single row of A longer than a binding
          [8, 900, 16, false, false, 1], // A small enough to be transposed first (register variant), B and C in pieces
        ] as const) {
          const a = r.uniform(Z * M * K);
          const b = r.uniform(Z * K * N);
          const bias = r.uniform(N);
          const y = await E.tidy(() => {
            const ta = E.tensor(a, Z > 1 ? [Z, ...(transA ? [K, M] : [M, K])] : transA ? [K, M] : [M, K]);
            const tb = E.tensor(b, Z > 1 ? [Z, ...(transB ? [N, K] : [K, N])] : transB ? [N, K] : [K, N]);
            return E.matmul(ta, tb, { transposeA: transA, transposeB: transB }).data();
          });
          assertClose(y, matmulRef(a, b, { M, N, K, transA, transB, batch: Z }), TOL, `${v} split ${M}x${N}x${K} tA=${transA} tB=${transB} batch ${Z}`);
          if (Z === 1 && !transA && !transB) {
            const yd = await E.tidy(() => E.dense(E.tensor(a, [M, K]), E.tensor(b, [K, N]), E.tensor(bias, [N])).data());
            assertClose(yd, matmulRef(a, b, { M, N, K, bias }), TOL, `${v} split dense ${M}x${N}x${K}`);
          }
        }
      });
    }),
  );
}

test('a dense weight larger than one binding (x [2, 33000] · w [33000, 1100], 145 MB) works, forward and backward (atol 1e-3, rtol 1e-4)', async () => {
  // lavapipe binds at most 128 MiB; adapters that bind more are held to 128 MiB here, so this is
  // the VGG16 fc1 situation everywhere.
  const real = g.limits.maxStorageBufferBindingSize;
  await withBindingLimit(Math.min(real, 128 * 1024 * 1024), async () => {
    const [M, K, N] = [2, 33000, 1100];
    const x = r.uniform(M * K);
    const w = new Float32Array(K * N);
    for (let i = 0; i < w.length; i++) w[i] = ((i * 7919) % 2001) / 1000 - 1; // cheap and deterministic
    const bias = r.uniform(N);
    const dyv = r.uniform(M * N);
    const [y, dx, dw] = await E.asyncTidy(async (s) => {
      const [out, tx, tw] = s.run(() => {
        const tx = E.tensor(x, [M, K]).requireGrad();
        const tw = E.tensor(w, [K, N]).requireGrad();
        const out = E.dense(tx, tw, E.tensor(bias, [N]));
        E.backward(out, E.tensor(dyv, [M, N]));
        return [out, tx, tw];
      });
      return [await out.data(), await tx.grad!.data(), await tw.grad!.data()];
    });
    assertClose(y, matmulRef(x, w, { M, N, K, bias }), { atol: 1e-3, rtol: 1e-4 }, 'fc forward');
    assertClose(dx, matmulRef(dyv, w, { M, N: K, K: N, transB: true }), { atol: 1e-3, rtol: 1e-4 }, 'fc dx');
    // dW is itself 145 MB: check a sample of rows (all of them would take the reference seconds).
    for (const row of [0, 1, 4095, 16500, K - 1]) {
      const got = dw.subarray(row * N, (row + 1) * N);
      const want = Float64Array.from({ length: N }, (_, n) => x[row] * dyv[n] + x[K + row] * dyv[N + n]);
      assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `fc dW row ${row}`);
    }
  });
});

test('the register variant\'s transpose pass, in 4×4 blocks (multiples of 4) and element-wise (odd sizes), matches the reference', async () => {
  for (const [batch, R, C] of [[1, 4, 4], [2, 12, 20], [3, 64, 36], [1, 1, 1], [2, 5, 7], [1, 8, 6]]) {
    const x = r.uniform(batch * R * C);
    const y = await E.tidy(() => transposeMatrices('test', E.tensor(x, [batch, R, C]), batch, R, C)).data();
    const want = Float64Array.from({ length: batch * R * C }, (_, i) => {
      const z = Math.floor(i / (R * C));
      const c = Math.floor((i % (R * C)) / R);
      return x[z * R * C + (i % R) * C + c];
    });
    assertClose(y, want, { atol: 0, rtol: 0 }, `transpose [${batch}, ${R}, ${C}]`);
  }
  assert.ok(g.hasPipeline('transpose_matrices4') && g.hasPipeline('transpose_matrices'), 'both transpose kernels ran');
});

test('matmul, dense and gemm reject bad shapes, naming them', () => {
  const msg = (f: () => unknown) => {
    try {
      E.tidy(f);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  E.tidy(() => {
    const m1 = msg(() => E.matmul(E.zeros([2, 3]), E.zeros([4, 5])));
    if (!m1.includes('matmul') || !m1.includes('[2,3]') || !m1.includes('[4,5]')) throw new Error(`bad message: ${m1}`);
    const m2 = msg(() => E.matmul(E.zeros([2, 2, 3]), E.zeros([3, 3, 5])));
    if (!m2.includes('batch') || !m2.includes('[2,2,3]')) throw new Error(`bad message: ${m2}`);
    const m3 = msg(() => E.dense(E.zeros([2, 3]), E.zeros([4, 5])));
    if (!m3.includes('dense') || !m3.includes('[4,5]')) throw new Error(`bad message: ${m3}`);
    const m4 = msg(() => E.gemm(E.zeros([2, 3]), E.zeros([3, 5]), E.zeros([3])));
    if (!m4.includes('gemm') || !m4.includes('[3]')) throw new Error(`bad message: ${m4}`);
  });
});

test.run();
