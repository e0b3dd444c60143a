// The pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", 2016): a
// hit when the map's maximum lies in the object's box, grown by a tolerance (15 pixels there).

/** A box in input pixels: x0, y0 inclusive; x1, y1 exclusive. */
export interface Box {
  /** Left edge (inclusive). */
  x0: number;
  /** Top edge (inclusive). */
  y0: number;
  /** Right edge (exclusive). */
  x1: number;
  /** Bottom edge (exclusive). */
  y1: number;
}

/** Where the map is largest (the first such pixel, row-major), and whether it hits `box`. */
export function pointingGame(map: ArrayLike<number>, height: number, width: number, box: Box, tolerance = 15): { hit: boolean; x: number; y: number } {
  if (map.length !== height * width) throw new Error(`pointing game: the map has ${map.length} values, not ${height}×${width}`);
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  const y = Math.floor(best / width);
  const x = best % width;
  const hit = x >= box.x0 - tolerance && x < box.x1 + tolerance && y >= box.y0 - tolerance && y < box.y1 + tolerance;
  return { hit, x, y };
}
