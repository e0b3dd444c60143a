// ImageNet helpers as keras.applications has them: `preprocess_input` in 'caffe' mode (VGG16's),
// `decode_predictions` over the Keras class index, and class lookup by index, name or WordNet id.
//
// The class index is Keras' own imagenet_class_index.json ({"0": ["n01440764", "tench"], …}),
// shipped in the package as data/imagenet_class_index.json. Two names occur twice in it
// ('crane': 134 the bird, 517 the machine; 'maillot': 638, 639): asking for them by name is an
// error that lists both indices.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One of the 1000 ImageNet classes (Keras' imagenet_class_index.json). */
export interface ImagenetClass {
  /** Class index 0..999, the model output's position. */
  index: number;
  /** WordNet id, e.g. 'n02123045'. */
  wnid: string;
  /** Keras' description, e.g. 'tabby', 'bull_mastiff'. */
  name: string;
}

/** A class with its predicted probability (`decodePredictions`). */
export interface Prediction extends ImagenetClass {
  /** The model's output for the class (0..1 after softmax). */
  probability: number;
}

/** Keras' 'caffe' means, in BGR order (keras.applications.imagenet_utils._preprocess_numpy_input). */
export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

let table: ImagenetClass[] | null = null;

/** Where the shipped index lives: <package>/data/imagenet_class_index.json, from source or from dist*. */
export function classIndexPath(): string {
  for (const up of ['../../data/', '../../../data/']) {
    const p = fileURLToPath(new URL(up + 'imagenet_class_index.json', import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('imagenet_class_index.json is missing from the package (expected in data/ at the package root)');
}

/** Replaces the class index (e.g. in a browser, where the file is fetched by the caller). */
export function setImagenetClassIndex(json: Record<string, [string, string]>): void {
  const out: ImagenetClass[] = [];
  for (const [k, v] of Object.entries(json)) {
    const index = Number(k);
    if (!Number.isInteger(index) || !Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string')
      throw new Error(`ImageNet class index: entry ${JSON.stringify(k)} is not "index": ["wnid", "name"]`);
    out[index] = { index, wnid: v[0], name: v[1] };
  }
  for (let i = 0; i < out.length; i++) if (!out[i]) throw new Error(`ImageNet class index: class ${i} is missing`);
  table = out;
}

/** The 1000 classes in index order. */
export function imagenetClasses(): readonly ImagenetClass[] {
  if (!table) {
    const path = classIndexPath();
    let json: Record<string, [string, string]>;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: not a readable class index: ${(e as Error).message}`);
    }
    setImagenetClassIndex(json);
  }
  return table!;
}

/**
 * keras.applications.imagenet_utils.preprocess_input(x, mode='caffe') for one or more images
 * stored HWC in RGB order (0..255): each pixel becomes [B − 103.939, G − 116.779, R − 123.68].
 */
export function preprocessInput(rgb: ArrayLike<number>): Float32Array {
  if (rgb.length % 3 !== 0) throw new Error(`preprocessInput: ${rgb.length} values are not RGB triples`);
  const out = new Float32Array(rgb.length);
  const [mb, mg, mr] = CAFFE_MEAN_BGR;
  for (let i = 0; i < rgb.length; i += 3) {
    // Keras computes in float32: x[..., ::-1] then x[..., c] -= mean[c].
    out[i] = Math.fround(rgb[i + 2] - mb);
    out[i + 1] = Math.fround(rgb[i + 1] - mg);
    out[i + 2] = Math.fround(rgb[i] - mr);
  }
  return out;
}

/** The inverse: preprocessed BGR back to RGB 0..255 (unclamped). */
export function deprocessInput(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  const [mb, mg, mr] = CAFFE_MEAN_BGR;
  for (let i = 0; i < x.length; i += 3) {
    out[i] = x[i + 2] + mr;
    out[i + 1] = x[i + 1] + mg;
    out[i + 2] = x[i] + mb;
  }
  return out;
}

/** The `top` classes of one row of scores, best first (ties: lower index first). */
export function topK(scores: ArrayLike<number>, top: number, offset = 0, count = scores.length): { index: number; score: number }[] {
  const idx = Array.from({ length: count }, (_, i) => i);
  idx.sort((a, b) => scores[offset + b] - scores[offset + a] || a - b);
  return idx.slice(0, Math.min(top, count)).map((i) => ({ index: i, score: scores[offset + i] }));
}

/**
 * keras.applications.imagenet_utils.decode_predictions: for each row of `preds` ([N, 1000],
 * flat), the `top` classes with their scores, best first.
 */
export function decodePredictions(preds: ArrayLike<number>, top = 5): Prediction[][] {
  const classes = imagenetClasses();
  const c = classes.length;
  if (preds.length === 0 || preds.length % c !== 0)
    throw new Error(`decodePredictions expects a batch of ${c}-class predictions (shape [N, ${c}]); got ${preds.length} values`);
  const out: Prediction[][] = [];
  for (let row = 0; row < preds.length / c; row++)
    out.push(topK(preds, top, row * c, c).map(({ index, score }) => ({ ...classes[index], probability: score })));
  return out;
}

/** Keras' decode_predictions printout: `1. tabby (n02123045): 0.5421`. */
export function formatPredictions(p: Prediction[]): string[] {
  return p.map((q, i) => `${i + 1}. ${q.name} (${q.wnid}, class ${q.index}): ${q.probability.toFixed(4)}`);
}

const norm = (s: string) => s.trim().toLowerCase().replace(/[\s-]+/g, '_');

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/** Up to `n` class names close to `query` (by substring, then by edit distance). */
export function closeClassNames(query: string, n = 5): string[] {
  const q = norm(query);
  const scored = imagenetClasses().map((c) => {
    const name = c.name.toLowerCase();
    const sub = name.includes(q) || (q.length >= 3 && q.includes(name));
    return { c, d: sub ? 0 : editDistance(q, name) };
  });
  scored.sort((a, b) => a.d - b.d || a.c.index - b.c.index);
  const limit = Math.max(2, Math.floor(q.length / 3));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const s of scored) {
    if (s.d > limit || out.length >= n) break;
    if (seen.has(s.c.name)) continue;
    seen.add(s.c.name);
    out.push(`${s.c.name} (${s.c.index})`);
  }
  return out;
}

/**
 * The class index of `query`: an integer 0..999, a Keras class name ('tabby', 'bull_mastiff';
 * case, spaces and dashes are forgiven) or a WordNet id ('n02123045').
 */
export function imagenetClassIndex(query: string | number): number {
  const classes = imagenetClasses();
  const s = String(query).trim();
  if (/^\d+$/.test(s)) {
    const i = Number(s);
    if (i >= classes.length) throw new Error(`class ${i} is outside 0..${classes.length - 1}`);
    return i;
  }
  const q = norm(s);
  const hits = classes.filter((c) => c.name.toLowerCase() === q || c.wnid === q);
  if (hits.length === 1) return hits[0].index;
  if (hits.length > 1)
    throw new Error(`class name '${s}' is ambiguous in the ImageNet index: ${hits.map((c) => `${c.index} (${c.wnid})`).join(', ')}; give the index`);
  const close = closeClassNames(s);
  throw new Error(`unknown ImageNet class '${s}'${close.length ? `; did you mean ${close.join(', ')}?` : ' (give a class name such as tabby, or an index 0..999)'}`);
}

/** How image pixels (0–255 RGB or grey) become model input: Keras' modes plus our MNIST ones. */
export type ImagePixels = 'caffe' | 'tf' | 'torch' | 'unit' | 'raw' | 'inverted';
export const IMAGE_PIXELS: ImagePixels[] = ['caffe', 'unit', 'raw', 'inverted', 'tf', 'torch'];

/** Keras' 'torch' mode (DenseNet; torchvision models): ImageNet RGB mean and std of x/255. */
export const TORCH_MEAN_RGB = [0.485, 0.456, 0.406] as const;
export const TORCH_STD_RGB = [0.229, 0.224, 0.225] as const;

/** 'caffe' is VGG16's preprocess_input, 'tf' x/127.5 − 1 (MobileNet, Xception), 'torch' (x/255 − mean)/std (DenseNet), 'unit' x/255. */
export function preprocessPixels(x: Float32Array, mode: ImagePixels, channels: number): Float32Array {
  switch (mode) {
    case 'caffe':
      if (channels !== 3) throw new Error(`'caffe' pixels need an RGB model; this one takes ${channels} channel${channels === 1 ? '' : 's'}`);
      return preprocessInput(x);
    case 'unit':
      return x.map((v) => v / 255);
    case 'inverted':
      return x.map((v) => 1 - v / 255);
    case 'tf':
      return x.map((v) => v / 127.5 - 1);
    case 'torch':
      if (channels !== 3) throw new Error(`'torch' pixels need an RGB model; this one takes ${channels} channel${channels === 1 ? '' : 's'}`);
      // As Keras in float32 (the constants too): x /= 255, then − mean[c], then / std[c].
      return x.map((v, i) => Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(TORCH_MEAN_RGB[i % 3])) / Math.fround(TORCH_STD_RGB[i % 3])));
    case 'raw':
      return x;
  }
}
