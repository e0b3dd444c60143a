// PNG output (pngjs), written atomically: a temp file renamed into place, so an interrupted run
// never leaves a half-written image.

import { PNG } from 'pngjs';
import { promises as fs } from 'node:fs';
import type { RgbImage } from './grid.ts';

export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[4 * i] = img.rgb[3 * i];
    png.data[4 * i + 1] = img.rgb[3 * i + 1];
    png.data[4 * i + 2] = img.rgb[3 * i + 2];
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export async function writePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}
