// `lanterna evaluate --model FILE`: accuracy on the 10 000 MNIST test digits.

import type { Command } from 'commander';
import { init, shutdown } from '../../engine/context.ts';
import { loadMnist } from '../../nn/data/mnist.ts';
import { evaluate } from '../../nn/fit.ts';
import { loadModel } from '../../nn/model_file.ts';
import { digitsAsInput, mnistInputShape, pixelModeFor } from '../mnist_input.ts';
import { intOption } from '../options.ts';

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('accuracy of a Keras MNIST model file on the 10 000 MNIST test digits')
    .requiredOption('--model <file>', 'Keras model file (.h5, .keras)')
    .option('--pixels <mode>', 'input preprocessing when the file does not record it: inverted, unit (x/255) or raw')
    .option('--limit <n>', 'only the first N test digits')
    .action(async (o: { model: string; pixels?: string; limit?: string }) => {
      try {
        await init();
        const loaded = await loadModel(o.model);
        mnistInputShape(loaded.model.inputShape, o.model);
        const { mode, from } = pixelModeFor(loaded, o.pixels, o.model);
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
