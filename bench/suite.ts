// Which workloads run, at which sizes. Runtime-neutral.
//
//   default  matmul 256 and 1024; VGG16 block3's 3×3 conv (56×56×256→256, N=1) forward,
//            input-gradient, weight-gradient; max-pool (VGG16 block3, cam1's first); cam1 and
//            cam2 training steps at batch 100 (cam2 at batch 10 on a CPU driver unless --batch);
//            a cam1 and a cam2 epoch at batch 100 (on a CPU driver only its first
//            CPU_EPOCH_DIGITS digits, extrapolated, unless --epoch-limit)
//            the real MobileNet v1 0.25 (forward; Grad-CAM at conv_pw_13_relu) from its TF.js
//            files, beside TF.js's loadLayersModel of them (skipped without ../shared/data)
//            every registered Keras application but VGG16 (forward; Grad-CAM at its default
//            layer), batch 1, at small sizes (Xception 71, InceptionV3 107, the others 64)
//   --large  adds matmul 2048 and 4096, every VGG16 conv layer's shape (9, each in three passes),
//            a VGG16 forward pass and a VGG16 Grad-CAM (224×224, batch 1); the applications
//            at their own sizes (224, 299) instead of the small ones
//   --app-size N  the applications at N×N (each family refuses sizes below its minimum)
//   tiny     the CI test's sizes: every family, a few hundred FLOPs each

import type { Workload } from './harness.ts';
import { EPOCH_DIGITS, epochWorkload } from './workloads/epoch.ts';
import { kernelWorkloads, POOL_CAM1, POOL_VGG_BLOCK3, VGG16_CONVS, VGG_BLOCK3, type KernelSizes } from './workloads/kernels.ts';
import { gradCamWorkload, vgg16ForwardWorkload, type Vgg16Spec } from './workloads/models.ts';
import { mobilenetForwardWorkload, mobilenetGradCamWorkload, type BenchData } from './workloads/mobilenet.ts';
import { trainStepWorkload } from './workloads/training.ts';
import { APP_SMALL_DEFAULT, APP_SMALL_SIZE, appWorkloads } from './workloads/apps.ts';

export interface SizeOptions {
  large?: boolean;
  tiny?: boolean;
  /** Training batch for cam1 and cam2 steps (default 100; see cpuAdapter). */
  batch?: number;
  /** Digits of the epoch workloads (default: all 54 000 on a GPU, CPU_EPOCH_DIGITS on a CPU driver). */
  epochLimit?: number;
  /**
   * A software driver on the CPU: cam2's default batch is then CPU_CAM2_BATCH, since one cam2
   * step at batch 100 is ~46 GFLOP (about 25 s for us and minutes for TF.js on lavapipe); and
   * an epoch (hours there) runs CPU_EPOCH_DIGITS digits.
   */
  cpuAdapter?: boolean;
  /** The shared data folder the real-model workloads read, or why they cannot run here. */
  data?: BenchData | string;
  /** Input side of the application rows (default: small sizes, or each family's own with `large`). */
  appSize?: number;
}

export const CPU_CAM2_BATCH = 10;
/** Two steps of 100: the second overlaps the first's loss readback, as in a whole epoch. */
export const CPU_EPOCH_DIGITS = 200;

export const TINY_KERNELS: KernelSizes = {
  matmul: [16, 33],
  convs: [{ name: 'tiny conv', N: 2, H: 6, W: 5, C: 3, O: 4, K: 3 }],
  pools: [{ name: 'tiny', shape: [2, 6, 6, 3], pool: 2 }],
};

/** VGG16's layers with a few channels, 32×32 input: block5_conv3 is 2×2×8. */
export const TINY_VGG16: Vgg16Spec = { size: 32, widths: [4, 4, 8, 8, 8], units: 16, classes: 10 };

const NO_DATA = 'no data folder given (the Node entry finds ../shared/data or LANTERNA_DATA)';

export function workloads(o: SizeOptions = {}): Workload[] {
  if (o.tiny)
    return [
      ...kernelWorkloads(TINY_KERNELS),
      trainStepWorkload('cam1', o.batch ?? 2),
      trainStepWorkload('cam2', o.batch ?? 2),
      epochWorkload('cam1', o.epochLimit ?? 6, 4),
      gradCamWorkload(TINY_VGG16),
    ];
  const digits = o.epochLimit ?? (o.cpuAdapter ? CPU_EPOCH_DIGITS : EPOCH_DIGITS);
  const list = [
    ...kernelWorkloads({ matmul: o.large ? [256, 1024, 2048, 4096] : [256, 1024], convs: o.large ? VGG16_CONVS : [VGG_BLOCK3], pools: [POOL_VGG_BLOCK3, POOL_CAM1] }),
    trainStepWorkload('cam1', o.batch ?? 100),
    trainStepWorkload('cam2', o.batch ?? (o.cpuAdapter ? CPU_CAM2_BATCH : 100)),
    epochWorkload('cam1', digits),
    epochWorkload('cam2', digits),
    mobilenetForwardWorkload(o.data ?? NO_DATA),
    mobilenetGradCamWorkload(o.data ?? NO_DATA),
  ];
  if (o.large) list.push(vgg16ForwardWorkload(1, 224), gradCamWorkload({ size: 224 }));
  list.push(...appWorkloads((app) => o.appSize ?? (o.large ? app.size : (APP_SMALL_SIZE[app.name] ?? APP_SMALL_DEFAULT))));
  return list;
}

/** Keeps the workloads whose id or family contains one of the patterns (all when none). */
export function select(list: Workload[], only: string[]): Workload[] {
  if (only.length === 0) return list;
  return list.filter((w) => only.some((p) => w.id.includes(p) || w.family === p));
}
