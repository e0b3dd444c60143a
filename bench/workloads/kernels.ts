// Kernel workloads: matmul, VGG16's 3×3 convs (forward, input-gradient, weight-gradient; block3's
// by default, all nine shapes with --large), max-pooling. Inputs are seeded uniform values, the same on both sides.

import * as E from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { Rng } from '../../nn/random.ts';
import type { Instance, Workload } from '../harness.ts';

type ConvGeom = Parameters<typeof E.conv2dInputGrad>[2];

export const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Seeded uniform values in [lo, hi). */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).uniform(n, lo, hi);
}

/**
 * A workload side that computes one output: `once(probe)` makes it (the probe's variant when
 * `probe`), a run frees it after the clock stops, the probe reads it back.
 */
export function outputInstance(once: (probe: boolean) => { data(): Promise<ArrayLike<number>>; dispose(): void }, dispose: () => void): Instance {
  return {
    run() {
      const y = once(false);
      return () => y.dispose();
    },
    async probe() {
      const y = once(true);
      try {
        return Float32Array.from(await y.data());
      } finally {
        y.dispose();
      }
    },
    dispose,
  };
}

/** Our side of a workload computing one output from fixed inputs. */
export function oursOp(inputs: Tensor[], f: () => Tensor): Instance {
  return outputInstance(() => E.noGrad(() => E.tidy(f)), () => inputs.forEach((t) => t.dispose()));
}

/** The TF.js side of the same. */
export function tfjsOp(tf: any, inputs: any[], f: () => any): Instance {
  return outputInstance(() => tf.tidy(f), () => inputs.forEach((t) => t.dispose()));
}

export function matmulWorkload(n: number): Workload {
  const a = () => uniform(1, n * n);
  const b = () => uniform(2, n * n);
  return {
    id: `matmul-${n}`,
    family: 'matmul',
    title: `matmul ${n}×${n}×${n}`,
    flops: 2 * n * n * n,
    params: { M: n, N: n, K: n },
    tolerance: 1e-3,
    async ours() {
      const A = E.tensor(a(), [n, n]);
      const B = E.tensor(b(), [n, n]);
      return oursOp([A, B], () => E.matmul(A, B));
    },
    async tfjs(tf) {
      const A = tf.tensor(a(), [n, n]);
      const B = tf.tensor(b(), [n, n]);
      return tfjsOp(tf, [A, B], () => tf.matMul(A, B));
    },
  };
}

export interface ConvSpec {
  name: string;
  N: number;
  H: number;
  W: number;
  C: number;
  O: number;
  K: number;
}

/** VGG16 block3's 3×3 convs: 56×56×256 → 256, padding 'same', stride 1. */
export const VGG_BLOCK3: ConvSpec = { name: 'VGG16 block3_conv2/3', N: 1, H: 56, W: 56, C: 256, O: 256, K: 3 };

/** Every VGG16 conv layer at 224×224, batch 1: its 13 layers have these 9 shapes. */
export const VGG16_CONVS: ConvSpec[] = [
  ['block1_conv1', 224, 3, 64],
  ['block1_conv2', 224, 64, 64],
  ['block2_conv1', 112, 64, 128],
  ['block2_conv2', 112, 128, 128],
  ['block3_conv1', 56, 128, 256],
  ['block3_conv2/3', 56, 256, 256],
  ['block4_conv1', 28, 256, 512],
  ['block4_conv2/3', 28, 512, 512],
  ['block5_conv1/2/3', 14, 512, 512],
].map(([layer, H, C, O]) => (H === 56 && C === 256 ? VGG_BLOCK3 : { name: `VGG16 ${layer}`, N: 1, H: +H, W: +H, C: +C, O: +O, K: 3 }));

/** Geometry of a stride-1 'same' conv, as engine/ops/conv2d.ts's gradient ops take it. */
export function sameGeometry(s: ConvSpec): ConvGeom {
  const p = s.K - 1;
  return { N: s.N, H: s.H, W: s.W, C: s.C, KH: s.K, KW: s.K, O: s.O, SH: 1, SW: 1, PT: p >> 1, PB: p - (p >> 1), PL: p >> 1, PR: p - (p >> 1), HO: s.H, WO: s.W };
}

export type ConvPass = 'forward' | 'input-grad' | 'weight-grad';

export function convWorkload(s: ConvSpec, pass: ConvPass): Workload {
  const xShape = [s.N, s.H, s.W, s.C];
  const wShape = [s.K, s.K, s.C, s.O];
  const yShape = [s.N, s.H, s.W, s.O];
  const scale = 1 / Math.sqrt(s.K * s.K * s.C);
  const x = () => uniform(3, prod(xShape));
  const w = () => uniform(4, prod(wShape), -scale, scale);
  const dy = () => uniform(5, prod(yShape));
  const g = sameGeometry(s);
  const short = { forward: 'fwd', 'input-grad': 'dx', 'weight-grad': 'dw' }[pass];
  return {
    id: `conv-${s.H}x${s.W}x${s.C}-${s.O}-k${s.K}-n${s.N}-${short}`,
    family: 'conv',
    title: `${s.name} ${s.H}×${s.W}×${s.C}→${s.O} ${s.K}×${s.K}${s.N > 1 ? ` N=${s.N}` : ''} ${pass}`,
    flops: 2 * s.N * s.H * s.W * s.K * s.K * s.C * s.O,
    backward: pass !== 'forward',
    params: { ...s, pass, padding: 'same', stride: 1, layout: 'NHWC, kernel HWIO' },
    tolerance: 1e-3,
    async ours() {
      if (pass === 'forward') {
        const X = E.tensor(x(), xShape);
        const Wt = E.tensor(w(), wShape);
        return oursOp([X, Wt], () => E.conv2d(X, Wt, null, { padding: 'same' }));
      }
      if (pass === 'input-grad') {
        const DY = E.tensor(dy(), yShape);
        const Wt = E.tensor(w(), wShape);
        return oursOp([DY, Wt], () => E.conv2dInputGrad(DY, Wt, g));
      }
      const X = E.tensor(x(), xShape);
      const DY = E.tensor(dy(), yShape);
      return oursOp([X, DY], () => E.conv2dWeightGrad(X, DY, g));
    },
    async tfjs(tf) {
      if (pass === 'forward') {
        const X = tf.tensor(x(), xShape);
        const Wt = tf.tensor(w(), wShape);
        return tfjsOp(tf, [X, Wt], () => tf.conv2d(X, Wt, 1, 'same'));
      }
      if (pass === 'input-grad') {
        const DY = tf.tensor(dy(), yShape);
        const Wt = tf.tensor(w(), wShape);
        // conv2dTranspose is TF.js's Conv2DBackpropInput kernel, the one conv2d's gradient uses.
        return tfjsOp(tf, [DY, Wt], () => tf.conv2dTranspose(DY, Wt, xShape, 1, 'same'));
      }
      const X = tf.tensor(x(), xShape);
      const DY = tf.tensor(dy(), yShape);
      // Conv2DBackpropFilter has no public op; conv2d's gradient runs this kernel.
      return tfjsOp(tf, [X, DY], () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: X, dy: DY }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: wShape }),
      );
    },
  };
}

export interface PoolSpec {
  name: string;
  shape: [number, number, number, number];
  pool: number;
}

export const POOL_VGG_BLOCK3: PoolSpec = { name: 'VGG16 block3 pool', shape: [1, 56, 56, 256], pool: 2 };
export const POOL_CAM1: PoolSpec = { name: 'cam1 first pool', shape: [100, 28, 28, 16], pool: 2 };

export function maxPoolWorkload(s: PoolSpec): Workload {
  const [N, H, W, C] = s.shape;
  const HO = Math.floor(H / s.pool);
  const WO = Math.floor(W / s.pool);
  const x = () => uniform(6, prod(s.shape));
  return {
    id: `maxpool-${N}x${H}x${W}x${C}-p${s.pool}`,
    family: 'pool',
    title: `${s.name} max-pool ${s.pool}×${s.pool} ${N}×${H}×${W}×${C}`,
    bytes: 4 * (N * H * W * C + N * HO * WO * C),
    params: { shape: s.shape, pool: s.pool, strides: s.pool, padding: 'valid' },
    tolerance: 0,
    async ours() {
      const X = E.tensor(x(), s.shape);
      return oursOp([X], () => E.maxPool2d(X, { pool: s.pool }));
    },
    async tfjs(tf) {
      const X = tf.tensor(x(), s.shape);
      return tfjsOp(tf, [X], () => tf.maxPool(X, s.pool, s.pool, 'valid'));
    },
  };
}

export interface KernelSizes {
  matmul: number[];
  convs: ConvSpec[];
  pools: PoolSpec[];
}

export function kernelWorkloads(z: KernelSizes): Workload[] {
  return [
    ...z.matmul.map(matmulWorkload),
    ...z.convs.flatMap((c) => (['forward', 'input-grad', 'weight-grad'] as const).map((pass) => convWorkload(c, pass))),
    ...z.pools.map(maxPoolWorkload),
  ];
}
