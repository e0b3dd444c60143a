// Tensor: a shape, a dtype and a reference to GPU storage. Storage is reference-counted so that
// reshape and other views share a buffer; the buffer goes back to the pool when the last view
// is disposed.

import { sizeOf } from '../kernels/program.ts';
import { gpu } from './context.ts';
import { LanternaError, ShapeError, fmtShape } from './errors.ts';
import { STORAGE, type Gpu } from './gpu.ts';
import { track, untrack } from './scope.ts';
import type { TapeNode } from './autograd.ts';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];
export type TypedArrayOf<D extends DType> = D extends 'int32' ? Int32Array : Float32Array;
export type GradHook = (grad: Tensor) => Tensor | void;

export class Storage {
  refs = 1;
  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  release(): void {
    if (--this.refs === 0) this.gpu.pool.release(this.buffer);
  }
}

let nextId = 1;

export class Tensor {
  readonly isTensor = true;
  readonly id = nextId++;
  readonly size: number;
  /** Set by ops when any input requires a gradient (and by the user on parameters). */
  requiresGrad = false;
  /** Gradient accumulated by backward() on leaves, and on tensors marked with retainGrad(). */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor; null for leaves. */
  node: TapeNode | null = null;
  name?: string;
  retainsGrad = false;
  hooks: GradHook[] = [];
  private _storage: Storage | null;

  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    storage: Storage,
  ) {
    this.size = sizeOf(shape);
    this._storage = storage;
    track(this);
  }

  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this._storage === null;
  }
  get storage(): Storage {
    if (!this._storage) throw new LanternaError(`tensor #${this.id} ${this.describe()} was used after dispose()`);
    return this._storage;
  }
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  describe(): string {
    return `${this.name ? this.name + ' ' : ''}${this.dtype}${fmtShape(this.shape)}`;
  }

  dispose(): void {
    if (!this._storage) return;
    this._storage.release();
    this._storage = null;
    untrack(this);
    if (this.grad && this.grad !== this) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Marks a leaf as a parameter (or input) whose gradient backward() should compute. */
  requireGrad(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** Keeps this intermediate tensor's gradient in `.grad` after backward(). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Calls `fn` with this tensor's gradient once it is complete; `fn` may return a replacement. */
  onGrad(fn: GradHook): this {
    this.hooks.push(fn);
    return this;
  }

  /** Copies the values to the host. */
  async data(): Promise<TypedArrayOf<this['dtype']>> {
    const s = this.storage;
    const bytes = await s.gpu.read(s.buffer, 0, this.size * 4, `read ${this.describe()}`);
    return (this.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes)) as TypedArrayOf<this['dtype']>;
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError('item', `expects a single value, got ${fmtShape(this.shape)}`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${this.describe()})`;
  }
}

/**
 * The values of several tensors (on one device) with a single readback: one submit, one wait.
 * What a training step reads (loss and correct count) costs one round trip, not two.
 */
export async function readAll(ts: readonly Tensor[]): Promise<(Float32Array | Int32Array)[]> {
  if (ts.length === 0) return [];
  const g = ts[0].storage.gpu;
  for (const t of ts) if (t.storage.gpu !== g) throw new Error(`readAll: ${t.describe()} lives on another device`);
  const bytes = await g.readMany(ts.map((t) => ({ buffer: t.storage.buffer, offset: 0, bytes: t.size * 4 })), `read ${ts.map((t) => t.describe()).join(', ')}`);
  return bytes.map((b, i) => (ts[i].dtype === 'int32' ? new Int32Array(b) : new Float32Array(b)));
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${fmtShape(shape)}`);
}

/** A new tensor with uninitialised pooled storage. */
export function empty(shape: Shape, dtype: DType = 'float32', g: Gpu = gpu()): Tensor {
  checkShape('empty', shape);
  const bytes = Math.max(4, sizeOf(shape) * 4);
  if (bytes > g.limits.maxBufferSize)
    throw new ShapeError('alloc', `${dtype}${fmtShape(shape)} needs ${bytes} bytes, above this adapter's maxBufferSize ${g.limits.maxBufferSize}`);
  const buf = g.pool.acquire(bytes, STORAGE);
  return new Tensor([...shape], dtype, new Storage(g, buf, bytes));
}

/** A tensor sharing another's storage with a different shape (same size). */
export function view(t: Tensor, shape: Shape): Tensor {
  const s = t.storage;
  s.refs++;
  return new Tensor([...shape], t.dtype, s);
}

/** Uploads host data. Plain arrays are converted; typed arrays must match the dtype. */
export function tensor(data: ArrayLike<number>, shape?: Shape, dtype?: DType): Tensor {
  const dt: DType = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  const shp = shape ?? [data.length];
  checkShape('tensor', shp);
  if (sizeOf(shp) !== data.length)
    throw new ShapeError('tensor', `${data.length} values do not fill shape ${fmtShape(shp)} (${sizeOf(shp)} values)`);
  const arr =
    dt === 'int32'
      ? data instanceof Int32Array
        ? data
        : Int32Array.from(data)
      : data instanceof Float32Array
        ? data
        : Float32Array.from(data);
  const t = empty(shp, dt);
  if (arr.length > 0) t.storage.gpu.upload(t.buffer, arr);
  return t;
}

export function scalar(v: number, dtype: DType = 'float32'): Tensor {
  return tensor([v], [], dtype);
}

/** Ops call this first: every input must be alive and, unless stated, float32. */
export function checkInputs(op: string, inputs: Tensor[], dtype: DType | null = 'float32'): void {
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ShapeError(op, `input ${i} is not a Tensor`);
    if (t.disposed) throw new ShapeError(op, `input ${i} (tensor #${t.id} ${t.describe()}) was used after dispose()`);
    if (dtype && t.dtype !== dtype) throw new ShapeError(op, `input ${i} ${t.describe()} must be ${dtype}`);
  });
  const g = inputs[0]?.storage.gpu;
  if (g) g.check(op);
}
