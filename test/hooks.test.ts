// Hooks (issue 19 item 6): layer forward pre-hooks and hooks (replace inputs / output, removable,
// in order), layer backward hooks, and the three recipes of docs/GRADIENTS.md's hooks section (gradient clipping,
// freezing a layer, Guided Backpropagation), run from the document itself and checked against
// float64 host references.

import { test } from 'uvu';
import { readFileSync } from 'node:fs';
import * as L from '../lib/index.ts';
import { assertClose, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(19);

function tiny(): L.Sequential {
  const m = new L.Sequential('t', 2);
  m.add(new L.InputLayer([3]));
  m.add(new L.Dense({ units: 2, name: 'a' }));
  m.add(new L.Dense({ units: 2, name: 'b' }));
  return m.build();
}

test('forward pre-hooks and hooks see, and may replace, a layer’s inputs and output; removers work', async () => {
  const m = tiny();
  const x0 = r.uniform(3);
  const seen: string[] = [];
  const offPre = m.getLayer('b').addForwardPreHook((layer, ins) => {
    seen.push(`pre ${layer.name} ${ins.length}×[${ins[0].shape}]`);
    return [L.scale(ins[0], 2)];
  });
  const offPost = m.getLayer('b').addForwardHook((layer, ins, out) => {
    seen.push(`post ${layer.name}`);
    return L.add(out, L.scalar(10));
  });
  const offSecond = m.getLayer('b').addForwardHook((_l, _i, out) => void seen.push(`second sees ${out.shape}`));
  const run = () => L.tidy(() => m.forward(L.tensor(x0, [1, 3])).output);
  const hooked = await run().data();
  const pre = m.getLayer('b').forwardPreHooks.length;
  offPre();
  offPost();
  offSecond();
  const plain = await run().data();
  if (pre !== 1 || m.getLayer('b').forwardHooks.length || m.getLayer('b').forwardPreHooks.length) throw new Error('removers left hooks');
  if (seen.join('|') !== 'pre b 1×[1,2]|post b|second sees 1,2') throw new Error(`hooks ran as ${seen.join(' | ')}`);
  // b(2·h) + 10 = 2·(b(h) − bias) + bias + 10
  const [wb, bb] = await Promise.all(m.getLayer('b').weights.map((w) => w.read()));
  const bias = Array.from(bb);
  assertClose(hooked, Float64Array.from(plain, (v, j) => 2 * (v - bias[j]) + bias[j] + 10), { atol: 1e-5, rtol: 1e-5 }, 'replaced input and output');
  if (wb.length !== 4) throw new Error('b kernel');
  m.getLayer('a').addForwardPreHook(() => [] as L.Tensor[]);
  throwsNaming(() => L.tidy(() => m.forward(L.tensor(x0, [1, 3]))), "forward pre-hook of layer 'a'", '1 tensor');
  m.dispose();
});

test('a backward hook sees the gradient reaching the layer output and may replace it', async () => {
  const m = tiny();
  const x0 = r.uniform(3);
  const seed = r.uniform(2);
  let seen: L.Tensor | null = null;
  const gradIn = (hooked: boolean) =>
    L.asyncTidy(async (s) => {
      const off = hooked
        ? m.getLayer('b').addBackwardHook((layer, g) => {
            if (layer.name !== 'b') throw new Error(`hook got layer ${layer.name}`);
            seen = L.keep(L.scale(g, 1));
            return L.scale(g, 3);
          })
        : () => {};
      const gx = s.run(() => {
        const x = L.tensor(x0, [1, 3]).requireGrad();
        return L.grad(L.sum(L.mul(m.forward(x).output, L.tensor(seed, [1, 2]))), [x])[0];
      });
      off();
      return gx.data();
    });
  const plain = await gradIn(false);
  const hooked = await gradIn(true);
  assertClose(hooked, Float64Array.from(plain, (v) => 3 * v), { atol: 1e-6, rtol: 1e-5 }, 'gradient ×3 from the hook on');
  assertClose(await seen!.data(), seed, { atol: 0, rtol: 0 }, 'the hook saw ∂loss/∂output (the seed)');
  seen!.dispose();
  if (m.getLayer('b').forwardHooks.length) throw new Error('the remover left the hook');
  assertClose(await gradIn(false), plain, { atol: 0, rtol: 0 }, 'after removal');
  m.dispose();
});

// ---------------------------------------------------------------- the recipes, from the document

const doc = readFileSync('docs/GRADIENTS.md', 'utf8');
const section = doc.slice(doc.indexOf('## Hooks: clipping'), doc.indexOf('\n## ', doc.indexOf('## Hooks: clipping') + 5));
const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((b) => b[1]);

test('docs/GRADIENTS.md hooks recipes: clipping, freezing and Guided Backprop do what they say', async () => {
  if (blocks.length !== 4) throw new Error(`expected 4 code blocks in the hooks section, found ${blocks.length}`);
  const code = blocks.join('\n').replace("import * as L from 'lanterna';", '');
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const log = console.log;
  const printed: string[] = [];
  console.log = (...a: unknown[]) => void printed.push(a.map(String).join(' '));
  let v: Record<string, any>;
  try {
    v = await new AsyncFunction('L', `${code}\nreturn { model, clip, clipped, frozen, k0, k1, j0, j1, net, guidedGrad, plainGrad, x, lossOf };`)(L);
  } finally {
    console.log = log;
  }
  console.log(printed.map((l) => `    ${l}`).join('\n'));

  // Clipping: each norm is min(raw norm, 0.5), and the limit did bite somewhere.
  const raw = await L.asyncTidy(async (s) => {
    const gs = s.run(() => L.grad(v.lossOf(v.model), v.model.trainableWeights.map((w: L.Weight) => w.value)));
    return Promise.all(gs.map(async (g) => Math.hypot(...(await g.data()))));
  });
  assertClose(v.clipped, raw.map((n) => Math.min(n, 1.5)), { atol: 1e-6, rtol: 1e-5 }, 'clipped norms');
  if (!raw.some((n) => n > 1.5) || !raw.some((n) => n < 1.5)) throw new Error(`raw norms ${raw} should straddle 1.5`);

  // Freezing: the hooked layer did not move at all, the other did.
  assertClose(v.k1, v.k0, { atol: 0, rtol: 0 }, 'frozen kernel');
  if (!(Math.max(...v.j0.map((a: number, i: number) => Math.abs(a - v.j1[i]))) > 1e-4)) throw new Error('the unfrozen layer did not train');

  // Guided Backprop: W1·(mask ⊙ relu(W2[:,0])) against the plain W1·(mask ⊙ W2[:,0]).
  const [w1, b1, w2] = await Promise.all([...v.net.getLayer('dense').weights, v.net.getLayer('dense_1').weights[0]].map((w: L.Weight) => w.read()));
  const xi = [0.5, -1, 2, 0.1];
  const dx = (guided: boolean) =>
    Float64Array.from({ length: 4 }, (_, i) => {
      let s = 0;
      for (let j = 0; j < 8; j++) {
        let pre = b1[j];
        for (let k = 0; k < 4; k++) pre += xi[k] * w1[k * 8 + j];
        const g = w2[j * 3];
        s += pre > 0 ? w1[i * 8 + j] * (guided ? Math.max(g, 0) : g) : 0;
      }
      return s;
    });
  assertClose(v.guidedGrad, dx(true), { atol: 1e-6, rtol: 1e-5 }, 'guided gradient');
  assertClose(v.plainGrad, dx(false), { atol: 1e-6, rtol: 1e-5 }, 'plain gradient after off()');
  const diff = Math.max(...dx(true).map((a, i) => Math.abs(a - dx(false)[i])));
  if (!(diff > 1e-3)) throw new Error(`guided and plain gradients should differ here (max diff ${diff})`);
  for (const m of [v.model, v.frozen, v.net]) m.dispose();
  v.x.dispose();
});

test.run();
