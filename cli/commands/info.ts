// `lanterna info`: the adapter (vendor, architecture, device, driver and its Vulkan ICD file),
// the runtime, and the device limits in force.

import type { Command } from 'commander';
import type { Example } from '../help.ts';
import { shutdown } from '../../engine/context.ts';
import { describeDevice, formatDevice } from '../../engine/info.ts';

/** Shown by `lanterna info --help` (the first also by `lanterna --help`). */
export const EXAMPLES: readonly Example[] = [
  { cmd: 'lanterna info', what: 'the WebGPU adapter, its driver and the limits in force' },
  { cmd: 'lanterna info --json', what: 'the same as JSON' },
];

export function register(program: Command): void {
  program
    .command('info')
    .description('show the WebGPU adapter, its driver (Vulkan ICD file), the runtime and the limits in force')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { json?: boolean }) => {
      try {
        const d = await describeDevice();
        console.log(opts.json ? JSON.stringify(d, null, 2) : formatDevice(d));
      } finally {
        shutdown();
      }
    });
}
