// A model config with layers Lanterna cannot run is refused before any computation, in one
// one-line error that lists every such layer by name and class (Lambda, unknown custom classes,
// unsupported options of known classes).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelFromConfig } from '../nn/from_config.ts';

const L = (class_name: string, config: { name: string } & Record<string, unknown>) => ({ class_name, config });
const MODEL = {
  class_name: 'Sequential',
  config: {
    name: 'bad',
    layers: [
      L('InputLayer', { name: 'in', batch_input_shape: [null, 8, 8, 3] }),
      L('Conv2D', { name: 'c1', filters: 4, kernel_size: [3, 3], padding: 'same', activation: 'relu' }),
      L('Lambda', { name: 'py', function: ['4wEAAAAA', null, null] }),
      L('MyCustomBlock', { name: 'custom' }),
      L('Softmax', { name: 'sm', axis: 1 }),
      L('Conv2D', { name: 'c2', filters: 4, kernel_size: [3, 3], activation: 'mish' }),
      L('Flatten', { name: 'flat' }),
    ],
  },
};

test('every layer that cannot run is listed, by name and class, in one line', () => {
  let msg = '';
  try {
    modelFromConfig(MODEL, 'bad.json');
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.ok(msg.startsWith('bad.json: 4 layers Lanterna cannot run: '), msg);
  assert.not.ok(msg.includes('\n'), `one line: ${msg}`);
  for (const part of ["'py' has class Lambda", "'custom' has class MyCustomBlock", "'sm' (Softmax) on axis 1", "activation 'mish'"]) assert.ok(msg.includes(part), `"${msg}" names ${part}`);
  // the ones that can run are not listed
  assert.not.ok(msg.includes("'c1'") || msg.includes("'flat'"), msg);
});

test('a single refusal reads as one layer', () => {
  const one = { ...MODEL, config: { ...MODEL.config, layers: MODEL.config.layers.filter((l) => l.config.name !== 'py' && l.config.name !== 'sm' && l.config.name !== 'c2') } };
  assert.throws(() => modelFromConfig(one, 'one.json'), /^one\.json: layer 'custom' has class MyCustomBlock, which Lanterna does not support yet$/);
});

test.run();
