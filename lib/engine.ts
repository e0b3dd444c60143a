/**
 * The tensor engine: the WebGPU device, tensors, memory scopes, reverse-mode autograd and ops.
 *
 * Start with `await init()`; every op then runs on that device. Tensors live on the GPU until
 * `await t.data()` brings their values back.
 *
 * @packageDocumentation
 */
// Listed one by one: the kernels' helpers behind the ops (their gradients, binding helpers) stay internal.
export {
  AnomalyError, detectAnomaly, Gpu, GpuError, LanternaError, Scope, ShapeError, Tensor, abs, adamOnnxStep, adamStep, add,
  affine, argmax, asyncTidy, avgPool2d, backward, batchNorm, binary, cast,
  categoricalCrossEntropy, concat, conv2d, dense, depthwiseConv2d, describeDevice, div, dropout,
  elu, empty, equal, exp, flatten, formatDevice, formatGraph, full, gelu, gemm, globalAvgPool, graphJson,
  gpu, grad, greaterEqual, hardSigmoid, hardSigmoidKeras2, hardSwish, init, isGradEnabled, keep,
  leakyRelu, less, listGraph, log, logSoftmax, matmul, max, maxPool2d, maximum, mean, min,
  minimum, mul, neg, noGrad, oneHot, ones, onesLike, pad, reduce, relu, relu6, reshape, resize,
  scalar, scale, scope, selu, sgdStep, shutdown, sigmoid, slice, softmax, softmaxCrossEntropy,
  softplus, softsign, sqrt, square, stridedSlice, sub, sum, swish, tanh, tensor, tidy,
  transpose, unary, zeros, zerosLike,
} from '../engine/index.ts';
export type {
  AdapterDescription, Limits, Counters, Profile, KernelTime, DType, Shape, TapeNode, GraphEntry,
  FormatGraphOptions, GraphJson, GraphJsonNode,
  DevicePlan, Settings, DeviceDescription, Padding, Conv2dOptions, DepthwiseOptions, PadMode,
  Reduction, SoftmaxCrossEntropyOptions, CategoricalCrossEntropyOptions, MatmulOptions,
  GemmOptions, AdamOptions, OnnxAdamOptions, SgdOptions, PoolPadding, PoolOptions,
  AvgPoolOptions, CoordMode, NearestMode, ResizeMode, ResizeOptions,
} from '../engine/index.ts';
export type { InitOptions } from '../engine/gpu.ts';
export type { GradHook, TypedArrayOf } from '../engine/tensor.ts';
export type { GradRule, GradOptions } from '../engine/autograd.ts';
export { vjp, jvp, hvp, jacobian, gradcheck, type GradcheckOptions, type GradcheckReport, type TensorFn } from '../engine/index.ts';
export type { UnaryOp, BinaryOp } from '../kernels/elementwise.ts';
export type { ReduceOp } from '../kernels/reduce.ts';
