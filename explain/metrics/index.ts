// Faithfulness metrics for saliency maps, each in its own file.
export { classScores, imageAt, salientOrder, auc, type InputImage } from './scores.ts';
export { deletion, insertion, type Curve, type CurveOptions } from './deletion.ts';
export { road, noisyLinearImpute, type RoadOptions, type RoadResult } from './road.ts';
export { confidenceChange, minMaxUnit, type ConfidenceResult } from './confidence.ts';
export { pointingGame, type Box } from './pointing.ts';
export { spearman, ssim, ranks, pearson } from './similarity.ts';
export { randomizationCascade, cascadeLayers, type CascadeResult, type CascadeStep, type MapsAt } from './randomization.ts';
