// The layer at which a map can point at a small cue. A network's last spatial layer is often too
// coarse: cam1 ends on a 3×3 map whose cells are 9 px wide, larger than its 8 px corner mark, and
// every cell there sees the whole digit, so CAM and Grad-CAM point at the digit although the model
// follows the mark (docs/TANK.md). One stage earlier a cell fits inside the cue. The rule: the
// coarsest resolution whose cell is at most half the cue's smaller side (so that some cell lies
// wholly inside the cue however it is placed), and at that resolution the first layer in model
// order: the output of the pooling that opens the stage, before the stage's convolutions mix
// neighbouring cells again (LayerCAM, Jiang et al. 2021, is the method made for such layers).

import { spatialLayers } from '../layers.ts';
import type { Model } from '../../nn/model.ts';

/** The bounding box [rows, columns] of the union of the masks (each H·W, nonzero inside); null when empty. */
export function cueBox(masks: ArrayLike<number>[], H: number, W: number): [number, number] | null {
  let y0 = H, y1 = -1, x0 = W, x1 = -1;
  for (const m of masks)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        if (m[y * W + x]) {
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
        }
  return y1 < 0 ? null : [y1 - y0 + 1, x1 - x0 + 1];
}

/**
 * The layer of `model` fine enough to localise a cue whose bounding box is `box` pixels in an
 * H×W input (see the rule above), or null when no spatial layer is that fine.
 */
export function fineLayer(model: Model, box: [number, number], H: number, W: number): string | null {
  const side = Math.min(box[0], box[1]);
  let best: { name: string; cells: number } | null = null;
  const layers = new Map(model.allLayers().map((l) => [l.name, l]));
  for (const name of spatialLayers(model)) {
    const [h, w] = layers.get(name)!.outputShape!;
    if (H / h > side / 2 || W / w > side / 2) continue;
    if (!best || h * w < best.cells) best = { name, cells: h * w };
  }
  return best?.name ?? null;
}
