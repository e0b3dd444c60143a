// Which layers an explanation can be taken at, shared by `lanterna gradcam` and the web app's
// Explain view: the spatial layers (output [H, W, C] with H·W > 1; a 1×1 map after pooling shows
// nothing), the spatial conv layers among them (those of nested models included), and the
// default (the last conv block's output).

import { isMergeLayer, type Layer } from '../nn/layer.ts';
import { Model } from '../nn/model.ts';

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);
/** Same-shape layers that finish a convolution's block (its normalisation and activation). */
const BLOCK_TAIL = new Set(['BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU']);

/** A map worth drawing: rank 3 with more than one position. The input itself is not a layer's work. */
const isSpatial = (l: Layer) => l.className !== 'InputLayer' && l.outputShape?.length === 3 && l.outputShape[0] * l.outputShape[1] > 1;

/** Every layer with a spatial output, in model order (nested models and their layers included). */
export function spatialLayers(model: Model): string[] {
  return model.allLayers().filter(isSpatial).map((l) => l.name);
}

/** The spatial conv layers. */
export function convLayers(model: Model): string[] {
  return model.allLayers().filter((l) => CONVS.has(l.className) && isSpatial(l)).map((l) => l.name);
}

/**
 * The default Grad-CAM layer: the last spatial conv layer's block output, so its normalisation
 * and activation are included as Keras' examples take them (VGG16: block5_conv3, whose ReLU is
 * inside; MobileNet: conv_pw_13 → conv_pw_13_bn → conv_pw_13_relu). In a graph whose head is
 * reached through a merge or a nested model (ResNet's conv5_block3_add → conv5_block3_out; a base
 * model used as a layer), the last spatial node before the head. Without a conv layer, the last
 * spatial layer; null when there is none.
 */
export function defaultCamLayer(model: Model): string | null {
  const convs = convLayers(model);
  if (!convs.length) return spatialLayers(model).at(-1) ?? null;
  const layers = model.allLayers();
  let i = layers.findIndex((l) => l.name === convs[convs.length - 1]);
  const shape = layers[i].outputShape!.join();
  while (i + 1 < layers.length && BLOCK_TAIL.has(layers[i + 1].className) && layers[i + 1].outputShape?.join() === shape) i++;
  const chain = model.tailChain();
  const last = [...chain].reverse().find((n) => isSpatial(model.nodes[n].layer));
  if (last === undefined) return layers[i].name;
  const tail = model.nodes[last].layer;
  const afterMerge = isMergeLayer(model.nodes[chain[0]].layer) && BLOCK_TAIL.has(tail.className);
  return isMergeLayer(tail) || tail instanceof Model || afterMerge ? model.nodeName(last) : layers[i].name;
}
