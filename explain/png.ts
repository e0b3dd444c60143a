// PNG output (pngjs), written atomically: a temp file renamed into place, so an interrupted run
// never leaves a half-written image.

import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic_write.ts';
import type { RgbImage } from './grid.ts';

export { writeFileAtomic };

/** The PNG file bytes (8-bit RGB, opaque) of `img`. */
export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[4 * i] = img.rgb[3 * i];
    png.data[4 * i + 1] = img.rgb[3 * i + 1];
    png.data[4 * i + 2] = img.rgb[3 * i + 2];
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Writes `img` as a PNG file at `path` (Node only), atomically: a temp file renamed into place. */
export async function writePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}
