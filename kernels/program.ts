// A kernel is what the engine compiles and dispatches, and nothing more: WGSL source, a cache key
// holding only compile-time facts (never sizes: those travel as uniforms, as in TF.js/ORT-Web),
// the access mode of each storage binding, the packed uniforms, and the dispatch grid.
// Binding convention for every kernel: storage bindings 0..n-1 in the order of `bindings`,
// then, if `uniforms` is present, one uniform buffer at binding n holding `struct U`.

export type Access = 'read' | 'write';

export interface KernelBinding {
  name: string;
  access: Access;
  /** May be bound to null: the engine binds a small zero buffer there. */
  optional: boolean;
}

export interface Kernel {
  /** The kernel family's name (kernels/spec.ts); the label of the op that dispatches it. */
  name: string;
  /** Pipeline cache key: kernel name plus compile-time facts (op, rank, tile, dtype). */
  key: string;
  /** WGSL source; called only on a pipeline-cache miss. */
  wgsl: () => string;
  bindings: KernelBinding[];
  uniforms?: ArrayBuffer;
  workgroups: [number, number, number];
}

export const MAX_GROUPS = 65535;

/**
 * Spreads `count` workgroups over x and y so that no dimension passes 65 535.
 * Pair with `FLAT_ID` in the shader, which rebuilds the linear index.
 */
export function grid(count: number): [number, number, number] {
  const n = Math.max(1, Math.ceil(count));
  if (n <= MAX_GROUPS) return [n, 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new Error(`dispatch of ${n} workgroups is too large`);
  return [Math.ceil(n / y), y, 1];
}

/** Linear workgroup index for a grid made by `grid()`; needs `wid` and `nwg` builtins. */
export const FLAT_GROUP = /* wgsl */ `fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }`;

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

