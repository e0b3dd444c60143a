// Pixel attributions on the engine's own gradients, one method per file, all against the Model
// interface (Sequential and graph models alike). Each returns the per-channel attributions
// `raw` [N, H, W, C] and a map [N, H, W] reduced over the channels as its method says
// (common.ts: Reduction; `reduce` overrides it):
//
//   saliency              |∂S/∂x|                        max-abs   saliency.ts
//   gradientTimesInput    x ⊙ ∂S/∂x                      sum       grad_x_input.ts
//   smoothGrad            mean of noisy gradients        max-abs   smoothgrad.ts
//   smoothGradSquared     mean of their squares          max       smoothgrad.ts
//   varGrad               their variance                 max       smoothgrad.ts
//   integratedGradients   path integral × (x − x′)       sum       integrated_gradients.ts
//   guidedBackprop        gradient through guided ReLUs  max-abs   guided_backprop.ts
//   guidedGradCam         guided gradient × Grad-CAM     max-abs   guided_grad_cam.ts
//   occlusion             averaged score drop            mean      occlusion.ts

export { reduceChannels, normalised, type Attribution, type AttributionRequest, type Reduction, type ScoreOf } from './common.ts';
export { saliency, inputGradients } from './saliency.ts';
export { gradientTimesInput } from './grad_x_input.ts';
export { smoothGrad, smoothGradSquared, varGrad, noiseTunnel, type NoiseTunnelKind, type SmoothGradRequest } from './smoothgrad.ts';
export { integratedGradients, type IntegratedGradients, type IntegratedGradientsRequest, type Completeness } from './integrated_gradients.ts';
export { makeBaseline, gaussianBlur, gaussianKernel, type Baseline, type BaselineOptions } from './baselines.ts';
export { quadrature, type Quadrature } from './quadrature.ts';
export { guidedBackprop } from './guided_backprop.ts';
export { guidedGradCam, type GuidedGradCam, type GuidedGradCamRequest } from './guided_grad_cam.ts';
export { isReluFamily, reluFamilyLayers, withGuidedRelus, guidedHook } from './guided_relu.ts';
export { occlusion, type OcclusionRequest } from './occlusion.ts';
export { gaussian, uniform } from './noise.ts';
export { targetOf, targetClasses, rowsPerPass, type Target } from './score.ts';
