// Per-image running sums of per-row gradients on the GPU: how the batched passes of
// score.ts become one attribution per image without reading every row's gradient back.

import * as E from '../../nn/engine.ts';
import type { Tensor } from '../../nn/engine.ts';

/** Per-image running sums on the GPU: `add(i, t)` replaces image i's sum by sum + t. */
export class ImageSums {
  readonly sums: (Tensor | null)[];
  constructor(n: number) {
    this.sums = new Array<Tensor | null>(n).fill(null);
  }
  /** Image i's sum becomes sum + t (t itself when there is none yet). */
  add(i: number, t: Tensor): void {
    const prev = this.sums[i];
    this.sums[i] = prev ? E.add(prev, t) : t;
    // Queued GPU work still reads prev; its buffer is reused only after it (one queue).
    prev?.dispose();
  }
  /** The sums that exist, for a pass to return (so that they survive its scope). */
  live(): Tensor[] {
    return this.sums.filter((s): s is Tensor => s !== null);
  }
  /** All sums, [N, …] in image order, read back; absent ones are zeros of `shape`. */
  async read(shape: readonly number[]): Promise<Float32Array> {
    const per = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(this.sums.length * per);
    const vals = await E.readAll(this.sums.filter((s): s is Tensor => s !== null));
    let k = 0;
    this.sums.forEach((s, i) => {
      if (s) out.set(vals[k++] as Float32Array, i * per);
    });
    return out;
  }
  /** Frees every sum. */
  dispose(): void {
    for (const s of this.sums) s?.dispose();
  }
}

/**
 * Adds, for each image whose rows lie in [start, start + n), Σ over its rows of w_r·g_r to
 * `sums` (and Σ g_r², unweighted, to `squares` when given). `imageOf(r)` must be non-decreasing in r.
 */
export function addByImage(g: Tensor, start: number, n: number, imageOf: (r: number) => number, sums: ImageSums, squares?: ImageSums, weightOf?: (r: number) => number): Tensor[] {
  const [, h, w, c] = g.shape;
  const gw = weightOf ? E.mul(g, E.tensor(Float32Array.from({ length: n }, (_, r) => weightOf(start + r)), [n, 1, 1, 1])) : g;
  for (let r = 0; r < n; ) {
    const i = imageOf(start + r);
    let e = r + 1;
    while (e < n && imageOf(start + e) === i) e++;
    const rowsOf = (t: Tensor) => (e - r === n ? t : E.slice(t, [r, 0, 0, 0], [e - r, h, w, c]));
    sums.add(i, E.sum(rowsOf(gw), 0));
    if (squares) squares.add(i, E.sum(E.square(rowsOf(g)), 0));
    r = e;
  }
  return [...sums.live(), ...(squares?.live() ?? [])];
}
