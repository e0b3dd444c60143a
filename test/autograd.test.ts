import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { record } from '../engine/autograd.ts';
import { assertClose, ready, rng, throwsNaming } from './helpers.ts';

await ready;
const r = rng(3);

test('a tensor used twice accumulates both gradients: d/dx (x·x + x) = 2x + 1', async () => {
  const x0 = r.uniform(10);
  const g = await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor(x0, [10]).requireGrad());
    s.run(() => E.backward(E.sum(E.add(E.mul(x, x), x))));
    const out = await x.grad!.data();
    x.dispose();
    return out;
  });
  assertClose(g, Float64Array.from(x0, (v) => 2 * v + 1), { atol: 1e-6, rtol: 1e-6 }, 'grad');
});

test('diamond graph: each path counted once', async () => {
  // y = sum(relu(x)·exp(x)) — x feeds two branches that meet again.
  const x0 = r.uniform(7, 0.1, 1);
  const g = await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor(x0, [7]).requireGrad());
    s.run(() => E.backward(E.sum(E.mul(E.relu(x), E.exp(x)))));
    const out = await x.grad!.data();
    x.dispose();
    return out;
  });
  assertClose(g, Float64Array.from(x0, (v) => Math.exp(v) * (1 + v)), { atol: 1e-5, rtol: 1e-5 }, 'grad');
});

test('gradients are computed only for inputs that need them', async () => {
  await E.asyncTidy(async (s) => {
    const [a, b] = s.run(() => [E.tensor(r.uniform(4), [4]).requireGrad(), E.tensor(r.uniform(4), [4])]);
    s.run(() => E.backward(E.sum(E.mul(a, b))));
    if (!a.grad || b.grad) throw new Error('only a should receive a gradient');
    assertClose(await a.grad.data(), await b.data(), { atol: 0, rtol: 0 }, 'da = b');
    a.dispose();
  });
});

test('noGrad records nothing', () => {
  E.tidy(() => {
    const a = E.tensor([1, 2], [2]).requireGrad();
    const y = E.noGrad(() => E.mul(a, a));
    if (y.node || y.requiresGrad) throw new Error('recorded under noGrad');
    const z = E.mul(a, a);
    if (!z.node) throw new Error('not recorded outside noGrad');
    a.dispose();
  });
});

test('overlapping async noGrad calls each keep recording off for their own work only (refused where there is no AsyncLocalStorage)', async () => {
  const slow = (ms: number) =>
    E.noGrad(async () => {
      await new Promise((r) => setTimeout(r, ms));
      if (E.isGradEnabled()) throw new Error('recording came back on inside noGrad after an await');
    });
  if (!E.followsAwait()) {
    let msg = '';
    try {
      await slow(1);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes('noGrad(async')) throw new Error(`an async noGrad without AsyncLocalStorage was not refused clearly: "${msg}"`);
  } else {
    const a = slow(10); // finishes first: a saved-flag scheme would then restore 'off' when b ends
    const b = slow(30);
    if (!E.isGradEnabled()) throw new Error('recording off for code outside the noGrad calls');
    await Promise.all([a, b]);
  }
  if (!E.isGradEnabled()) throw new Error('recording left off');
});

test('grad() of an intermediate tensor, hooks and retainGrad observe it', async () => {
  await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor([1, -2, 3], [3]).requireGrad());
    const h = s.run(() => E.mul(x, E.tensor([2, 2, 2], [3])).retainGrad());
    const hooked: Promise<ArrayLike<number>>[] = [];
    h.onGrad((g) => void hooked.push(g.data()));
    const y = s.run(() => E.sum(E.square(h)));
    const [gh] = s.run(() => E.grad(y, [h]));
    assertClose(await gh.data(), [4, -8, 12], { atol: 1e-6, rtol: 0 }, 'dy/dh = 2h');
    assertClose(await hooked[0], [4, -8, 12], { atol: 1e-6, rtol: 0 }, 'hook');
    s.run(() => E.backward(y));
    assertClose(await h.grad!.data(), [4, -8, 12], { atol: 1e-6, rtol: 0 }, 'retained');
    assertClose(await x.grad!.data(), [8, -16, 24], { atol: 1e-6, rtol: 0 }, 'dy/dx');
    x.dispose();
  });
});

test('a hook can replace a gradient (e.g. to clip or inspect it)', async () => {
  await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor([1, 2], [2]).requireGrad());
    s.run(() => E.backward(E.sum(E.mul(x, x).onGrad((g) => E.scale(g, 0)))));
    assertClose(await x.grad!.data(), [0, 0], { atol: 0, rtol: 0 }, 'zeroed');
    x.dispose();
  });
});

test('backward on a 20 000-node chain uses no recursion', async () => {
  await E.asyncTidy(async (s) => {
    const x = s.run(() => E.tensor([0.5], [1]).requireGrad());
    s.run(() => {
      let y = x;
      for (let i = 0; i < 20000; i++) y = E.affine(y, 1, 0.001);
      E.backward(E.sum(y));
    });
    assertClose(await x.grad!.data(), [1], { atol: 1e-6, rtol: 0 }, 'grad');
    x.dispose();
  });
});

test('the graph can be listed with ops and shapes', () => {
  E.tidy(() => {
    const w = E.tensor(r.uniform(6), [2, 3]).requireGrad();
    w.name = 'w';
    const y = E.sum(E.relu(E.add(w, E.tensor([1, 2, 3], [3]))));
    const g = E.listGraph(y);
    const ops = g.map((e) => e.op).join(',');
    if (ops !== 'add,relu,sum') throw new Error(`ops ${ops}`);
    if (g[0].inputs[0].name !== 'w' || g[0].inputs[1].shape.join() !== '3') throw new Error('inputs not listed');
    const text = E.formatGraph(y);
    if (!text.includes('relu') || !text.includes('[2,3]')) throw new Error(text);
    w.dispose();
  });
});

test('comparisons carry no gradient; an op recorded without a rule is an error naming it', () => {
  E.tidy(() => {
    const x = E.tensor([1, 2], [2]).requireGrad();
    const m = E.greaterEqual(x, E.tensor([1.5, 1.5], [2]));
    if (m.requiresGrad) throw new Error('a comparison should not require grad');
    // An op whose gradient is not written yet records a null rule.
    const y = record('mystery_op', [x], E.exp(E.tensor([0, 0], [2])), null);
    throwsNaming(() => E.backward(E.sum(y)), 'mystery_op', '[2]');
    x.dispose();
  });
});

test('using a disposed tensor is an error naming the op and shape', () => {
  const a = E.tensor([1, 2, 3], [3]);
  a.dispose();
  throwsNaming(() => E.relu(a), 'relu', '[3]', 'dispose');
});

test('a tensor disposed before backward is reported', () => {
  E.tidy(() => {
    const x = E.tensor([1, 2], [2]).requireGrad();
    const h = E.exp(x);
    const y = E.sum(E.mul(h, h));
    h.dispose();
    throwsNaming(() => E.backward(y), 'disposed');
    x.dispose();
  });
});

test('tidy frees everything but the result; repeated steps leave live buffers constant', async () => {
  const g = E.gpu();
  const w = E.tensor(r.uniform(64), [8, 8]).requireGrad();
  const x = E.tensor(r.uniform(32), [4, 8]);
  const step = () =>
    E.tidy(() => {
      const h = E.tanh(E.add(E.sum(E.mul(E.reshape(x, [4, 1, 8]), w), 2), E.tensor([0.1], [1])));
      const loss = E.mean(E.square(h));
      E.backward(loss);
      const upd = E.noGrad(() => E.sub(w, E.scale(w.grad!, 0.1)));
      w.grad!.dispose();
      w.grad = null;
      return upd.size;
    });
  step();
  await g.sync();
  const before = g.pool.stats();
  for (let i = 0; i < 200; i++) step();
  await g.sync();
  const after = g.pool.stats();
  if (after.liveBuffers !== before.liveBuffers) throw new Error(`live buffers ${before.liveBuffers} -> ${after.liveBuffers}`);
  if (after.created !== before.created) throw new Error(`pool created ${after.created - before.created} new buffers after warm-up`);
  w.dispose();
  x.dispose();
});

test.run();
