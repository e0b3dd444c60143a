// `lanterna info`: the adapter (vendor, architecture, device, driver and its Vulkan ICD file),
// the runtime, and the device limits in force.

import type { Command } from 'commander';
import { shutdown } from '../../engine/context.ts';
import { describeDevice, formatDevice } from '../../engine/info.ts';

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
