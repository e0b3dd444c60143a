// Which layers an explanation can be taken at, shared by `lanterna gradcam` and the web app's
// Explain view: the spatial layers (output [H, W, C] with H·W > 1; a 1×1 map after pooling shows
// nothing), the spatial conv layers among them, and the default (the last conv block's output).
// Typed by the few fields read, so any model with `layers` (Sequential or a graph) fits.

export interface LayerInfo {
  readonly name: string;
  readonly className: string;
  readonly outputShape: readonly number[] | null;
}

export interface HasLayers {
  readonly layers: readonly LayerInfo[];
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);
/** Same-shape layers that finish a convolution's block (its normalisation and activation). */
const BLOCK_TAIL = new Set(['BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU']);

/** A map worth drawing: rank 3 with more than one position. The input itself is not a layer's work. */
const isSpatial = (l: LayerInfo) => l.className !== 'InputLayer' && l.outputShape?.length === 3 && l.outputShape[0] * l.outputShape[1] > 1;

/** Every layer with a spatial output, in model order. */
export function spatialLayers(model: HasLayers): string[] {
  return model.layers.filter(isSpatial).map((l) => l.name);
}

/** The spatial conv layers. */
export function convLayers(model: HasLayers): string[] {
  return model.layers.filter((l) => CONVS.has(l.className) && isSpatial(l)).map((l) => l.name);
}

/**
 * The default Grad-CAM layer: the last spatial conv layer's block output, so its normalisation
 * and activation are included as Keras' examples take them (VGG16: block5_conv3, whose ReLU is
 * inside; MobileNet: conv_pw_13 → conv_pw_13_bn → conv_pw_13_relu). Without a conv layer, the
 * last spatial layer; null when there is none.
 */
export function defaultCamLayer(model: HasLayers): string | null {
  const convs = convLayers(model);
  if (!convs.length) return spatialLayers(model).at(-1) ?? null;
  const layers = model.layers;
  let i = layers.findIndex((l) => l.name === convs[convs.length - 1]);
  const shape = layers[i].outputShape!.join();
  while (i + 1 < layers.length && BLOCK_TAIL.has(layers[i + 1].className) && layers[i + 1].outputShape?.join() === shape) i++;
  return layers[i].name;
}
