// Errors a user sees. Each names the op (or file, layer) and the shapes at fault, so that the
// message points at the call site rather than at a GPU validation failure later.

/**
 * The base of every error Lanterna throws on purpose; its message names the op, file or layer and the shapes
 * at fault.
 */
export class LanternaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LanternaError';
  }
}

/** A shape, dtype or argument problem detected at the call. */
export class ShapeError extends LanternaError {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** An error reported by the GPU (validation, out of memory, device lost). */
export class GpuError extends LanternaError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
