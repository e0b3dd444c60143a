// Scopes and `await`: overlapping async work never frees or keeps another's tensors.
//
// Unit tests with plain tensors (two async tidies, or two asyncTidy calls, interleaving through
// setTimeout), then the real thing: a CAM, a Grad-CAM, a short fit (with validation, so evaluate
// too) and a user's own async scope run one after another, then all started together so that
// their awaits cross; the results must be the same bit for bit and the live GPU buffers back to
// their count.
//
// Where the runtime has AsyncLocalStorage (Node, Deno), each overlapping test runs twice: as is,
// and pretending it has none, as in a browser (setAsyncContextForTesting(false)): the library's
// own async code must be right in both.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { setAsyncContextForTesting } from '../engine/scope.ts';
import { Cam } from '../explain/cam.ts';
import type { CamMap } from '../explain/cam_base.ts';
import { GradCam } from '../explain/grad_cam.ts';
import { Trainer } from '../nn/fit.ts';
import { preset } from '../nn/presets.ts';
import type { Sequential } from '../nn/sequential.ts';
import { ready, rng } from './helpers.ts';

const g = await ready;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const live = () => g.pool.stats().liveBuffers;
const hasAls = E.followsAwait();

/** Runs `fn` as is and, where AsyncLocalStorage exists, again without it (as a browser). */
const modes: [string, boolean][] = hasAls ? [['with AsyncLocalStorage', true], ['without (as a browser)', false]] : [['without AsyncLocalStorage', false]];
async function inMode<T>(als: boolean, fn: () => Promise<T>): Promise<T> {
  if (!hasAls) return fn();
  setAsyncContextForTesting(als);
  try {
    return await fn();
  } finally {
    setAsyncContextForTesting(true);
  }
}

/** Checks that each result survived, every other tensor made was freed, and the values. */
async function checkOwn(results: E.Tensor[], made: E.Tensor[][], want: string[], start: number) {
  results.forEach((r, i) => {
    if (r.disposed) throw new Error(`the result of task ${i} was disposed (by the other task's scope)`);
    for (const t of made[i]) if (t !== r && !t.disposed) throw new Error(`a temporary of task ${i} (${t.describe()}) was not freed`);
  });
  const got = await Promise.all(results.map(async (r) => (await r.data()).join()));
  if (got.join(' | ') !== want.join(' | ')) throw new Error(`results ${got.join(' | ')}, expected ${want.join(' | ')}`);
  if (live() !== start + results.length) throw new Error(`live buffers ${start} → ${live()} with the ${results.length} results alive`);
  results.forEach((r) => r.dispose());
  if (live() !== start) throw new Error(`live buffers ${start} → ${live()}`);
}

// With `fast` and `slow` started together, `fast` resumes, finishes and closes its scope while
// `slow` still has tensors of its own to make after its awaits. (On the old single global stack
// of scopes, fast's tensors made after an await went into slow's scope, which then freed fast's
// result.)
test('two async tidies interleaving across awaits free only their own temporaries and keep their own results', async () => {
  if (!hasAls) {
    // A browser: tidy cannot follow an async fn, and says so rather than mixing scopes up.
    let msg = '';
    try {
      E.tidy(async () => E.tensor([1], [1]));
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes('asyncTidy')) throw new Error(`tidy(async …) without AsyncLocalStorage: expected an error naming asyncTidy, got '${msg}'`);
    return;
  }
  const start = live();
  const made: E.Tensor[][] = [[], []];
  const work = (i: number, v: number, ms: number) =>
    E.tidy(async () => {
      const a = E.tensor([v, v, v], [3]);
      made[i].push(a);
      await sleep(ms);
      const b = E.add(a, a); // 2v
      made[i].push(b);
      await sleep(ms);
      const c = E.tidy(() => E.mul(b, a)); // 2v², through a nested (synchronous) tidy
      made[i].push(c);
      await sleep(ms);
      return c;
    });
  const results = await Promise.all([work(0, 3, 1), work(1, 5, 12)]);
  await checkOwn(results, made, ['18,18,18', '50,50,50'], start);
});

for (const [mode, als] of modes)
  test(`asyncTidy: two interleaving calls free only their own temporaries, ${mode}`, () =>
    inMode(als, async () => {
      const start = live();
      const made: E.Tensor[][] = [[], []];
      const work = (i: number, v: number, ms: number) =>
        E.asyncTidy(async (s) => {
          const a = s.run(() => E.tensor([v, v, v], [3]));
          made[i].push(a);
          await sleep(ms);
          const [b, kept] = s.run(() => [E.add(a, a), E.keep(E.tensor([i], [1]))]);
          made[i].push(b);
          await sleep(ms);
          // Made outside s.run: not the scope's (the caller disposes it).
          const outside = E.tensor([0], [1]);
          outside.dispose();
          const c = s.run(() => E.tidy(() => E.mul(b, a)));
          made[i].push(c);
          await sleep(ms);
          if (kept.disposed) throw new Error('a kept tensor was disposed');
          kept.dispose();
          return c;
        });
      const results = await Promise.all([work(0, 3, 1), work(1, 5, 12)]);
      await checkOwn(results, made, ['18,18,18', '50,50,50'], start);
    }),
  );

test('without AsyncLocalStorage, tidy(async …) throws naming asyncTidy; tidy(() => promise) still works', () =>
  inMode(false, async () => {
    const start = live();
    let msg = '';
    try {
      E.tidy(async () => 1);
    } catch (e) {
      msg = (e as Error).message;
      if (!(e instanceof E.LanternaError)) throw new Error(`not a LanternaError: ${e}`);
    }
    if (!msg.includes('asyncTidy')) throw new Error(`expected an error naming asyncTidy, got '${msg}'`);
    const v = await E.tidy(() => E.add(E.tensor([1, 2], [2]), E.tensor([3, 4], [2])).data());
    if (v.join() !== '4,6') throw new Error(`values ${v}`);
    if (live() !== start) throw new Error(`live buffers ${start} → ${live()}`);
  }),
);

for (const [mode, als] of modes)
  test(`an async noGrad turns recording off for its own work only, or is refused without AsyncLocalStorage [${mode}]`, () => inMode(als, async () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));
  const x = E.keep(E.tensor([1, 2, 3], [3]).requireGrad());
  try {
    if (E.followsAwait()) {
      let inside = true;
      const quiet = E.noGrad(async () => {
        await tick();
        const y = E.tidy(() => E.keep(E.square(x)));
        inside = !!y.node;
        y.dispose();
        await tick();
      });
      // Runs while the noGrad above awaits: it must record.
      const g = await E.asyncTidy(async (s) => {
        const gr = s.run(() => E.grad(E.sum(E.square(x)), [x])[0]);
        return Array.from(await gr.data());
      }).catch((e: Error) => e);
      await quiet;
      if (g instanceof Error) throw g;
      if (inside) throw new Error('noGrad(async) recorded after its await');
      if (g.join() !== '2,4,6') throw new Error(`overlapping gradient ${g}`);
    } else {
      let msg = '';
      try {
        E.noGrad(async () => {
          await tick();
        });
      } catch (e) {
        msg = (e as Error).message;
      }
      if (!msg.includes('noGrad(async') || !E.isGradEnabled()) throw new Error(`not refused clearly: "${msg}"`);
    }
  } finally {
    x.dispose();
  }
}));

test('Scope.run refuses an async function; a closed scope refuses run()', () => {
  const s = E.scope();
  let msg = '';
  try {
    s.run((async () => 1) as () => unknown);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes('synchronous')) throw new Error(`expected an error about a synchronous fn, got '${msg}'`);
  s.close();
  msg = '';
  try {
    s.run(() => 1);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes('closed')) throw new Error(`expected an error about a closed scope, got '${msg}'`);
});

// ---- two explanations and a training step, overlapping --------------------------------------

const r = rng(13);
const x1 = r.uniform(2 * 28 * 28, 0, 1);
const x2 = r.uniform(28 * 28, 0, 1);
const n = 32;
const data = { x: r.uniform(n * 28 * 28, 0, 1), y: Int32Array.from({ length: n }, (_, i) => (i * 3) % 10) };

interface Results {
  user: Float32Array;
  cam: CamMap[];
  gradcam: CamMap[];
  losses: number[];
  history: string;
  weights: Float32Array[];
}

/**
 * A user's own async scope (tidy(async …) where AsyncLocalStorage exists, else asyncTidy) that
 * makes a tensor after an await, while the explanations' scopes are open, and reads it only
 * after they have closed. (On the old single stack of scopes that tensor went into the
 * Grad-CAM's scope, which freed it.)
 */
function userTask(model: Sequential, x: E.Tensor, als: boolean, others: () => Promise<unknown>): Promise<Float32Array> {
  const body = async (run: <T>(f: () => T) => T) => {
    const out = run(() => E.noGrad(() => model.forward(x).output));
    await null; // the other tasks start meanwhile and wait on the GPU
    const sq = run(() => E.mul(out, out));
    await others();
    return (await sq.data()) as Float32Array;
  };
  return als ? E.tidy(async () => body((f) => f())) : E.asyncTidy((s) => body((f) => s.run(f)));
}

/**
 * The tasks. `overlap`: started together (each has several awaits: readbacks, and a timer after
 * each of fit's steps); otherwise one after another. `log` records starts and ends.
 */
async function runAll(model: Sequential, overlap: boolean, als: boolean, log: string[]): Promise<Results> {
  const trained = preset('cam1', 5);
  const trainer = new Trainer(trained, { optimizer: 'adam' });
  const losses: number[] = [];
  const xs = [E.keep(E.tensor(x1, [2, 28, 28, 1])), E.keep(E.tensor(x2, [1, 28, 28, 1]))];
  const tasks = {
    cam: () => new Cam(model).explain(xs[0], { upsample: { size: [28, 28], mode: 'bilinear' } }),
    gradcam: () => new GradCam(model).explain(xs[1], { classes: [[3, 7]], score: 'logit', upsample: { size: [14, 14], mode: 'nearest' } }),
    fit: () =>
      trainer.fit(data, {
        batchSize: 8,
        epochs: 1,
        seed: 9,
        inFlight: 1,
        validationSplit: 0.25,
        onBatchEnd: async (b) => {
          losses.push(b.batchLoss);
          log.push(`step ${b.step}`);
          await sleep(2);
        },
      }),
  };
  const run = <T>(name: string, f: () => Promise<T>) => {
    log.push(`${name} start`);
    return f().then((v) => (log.push(`${name} end`), v));
  };
  try {
    let user: Float32Array, cam: CamMap[], gradcam: CamMap[], history;
    if (overlap) {
      let explanations: Promise<unknown> = Promise.resolve();
      const u = run('user', () => userTask(model, xs[1], als, () => explanations));
      const c = run('cam', tasks.cam);
      const gc = run('gradcam', tasks.gradcam);
      explanations = Promise.all([c, gc]);
      [user, cam, gradcam, history] = await Promise.all([u, c, gc, run('fit', tasks.fit)]);
    } else {
      user = await run('user', () => userTask(model, xs[1], als, async () => {}));
      cam = await run('cam', tasks.cam);
      gradcam = await run('gradcam', tasks.gradcam);
      history = await run('fit', tasks.fit);
    }
    const weights = await Promise.all(trained.trainableWeights.map(async (w) => (await w.value.data()) as Float32Array));
    return { user, cam, gradcam, losses, history: JSON.stringify(history.map((h) => ({ ...h, seconds: 0 }))), weights };
  } finally {
    xs.forEach((x) => x.dispose());
    trainer.optimizer.dispose();
    trained.dispose();
  }
}

function sameBits(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined, what: string) {
  if (a === undefined || b === undefined) {
    if (a !== b) throw new Error(`${what}: one is missing`);
    return;
  }
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`${what}: element ${i} is ${a[i]}, sequentially ${b[i]}`);
}

function sameResults(got: Results, want: Results) {
  for (const k of ['cam', 'gradcam'] as const) {
    if (got[k].length !== want[k].length) throw new Error(`${k}: ${got[k].length} maps vs ${want[k].length}`);
    got[k].forEach((m, i) => {
      const w = want[k][i];
      if (m.image !== w.image || m.classIndex !== w.classIndex || !Object.is(m.probability, w.probability)) throw new Error(`${k} map ${i}: image/class/probability differ`);
      sameBits(m.raw, w.raw, `${k} map ${i} raw`);
      sameBits(m.upsampled, w.upsampled, `${k} map ${i} upsampled`);
      sameBits(m.output, w.output, `${k} map ${i} output`);
    });
  }
  sameBits(got.user, want.user, "the user's own async scope");
  sameBits(got.losses, want.losses, 'training losses');
  if (got.history !== want.history) throw new Error(`fit history ${got.history}, sequentially ${want.history}`);
  got.weights.forEach((w, i) => sameBits(w, want.weights[i], `trained weight ${i}`));
}

for (const [mode, als] of modes)
  test(`a CAM, a Grad-CAM, fit (with evaluate) and a user's async scope overlapping give the sequential results bit for bit and leave no buffer, ${mode}`, () =>
    inMode(als, async () => {
      const model = preset('cam1', 11);
      try {
        await runAll(model, false, als, []); // warm-up: pipelines, pool buffers
        const start = live();
        const want = await runAll(model, false, als, []);
        if (live() !== start) throw new Error(`sequential run: live buffers ${start} → ${live()}`);
        const log: string[] = [];
        const got = await runAll(model, true, als, log);
        const tasks = ['user', 'cam', 'gradcam', 'fit'];
        const lastStart = Math.max(...tasks.map((t) => log.indexOf(`${t} start`)));
        const firstEnd = Math.min(...tasks.map((t) => log.indexOf(`${t} end`)));
        if (!(lastStart < firstEnd)) throw new Error(`the tasks did not overlap: ${log.join(', ')}`);
        if (want.losses.length !== 3) throw new Error(`${want.losses.length} training steps, expected 3`);
        sameResults(got, want);
        if (live() !== start) throw new Error(`overlapping run: live buffers ${start} → ${live()} (log: ${log.join(', ')})`);
      } finally {
        model.dispose();
      }
    }),
  );

test.run();
