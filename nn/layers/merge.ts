// Keras merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise, with
// Keras' broadcasting) and Concatenate. Called by the graph model through MergeLayer.callMany;
// every gradient comes from the engine's broadcasting binary ops and concat.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { MergeLayer, type CallContext } from '../layer.ts';

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const fmtAll = (ss: readonly (readonly number[])[]) => ss.map(fmt).join(' + ');

/**
 * Keras' Merge._compute_elemwise_op_output_shape on batch-excluded shapes: the shorter shape is
 * aligned to the right, and each pair of sizes must be equal or hold a 1. Null if they clash.
 */
export function mergeBroadcast(a: readonly number[], b: readonly number[]): number[] | null {
  if (a.length < b.length) return mergeBroadcast(b, a);
  const out = a.slice(0, a.length - b.length);
  for (let k = 0; k < b.length; k++) {
    const i = a[a.length - b.length + k];
    const j = b[k];
    if (i !== j && i !== 1 && j !== 1) return null;
    out.push(i === 1 ? j : i);
  }
  return out;
}

/** Merges by folding a binary op over the inputs, after Keras' rank alignment. */
abstract class ElementwiseMerge extends MergeLayer {
  protected abstract merge(xs: Tensor[]): Tensor;

  computeOutputShapeMany(shapes: number[][]): number[] {
    this.checkCount(shapes);
    let out: number[] | null = shapes[0];
    for (const s of shapes.slice(1)) {
      out = mergeBroadcast(out, s);
      if (!out) throw new Error(`${this.className} '${this.name}': input shapes ${fmtAll(shapes)} do not broadcast (sizes must be equal or 1, aligned to the right)`);
    }
    return out;
  }

  /** Subtract narrows this to exactly 2. */
  protected checkCount(shapes: readonly unknown[]): void {
    if (shapes.length < 2) throw new Error(`${this.className} '${this.name}' needs at least 2 inputs, got ${shapes.length}`);
  }

  callMany(xs: Tensor[], _ctx: CallContext): Tensor {
    this.computeOutputShapeMany(xs.map((x) => x.shape.slice(1)));
    const n = xs[0].shape[0];
    if (xs.some((x) => x.shape[0] !== n)) throw new Error(`${this.className} '${this.name}': inputs have different batch sizes (${xs.map((x) => fmt(x.shape)).join(' + ')})`);
    // As Keras: a lower-rank input gets size-1 axes inserted after the batch axis, so that
    // [N, C] meets [N, H, W, C] as [N, 1, 1, C] (the batch never broadcasts against features).
    const rank = Math.max(...xs.map((x) => x.rank));
    const aligned = xs.map((x) => (x.rank === rank ? x : E.reshape(x, [n, ...Array<number>(rank - x.rank).fill(1), ...x.shape.slice(1)])));
    return this.merge(aligned);
  }

  protected kerasConfig() {
    return {};
  }
}

const fold = (xs: Tensor[], f: (a: Tensor, b: Tensor) => Tensor) => xs.slice(1).reduce(f, xs[0]);

/**
 * Keras' Add: the elementwise sum of two or more inputs, with Keras' broadcasting (sizes equal or 1, a
 * lower-rank input aligned after the batch axis).
 */
export class Add extends ElementwiseMerge {
  /** 'Add'. */
  readonly className = 'Add';
  protected merge(xs: Tensor[]): Tensor {
    return fold(xs, E.add);
  }
}

/** inputs[0] − inputs[1]; Keras takes exactly two. */
export class Subtract extends ElementwiseMerge {
  /** 'Subtract'. */
  readonly className = 'Subtract';
  protected override checkCount(shapes: readonly unknown[]): void {
    if (shapes.length !== 2) throw new Error(`Subtract '${this.name}' needs exactly 2 inputs, got ${shapes.length}`);
  }
  protected merge(xs: Tensor[]): Tensor {
    return E.sub(xs[0], xs[1]);
  }
}

/** Keras' Multiply: the elementwise product of two or more inputs, with Keras' broadcasting. */
export class Multiply extends ElementwiseMerge {
  /** 'Multiply'. */
  readonly className = 'Multiply';
  protected merge(xs: Tensor[]): Tensor {
    return fold(xs, E.mul);
  }
}

/** The sum divided by the number of inputs, as Keras computes it. */
export class Average extends ElementwiseMerge {
  /** 'Average'. */
  readonly className = 'Average';
  protected merge(xs: Tensor[]): Tensor {
    return E.scale(fold(xs, E.add), 1 / xs.length);
  }
}

/** Keras' Maximum: the elementwise maximum of two or more inputs, with Keras' broadcasting. */
export class Maximum extends ElementwiseMerge {
  /** 'Maximum'. */
  readonly className = 'Maximum';
  protected merge(xs: Tensor[]): Tensor {
    return fold(xs, E.maximum);
  }
}

/** Keras' Minimum: the elementwise minimum of two or more inputs, with Keras' broadcasting. */
export class Minimum extends ElementwiseMerge {
  /** 'Minimum'. */
  readonly className = 'Minimum';
  protected merge(xs: Tensor[]): Tensor {
    return fold(xs, E.minimum);
  }
}

/**
 * Joins along `axis`, counted as Keras counts it: the batch is axis 0, so axis 3 of [N, H, W, C]
 * is the channels, and −1 the last axis. Joining along the batch is refused.
 */
export class Concatenate extends MergeLayer {
  readonly className = 'Concatenate';
  constructor(
    /** The join axis, Keras' numbering (batch = 0, −1 = last); default −1. */
    readonly axis = -1,
    name?: string,
  ) {
    super(name);
    if (!Number.isInteger(axis)) throw new Error(`Concatenate '${name ?? ''}': axis must be an integer, got ${JSON.stringify(axis)}`);
  }

  /** The axis in a batch tensor of rank `rank` (batch included). */
  private tensorAxis(rank: number, shapes: readonly (readonly number[])[]): number {
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a < 1 || a >= rank)
      throw new Error(`Concatenate '${this.name}': axis ${this.axis} ${a === 0 ? 'is the batch axis' : 'is out of range'} for inputs ${fmtAll(shapes)} (batch excluded; Keras counts the batch as axis 0)`);
    return a;
  }

  /** The joined shape. Throws unless the shapes match except along the axis. */
  computeOutputShapeMany(shapes: number[][]): number[] {
    if (shapes.length < 2) throw new Error(`Concatenate '${this.name}' needs at least 2 inputs, got ${shapes.length}`);
    const r = shapes[0].length;
    const a = this.tensorAxis(r + 1, shapes) - 1;
    if (shapes.some((s) => s.length !== r || s.some((d, i) => i !== a && d !== shapes[0][i])))
      throw new Error(`Concatenate '${this.name}': input shapes ${fmtAll(shapes)} must match except along axis ${this.axis}`);
    const out = shapes[0].slice();
    out[a] = shapes.reduce((t, s) => t + s[a], 0);
    return out;
  }

  /** Joins the batch tensors along the axis. Throws on mismatched shapes or batch sizes. */
  callMany(xs: Tensor[], _ctx: CallContext): Tensor {
    this.computeOutputShapeMany(xs.map((x) => x.shape.slice(1)));
    const n = xs[0].shape[0];
    if (xs.some((x) => x.shape[0] !== n)) throw new Error(`Concatenate '${this.name}': inputs have different batch sizes (${xs.map((x) => fmt(x.shape)).join(' + ')})`);
    return E.concat(xs, this.tensorAxis(xs[0].rank, []));
  }

  protected kerasConfig() {
    return { axis: this.axis };
  }
}
