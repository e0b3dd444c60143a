/**
 * What a network looks at: CAM and Grad-CAM through the engine's own backward pass, images read
 * and preprocessed as Keras does, heatmaps and overlays.
 *
 * @packageDocumentation
 */
export { CamMethod, type CamMap, type CamRequest, type CamContext, type CamForward, type ScoreOf, type Upsample } from '../explain/cam_base.ts';
export { Cam } from '../explain/cam.ts';
export { GradCam } from '../explain/grad_cam.ts';
export { GradCamPlusPlus } from '../explain/grad_cam_plusplus.ts';
export { XGradCam } from '../explain/xgrad_cam.ts';
export { HiResCam } from '../explain/hires_cam.ts';
export { LayerCam } from '../explain/layer_cam.ts';
export { ScoreCam } from '../explain/score_cam.ts';
export { AblationCam } from '../explain/ablation_cam.ts';
export { EigenCam } from '../explain/eigen_cam.ts';
export { EigenGradCam } from '../explain/eigen_grad_cam.ts';
export { FullGrad } from '../explain/full_grad.ts';
export { CAM_METHODS, camMethod, type CamMethodName, type CamMethodClass, type CamMethodOptions } from '../explain/methods.ts';
export type { BatchOptions } from '../explain/perturbation.ts';
export * from '../explain/metrics/index.ts';
export {
  saliency, inputGradients, gradientTimesInput, smoothGrad, smoothGradSquared, varGrad, noiseTunnel, integratedGradients, makeBaseline,
  gaussianBlur, quadrature, guidedBackprop, guidedGradCam, withGuidedRelus, reluFamilyLayers, occlusion, reduceChannels, normalised,
  type Attribution, type AttributionRequest, type Reduction as ChannelReduction, type NoiseTunnelKind, type SmoothGradRequest,
  type IntegratedGradients, type IntegratedGradientsRequest, type Completeness, type Baseline, type BaselineOptions, type Quadrature,
  type GuidedGradCam, type GuidedGradCamRequest, type OcclusionRequest,
} from '../explain/attribution/index.ts';
export { EXPLAINERS, explainersFor, type Explainer, type Explanation, type ExplainRequest } from '../explain/explainers.ts';
export { defaultCamLayer, convLayers, spatialLayers } from '../explain/layers.ts';
export { decodeImage, readImage, loadImg, encodeImage, writeImage, ImageDecodeError, type DecodedImage, type LoadImgOptions, type LoadedImg } from '../explain/image_io.ts';
export { overlayHeatmap, resizeBilinear, sideBySide, type OverlayOptions } from '../explain/image_ops.ts';
export type { RgbImage } from '../explain/grid.ts';
export { encodePng, writePng } from '../explain/png.ts';
export { COLORMAPS, colormapByName, colorize, type ColormapName } from '../explain/colormap.ts';
export { preprocessPixels, preprocessInput, decodePredictions, imagenetClasses, imagenetClassIndex, type ImagePixels, type Prediction, type ImagenetClass } from '../nn/applications/imagenet.ts';
export {
  audit, verdict, fineLayer, cueBox, measureMap, areaOf, shortcutAuditData, auditReport,
  type Audit, type AuditData, type AuditOptions, type AuditScores, type MethodAudit, type CounterfactualResult,
  type Verdict, type VerdictOptions, type MapMeasure, type ShortcutAudit, type ReportRow, type ReportOptions,
} from '../explain/audit/index.ts';
