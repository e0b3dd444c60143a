// What one map says about one region: the share of its mass there and whether its peak lies there.
// A map's mass is measured above its own minimum (the min–max normalisation every overlay shows), so
// CAM's negative values and Grad-CAM's ReLU floor are treated alike; a constant map has no mass and
// no peak, and is counted apart (`flat`) rather than as pointing at pixel 0.

/** One map against one image's masks. */
export interface MapMeasure {
  /** Share (0..1) of the map's mass on the cue region. */
  cueMass: number;
  /** Share (0..1) of the map's mass on the object's own pixels outside the cue region; NaN without an object mask. */
  objectMass: number;
  /** Whether the map's maximum (its first, row-major) lies in the cue region. */
  hit: boolean;
  /** Index (row-major) of the map's maximum, −1 for a constant map. */
  peak: number;
  /** The map is constant: no mass, no peak (hit false, masses NaN). */
  flat: boolean;
}

/**
 * Measures `map` (H·W values at the image's size) against `cue` and, when given, `object` (H·W
 * masks, 1 inside). The object's share counts only its pixels outside the cue, so the two shares
 * never count a pixel twice. Throws when the sizes differ.
 */
export function measureMap(map: ArrayLike<number>, cue: ArrayLike<number>, object?: ArrayLike<number> | null): MapMeasure {
  const n = map.length;
  if (cue.length !== n) throw new Error(`audit: the map has ${n} values but the cue mask ${cue.length}`);
  if (object && object.length !== n) throw new Error(`audit: the map has ${n} values but the object mask ${object.length}`);
  let lo = Infinity;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    if (map[i] < lo) lo = map[i];
    if (map[i] > map[peak]) peak = i;
  }
  const hi = map[peak];
  // Not a finite spread (NaN, or all equal): nothing to measure.
  if (!(hi - lo > 0) || !Number.isFinite(hi - lo)) return { cueMass: NaN, objectMass: NaN, hit: false, peak: -1, flat: true };
  let total = 0;
  let onCue = 0;
  let onObject = 0;
  for (let i = 0; i < n; i++) {
    const v = map[i] - lo;
    total += v;
    if (cue[i]) onCue += v;
    else if (object?.[i]) onObject += v;
  }
  return { cueMass: onCue / total, objectMass: object ? onObject / total : NaN, hit: cue[peak] !== 0, peak, flat: false };
}

/** Share (0..1) of the pixels a mask covers. */
export function areaOf(mask: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) s++;
  return mask.length ? s / mask.length : 0;
}
