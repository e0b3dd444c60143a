/**
 * The tensor engine: the WebGPU device, tensors, memory scopes, reverse-mode autograd and ops.
 *
 * Start with `await init()`; every op then runs on that device. Tensors live on the GPU until
 * `await t.data()` brings their values back.
 *
 * @packageDocumentation
 */
export * from '../engine/index.ts';
