// Tensor: a shape, a dtype and a reference to GPU storage. Storage is reference-counted so that
// reshape and other views share a buffer; the buffer goes back to the pool when the last view
// is disposed.

import { sizeOf } from '../kernels/program.ts';
import { gpu } from './context.ts';
import { LanternaError, ShapeError, fmtShape } from './errors.ts';
import { STORAGE, type Gpu } from './gpu.ts';
import { keep, track, untrack } from './scope.ts';
import type { TapeNode } from './autograd.ts';
import { anomalyOn, flagPart, judgeFlag } from './anomaly.ts';

/** Element types: float32 for values, int32 for labels and indices (WebGPU shaders have no float64). */
export type DType = 'float32' | 'int32';
/** Dimensions, outermost first; images are NHWC [N, H, W, C]. [] is a scalar. */
export type Shape = readonly number[];
/** The typed array `data()` returns for a dtype: Int32Array for int32, else Float32Array. */
export type TypedArrayOf<D extends DType> = D extends 'int32' ? Int32Array : Float32Array;
/** A gradient hook (`t.onGrad(fn)`): sees the gradient reaching `t`; may return a replacement. */
export type GradHook = (grad: Tensor) => Tensor | void;
const DTYPES: readonly string[] = ['float32', 'int32'];

/**
 * A condition computed on the GPU alongside a tensor (a label in range, an input finite): `flag`
 * is int32 [2], [-1, 0] when it holds, else [first bad index, the value's bits]. Reading the
 * tensor (data, item, readAll) reads the flag in the same round trip and throws `message(flag)`.
 */
export interface ReadCheck {
  flag: Tensor;
  message(flag: Int32Array): string;
}

export class Storage {
  refs = 1;
  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  release(): void {
    if (--this.refs > 0) return;
    this.gpu.beforeRelease?.(this.buffer);
    this.gpu.pool.release(this.buffer);
  }
}

let nextId = 1;

/**
 * An n-dimensional array on the GPU: shape, dtype and a reference to GPU storage that views (reshape) share.
 * Make one with `tensor`, `zeros`, … or an op; read it with `await t.data()`; free it with `dispose()` or let
 * a scope (`tidy`, `scope`) do it. Tensors that require a gradient record the ops applied to them (see
 * `backward`, `grad`).
 */
export class Tensor {
  /** Always true: tells a tensor from other objects without instanceof. */
  readonly isTensor = true;
  /** Creation order, unique per process (error messages and graphs name tensors by it). */
  readonly id = nextId++;
  /** Number of elements (the product of the shape; 1 for a scalar). */
  readonly size: number;
  /** Set by ops when any input requires a gradient (and by the user on parameters). */
  requiresGrad = false;
  /** Gradient accumulated by backward() on leaves, and on tensors marked with retainGrad(). */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor; null for leaves. */
  node: TapeNode | null = null;
  /** Optional label shown by `describe()` and in error messages (layers name their weights). */
  name?: string;
  /** Set by `retainGrad()`: backward() keeps this intermediate tensor's gradient in `.grad`. */
  retainsGrad = false;
  /** Functions added by `onGrad`, called in order with the complete gradient. */
  hooks: GradHook[] = [];
  /** A gradient made by backward()/grad() (or computed from one); without createGraph it is not recorded. */
  fromGrad = false;
  /** GPU-side conditions checked when this tensor is read; owned (and disposed) by this tensor. */
  checks: ReadCheck[] = [];
  private _storage: Storage | null;

  constructor(
    /** Dimensions, outermost first. */
    readonly shape: Shape,
    /** Element type. */
    readonly dtype: DType,
    storage: Storage,
  ) {
    this.size = sizeOf(shape);
    this._storage = storage;
    track(this);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }
  /** True once `dispose()` has run (directly or through a scope); using the tensor then throws. */
  get disposed(): boolean {
    return this._storage === null;
  }
  /** The reference-counted GPU storage this tensor views. Throws a `LanternaError` once disposed. */
  get storage(): Storage {
    if (!this._storage) throw new LanternaError(`tensor #${this.id} ${this.describe()} was used after dispose()`);
    return this._storage;
  }
  /**
   * The underlying WebGPU buffer (for custom kernels). Write it through the engine (`gpu().dispatch`,
   * `upload`): ops may reuse values derived from a tensor while its buffer is unwritten
   * (`Gpu.writeCount`). Throws a `LanternaError` once disposed.
   */
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  /** 'name float32[2,3]': the name (if any), dtype and shape, as error messages print a tensor. */
  describe(): string {
    return `${this.name ? this.name + ' ' : ''}${this.dtype}${fmtShape(this.shape)}`;
  }

  /**
   * Releases this tensor's GPU storage (shared with its views until the last one goes) and its gradient. Safe
   * to call twice.
   */
  dispose(): void {
    if (!this._storage) return;
    this._storage.release();
    this._storage = null;
    untrack(this);
    for (const c of this.checks) c.flag.dispose();
    this.checks = [];
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

  /** Drops the accumulated gradient (PyTorch's zero_grad(set_to_none=True)): the next backward() starts afresh. */
  zeroGrad(): this {
    if (this.grad && this.grad !== this) this.grad.dispose();
    this.grad = null;
    return this;
  }

  /** Owns `flag` (taken out of any scope) and checks it whenever this tensor is read. */
  addCheck(flag: Tensor, message: (flag: Int32Array) => string): this {
    this.checks.push({ flag: keep(flag), message });
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

  /** Removes a hook that onGrad() added (every registration of `fn`); a hook not set is ignored. */
  offGrad(fn: GradHook): this {
    this.hooks = this.hooks.filter((h) => h !== fn);
    return this;
  }

  /** Copies the values to the host. */
  async data(): Promise<TypedArrayOf<this['dtype']>> {
    const s = this.storage;
    if (this.checks.length || anomalyOn(s.gpu)) return (await readAll([this]))[0] as TypedArrayOf<this['dtype']>;
    const bytes = await s.gpu.read(s.buffer, 0, this.size * 4, `read ${this.describe()}`);
    return (this.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes)) as TypedArrayOf<this['dtype']>;
  }

  /** The single value of a one-element tensor. Throws a `ShapeError` for any other size. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError('item', `expects a single value, got ${fmtShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** 'Tensor(float32[2,3])'. */
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
  // The checks' flags ride on the same readback: a check costs no extra round trip.
  const checks = ts.flatMap((t) => t.checks);
  const parts = [...ts.map((t) => ({ buffer: t.storage.buffer, offset: 0, bytes: t.size * 4 })), ...checks.map((c) => ({ buffer: c.flag.storage.buffer, offset: 0, bytes: 8 }))];
  // Anomaly mode's flag rides along too. A failed check names the cause (a bad label makes the
  // loss NaN), so it wins; the flag is judged anyway, so that it is cleared.
  const flag = anomalyOn(g) ? flagPart(g) : null;
  if (flag) parts.push(flag);
  const bytes = await g.readMany(parts, `read ${ts.map((t) => t.describe()).join(', ')}`);
  let failed: LanternaError | null = null;
  checks.forEach((c, i) => {
    const f = new Int32Array(bytes[ts.length + i]);
    if (f[0] >= 0) failed ??= new LanternaError(c.message(f));
  });
  if (flag) {
    try {
      judgeFlag(g, bytes[parts.length - 1], flag.upTo);
    } catch (e) {
      if (!failed) throw e;
    }
  }
  if (failed) throw failed;
  return bytes.slice(0, ts.length).map((b, i) => (ts[i].dtype === 'int32' ? new Int32Array(b) : new Float32Array(b)));
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${fmtShape(shape)}`);
}

/** Refuses a dtype Lanterna has no storage for, before a tensor is labelled with it. */
export function checkDType(op: string, dtype: string): void {
  if (!DTYPES.includes(dtype))
    throw new LanternaError(
      `${op}: dtype '${dtype}' is not supported (only ${DTYPES.join(', ')}; WebGPU shaders have no f64: compare against a float64 reference computed on the host)`,
    );
}

/** A new tensor with uninitialised pooled storage. */
export function empty(shape: Shape, dtype: DType = 'float32', g: Gpu = gpu()): Tensor {
  checkDType('empty', dtype);
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
  checkDType('tensor', dt);
  const shp = shape ?? [data.length];
  checkShape('tensor', shp);
  if (sizeOf(shp) !== data.length)
    throw new ShapeError('tensor', `${data.length} values do not fill shape ${fmtShape(shp)} (${sizeOf(shp)} values)`);
  // Int32Array.from would truncate 1.5 to 1 without a word: a label or index must be an integer.
  if (dt === 'int32' && !(data instanceof Int32Array))
    for (let i = 0; i < data.length; i++)
      if (!Number.isInteger(data[i]) || data[i] < -2147483648 || data[i] > 2147483647)
        throw new ShapeError('tensor', `int32 value ${data[i]} at index ${i} is not a 32-bit integer (shape ${fmtShape(shp)})`);
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

/** A rank-0 tensor (shape []) holding `v`. */
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
