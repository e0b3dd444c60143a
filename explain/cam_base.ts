// The machinery every class-activation method shares (after pytorch-grad-cam's base class):
// forward with the chosen layer's activations A [N, H, W, K] captured, the target class of each
// image (given, or the top-1), the method's weighted activations (by default the channel weights
// α [N, K] times A), their sum over channels or (eigenSmooth) their first principal component,
// optional ReLU, upsampling, and (augSmooth) test-time augmentation. A method is a small subclass
// that overrides channelWeights(), or weighted() / map() / forward() where it needs more.

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { Model } from '../nn/model.ts';
import { finalSoftmax, noSoftmaxReason } from '../nn/head.ts';
import { augmentedMaps } from './aug_smooth.ts';
import { firstComponentMap } from './eigen.ts';

/**
 * Which score a gradient method differentiates: the softmax output of the target class (default, as
 * the lecture) or its logit, the final softmax's input (the Grad-CAM paper's choice).
 */
export type ScoreOf = 'softmax' | 'logit';

/** What one forward pass of an explanation captured. */
export interface CamForward {
  /** The layer whose activations are weighed (FullGrad: none, ''). */
  layer: string;
  /** Activations of that layer, [N, H, W, K]. */
  activations: Tensor;
  /** The model's output, [N, C] (probabilities for a softmax classifier). */
  output: Tensor;
  /** The final softmax's input, [N, C], or null when the model has none. */
  logits: Tensor | null;
}

/**
 * What a CAM method's channel weighting sees for one round of target classes, one per image (for
 * writing a method of your own).
 */
export interface CamContext {
  /** The model explained. */
  model: Model;
  /** The model input of this pass, [N, H, W, C]. */
  input: Tensor;
  /** The request being answered (options such as eigenSmooth, score, output). */
  request: CamRequest;
  /** The layer explained. */
  layer: string;
  /** Activations of the chosen layer, [N, H, W, K]. */
  activations: Tensor;
  /** Model output (probabilities for a softmax model), [N, C]. */
  output: Tensor;
  /** The input of the model's final softmax as [N, C] (nn/head.ts), else null. */
  logits: Tensor | null;
  /** One-hot of the target class of each image, [N, C]. */
  targets: Tensor;
  /** The explained score of every class, [N, C]: the output, or the logits for score 'logit'. */
  scores(): Tensor;
  /** ∂(score of the target class)/∂A, computed by the engine's backward pass. */
  gradients(): Tensor;
  /** ∂(score of the target class)/∂t for each of `ts` (intermediate tensors of this pass), one backward pass. */
  gradientsOf(ts: Tensor[]): Tensor[];
  /** Runs `fn` in the explanation's scope: what a method makes after an await must be made here. */
  run<T>(fn: () => T): T;
}

/** One class activation map: an image's map for one target class, with the model's output. */
export interface CamMap {
  /** Position of the image in the batch. */
  image: number;
  /** The target class. */
  classIndex: number;
  /** The model's output for the target class (a probability for a softmax model). */
  probability: number;
  /** The raw map at the layer's resolution (after ReLU where the method applies it). */
  raw: Float32Array;
  /** Height of `raw` (the layer's resolution). */
  h: number;
  /** Width of `raw`. */
  w: number;
  /** The map resized on the GPU to `upsample.size`, when asked. */
  upsampled?: Float32Array;
  /** The model's output row for this image (probabilities for a softmax model). */
  output: Float32Array;
}

/** Resize the maps on the GPU to an image size. */
export interface Upsample {
  /** Output [H, W]. */
  size: [number, number];
  /** nearest: cv2.INTER_NEAREST (as the lecture); bilinear: half-pixel centres (cv2.INTER_LINEAR). */
  mode: 'nearest' | 'bilinear';
}

/** What `CamMethod.explain` is asked for: layer, target classes, score, upsampling. */
export interface CamRequest {
  /** Layer whose activations are weighted; defaults to the method's choice. */
  layer?: string;
  /**
   * Target class per image (length N), or several per image (N lists of equal length: one
   * forward pass, one backward pass per class), or null for each image's top-1.
   */
  classes?: number[] | number[][] | null;
  /** Which score is differentiated by gradient methods (default: softmax, as the lecture). */
  score?: ScoreOf;
  /** Resize each map to an image size on the GPU (`CamMap.upsampled`). */
  upsample?: Upsample;
  /** For a model with several outputs: which one is explained (index or output layer name). */
  output?: number | string;
  /**
   * Test-time augmentation (pytorch-grad-cam's aug_smooth): the input flipped or not × scaled by
   * 1, 1.1 and 0.9; each map min–max normalised, un-flipped and averaged (explain/aug_smooth.ts).
   */
  augSmooth?: boolean;
  /** The first principal component of the weighted activations instead of their sum (eigen_smooth). */
  eigenSmooth?: boolean;
  /** Filled in with milliseconds: forward (to the output's readback), and the whole call. */
  timings?: { forwardMs?: number; totalMs?: number };
}

/**
 * A class activation method (CAM, Grad-CAM): forward with the chosen layer's activations A [N, H,
 * W, K] captured, a target class per image, channel weights α [N, K], the map Σ_k α_k·A_k (then
 * ReLU where the method applies it) and optional upsampling. Subclass it and override
 * `channelWeights` for a method of your own.
 */
export abstract class CamMethod {
  /** The method's name ('CAM', 'Grad-CAM'), used in error messages. */
  abstract readonly name: string;
  /** Whether negative evidence is cut (Grad-CAM: yes; CAM as in the lecture: no). */
  protected abstract readonly relu: boolean;
  /** Gradient-free methods run their forward pass without recording a backward tape. */
  protected readonly usesGradients: boolean = true;

  /** For a model with several outputs, the one explained when a request names none. */
  output: number | string | undefined;

  /**
   * @param model - The model explained.
   *
   * @param o - `output`: for a model with several outputs, the one explained by default.
   */
  constructor(readonly model: Model, o: { output?: number | string } = {}) {
    this.output = o.output;
  }

  /** α [N, K]: how much each channel of A counts for each image's target class. */
  protected channelWeights(_ctx: CamContext): Tensor {
    throw new Error(`${this.name} weighs no channels (it overrides weighted() or map())`);
  }

  /** The activations as the method weighs them, [N, H, W, K]: by default A·α. */
  protected weighted(ctx: CamContext): Tensor {
    const [n, , , k] = ctx.activations.shape;
    return E.mul(ctx.activations, E.reshape(this.channelWeights(ctx), [n, 1, 1, k]));
  }

  /** The map before ReLU, [N, H, W]: Σ_k of weighted(), or its first principal component. */
  protected async map(ctx: CamContext): Promise<Tensor> {
    const w = ctx.run(() => this.weighted(ctx));
    return ctx.request.eigenSmooth ? firstComponentMap(w, ctx.run) : ctx.run(() => E.sum(w, 3));
  }

  /** The forward pass with the request's layer captured (checked to be a spatial map). */
  protected forward(x: Tensor, req: CamRequest): CamForward {
    const layer = req.layer ?? this.defaultLayer();
    const shape = this.model.getLayer(layer).outputShape;
    if (!shape || shape.length !== 3) throw new Error(`layer '${layer}' has output [${shape}], not a spatial map [H, W, K]`);
    const run = () => this.model.forward(x, { training: false, watch: this.usesGradients }, [layer], { output: this.outputIndex(req) });
    const fwd = this.usesGradients ? run() : E.noGrad(run);
    return { layer, activations: fwd.captured.get(layer)!, output: fwd.output, logits: fwd.logits };
  }

  /** The output explained: the only one, or the one `req.output` names (else an error listing them). */
  outputIndex(req: CamRequest = {}): number {
    const output = req.output ?? this.output;
    if (output === undefined && this.model.outputRefs.length > 1)
      throw new Error(`${this.name}: model '${this.model.name}' has ${this.model.outputRefs.length} outputs (${this.model.outputNames.join(', ')}); choose the one to explain`);
    return this.model.outputIndex(output);
  }

  /** The layer used when none is named: the last 4-D (spatial) layer output. */
  defaultLayer(): string {
    const layers = this.model.layers;
    for (let i = layers.length - 1; i >= 0; i--) if (layers[i].outputShape?.length === 3) return layers[i].name;
    throw new Error(`model '${this.model.name}' has no layer with a spatial output to explain`);
  }

  /**
   * The maps for a batch of preprocessed images `x` [N, H, W, C]: one per image and target class
   * (image-major), read back to the host. Tensors are freed on return, and the call may overlap
   * other GPU work.
   *
   * Throws when the layer is not spatial, a class is out of range, the class lists are uneven, or
   * score 'logit' is asked of a model without a final softmax.
   */
  async explain(x: Tensor, req: CamRequest = {}): Promise<CamMap[]> {
    if (req.augSmooth) return augmentedMaps((xa, r) => this.explain(xa, r), x, req);
    const score = req.score ?? 'softmax';
    const noLogits = () => `${this.name}: score 'logit': ${noSoftmaxReason(this.model.name, this.model.tailLayers(this.outputIndex(req)))}`;
    // Refused before any computation: the logit is the final softmax's input, and there is none.
    if (score === 'logit' && !finalSoftmax(this.model.tailLayers(this.outputIndex(req)))) throw new Error(noLogits());
    const t0 = performance.now();
    // An explicit scope, not tidy(async …): the tensors are made in s.run (synchronous parts),
    // so work that runs while this one awaits (another explanation, training) never lands in
    // it, in any runtime.
    return E.asyncTidy(async (s) => {
      const fwd = s.run(() => this.forward(x, req));
      const probs = (await fwd.output.data()) as Float32Array;
      if (req.timings) req.timings.forwardMs = performance.now() - t0;
      const n = x.shape[0];
      const c = fwd.output.shape[1];
      const lists = (req.classes ?? Array.from({ length: n }, (_, i) => argmaxRow(probs, i, c))).map((k) => (Array.isArray(k) ? k : [k]));
      if (lists.length !== n) throw new Error(`${this.name}: ${lists.length} target classes for ${n} images`);
      const rounds = lists[0]?.length ?? 0;
      if (lists.some((l) => l.length !== rounds)) throw new Error(`${this.name}: give the same number of target classes for every image`);
      for (const k of lists.flat()) if (!(Number.isInteger(k) && k >= 0 && k < c)) throw new Error(`${this.name}: class ${k} is outside 0..${c - 1}`);
      const [, h, w] = fwd.activations.shape;
      const up = req.upsample;
      const scores = () => {
        const y = score === 'logit' ? fwd.logits : fwd.output;
        if (!y) throw new Error(noLogits());
        return y;
      };
      // One backward pass per round r, for the r-th class of every image.
      const perRound: { cam: Tensor; big: Tensor | null }[] = [];
      for (let r = 0; r < rounds; r++) {
        const targets = s.run(() => E.oneHot(E.tensor(Int32Array.from(lists.map((l) => l[r])), [n], 'int32'), c));
        const ctx: CamContext = {
          model: this.model, input: x, request: req, layer: fwd.layer, activations: fwd.activations, output: fwd.output, logits: fwd.logits, targets,
          scores,
          gradientsOf: (ts) => E.grad(scores(), ts, targets),
          gradients: () => E.grad(scores(), [fwd.activations], targets)[0],
          run: (fn) => s.run(fn),
        };
        const m = await this.map(ctx);
        perRound.push(
          s.run(() => {
            const cam = this.relu ? E.relu(m) : m;
            const big = up
              ? E.resize(E.reshape(cam, [n, h, w, 1]), up.size, up.mode === 'nearest' ? { mode: 'nearest', coord: 'asymmetric', nearestMode: 'floor' } : { mode: 'bilinear', coord: 'half_pixel' })
              : null;
            return { cam, big };
          }),
        );
      }
      const read = await Promise.all(perRound.map(async ({ cam, big }) => [(await cam.data()) as Float32Array, big ? ((await big.data()) as Float32Array) : undefined] as const));
      const hw = up ? up.size[0] * up.size[1] : 0;
      const maps: CamMap[] = [];
      lists.forEach((l, i) =>
        l.forEach((cls, r) => {
          const [raw, upsampled] = read[r];
          maps.push({
            image: i,
            classIndex: cls,
            probability: probs[i * c + cls],
            raw: raw.slice(i * h * w, (i + 1) * h * w),
            h,
            w,
            upsampled: upsampled ? upsampled.slice(i * hw, (i + 1) * hw) : undefined,
            output: probs.slice(i * c, (i + 1) * c),
          });
        }),
      );
      if (req.timings) req.timings.totalMs = performance.now() - t0;
      return maps;
    });
  }
}

function argmaxRow(p: Float32Array, row: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (p[row * c + j] > p[row * c + best]) best = j;
  return best;
}
