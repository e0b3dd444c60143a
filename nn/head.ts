// A classifier's head, found by walking back from the last layer: where its final softmax is
// (for the 'logit' score and the fused cross-entropy) and whether it ends in global average
// pooling and a linear classifier (for CAM). Works on a layer chain, so it serves Sequential and
// any graph model that ends in a chain.

import { hasPreActivation, type Layer, type Weight } from './layer.ts';

/** Layers that only change the shape, keeping the elements' order (row-major, as Keras). */
export const SHAPE_ONLY = new Set(['Reshape', 'Flatten']);
/** Layers that are the identity at inference (noise and dropout). */
export const INFERENCE_IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** The final softmax: layer `index` applies it, to its input ('input') or to its pre-activation. */
export interface SoftmaxSite {
  index: number;
  kind: 'input' | 'pre-activation';
}

const dims = (s: number[] | null) => s ?? [];
const onlyLastAxis = (s: number[]) => s.slice(0, -1).every((d) => d === 1);

/** An Activation('softmax') or a Softmax layer over the last axis. */
export function isSoftmaxLayer(l: Layer): boolean {
  const a = l as Layer & { fn?: unknown; axis?: unknown };
  if (l.className === 'Activation') return a.fn === 'softmax';
  if (l.className !== 'Softmax') return false;
  const axis = Array.isArray(a.axis) && a.axis.length === 1 ? a.axis[0] : a.axis;
  return axis === undefined || axis === -1 || axis === dims(l.inputShape).length;
}

/**
 * The layer applying the model's final softmax: the last layer, or one followed only by
 * shape-only layers (MobileNet: Activation('softmax') → Reshape(1000)). Null when there is none,
 * or when it acts on more than a class vector ([H, W, C] with H·W > 1: not one logit per class),
 * as the logits must be the output's elements before the softmax.
 */
export function finalSoftmax(layers: Layer[]): SoftmaxSite | null {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (isSoftmaxLayer(l)) return onlyLastAxis(dims(l.inputShape)) ? { index: i, kind: 'input' } : null;
    if (hasPreActivation(l) && l.activation === 'softmax') return onlyLastAxis(dims(l.outputShape)) ? { index: i, kind: 'pre-activation' } : null;
    if (!SHAPE_ONLY.has(l.className)) return null;
  }
  return null;
}

/** Why `finalSoftmax` found none, for one-line errors. */
export function noSoftmaxReason(modelName: string, layers: Layer[]): string {
  const tail = layers.slice(-3).map((l) => (hasPreActivation(l) ? `${l.className}(${l.activation})` : l.className === 'Activation' ? `Activation(${(l as Layer & { fn: string }).fn})` : l.className));
  return `model '${modelName}' has no final softmax over its classes (it ends in ${tail.join(' → ')}), so there is no pre-softmax logit: its output is already the score, use score 'softmax' (the output)`;
}

/** The CAM head: features → GAP → (shape-only / dropout)* → linear classifier [K, C] → (softmax, shape-only)*. */
export interface CamHead {
  /** Index of the GlobalAveragePooling2D layer; its input (layer gap − 1) is A. */
  gap: number;
  classifier: Layer;
  /** The classifier kernel: Dense [K, C] or Conv2D 1×1 [1, 1, K, C]. */
  kernel: Weight;
  k: number;
  c: number;
}

const passes = (l: Layer) => SHAPE_ONLY.has(l.className) || INFERENCE_IDENTITY.has(l.className);

/** The CAM head of `layers`, or the reason there is none (one line, naming the layer at fault). */
export function camHead(layers: Layer[]): CamHead | string {
  let i = layers.length - 1;
  while (i >= 0 && (passes(layers[i]) || isSoftmaxLayer(layers[i]))) i--;
  const cls = layers[i];
  if (!cls || (cls.className !== 'Dense' && cls.className !== 'Conv2D')) return `the last weighted layer is ${cls ? `${cls.className} '${cls.name}'` : 'missing'}, not a Dense or 1×1 Conv2D classifier`;
  if (hasPreActivation(cls) && cls.activation !== 'linear' && cls.activation !== 'softmax')
    return `classifier '${cls.name}' has activation ${cls.activation}; CAM needs a linear or softmax classifier`;
  const kernel = cls.weights[0];
  const c = kernel?.shape[kernel.shape.length - 1];
  const kIn = kernel?.shape[kernel.shape.length - 2];
  if (cls.className === 'Conv2D') {
    const conv = cls as Layer & { strides: number[]; groups?: number };
    const one = kernel.shape.length === 4 && kernel.shape[0] === 1 && kernel.shape[1] === 1 && conv.strides.every((s) => s === 1) && (conv.groups ?? 1) === 1;
    if (!one) return `classifier '${cls.name}' is a Conv2D with kernel [${kernel.shape}] and strides [${conv.strides}]; CAM needs a 1×1 convolution with stride 1 and one group`;
  }
  let g = i - 1;
  while (g >= 0 && passes(layers[g])) g--;
  const gap = layers[g];
  if (!gap || gap.className !== 'GlobalAveragePooling2D')
    return `'${cls.name}' is preceded by ${gap ? `${gap.className} '${gap.name}'` : 'nothing'}, not GlobalAveragePooling2D (with only Reshape/Flatten/Dropout between)`;
  if (g < 1) return `GlobalAveragePooling2D '${gap.name}' is the first layer: no feature layer to explain`;
  const k = dims(gap.inputShape)[2];
  const got = dims(cls.inputShape);
  if (kIn !== k || got.reduce((a, b) => a * b, 1) !== k)
    return `classifier '${cls.name}' takes [${got}] with kernel [${kernel.shape}], not the ${k} pooled channels of '${gap.name}'`;
  return { gap: g, classifier: cls, kernel, k, c };
}
