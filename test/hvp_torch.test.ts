// Hessian-vector product of a small conv → relu → dense → softmax cross-entropy network with
// respect to its conv and dense kernels, against PyTorch's autograd.grad(create_graph=True) in
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

test.run();
