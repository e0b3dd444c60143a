// The plain-loop float64 reference for kernels/matmul.ts: what the tests check every variant
// (and the GEMVs) against.

export interface MatmulRefOptions {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** False when A (or B) is a single matrix broadcast over the batch. */
  batchedA?: boolean;
  batchedB?: boolean;
  bias?: ArrayLike<number>;
  alpha?: number;
  beta?: number;
  c?: ArrayLike<number>;
}

/** C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] + bias, in float64. A is [K, M] when transA, B is [N, K] when transB. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, o: MatmulRefOptions): Float64Array {
  const { M, N, K, batch = 1, transA = false, transB = false, alpha = 1, beta = 0 } = o;
  const sa = (o.batchedA ?? batch > 1) ? M * K : 0;
  const sb = (o.batchedB ?? batch > 1) ? K * N : 0;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[z * sa + (transA ? k * M + m : m * K + k)];
          const bv = b[z * sb + (transB ? n * K + k : k * N + n)];
          s += av * bv;
        }
        const i = (z * M + m) * N + n;
        let v = alpha * s;
        if (beta !== 0 && o.c) v += beta * o.c[i];
        if (o.bias) v += o.bias[n];
        out[i] = v;
      }
  return out;
}
