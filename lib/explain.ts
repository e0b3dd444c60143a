/**
 * What a network looks at: CAM and Grad-CAM through the engine's own backward pass, images read
 * and preprocessed as Keras does, heatmaps and overlays.
 *
 * @packageDocumentation
 */
export { CamMethod, type CamMap, type CamRequest, type CamContext, type ScoreOf, type Upsample } from '../explain/cam_base.ts';
export { Cam } from '../explain/cam.ts';
export { GradCam } from '../explain/grad_cam.ts';
export { defaultCamLayer, convLayers, spatialLayers } from '../explain/layers.ts';
export { decodeImage, readImage, loadImg, encodeImage, writeImage, ImageDecodeError, type DecodedImage, type LoadImgOptions, type LoadedImg } from '../explain/image_io.ts';
export { overlayHeatmap, resizeBilinear, sideBySide, type OverlayOptions } from '../explain/image_ops.ts';
export type { RgbImage } from '../explain/grid.ts';
export { encodePng, writePng } from '../explain/png.ts';
export { COLORMAPS, colormapByName, colorize, type ColormapName } from '../explain/colormap.ts';
export { preprocessPixels, preprocessInput, decodePredictions, imagenetClasses, imagenetClassIndex, type ImagePixels, type Prediction, type ImagenetClass } from '../nn/applications/imagenet.ts';
