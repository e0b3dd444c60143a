// Names that say what they do (issue 13, item 4): lossOf uses the loss it is given, and a layer's
// pre-activation is asked for through the HasPreActivation interface, not by duck typing.
// Imports the engine directly (not ./helpers.ts) so it depends on nothing but nn's public names.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { hasPreActivation, type Layer } from '../nn/layer.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D, MaxPooling2D } from '../nn/layers/pooling.ts';
import { Activation, Flatten, Reshape } from '../nn/layers/simple.ts';
import { LOSSES, checkLoss, lossOf, type LossName } from '../nn/losses.ts';
import { Sequential } from '../nn/sequential.ts';
import type { ForwardResult } from '../nn/sequential.ts';

await E.init();

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  let message: string | null = null;
  try {
    fn();
  } catch (e) {
    message = (e as Error).message;
  }
  if (message === null) throw new Error(`expected an error containing ${parts.map((p) => `"${p}"`).join(', ')}; nothing was thrown`);
  for (const p of parts) if (!message.includes(p)) throw new Error(`error "${message}" does not contain "${p}"`);
}

test('lossOf given an unknown loss name throws an error naming it (and the known ones)', () => {
  const fwd = { output: null, captured: new Map(), logits: null } as unknown as ForwardResult;
  for (const bad of ['mean_squared_error', 'binary_crossentropy', ''])
    throwsWith(() => lossOf(bad as LossName, fwd, null as unknown as E.Tensor), `'${bad}'`, ...LOSSES);
  throwsWith(() => checkLoss('hinge'), "'hinge'", ...LOSSES);
});

test('lossOf computes the cross-entropy for every known loss name, from the logits when there are any', async () => {
  const logits = [2, -1, 0.5, 0, 3, -2, 1, 1, -0.5];
  const labels = [0, 1, 2];
  const model = new Sequential('m', 3).add(new Dense({ units: 3, activation: 'softmax' })).build([3]);
  for (const name of LOSSES) {
    const got = await E.tidy(() => {
      const x = E.tensor(logits, [3, 3]);
      const y = E.tensor(Int32Array.from(labels), [3], 'int32');
      const fwd = model.forward(x);
      if (!fwd.logits) throw new Error('a Dense(softmax) last layer must give logits');
      const want = E.softmaxCrossEntropy(fwd.logits, y, { reduction: 'mean' });
      const probs = E.categoricalCrossEntropy(fwd.output, y, { reduction: 'mean' });
      const noLogits = lossOf(name, { ...fwd, logits: null }, y);
      return Promise.all([lossOf(name, fwd, y).data(), want.data(), noLogits.data(), probs.data()]);
    });
    const [a, b, c, d] = got.map((t) => t[0]);
    if (a !== b) throw new Error(`${name} with logits: ${a}, softmaxCrossEntropy gives ${b}`);
    if (c !== d) throw new Error(`${name} without logits: ${c}, categoricalCrossEntropy gives ${d}`);
  }
  model.dispose();
});

test('hasPreActivation: Dense and Conv2D have one; pooling, Flatten and Activation layers do not', () => {
  const yes: Layer[] = [new Dense({ units: 4 }), new Dense({ units: 10, activation: 'softmax' }), new Conv2D({ filters: 2, kernelSize: 3, activation: 'relu' })];
  const no: Layer[] = [new MaxPooling2D(), new GlobalAveragePooling2D(), new Flatten(), new Activation('softmax')];
  for (const l of yes) if (!hasPreActivation(l)) throw new Error(`${l.className} should implement HasPreActivation`);
  for (const l of no) if (hasPreActivation(l)) throw new Error(`${l.className} should not implement HasPreActivation`);
});

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, o: { atol: number; rtol: number }, what: string): void {
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= o.atol + o.rtol * Math.abs(want[i]))) throw new Error(`${what}: [${i}] is ${got[i]}, expected ${want[i]}`);
}

test('Sequential.forward gives the final softmax input as logits [N, C] wherever the softmax is, and none without one (atol 1e-6)', async () => {
  // [what, layers after Dense(4→3 linear) named 'z', the logits are z (else absent)]
  const cases: [string, () => Layer[], boolean][] = [
    ['Dense(softmax)', () => [new Dense({ units: 3, activation: 'softmax' })], false],
    ['Dense(linear)', () => [new Dense({ units: 3 })], false],
    ['Activation(softmax)', () => [new Activation('softmax')], true],
    ['Activation(softmax) → Reshape(1, 3) → Flatten', () => [new Activation('softmax'), new Reshape([1, 3]), new Flatten()], true],
    ['Reshape(1, 1, 3) → Conv2D 1×1 (softmax) → Reshape(3)', () => [new Reshape([1, 1, 3]), new Conv2D({ filters: 3, kernelSize: 1, activation: 'softmax' }), new Reshape([3])], false],
    ['Activation(softmax) → Dense(linear)', () => [new Activation('softmax'), new Dense({ units: 3 })], false],
    ['Activation(softmax) → Activation(relu)', () => [new Activation('softmax'), new Activation('relu')], false],
  ];
  const want: Record<string, boolean> = { 'Dense(softmax)': true, 'Dense(linear)': false, 'Activation(softmax) → Dense(linear)': false, 'Activation(softmax) → Activation(relu)': false };
  for (const [what, tail, isZ] of cases) {
    const m = new Sequential('m', 7).add(new Dense({ units: 3, name: 'z' }));
    for (const l of tail()) m.add(l);
    m.build([4]);
    const x = [1, 2, 3, 4, 0, -1, 2, 0.5];
    const [logits, z, out] = await E.asyncTidy(async (sc) => {
      const f = sc.run(() => m.forward(E.tensor(x, [2, 4]), { training: false }, ['z']));
      if (f.logits && f.logits.shape.join() !== '2,3') throw new Error(`${what}: logits shape [${f.logits.shape}], expected [2, 3]`);
      return [f.logits ? await f.logits.data() : null, await f.captured.get('z')!.data(), await f.output.data()];
    });
    const present = want[what] ?? true;
    if ((logits !== null) !== present) throw new Error(`${what}: logits ${logits ? 'present' : 'absent'}, expected ${present ? 'present' : 'absent'}`);
    if (logits && isZ) assertClose(logits, z, { atol: 1e-6, rtol: 0 }, `${what}: logits are the softmax input`);
    // Wherever they come from, softmax(logits) is the output.
    if (logits)
      for (let r = 0; r < 2; r++) {
        const row = Array.from(logits.slice(3 * r, 3 * r + 3));
        const mx = Math.max(...row);
        const e = row.map((v) => Math.exp(v - mx));
        const s = e.reduce((a, b) => a + b, 0);
        assertClose(out.slice(3 * r, 3 * r + 3), e.map((v) => v / s), { atol: 1e-6, rtol: 0 }, `${what}: softmax(logits) row ${r}`);
      }
    m.dispose();
  }
});

test.run();
