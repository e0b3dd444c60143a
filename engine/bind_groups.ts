// Bind groups cached by kernel and bound ranges, the uniform's place in the arena given as a
// dynamic offset at setBindGroup: the pool hands a training step's buffers out in the same order
// every step (engine/buffer_pool.ts), so after the first step no bind group is created (creating one cost
// ~35 µs on an H100 host, most of the host's time in a cam1 step).

import type { Kernel } from '../kernels/program.ts';
import type { BufferPool } from './buffer_pool.ts';

export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();

  constructor(
    private device: GPUDevice,
    private pool: BufferPool,
    private arena: GPUBuffer,
    /** Its bindGroups counts the groups created (the rest came from the cache). */
    private counters: { bindGroups: number },
  ) {}

  /** `fresh`: made anew and not kept (LANTERNA_DEBUG, so that a validation error names its own op). */
  get(kernel: Kernel, layout: GPUBindGroupLayout, bindings: Binding[], uniformBytes: number, label: string, fresh = false): GPUBindGroup {
    const ranges = bindings.map((b) => ({ buffer: b.buffer, offset: b.offset ?? 0, size: b.size ?? b.buffer.size - (b.offset ?? 0) }));
    const key = fresh ? '' : `${kernel.key}|${ranges.map((r) => `${this.pool.idOf(r.buffer)},${r.offset},${r.size}`).join('|')}|${uniformBytes}`;
    let group = this.groups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = ranges.map((resource, binding) => ({ binding, resource }));
    if (uniformBytes) entries.push({ binding: bindings.length, resource: { buffer: this.arena, offset: 0, size: uniformBytes } });
    group = this.device.createBindGroup({ layout, entries, label });
    this.counters.bindGroups++;
    if (!fresh) {
      // Groups of buffers since destroyed are never asked for again (ids are not reused); a cap keeps them few.
      if (this.groups.size >= 4096) this.groups.clear();
      this.groups.set(key, group);
    }
    return group;
  }
}
