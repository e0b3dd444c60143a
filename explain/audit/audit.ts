// The shortcut audit: does a model's decision rest on a suspected cue? For each method asked, the
// map of the predicted class of every image, resized to the image (bilinear, on the GPU), measured
// against the cue region and the object's own pixels (measures.ts): the share of its mass on each,
// and whether its peak lies on the cue (the pointing game with a mask for a box, no tolerance). A
// counterfactual, when the caller can change the cue alone (swap it for another class's, or blank
// the region), says how often the prediction follows the change: the test that still works when
// the cue is everywhere and a map has nowhere to point.

import * as E from '../../nn/engine.ts';
import type { Model } from '../../nn/model.ts';
import { camMethod, type CamMethodOptions } from '../methods.ts';
import { areaOf, measureMap } from './measures.ts';
import { cueBox, fineLayer } from './fine_layer.ts';

/** What an audit looks at: N preprocessed images, their labels and masks, and optionally the same images with the cue changed. */
export interface AuditData {
  /** N·H·W·C model inputs, preprocessed, image after image (NHWC). */
  x: Float32Array;
  /** N labels (class indices). */
  labels: ArrayLike<number>;
  /** The cue region of image i, H·W (1 inside); one mask for all images when the cue sits still. */
  cue: (i: number) => ArrayLike<number>;
  /** The object's own pixels in image i, H·W (1 inside), when known (a digit's ink); else null. */
  object?: (i: number) => ArrayLike<number> | null;
  /**
   * The same images with the cue alone changed (NHWC as `x`), and, when it was swapped for another
   * class's cue, that class per image.
   */
  counterfactual?: { x: Float32Array; cues?: ArrayLike<number> };
}

/** Options of `audit`. */
export interface AuditOptions {
  /**
   * Names from CAM_METHODS, each optionally with the layer it explains (`layercam@max_pooling2d_1`),
   * or `@fine` for the coarsest layer whose cells fit in the cue (fine_layer.ts); default
   * `['cam', 'gradcam']`.
   */
  methods?: string[];
  /** Layer explained by every method not given one with `@` (default: each method's own choice; FullGrad has none). */
  layer?: string;
  /** Images per explanation; default 100 (Score-CAM and Ablation-CAM split their copies within a memory budget themselves). */
  batchSize?: number;
  /** Passed to the methods' constructors (Score-CAM's and Ablation-CAM's batches). */
  methodOptions?: CamMethodOptions;
  /** Keep each image's map at the image's size (for a report); default false. */
  keepMaps?: boolean;
  /** Called after each batch of each method, for progress. */
  onProgress?: (method: string, done: number, total: number) => void;
}

/** The measures of one group of images (all of them, or one class). */
export interface AuditScores {
  /** Images in the group. */
  n: number;
  /** Share of images whose map peaks on the cue (flat maps count as misses). */
  pointing: number;
  /** Mean share of the map's mass on the cue region (over the maps that are not flat). */
  cueMass: number;
  /** Mean share of the map's mass on the object's pixels outside the cue (NaN when no object mask). */
  objectMass: number;
  /** Images whose map is constant (no peak, no mass). */
  flat: number;
}

/** One method's audit. */
export interface MethodAudit extends AuditScores {
  /** The method as asked: a CAM_METHODS name, with `@layer` when one was given (`gradcam@conv2d_1`). */
  method: string;
  /** The method's display name, with the layer when one was chosen ('Grad-CAM', 'LayerCAM (max_pooling2d_1)'). */
  name: string;
  /** The layer explained ('' for FullGrad, which has none). */
  layer: string;
  /** The map's size at that layer, [h, w]. */
  mapSize: [number, number];
  /** The same measures per class of the label (classes absent from the data left out). */
  perClass: ({ class: number } & AuditScores)[];
  /** Per image: the share of mass on the cue (NaN for a flat map). */
  imageCueMass: Float32Array;
  /** Per image: 1 when the map's peak lies on the cue. */
  imageHit: Uint8Array;
  /** Per image, with `keepMaps`: the map at the image's size. */
  maps?: Float32Array[];
  /** Seconds the method took. */
  seconds: number;
}

/** What the counterfactual found. */
export interface CounterfactualResult {
  /** Share of images whose prediction changes when the cue alone changes. */
  flipRate: number;
  /** Share whose new prediction is the class of the cue put in (NaN when no classes were given). */
  followsCue: number;
  /** Accuracy with the cue changed. */
  accuracy: number;
  /** Per image, the prediction with the cue changed. */
  predictions: Int32Array;
}

/** An audit of one model on one set of images. */
export interface Audit {
  /** Images audited. */
  n: number;
  /** Mean share of the image the cue region covers. */
  cueArea: number;
  /** Mean share of the image the object's pixels outside the cue cover (NaN when unknown). */
  objectArea: number;
  /** Accuracy on the images as given (cue in place). */
  accuracy: number;
  /** Per image, the label. */
  labels: Int32Array;
  /** Per image, the predicted class. */
  predictions: Int32Array;
  /** One entry per method, in the order asked. */
  methods: MethodAudit[];
  /** The counterfactual, when the data has one. */
  counterfactual: CounterfactualResult | null;
}

/**
 * Audits `model` on `data`: each method's maps of the predicted classes measured against the cue
 * and the object (mass shares, pointing game; overall and per class), the accuracy, and the
 * counterfactual's flip rate when `data.counterfactual` is given. Throws when the sizes of the
 * inputs, labels and masks disagree, or on a method name CAM_METHODS does not have.
 */
export async function audit(model: Model, data: AuditData, o: AuditOptions = {}): Promise<Audit> {
  const shape = model.inputShape;
  if (!shape || shape.length !== 3) throw new Error(`audit: model '${model.name}' takes [${shape}], not images [H, W, C]`);
  const [H, W, C] = shape;
  const per = H * W * C;
  const n = data.x.length / per;
  if (!Number.isInteger(n) || n < 1) throw new Error(`audit: ${data.x.length} input values are not whole images of [${shape}]`);
  if (data.labels.length !== n) throw new Error(`audit: ${n} images but ${data.labels.length} labels`);
  if (data.counterfactual && data.counterfactual.x.length !== data.x.length)
    throw new Error(`audit: the counterfactual holds ${data.counterfactual.x.length / per} images, the data ${n}`);
  const methods = o.methods ?? ['cam', 'gradcam'];
  const batch = o.batchSize ?? 100;
  const cues = Array.from({ length: n }, (_, i) => data.cue(i));
  const objects = Array.from({ length: n }, (_, i) => data.object?.(i) ?? null);
  cues.forEach((m, i) => {
    if (m.length !== H * W) throw new Error(`audit: the cue mask of image ${i} has ${m.length} values, not ${H}×${W}`);
  });
  const objectsOutsideCue = objects.map((ob, i) => (ob ? Uint8Array.from(ob, (v, j) => (v && !cues[i][j] ? 1 : 0)) : null));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

  const fineFor = () => {
    const box = cueBox(cues, H, W);
    const layer = box && fineLayer(model, box, H, W);
    if (!layer) throw new Error(`audit: '@fine' asks for a layer whose cells fit in the cue (${box ? `${box[0]}×${box[1]} px` : 'empty'}), and model '${model.name}' has none`);
    return layer;
  };
  const predictions = argmaxRows(await model.predict(data.x), n);
  const results: MethodAudit[] = [];
  for (const spec of methods) {
    const t0 = performance.now();
    const [name, asked] = spec.split('@');
    const at = asked === 'fine' ? fineFor() : asked;
    const chosen = name === 'fullgrad' ? undefined : (at ?? o.layer);
    const method = camMethod(name, model, o.methodOptions);
    const imageCueMass = new Float32Array(n);
    const imageObjectMass = new Float32Array(n);
    const imageHit = new Uint8Array(n);
    const imageFlat = new Uint8Array(n);
    const maps: Float32Array[] = [];
    let layer = '';
    let mapSize: [number, number] = [0, 0];
    for (let s = 0; s < n; s += batch) {
      const b = Math.min(batch, n - s);
      const got = await E.asyncTidy((sc) =>
        method.explain(
          sc.run(() => E.tensor(data.x.subarray(s * per, (s + b) * per), [b, H, W, C])),
          // The predicted class, given explicitly so that every method explains the same decision.
          { layer: chosen, classes: Array.from(predictions.subarray(s, s + b)), upsample: { size: [H, W], mode: 'bilinear' } },
        ),
      );
      if (s === 0) {
        layer = name === 'fullgrad' ? '' : (chosen ?? method.defaultLayer());
        mapSize = [got[0].h, got[0].w];
      }
      got.forEach((m, k) => {
        const i = s + k;
        const r = measureMap(m.upsampled!, cues[i], objectsOutsideCue[i]);
        imageCueMass[i] = r.cueMass;
        imageObjectMass[i] = r.objectMass;
        imageHit[i] = r.hit ? 1 : 0;
        imageFlat[i] = r.flat ? 1 : 0;
        if (o.keepMaps) maps.push(m.upsampled!);
      });
      o.onProgress?.(spec, s + b, n);
    }
    const scores = (idx: number[]): AuditScores => {
      const live = idx.filter((i) => !imageFlat[i]);
      return {
        n: idx.length,
        pointing: idx.length ? idx.reduce((a, i) => a + imageHit[i], 0) / idx.length : NaN,
        cueMass: mean(live.map((i) => imageCueMass[i])),
        objectMass: objectsOutsideCue.some((x) => x) ? mean(live.map((i) => imageObjectMass[i])) : NaN,
        flat: idx.length - live.length,
      };
    };
    const all = Array.from({ length: n }, (_, i) => i);
    const classes = [...new Set(Array.from(data.labels))].sort((a, b) => a - b);
    results.push({
      method: spec,
      name: chosen ? `${method.name} (${chosen})` : method.name,
      layer,
      mapSize,
      ...scores(all),
      perClass: classes.map((c) => ({ class: c, ...scores(all.filter((i) => data.labels[i] === c)) })),
      imageCueMass,
      imageHit,
      maps: o.keepMaps ? maps : undefined,
      seconds: (performance.now() - t0) / 1000,
    });
  }

  let counterfactual: CounterfactualResult | null = null;
  if (data.counterfactual) {
    const cf = argmaxRows(await model.predict(data.counterfactual.x), n);
    const cueOf = data.counterfactual.cues;
    let flips = 0;
    let follows = 0;
    let right = 0;
    for (let i = 0; i < n; i++) {
      if (cf[i] !== predictions[i]) flips++;
      if (cueOf && cf[i] === cueOf[i]) follows++;
      if (cf[i] === data.labels[i]) right++;
    }
    counterfactual = { flipRate: flips / n, followsCue: cueOf ? follows / n : NaN, accuracy: right / n, predictions: cf };
  }
  let right = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === data.labels[i]) right++;
  const objectAreas = objectsOutsideCue.flatMap((x) => (x ? [areaOf(x)] : []));
  return {
    n,
    cueArea: mean(cues.map(areaOf)),
    objectArea: objectAreas.length ? mean(objectAreas) : NaN,
    accuracy: right / n,
    labels: Int32Array.from(data.labels),
    predictions,
    methods: results,
    counterfactual,
  };
}

/** Index of the largest value of each of the n rows of `p` (n·C values). */
export function argmaxRows(p: Float32Array, n: number): Int32Array {
  const c = p.length / n;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[i * c + j] > p[i * c + best]) best = j;
    out[i] = best;
  }
  return out;
}
