// Winograd F(2×2, 3×3) and F(4×4, 3×3) against the direct register conv on this adapter, per layer shape (VGG16
// at batch 1, cam1/cam2 at batch 100): one process, the two plans alternating, median of 5 (not
// a test). Where it is not faster, conv2d_winograd.ts's rule keeps the direct kernel.
// With --profile (LANTERNA_PROFILE=1) the Winograd side's GPU time per kernel is printed too.
//   npx tsc -p tsconfig.json && node dist/bench/lavapipe_winograd.js [--only vgg|cam] [--profile]

import * as E from '../engine/index.ts';

const profile = process.argv.includes('--profile');
const g = await E.init({ profile });
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
type Shape = { name: string; x: [number, number, number, number]; o: number };
const SHAPES = ([
  { name: 'vgg block1_conv2', x: [1, 224, 224, 64], o: 64 },
  { name: 'vgg block2_conv1', x: [1, 112, 112, 64], o: 128 },
  { name: 'vgg block2_conv2', x: [1, 112, 112, 128], o: 128 },
  { name: 'vgg block3_conv1', x: [1, 56, 56, 128], o: 256 },
  { name: 'vgg block3_conv2', x: [1, 56, 56, 256], o: 256 },
  { name: 'vgg block4_conv1', x: [1, 28, 28, 256], o: 512 },
  { name: 'vgg block4_conv2', x: [1, 28, 28, 512], o: 512 },
  { name: 'vgg block5_conv1', x: [1, 14, 14, 512], o: 512 },
  { name: 'cam1 conv2', x: [100, 14, 14, 16], o: 32 },
  { name: 'cam1 conv3', x: [100, 7, 7, 32], o: 64 },
  { name: 'cam1 conv4', x: [100, 3, 3, 64], o: 128 },
  { name: 'cam2 conv2', x: [100, 28, 28, 16], o: 32 },
  { name: 'cam2 conv3', x: [100, 28, 28, 32], o: 64 },
  { name: 'cam2 conv4', x: [100, 28, 28, 64], o: 128 },
  { name: 'small cam2 conv3 b10', x: [10, 28, 28, 32], o: 64 },
  { name: 'small densenet121@64 block1', x: [1, 16, 16, 128], o: 32 },
  { name: 'small densenet121@64 block2', x: [1, 8, 8, 128], o: 32 },
  { name: 'small resnet50@64 conv2', x: [1, 16, 16, 64], o: 64 },
  { name: 'small resnet50@64 conv3', x: [1, 8, 8, 128], o: 128 },
  { name: 'small inception@107 3x3', x: [1, 10, 10, 64], o: 96 },
  { name: 'small xception@71 block1_conv2', x: [1, 35, 35, 32], o: 64 },
  { name: 'small resnet50@64 conv2 b1', x: [1, 16, 16, 64], o: 64 },
] as Shape[]).filter((s) => s.name.startsWith(only));

const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
for (const s of SHAPES) {
  const C = s.x[3];
  const x = E.keep(E.tensor(rnd(s.x.reduce((a, b) => a * b)), s.x));
  const w = E.keep(E.tensor(rnd(9 * C * s.o), [3, 3, C, s.o]));
  const b = E.keep(E.tensor(rnd(s.o), [s.o]));
  const once = async (wino: 0 | 2 | 4) =>
    g.withPlan({ winograd: wino }, async () => {
      const t0 = performance.now();
      const y = E.conv2d(x, w, b, { padding: 'same', activation: 'relu' });
      await y.data();
      y.dispose();
      return performance.now() - t0;
    });
  const t: Record<string, number[]> = { direct: [], f2: [], f4: [] };
  for (const m of [0, 2, 4] as const) await once(m);
  for (let r = 0; r < 5; r++) {
    t.direct.push(await once(0));
    t.f2.push(await once(2));
    t.f4.push(await once(4));
  }
  const med = (a: number[]) => a.sort((p, q) => p - q)[2];
  const flop = (2 * 9 * C * s.o * s.x[0] * s.x[1] * s.x[2]) / 1e9;
  const d = med(t.direct), f2 = med(t.f2), f4 = med(t.f4);
  console.log(`${s.name} x[${s.x}]→${s.o}: direct ${d.toFixed(1)} ms (${((flop / d) * 1e3).toFixed(1)} GFLOP/s), F2 ${f2.toFixed(1)} ms (${(f2 / d).toFixed(2)}), F4 ${f4.toFixed(1)} ms (${(f4 / d).toFixed(2)})`);
  if (profile && g.canProfile) {
    g.startProfile();
    await once(4);
    const prof = await g.stopProfile();
    console.log('   ', prof.kernels.map((k) => `${k.key.slice(0, 40)} ${k.ms.toFixed(1)}`).join(', '));
  }
  x.dispose(); w.dispose(); b.dispose();
}
