import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { resizeRef, type CoordMode, type NearestMode, type ResizeMode, type ResizeSpec } from '../kernels/resize.ts';
import { assertClose, checkGrad, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(3);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

type Opts = E.ResizeOptions;
const specOf = (o: Opts): ResizeSpec => ({
  mode: o.mode ?? 'bilinear',
  coord: o.coord ?? 'half_pixel',
  nearestMode: o.nearestMode ?? 'round_prefer_floor',
  cubicA: o.cubicCoeffA ?? -0.75,
  excludeOutside: !!o.excludeOutside,
});

// Expected outputs of the ONNX Resize node tests (their NCHW 1×1×H×W data as one channel here).
const seq = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const ONNX_CASES: [string, [number, number], [number, number], Opts, number[]][] = [
  ['upsample_scales_linear', [2, 2], [4, 4], {}, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]],
  [
    'upsample_scales_linear_align_corners',
    [2, 2],
    [4, 4],
    { coord: 'align_corners' },
    [1, 4 / 3, 5 / 3, 2, 5 / 3, 2, 7 / 3, 8 / 3, 7 / 3, 8 / 3, 3, 10 / 3, 3, 10 / 3, 11 / 3, 4],
  ],
  [
    'upsample_scales_linear_half_pixel_symmetric',
    [2, 2],
    [4, 5],
    { coord: 'half_pixel_symmetric', scales: [2.3, 2.94] },
    [
      1, 1.15986395, 1.5, 1.84013605, 2, 1.56521738, 1.72508133, 2.06521738, 2.40535343, 2.56521738, 2.43478262, 2.59464657, 2.93478262, 3.27491867,
      3.43478262, 3, 3.15986395, 3.5, 3.84013605, 4,
    ],
  ],
  ['downsample_scales_linear', [2, 4], [1, 2], { scales: [0.6, 0.6] }, [2.6666665, 4.3333331]],
  ['downsample_scales_linear_align_corners', [2, 4], [1, 2], { scales: [0.6, 0.6], coord: 'align_corners' }, [1, 3.142857]],
  ['downsample_scales_linear_half_pixel_symmetric', [1, 4], [1, 2], { scales: [1, 0.6], coord: 'half_pixel_symmetric' }, [1.6666667, 3.3333333]],
  ['downsample_sizes_linear_pytorch_half_pixel', [4, 4], [3, 1], { coord: 'pytorch_half_pixel' }, [1.6666666, 7, 12.333333]],
  ['downsample_scales_nearest', [2, 4], [1, 2], { scales: [0.6, 0.6], mode: 'nearest' }, [1, 3]],
  ['downsample_sizes_nearest', [2, 4], [1, 3], { mode: 'nearest' }, [1, 2, 4]],
  ['upsample_scales_nearest', [2, 2], [4, 6], { mode: 'nearest' }, [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4]],
  [
    'upsample_sizes_nearest',
    [2, 2],
    [7, 8],
    { mode: 'nearest' },
    [...Array(4).fill([1, 1, 1, 1, 2, 2, 2, 2]).flat(), ...Array(3).fill([3, 3, 3, 3, 4, 4, 4, 4]).flat()],
  ],
  [
    'upsample_sizes_nearest_ceil_half_pixel',
    [4, 4],
    [8, 8],
    { mode: 'nearest', nearestMode: 'ceil' },
    [1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 12, 12, 9, 10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16],
  ],
  [
    'upsample_sizes_nearest_floor_align_corners',
    [4, 4],
    [8, 8],
    { mode: 'nearest', nearestMode: 'floor', coord: 'align_corners' },
    [1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 6, 6, 7, 7, 8, 5, 5, 5, 6, 6, 7, 7, 8, 9, 9, 9, 10, 10, 11, 11, 12, 9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16],
  ],
  [
    'upsample_sizes_nearest_round_prefer_ceil_asymmetric',
    [4, 4],
    [8, 8],
    { mode: 'nearest', nearestMode: 'round_prefer_ceil', coord: 'asymmetric' },
    [1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 12, 12, 9, 10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16],
  ],
  [
    'downsample_scales_cubic',
    [4, 4],
    [3, 3],
    { mode: 'bicubic', scales: [0.8, 0.8] },
    [1.47119141, 2.78125, 4.08251953, 6.71142578, 8.02148438, 9.32275391, 11.91650391, 13.2265625, 14.52783203],
  ],
  [
    'downsample_scales_cubic_A_n0p5_exclude_outside',
    [4, 4],
    [3, 3],
    { mode: 'bicubic', scales: [0.8, 0.8], cubicCoeffA: -0.5, excludeOutside: true },
    [1.36812675, 2.6695014, 4.0133367, 6.57362535, 7.875, 9.2188353, 11.94896657, 13.25034122, 14.59417652],
  ],
  [
    'downsample_scales_cubic_align_corners',
    [4, 4],
    [3, 3],
    { mode: 'bicubic', scales: [0.8, 0.8], coord: 'align_corners' },
    [1, 2.39519159, 3.79038317, 6.58076634, 7.97595793, 9.37114951, 12.16153268, 13.55672427, 14.95191585],
  ],
  [
    'downsample_sizes_cubic',
    [4, 4],
    [3, 3],
    { mode: 'bicubic' },
    [1.63078704, 3.00462963, 4.37847222, 7.12615741, 8.5, 9.87384259, 12.62152778, 13.99537037, 15.36921296],
  ],
  [
    'upsample_scales_cubic_asymmetric',
    [4, 4],
    [8, 8],
    { mode: 'bicubic', coord: 'asymmetric' },
    [
      1, 1.40625, 2, 2.5, 3, 3.59375, 4, 4.09375, 2.625, 3.03125, 3.625, 4.125, 4.625, 5.21875, 5.625, 5.71875, 5, 5.40625, 6, 6.5, 7, 7.59375, 8, 8.09375, 7,
      7.40625, 8, 8.5, 9, 9.59375, 10, 10.09375, 9, 9.40625, 10, 10.5, 11, 11.59375, 12, 12.09375, 11.375, 11.78125, 12.375, 12.875, 13.375, 13.96875, 14.375,
      14.46875, 13, 13.40625, 14, 14.5, 15, 15.59375, 16, 16.09375, 13.375, 13.78125, 14.375, 14.875, 15.375, 15.96875, 16.375, 16.46875,
    ],
  ],
  [
    'upsample_sizes_cubic',
    [4, 4],
    [9, 10],
    { mode: 'bicubic' },
    [
      0.45507922, 0.64057922, 0.97157922, 1.42257922, 1.90732922, 2.22332922, 2.70807922, 3.15907922, 3.49007922, 3.67557922, 1.39437963, 1.57987963, 1.91087963,
      2.36187963, 2.84662963, 3.16262963, 3.64737963, 4.09837963, 4.42937963, 4.61487963, 2.95130693, 3.13680693, 3.46780693, 3.91880693, 4.40355693, 4.71955693,
      5.20430693, 5.65530693, 5.98630693, 6.17180693, 5.20525069, 5.39075069, 5.72175069, 6.17275069, 6.65750069, 6.97350069, 7.45825069, 7.90925069, 8.24025069,
      8.42575069, 6.88975, 7.07525, 7.40625, 7.85725, 8.342, 8.658, 9.14275, 9.59375, 9.92475, 10.11025, 8.57424931, 8.75974931, 9.09074931, 9.54174931,
      10.02649931, 10.34249931, 10.82724931, 11.27824931, 11.60924931, 11.79474931, 10.82819307, 11.01369307, 11.34469307, 11.79569307, 12.28044307, 12.59644307,
      13.08119307, 13.53219307, 13.86319307, 14.04869307, 12.38512037, 12.57062037, 12.90162037, 13.35262037, 13.83737037, 14.15337037, 14.63812037, 15.08912037,
      15.42012037, 15.60562037, 13.32442078, 13.50992078, 13.84092078, 14.29192078, 14.77667078, 15.09267078, 15.57742078, 16.02842078, 16.35942078, 16.54492078,
    ],
  ],
];

test('resize reproduces the ONNX Resize node-test outputs, GPU and reference (atol 1e-5)', async () => {
  for (const [name, [h, w], out, o, expected] of ONNX_CASES) {
    const x = seq(h * w);
    const y = await E.tidy(() => E.resize(E.tensor(x, [1, h, w, 1]), out, o).data());
    assertClose(y, expected, { atol: 1e-5, rtol: 0 }, name);
    assertClose(resizeRef(x, [1, h, w, 1], out[0], out[1], specOf(o), o.scales), expected, { atol: 1e-5, rtol: 0 }, `${name} (reference)`);
  }
});

const SHAPES: [[number, number, number, number], [number, number]][] = [
  [[1, 1, 1, 1], [5, 3]], // from one pixel
  [[2, 3, 4, 3], [7, 9]], // up, odd factors, batch and channels
  [[1, 9, 7, 2], [4, 3]], // down
  [[1, 5, 6, 1], [5, 6]], // same size
  [[1, 5, 5, 2], [1, 1]], // to one pixel
  [[2, 7, 7, 5], [30, 30]], // several workgroups
];

const CONFIGS: Opts[] = [
  ...(['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel', 'tf_half_pixel_for_nn', 'half_pixel_symmetric'] as CoordMode[]).map(
    (coord): Opts => ({ mode: 'bilinear', coord }),
  ),
  ...(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as NearestMode[]).flatMap((nearestMode) =>
    (['half_pixel', 'asymmetric', 'align_corners', 'tf_half_pixel_for_nn'] as CoordMode[]).map((coord): Opts => ({ mode: 'nearest', coord, nearestMode })),
  ),
  { mode: 'bicubic' },
  { mode: 'bicubic', coord: 'align_corners' },
  { mode: 'bicubic', coord: 'asymmetric', cubicCoeffA: -0.5 },
  { mode: 'bicubic', excludeOutside: true },
];

for (const mode of ['bilinear', 'nearest', 'bicubic'] as ResizeMode[]) {
  test(`resize ${mode} matches the ONNX-transcribed reference over coordinate modes and shapes (atol 2e-5, rtol 1e-5)`, async () => {
    for (const o of CONFIGS.filter((c) => c.mode === mode))
      for (const [shape, out] of SHAPES) {
        const x = r.uniform(size(shape));
        const y = await E.tidy(() => E.resize(E.tensor(x, shape), out, o).data());
        assertClose(y, resizeRef(x, shape, out[0], out[1], specOf(o)), { atol: 2e-5, rtol: 1e-5 }, `${JSON.stringify(o)} [${shape}] → ${out}`);
      }
  });
}

test('resize with explicit ONNX scales (output length ≠ scale·input) matches the reference (atol 2e-5)', async () => {
  const shape: [number, number, number, number] = [1, 4, 6, 2];
  const scales: [number, number] = [0.6, 0.7];
  const out: [number, number] = [Math.floor(4 * 0.6), Math.floor(6 * 0.7)];
  for (const o of [{}, { coord: 'align_corners' }, { coord: 'half_pixel_symmetric' }, { mode: 'nearest' }, { mode: 'bicubic' }] as Opts[]) {
    const x = r.uniform(size(shape));
    const y = await E.tidy(() => E.resize(E.tensor(x, shape), out, { ...o, scales }).data());
    assertClose(y, resizeRef(x, shape, out[0], out[1], specOf(o), scales), { atol: 2e-5, rtol: 1e-5 }, `${JSON.stringify(o)} scales ${scales}`);
  }
});

const GRADS: [[number, number, number, number], [number, number], Opts][] = [
  [[1, 3, 4, 2], [5, 7], {}],
  [[2, 7, 6, 1], [3, 4], {}],
  [[1, 3, 3, 2], [5, 4], { coord: 'align_corners' }],
  [[1, 3, 4, 1], [7, 5], { mode: 'nearest', coord: 'asymmetric', nearestMode: 'floor' }],
  [[1, 6, 7, 1], [4, 3], { mode: 'nearest' }],
  [[1, 4, 4, 1], [6, 7], { mode: 'bicubic' }],
  [[1, 5, 4, 1], [3, 6], { mode: 'bicubic', excludeOutside: true }],
];

test('resize backward (gather over contributing outputs) matches finite differences', async () => {
  for (const [shape, out, o] of GRADS)
    await checkGrad(`resize ${JSON.stringify(o)} [${shape}] → ${out}`, ([x]) => E.resize(x, out, o), ([x]) => resizeRef(x, shape, out[0], out[1], specOf(o)), [
      { data: r.uniform(size(shape)), shape },
    ]);
});

test('resize uploads its tap table once per geometry, not once per call', async () => {
  const g = E.gpu();
  const x = E.tensor(r.uniform(2 * 7 * 7 * 3), [2, 7, 7, 3]);
  E.tidy(() => E.resize(x, [29, 31], { mode: 'bicubic' }));
  const before = g.stats().uploads;
  for (let i = 0; i < 5; i++) E.tidy(() => E.resize(x, [29, 31], { mode: 'bicubic' }));
  const after = g.stats().uploads;
  x.dispose();
  if (after !== before) throw new Error(`5 repeated resizes made ${after - before} uploads`);
});

test('resize rejects bad arguments naming the op and the shapes', () => {
  throwsNaming(() => E.resize(E.zeros([4, 4, 3]), [8, 8]), 'resize', '[4,4,3]');
  throwsNaming(() => E.resize(E.zeros([1, 4, 4, 3]), [0, 8]), 'resize', '[1,4,4,3]');
  throwsNaming(() => E.resize(E.zeros([1, 4, 4, 3]), [8, 8], { mode: 'area' as ResizeMode }), 'resize', 'area');
  throwsNaming(() => E.resize(E.zeros([1, 4, 4, 3]), [8, 8], { coord: 'tf_crop_and_resize' as CoordMode }), 'resize', 'tf_crop_and_resize');
  throwsNaming(() => E.resize(E.zeros([1, 4, 4, 3]), [8, 8], { scales: [0, 2] }), 'resize', 'scales');
});

test.run();
