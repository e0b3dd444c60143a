// The Gaussian blur RISE's insertion metric starts from (an 11×11 kernel, σ = 5, zero padding as
// its conv2d), and ROAD's / IG's blurred baselines can share. CPU: one image at a time.

/** A normalised 2-D Gaussian, `size`×`size`, sampled at integer offsets from the centre. */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size * size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) sum += k[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** HWC image convolved per channel with the Gaussian, zeros outside the image. */
export function gaussianBlur(x: Float32Array, height: number, width: number, channels: number, size = 11, sigma = 5): Float32Array {
  const k = gaussianKernel(size, sigma);
  const r = (size - 1) / 2;
  const out = new Float32Array(x.length);
  for (let y = 0; y < height; y++)
    for (let xx = 0; xx < width; xx++)
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let dy = -r; dy <= r; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= height) continue;
          for (let dx = -r; dx <= r; dx++) {
            const xs = xx + dx;
            if (xs < 0 || xs >= width) continue;
            s += k[(dy + r) * size + dx + r] * x[(yy * width + xs) * channels + c];
          }
        }
        out[(y * width + xx) * channels + c] = s;
      }
  return out;
}
