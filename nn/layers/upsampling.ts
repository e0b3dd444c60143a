// UpSampling2D: nearest repeats each pixel size×; bilinear is tf.image.resize's (half-pixel
// centres, edges clamped), which is what Keras' TensorFlow and JAX backends compute.

import * as E from '../engine.ts';
import type { Tensor } from '../engine.ts';
import { Layer } from '../layer.ts';

/**
 * Keras' UpSampling2D: [N, H, W, C] → [N, H·sh, W·sw, C], repeating pixels ('nearest') or interpolating as
 * tf.image.resize ('bilinear').
 */
export class UpSampling2D extends Layer {
  readonly className = 'UpSampling2D';
  constructor(
    /** Integer factors [sh, sw]; default [2, 2]. */
    readonly size: [number, number] = [2, 2],
    /** 'nearest' (default) or 'bilinear'. */
    readonly interpolation: 'nearest' | 'bilinear' = 'nearest',
    name?: string,
  ) {
    super(name);
    if (!size.every((s) => Number.isInteger(s) && s >= 1)) throw new Error(`UpSampling2D '${name ?? ''}': size must be integers ≥ 1, got ${JSON.stringify(size)}`);
    if (interpolation !== 'nearest' && interpolation !== 'bilinear')
      throw new Error(`UpSampling2D '${name ?? ''}': interpolation '${interpolation}' is not supported (nearest, bilinear)`);
  }
  computeOutputShape([h, w, c]: number[]): number[] {
    return [h * this.size[0], w * this.size[1], c];
  }
  call(x: Tensor): Tensor {
    const out: [number, number] = [x.shape[1] * this.size[0], x.shape[2] * this.size[1]];
    // Integer factors: output o reads input ⌊o/s⌋ exactly (asymmetric + floor: no rounding ties).
    if (this.interpolation === 'nearest') return E.resize(x, out, { mode: 'nearest', coord: 'asymmetric', nearestMode: 'floor' });
    return E.resize(x, out, { mode: 'bilinear', coord: 'half_pixel' });
  }
  protected kerasConfig() {
    return { size: this.size, data_format: 'channels_last', interpolation: this.interpolation };
  }
}
