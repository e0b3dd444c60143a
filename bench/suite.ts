// Which workloads run, at which sizes. Runtime-neutral.
//
//   default  matmul 256 and 1024; VGG16 block3's 3×3 conv (56×56×256→256, N=1) forward,
//            input-gradient, weight-gradient; max-pool (VGG16 block3, cam1's first); cam1 and
//            cam2 training steps at batch 100 (cam2 at batch 10 on a CPU driver unless --batch)
//   --large  adds matmul 4096 and a VGG16 forward pass (224×224, batch 1)
//   tiny     the CI test's sizes: every family, a few hundred FLOPs each

import type { Workload } from './harness.ts';
import { kernelWorkloads, POOL_CAM1, POOL_VGG_BLOCK3, VGG_BLOCK3, type KernelSizes } from './workloads/kernels.ts';
import { vgg16ForwardWorkload } from './workloads/models.ts';
import { trainStepWorkload } from './workloads/training.ts';

export interface SizeOptions {
  large?: boolean;
  tiny?: boolean;
  /** Training batch for cam1 and cam2 (default 100; see cpuAdapter). */
  batch?: number;
  /**
   * A software driver on the CPU: cam2's default batch is then CPU_CAM2_BATCH, since one cam2
   * step at batch 100 is ~46 GFLOP (about 25 s for us and minutes for TF.js on lavapipe).
   */
  cpuAdapter?: boolean;
}

export const CPU_CAM2_BATCH = 10;

export const TINY_KERNELS: KernelSizes = {
  matmul: [16, 33],
  conv: { name: 'tiny conv', N: 2, H: 6, W: 5, C: 3, O: 4, K: 3 },
  pools: [{ name: 'tiny', shape: [2, 6, 6, 3], pool: 2 }],
};

export function workloads(o: SizeOptions = {}): Workload[] {
  if (o.tiny)
    return [
      ...kernelWorkloads(TINY_KERNELS),
      trainStepWorkload('cam1', o.batch ?? 2),
      trainStepWorkload('cam2', o.batch ?? 2),
    ];
  const list = [
    ...kernelWorkloads({ matmul: o.large ? [256, 1024, 4096] : [256, 1024], conv: VGG_BLOCK3, pools: [POOL_VGG_BLOCK3, POOL_CAM1] }),
    trainStepWorkload('cam1', o.batch ?? 100),
    trainStepWorkload('cam2', o.batch ?? (o.cpuAdapter ? CPU_CAM2_BATCH : 100)),
  ];
  if (o.large) list.push(vgg16ForwardWorkload(1, 224));
  return list;
}

/** Keeps the workloads whose id or family contains one of the patterns (all when none). */
export function select(list: Workload[], only: string[]): Workload[] {
  if (only.length === 0) return list;
  return list.filter((w) => only.some((p) => w.id.includes(p) || w.family === p));
}
