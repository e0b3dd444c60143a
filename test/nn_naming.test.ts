// Names that say what they do (issue 13, item 4): lossOf uses the loss it is given, and a layer's
// pre-activation is asked for through the HasPreActivation interface, not by duck typing.
// Imports the engine directly (not ./helpers.ts) so it depends on nothing but nn's public names.

import { test } from 'uvu';
import * as E from '../engine/index.ts';
import { hasPreActivation, type Layer } from '../nn/layer.ts';
import { Conv2D } from '../nn/layers/conv2d.ts';
import { Dense } from '../nn/layers/dense.ts';
import { GlobalAveragePooling2D, MaxPooling2D } from '../nn/layers/pooling.ts';
import { Activation, Flatten } from '../nn/layers/simple.ts';
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

test('Sequential.forward gives logits only when the last layer has a pre-activation and softmax', async () => {
  const cases: [string, Layer, boolean][] = [
    ['Dense(softmax)', new Dense({ units: 3, activation: 'softmax' }), true],
    ['Dense(linear)', new Dense({ units: 3 }), false],
    ['Activation(softmax)', new Activation('softmax'), false],
  ];
  for (const [what, last, wantLogits] of cases) {
    const m = new Sequential('m', 7).add(new Dense({ units: 3 })).add(last).build([4]);
    const has = E.tidy(() => m.forward(E.tensor([1, 2, 3, 4, 0, -1, 2, 0.5], [2, 4])).logits !== null);
    if (has !== wantLogits) throw new Error(`${what} last: logits ${has ? 'present' : 'absent'}, expected ${wantLogits ? 'present' : 'absent'}`);
    m.dispose();
  }
});

test.run();
