// Keras' default initialisers: glorot_uniform for kernels, zeros for biases.

import type { Rng } from './random.ts';

/** Fan-in and fan-out as Keras computes them: receptive field × in / out channels. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [receptive * shape[shape.length - 2], receptive * shape[shape.length - 1]];
}

export function glorotUniform(shape: readonly number[], rng: Rng): Float32Array {
  const [fanIn, fanOut] = fans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return rng.uniform(shape.reduce((a, b) => a * b, 1), -limit, limit);
}

export function constant(shape: readonly number[], v: number): Float32Array {
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v);
}
