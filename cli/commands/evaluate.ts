// `lanterna evaluate --model FILE`: accuracy on the 10 000 MNIST test digits.

import type { Command } from 'commander';
import { init, shutdown } from '../../engine/context.ts';
import { loadMnist } from '../../nn/data/mnist.ts';
import { evaluate } from '../../nn/fit.ts';
import { addInputOptions, digitsAsInput, type InputFlags, loadMnistModel, mnistInputShape, pixelModeFor } from '../mnist_input.ts';
import { intOption } from '../options.ts';

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
