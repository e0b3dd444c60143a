// MNIST CAM tiles drawn as the lecture's figures: the digit in grey at alpha 0.4, then the CAM
// through a colour map at alpha 0.6, both over white (matplotlib's imshow layering).

import { colorize, minMax } from './colormap.ts';
import { enlarge, type Tile } from './grid.ts';

/** `pixels` are the 28×28 bytes as stored (0 = background); `cam` the map at 28×28 (any scale). */
export function mnistCamTile(pixels: Uint8Array, cam: ArrayLike<number>, lut: Uint8Array, caption: string, scale = 4): Tile {
  const n = pixels.length;
  const heat = colorize(minMax(cam), lut);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = 255 - pixels[i]; // shown inverted, dark digit on white, as the lecture's QX
    const under = 0.6 * 255 + 0.4 * g;
    for (let k = 0; k < 3; k++) rgb[3 * i + k] = Math.round(0.4 * under + 0.6 * heat[3 * i + k]);
  }
  const side = Math.round(Math.sqrt(n));
  const big = enlarge({ rgb, width: side, height: side }, scale);
  return { ...big, caption };
}
