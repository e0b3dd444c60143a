// Which output of a model the CLI reads (an explanation targets one output), and the check that
// the model takes one image input.

import { LanternaError } from '../engine/errors.ts';
import type { Model } from '../nn/model.ts';

export const OUTPUT_HELP = 'for a model with several outputs: the one used (its output layer name, or its index)';

/** The output index `--output` names; a model with several outputs must be given one. */
export function chooseOutput(model: Model, flag: string | undefined, where: string): number {
  if (model.inputNodes.length !== 1)
    throw new LanternaError(`${where}: the model takes ${model.inputNodes.length} inputs (${model.inputLayers.map((l) => l.name).join(', ')}); the command feeds it one image`);
  if (flag === undefined) {
    if (model.outputRefs.length > 1) throw new LanternaError(`${where}: the model has ${model.outputRefs.length} outputs (${model.outputNames.join(', ')}); choose one with --output`);
    return 0;
  }
  try {
    return model.outputIndex(/^\d+$/.test(flag) ? Number(flag) : flag);
  } catch (e) {
    throw new LanternaError(`--output ${flag}: ${(e as Error).message}`);
  }
}

/** Elements of one image's output `o` (the classes of a classifier). */
export function outputSize(model: Model, o: number): number {
  return model.outputShapes[o].reduce((a, b) => a * b, 1);
}
