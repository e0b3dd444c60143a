// The class-activation methods by the names pytorch-grad-cam's command line uses, for a
// `--method NAME` option: name → constructor.

import type { Model } from '../nn/model.ts';
import { AblationCam } from './ablation_cam.ts';
import { Cam } from './cam.ts';
import type { CamMethod } from './cam_base.ts';
import { EigenCam } from './eigen_cam.ts';
import { EigenGradCam } from './eigen_grad_cam.ts';
import { FullGrad } from './full_grad.ts';
import { GradCam } from './grad_cam.ts';
import { GradCamPlusPlus } from './grad_cam_plusplus.ts';
import { HiResCam } from './hires_cam.ts';
import { LayerCam } from './layer_cam.ts';
import type { BatchOptions } from './perturbation.ts';
import { ScoreCam } from './score_cam.ts';
import { XGradCam } from './xgrad_cam.ts';

/** Options every method's constructor takes (the batch options only matter to Score- and Ablation-CAM). */
export interface CamMethodOptions extends BatchOptions {
  /** For a model with several outputs, the one explained when a request names none. */
  output?: number | string;
}

/** A method's constructor. */
export type CamMethodClass = new (model: Model, o?: CamMethodOptions) => CamMethod;

/** Every method by its pytorch-grad-cam name. */
export const CAM_METHODS = {
  gradcam: GradCam,
  'gradcam++': GradCamPlusPlus,
  xgradcam: XGradCam,
  hirescam: HiResCam,
  layercam: LayerCam,
  scorecam: ScoreCam,
  ablationcam: AblationCam,
  eigencam: EigenCam,
  eigengradcam: EigenGradCam,
  fullgrad: FullGrad,
  cam: Cam,
} as const satisfies Record<string, CamMethodClass>;

/** A name of CAM_METHODS. */
export type CamMethodName = keyof typeof CAM_METHODS;

/** The method called `name` on `model`, or an error listing the names. */
export function camMethod(name: string, model: Model, o: CamMethodOptions = {}): CamMethod {
  const C = (CAM_METHODS as Record<string, CamMethodClass>)[name];
  if (!C) throw new Error(`unknown CAM method '${name}' (methods: ${Object.keys(CAM_METHODS).join(', ')})`);
  return new C(model, o);
}
