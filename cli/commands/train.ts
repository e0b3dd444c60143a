// `lanterna train`: the lecture's MNIST networks (cam1, cam2) trained on our engine.
// Writes <out>/<preset>.h5 (Keras layout, saved atomically after every epoch), a training-curve
// SVG, the history as JSON and a log of everything printed.

import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, shutdown } from '../../engine/context.ts';
import { describeDevice } from '../../engine/info.ts';
import { loadMnist, toFloat, type PixelMode } from '../../nn/data/mnist.ts';
import { Trainer, evaluate, type BatchInfo, type EpochInfo } from '../../nn/fit.ts';
import { loadWeightsInto, saveModel } from '../../nn/model_file.ts';
import { readKerasWeights } from '../../nn/io/keras.ts';
import { preset, PRESETS } from '../../nn/presets.ts';
import { summary } from '../../nn/summary.ts';
import { lineChartSvg, type Panel } from '../plot.ts';
import { EpochBar } from '../progress.ts';
import { intOption, choice, numberOption, UsageError } from '../options.ts';
import { SHORTCUT_DEFAULTS, shortcutRun } from '../shortcut_train.ts';

interface TrainOpts {
  preset: string;
  epochs: string;
  batch: string;
  limit?: string;
  out: string;
  pixels: string;
  seed: string;
  validationSplit: string;
  timeLimit?: string;
  resume?: string;
  stopAfter?: string;
  shortcut?: string;
  correlation?: string;
  gradStats?: string | boolean;
}

/** Shown by `lanterna train --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna train --preset cam1 --epochs 1 --limit 6000 --out /tmp/lanterna', what: 'one quick epoch on 6 000 digits: /tmp/lanterna/cam1.h5, its curve, history and log' },
  { cmd: 'lanterna train --preset cam2 --epochs 30 --time-limit 3600', what: "the lecture's network without pooling, stopping before an epoch that would pass an hour" },
  { cmd: 'lanterna train --preset cam1 --epochs 5 --resume models/cam1.h5 --out /tmp/lanterna', what: 'five more epochs from the shipped weights' },
  { cmd: 'lanterna train --preset cam1 --epochs 2 --limit 6000 --grad-stats 10 --out /tmp/lanterna', what: 'with per-layer gradient statistics every 10 steps: in the history JSON and as extra panels of the curve SVG' },
];

export function register(program: Command): void {
  program
    .command('train')
    .description("train the lecture's MNIST network (cam1: with pooling, 3×3 CAM; cam2: without, 28×28 CAM)")
    .requiredOption('--preset <name>', 'cam1 or cam2')
    .option('--epochs <n>', 'epochs', '30')
    .option('--batch <n>', 'batch size', '100')
    .option('--limit <n>', 'use only the first N training digits')
    .option('--out <dir>', 'output folder', 'models')
    .option('--pixels <mode>', 'input preprocessing: inverted (1 − x/255, the lecture) or unit (x/255)', 'inverted')
    .option('--seed <n>', 'seed for weights and shuffling', '1')
    .option('--validation-split <f>', 'fraction held out for validation (taken from the end, as Keras)', '0.1')
    .option('--resume <file>', 'start from the weights of a model file written by train (Adam starts afresh: its moments are not saved)')
    .option('--time-limit <s>', 'stop before an epoch that would end past this many seconds (the model of the last epoch is kept)')
    .option('--shortcut <kind>', `the tank story: train on digits carrying a spurious cue of their class, mark (a corner patch) or weather (background brightness); writes shortcut-<kind>.h5; default --epochs ${SHORTCUT_DEFAULTS.epochs.mark} (mark) or ${SHORTCUT_DEFAULTS.epochs.weather} (weather), --limit ${SHORTCUT_DEFAULTS.limit}`)
    .option('--correlation <p>', "with --shortcut: how often a training digit carries its own class's cue (else another class's); default 1")
    .option('--grad-stats [every]', 'per-layer gradient statistics (norm, mean, std, max |g|, zeros, update/weight ratio, dead ReLU units) computed on the GPU every N steps (default 1), read back with the loss; written to the history JSON and plotted in the curve SVG')
    .option('--stop-after <s>', 'stop after this many seconds even in the middle of an epoch: the partial epoch is validated and saved (recorded as a fraction of an epoch)')
    .action(async (o: TrainOpts, cmd: Command) => {
      choice('--preset', o.preset, PRESETS);
      const sc = shortcutRun(o.shortcut, o.correlation, intOption('--seed', o.seed, 0));
      if (sc && cmd.getOptionValueSource('epochs') === 'default') o.epochs = String(SHORTCUT_DEFAULTS.epochs[sc.record.kind]);
      if (sc && o.limit === undefined) o.limit = String(SHORTCUT_DEFAULTS.limit);
      const epochs = intOption('--epochs', o.epochs, 1);
      const batch = intOption('--batch', o.batch, 1);
      const limit = o.limit ? intOption('--limit', o.limit, 1) : undefined;
      const pixels = choice('--pixels', o.pixels, ['inverted', 'unit', 'raw']) as PixelMode;
      const split = numberOption('--validation-split', o.validationSplit, 0, 1);
      if (split === 1) throw new UsageError('--validation-split 1 would leave no digit to train on');
      const seed = intOption('--seed', o.seed, 0);
      const limitS = o.timeLimit ? numberOption('--time-limit', o.timeLimit, 0) : Infinity;
      const hardS = o.stopAfter ? intOption('--stop-after', o.stopAfter, 1) : Infinity;
      const statsEvery = o.gradStats === undefined ? 0 : o.gradStats === true ? 1 : intOption('--grad-stats', String(o.gradStats), 1);
      mkdirSync(o.out, { recursive: true });
      const base = join(o.out, sc?.name ?? o.preset);
      const logPath = `${base}.train.log`;
      writeFileSync(logPath, '');
      const log = (s: string) => {
        console.log(s);
        appendFileSync(logPath, s + '\n');
      };
      try {
        await init();
        const dev = await describeDevice();
        const model = preset(o.preset, seed);
        let startEpoch = 0;
        if (o.resume) {
          const file = await readKerasWeights(o.resume);
          loadWeightsInto(model, file, o.resume);
          startEpoch = JSON.parse(file.extraAttrs.lanterna_training ?? '{}').epochs ?? 0;
        }
        log(`lanterna train --preset ${o.preset} --epochs ${epochs} --batch ${batch}${limit ? ` --limit ${limit}` : ''} --pixels ${pixels} --seed ${o.seed}${sc ? ` --shortcut ${sc.record.kind} --correlation ${sc.record.correlation}` : ''}${o.resume ? ` --resume ${o.resume}` : ''}${o.timeLimit ? ` --time-limit ${o.timeLimit}` : ''}${o.stopAfter ? ` --stop-after ${o.stopAfter}` : ''}${statsEvery ? ` --grad-stats ${statsEvery}` : ''}`);
        log(`adapter: ${dev.driver} — ${dev.description || dev.device} (${dev.runtime} ${dev.runtimeVersion})`);
        if (o.resume) log(`resuming from ${o.resume} (${startEpoch} epochs trained)`);
        log(summary(model));
        const train = await loadMnist({ split: 'train', limit });
        const test = await loadMnist({ split: 'test' });
        const data = { x: toFloat((sc ? sc.trainSet(train) : train).images, pixels), y: train.labels };
        const trainer = new Trainer(model, { optimizer: 'adam', loss: 'categorical_crossentropy' });
        const bar = new EpochBar(epochs);
        const history: (EpochInfo & { fraction?: number })[] = [];
        const t0 = performance.now();
        let stop = false;
        let lastBatch: BatchInfo | null = null;
        const overHard = () => (performance.now() - t0) / 1000 > hardS;
        await trainer.fit(data, {
          shouldStop: () => stop || overHard(),
          batchSize: batch,
          epochs,
          validationSplit: split,
          shuffle: true,
          seed: seed + Math.ceil(startEpoch), // a resumed run shuffles differently from the first
          ...(statsEvery ? { gradStats: { every: statsEvery } } : {}),
          onBatchEnd: (b) => {
            lastBatch = b;
            bar.update(b);
          },
          onEpochEnd: async (e) => {
            bar.end();
            const b = lastBatch!;
            const partial = b.step < b.steps;
            const done = startEpoch + e.epoch - 1 + b.step / b.steps;
            if (partial) log(`stopped at step ${b.step}/${b.steps} of epoch ${e.epoch}: --stop-after ${hardS} s`);
            history.push(partial ? { ...e, fraction: b.step / b.steps } : e);
            if (e.gradStats) log(gradStatsLine(e.gradStats));
            log(
              `epoch ${e.epoch}/${epochs}: loss ${e.loss.toFixed(4)} acc ${e.accuracy.toFixed(4)}` +
                (e.valAccuracy !== undefined ? ` val_loss ${e.valLoss!.toFixed(4)} val_acc ${e.valAccuracy.toFixed(4)}` : '') +
                ` (${e.seconds.toFixed(1)} s, ${Math.round((b.step * batch) / e.seconds)} img/s)`,
            );
            await saveModel(model, `${base}.h5`, {
              preprocessing: { pixels },
              trainingConfig: { loss: 'categorical_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam', config: trainer.optimizer.getConfig() } },
              attrs: { lanterna_training: JSON.stringify({ preset: o.preset, epochs: Math.round(done * 1000) / 1000, resumedFrom: o.resume ?? null, batch, limit: limit ?? null, seed, adapter: dev.driver, device: dev.description || dev.device }), ...sc?.attrs() },
            });
            writeFileSync(`${base}.history.json`, JSON.stringify(history, null, 1));
            writeFileSync(`${base}.curve.svg`, curves(o.preset, history));
            const elapsed = (performance.now() - t0) / 1000;
            if (!partial && e.epoch < epochs && elapsed + e.seconds * 1.15 > limitS) {
              stop = true;
              log(`stopping after epoch ${e.epoch}: another epoch would pass --time-limit ${limitS} s`);
            }
          },
        });
        if (sc) await sc.report(model, test, pixels, log);
        else {
          const t = await evaluate(model, { x: toFloat(test.images, pixels), y: test.labels });
          log(`test accuracy: ${t.accuracy.toFixed(4)} (loss ${t.loss.toFixed(4)}, ${t.n} digits)`);
        }
        log(`saved ${base}.h5, ${base}.curve.svg, ${base}.history.json, ${logPath}`);
        model.dispose();
        trainer.optimizer.dispose();
      } finally {
        shutdown();
      }
    });
}

const LAYER_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function curves(name: string, h: EpochInfo[]): string {
  const s = (k: keyof EpochInfo) => h.map((e) => e[k] as number).filter((v) => v !== undefined);
  const panels: Panel[] = [
    { title: 'loss', series: [{ name: 'train', values: s('loss'), color: '#1f77b4' }, { name: 'validation', values: s('valLoss'), color: '#ff7f0e' }] },
    { title: 'accuracy', series: [{ name: 'train', values: s('accuracy'), color: '#1f77b4' }, { name: 'validation', values: s('valAccuracy'), color: '#ff7f0e' }] },
  ];
  return lineChartSvg(`${name} training`, 'epoch', [...panels, ...gradStatsPanels(h)]);
}

/**
 * Panels of the gradient statistics over every step that computed them (all epochs in a row):
 * gradient norm per layer (log scale), update/weight ratio (log scale), dead ReLU share.
 */
export function gradStatsPanels(h: EpochInfo[]): Panel[] {
  const eps = h.filter((e) => e.gradStats);
  if (!eps.length) return [];
  const layers = eps[0].gradStats!.layers.map((l) => l.layer);
  const across = <T>(f: (l: NonNullable<EpochInfo['gradStats']>['layers'][number]) => T[] | undefined, j: number) =>
    eps.flatMap((e) => f(e.gradStats!.layers[j]) ?? []);
  const xLabel = 'step with statistics';
  const series = (f: (l: NonNullable<EpochInfo['gradStats']>['layers'][number]) => (number | null)[] | undefined) =>
    layers
      .map((name, j) => ({ name, values: across(f, j).map((v) => (v === null ? NaN : v)), color: LAYER_COLORS[j % LAYER_COLORS.length] }))
      .filter((x) => x.values.length > 0);
  return [
    { title: 'gradient norm ‖g‖ per layer', series: series((l) => l.norm), log: true, xLabel },
    { title: 'update / weight ratio ‖Δw‖/‖w‖', series: series((l) => l.updateRatio), log: true, xLabel },
    { title: 'dead ReLU units (share)', series: series((l) => l.deadFraction), yMin: 0, yMax: 1, xLabel },
  ];
}

/** One log line: each layer's epoch-mean gradient norm, dead share and update ratio. */
function gradStatsLine(g: NonNullable<EpochInfo['gradStats']>): string {
  const parts = g.layers.map((l) => {
    const m = l.mean;
    return `${l.layer} ‖g‖ ${m.norm.toPrecision(3)} max ${m.maxAbs.toPrecision(3)} zeros ${(100 * m.zeroFraction).toFixed(1)}%` +
      (m.deadFraction !== undefined ? ` dead ${(100 * m.deadFraction).toFixed(1)}%` : '') +
      (m.updateRatio !== null ? ` Δw/w ${m.updateRatio.toExponential(2)}` : '');
  });
  return `gradient statistics (mean over ${g.steps.length} steps): ${parts.join('; ')}`;
}
