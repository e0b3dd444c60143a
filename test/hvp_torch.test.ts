// Hessian-vector products of a small conv → relu → dense → softmax cross-entropy network and of a
// seeded cam1, with respect to their kernels, against PyTorch's autograd.grad(create_graph=True) in
// float64 (scripts/reference/hvp_torch.py → test/golden/hvp/conv_dense.json): ≤ 1e-4 relative.

import { test } from 'uvu';
import { readFileSync } from 'node:fs';
import * as E from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { ready } from './helpers.ts';

await ready;
const G = JSON.parse(readFileSync('test/golden/hvp/conv_dense.json', 'utf8'));

/** max |a − e| / max |e|: one relative figure per tensor. */
function relErr(a: ArrayLike<number>, e: number[]): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    err = Math.max(err, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  return err / scale;
}

for (const fused of [true, false])
  test(`H·v of the loss w.r.t. the conv and dense kernels matches PyTorch (${fused ? 'fused conv2d_relu' : 'conv2d then relu'})`, async () => {
    const out = await E.asyncTidy(async (s) => {
      const ts = s.run(() => {
        const x = E.tensor(G.x, G.xShape);
        const labels = E.tensor(Int32Array.from(G.labels), [G.labels.length]);
        const bc = E.tensor(G.bc, [G.bc.length]);
        const bd = E.tensor(G.bd, [G.bd.length]);
        const f = (wc: Tensor, wd: Tensor) => {
          const y = fused ? E.conv2d(x, wc, bc, { padding: 'same', activation: 'relu' }) : E.relu(E.conv2d(x, wc, bc, { padding: 'same' }));
          return E.softmaxCrossEntropy(E.dense(E.reshape(y, [G.xShape[0], -1]), wd, bd), labels);
        };
        const r = E.hvp(f, [E.tensor(G.wc, G.wcShape), E.tensor(G.wd, G.wdShape)], [E.tensor(G.vc, G.wcShape), E.tensor(G.vd, G.wdShape)]);
        return [r.output, ...r.hvp];
      });
      return E.readAll(ts);
    });
    const [loss, hc, hd] = out;
    const rc = relErr(hc, G.hvpConv);
    const rd = relErr(hd, G.hvpDense);
    console.log(`  ${fused ? 'fused' : 'separate'}: loss ${loss[0].toFixed(6)} (torch ${G.loss.toFixed(6)}), H·v relative error: conv kernel ${rc.toExponential(2)}, dense kernel ${rd.toExponential(2)}`);
    if (Math.abs(loss[0] - G.loss) > 1e-5 * Math.abs(G.loss)) throw new Error(`loss ${loss[0]} vs torch ${G.loss}`);
    if (!(rc <= 1e-4 && rd <= 1e-4)) throw new Error(`H·v off: conv ${rc}, dense ${rd} (limit 1e-4)`);
  });

// cam1 itself (#19 item 1): four relu convs, three 2×2 max-pools, global average pooling, dense,
// softmax cross-entropy; H·v jointly in the four conv kernels and the dense kernel
// (scripts/reference/hvp_cam1_torch.py → test/golden/hvp/cam1.json + cam1_hvp.f32). The weights,
// inputs and v come from the same 32-bit LCG on both sides, so only the result is stored.
const C1 = JSON.parse(readFileSync('test/golden/hvp/cam1.json', 'utf8'));
const C1_HVP = new Float32Array(new Uint8Array(readFileSync('test/golden/hvp/cam1_hvp.f32')).buffer);

function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 4294967296;
    }
    return out;
  };
}

test('H·v of a seeded cam1 (conv, max-pool, GAP, dense) w.r.t. all five kernels matches PyTorch float64', async () => {
  const u = lcg(C1.seed);
  const N = C1.labels.length;
  const x = u(N * 28 * 28);
  const chans = [1, 16, 32, 64, 128];
  const glorot = (shape: number[], fanIn: number, fanOut: number) => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return u(shape.reduce((a, b) => a * b, 1)).map((v) => (v * 2 - 1) * lim);
  };
  const kernels = chans.slice(0, 4).map((c, i) => glorot([3, 3, c, chans[i + 1]], 9 * c, 9 * chans[i + 1]));
  const biases = chans.slice(1).map((c) => u(c).map((v) => (v - 0.5) * 0.1));
  kernels.push(glorot([128, 10], 128, 10));
  const bd = u(10).map((v) => (v - 0.5) * 0.1);
  const vs = kernels.map((k) => u(k.length).map((v) => v * 2 - 1));
  const sum = (a: Float64Array) => a.reduce((p, q) => p + q, 0);
  // The generator agrees with Python's before anything is compared.
  if (Math.abs(sum(x) - C1.checksums.x) > 1e-9 || kernels.some((k, i) => Math.abs(sum(k) - C1.checksums.kernels[i]) > 1e-9))
    throw new Error('the LCG inputs differ from the reference script\'s');
  const out = await E.asyncTidy(async (s) => {
    const ts = s.run(() => {
      const xt = E.tensor(Float32Array.from(x), [N, 28, 28, 1]);
      const labels = E.tensor(Int32Array.from(C1.labels), [N], 'int32');
      const bs = biases.map((b) => E.tensor(Float32Array.from(b), [b.length]));
      const f = (...ws: Tensor[]) => {
        let h = xt;
        for (let i = 0; i < 4; i++) {
          h = E.conv2d(h, ws[i], bs[i], { padding: 'same', activation: 'relu' });
          if (i < 3) h = E.maxPool2d(h, { pool: 2 });
        }
        return E.softmaxCrossEntropy(E.dense(E.globalAvgPool(h), ws[4], E.tensor(Float32Array.from(bd), [10])), labels);
      };
      const r = E.hvp(f, kernels.map((k, i) => E.tensor(Float32Array.from(k), C1.shapes[i])), vs.map((v, i) => E.tensor(Float32Array.from(v), C1.shapes[i])));
      return [r.output, ...r.hvp];
    });
    return E.readAll(ts);
  });
  const [loss, ...hv] = out;
  let at = 0;
  const errs = hv.map((h) => {
    const e = relErr(h, Array.from(C1_HVP.subarray(at, at + h.length)));
    at += h.length;
    return e;
  });
  if (at !== C1_HVP.length) throw new Error(`${at} H·v values, the golden has ${C1_HVP.length}`);
  console.log(`  cam1: loss ${loss[0].toFixed(6)} (torch ${C1.loss.toFixed(6)}), H·v relative error per kernel: ${errs.map((e) => e.toExponential(2)).join(', ')}`);
  if (Math.abs(loss[0] - C1.loss) > 1e-5 * Math.abs(C1.loss)) throw new Error(`loss ${loss[0]} vs torch ${C1.loss}`);
  if (!errs.every((e) => e <= 1e-4)) throw new Error(`H·v off: ${errs} (limit 1e-4)`);
});

test.run();
