// `lanterna evaluate --model FILE`: accuracy on the 10 000 MNIST test digits.

import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { init, shutdown } from '../../engine/context.ts';
import { loadMnist } from '../../nn/data/mnist.ts';
import { evaluate } from '../../nn/fit.ts';
import { addInputOptions, digitsAsInput, type InputFlags, loadMnistModel, mnistInputShape, pixelModeFor } from '../mnist_input.ts';
import { intOption } from '../options.ts';

/** Shown by `lanterna evaluate --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna evaluate --model models/cam1.h5', what: 'test accuracy of the shipped cam1 network (0.9924)' },
  { cmd: 'lanterna evaluate --model models/cam2.h5 --limit 1000', what: 'on the first 1 000 test digits only' },
  { cmd: 'lanterna evaluate --model mnist.weights.h5 --architecture mnist.json --pixels unit', what: 'a weights-only file, with its architecture from a JSON config, fed x/255' },
];

export function register(program: Command): void {
  const cmd = program
    .command('evaluate')
    .description('accuracy of a Keras MNIST model file on the 10 000 MNIST test digits')
    .requiredOption('--model <file>', 'Keras model file (.h5, .keras, .weights.h5 with --architecture)')
    .option('--limit <n>', 'only the first N test digits');
  addInputOptions(cmd).action(async (o: InputFlags & { model: string; limit?: string }) => {
      try {
        await init();
        const loaded = await loadMnistModel(o.model, o);
        mnistInputShape(loaded.model.inputShape, o.model);
        const { mode, from } = pixelModeFor(loaded, o, o.model);
        const test = await loadMnist({ split: 'test', limit: o.limit ? intOption('--limit', o.limit, 1) : undefined });
        const t0 = performance.now();
        const r = await evaluate(loaded.model, { x: digitsAsInput(test.images, mode), y: test.labels });
        console.log(`model: ${o.model} (${loaded.file.format}, Keras ${loaded.file.kerasVersion ?? '?'}), ${loaded.model.countParams().toLocaleString('en-US')} parameters`);
        console.log(`input: ${mode} pixels, from ${from}`);
        console.log(`test loss: ${r.loss.toFixed(4)}  (${r.n} digits, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        console.log(`test accuracy: ${r.accuracy.toFixed(4)}`);
        loaded.model.dispose();
      } finally {
        shutdown();
      }
    });
}
