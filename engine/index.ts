// The engine's public surface: device, tensors, scopes, autograd and ops.

import { setAutogradHelpers, setGraphExporters } from './autograd.ts';
import { graphDot, graphJson } from './graph_export.ts';
import { add } from './ops/binary.ts';
import { onesLike, zerosLike } from './ops/create.ts';

setAutogradHelpers({ add, onesLike, zerosLike });
setGraphExporters({ dot: graphDot, json: graphJson });

export { init, gpu, shutdown } from './context.ts';
export { Gpu, type AdapterDescription, type Limits, type Counters } from './gpu.ts';
export type { Profile, KernelTime } from './profile.ts';
export { Tensor, tensor, scalar, empty, view, readAll, type DType, type Shape } from './tensor.ts';
export { tidy, keep, scope, asyncTidy, followsAwait, Scope } from './scope.ts';
export { backward, grad, noGrad, isGradEnabled, listGraph, formatGraph, type TapeNode, type GraphEntry, type GradOptions, type FormatGraphOptions } from './autograd.ts';
export { graphJson, type GraphJson, type GraphJsonNode } from './graph_export.ts';
export { vjp, jvp, hvp, jacobian, gradcheck, type TensorFn, type GradcheckOptions, type GradcheckReport } from './functional.ts';
export { LanternaError, ShapeError, GpuError } from './errors.ts';
export { detectAnomaly, AnomalyError } from './anomaly.ts';
export * from './ops/index.ts';
export type { DevicePlan, Settings } from '../kernels/plan.ts';
export { describeDevice, formatDevice, type DeviceDescription } from './info.ts';
