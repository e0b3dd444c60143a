/**
 * Layers, models (Keras' Sequential and functional API), training, and Keras / TF.js model files.
 *
 * @packageDocumentation
 */
export { Layer, MergeLayer, Weight, type CallContext, type ForwardHook, type ForwardPreHook } from '../nn/layer.ts';
export { Model, SymbolicTensor, input, apply, applyMany, type ForwardResult, type ForwardOptions } from '../nn/model.ts';
export { Sequential } from '../nn/sequential.ts';
export { InputLayer, Flatten, Reshape, Activation } from '../nn/layers/simple.ts';
export { Dense, type DenseOptions } from '../nn/layers/dense.ts';
export { Conv2D, type Conv2DOptions } from '../nn/layers/conv2d.ts';
export { DepthwiseConv2D, type DepthwiseConv2DOptions } from '../nn/layers/depthwise.ts';
export { SeparableConv2D, type SeparableConv2DOptions } from '../nn/layers/separable.ts';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, type Pool2DOptions } from '../nn/layers/pooling.ts';
export { Dropout, BatchNormalization } from '../nn/layers/regularization.ts';
export { LayerNormalization, Normalization, type LayerNormalizationOptions, type NormalizationOptions } from '../nn/layers/normalization.ts';
export { ReLU, LeakyReLU, ELU, Softmax, PReLU } from '../nn/layers/activation_layers.ts';
export { Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate } from '../nn/layers/merge.ts';
export { ZeroPadding2D, Cropping2D } from '../nn/layers/padding.ts';
export { UpSampling2D } from '../nn/layers/upsampling.ts';
export { Rescaling, Permute } from '../nn/layers/rescaling.ts';
export { SpatialDropout2D, GaussianNoise } from '../nn/layers/noise.ts';
export { Adam, SGD, zeroGrad, type Optimizer } from '../nn/optimizers.ts';
export { LOSSES, type LossName } from '../nn/losses.ts';
export { Trainer, evaluate, type Dataset, type CompileOptions, type FitOptions, type BatchInfo, type EpochInfo } from '../nn/fit.ts';
export {
  GradStatsPlan,
  GradStatsEpoch,
  type GradStatValues,
  type WeightGradStats,
  type LayerGradStats,
  type LayerGradSummary,
  type EpochGradStats,
  type GradStatsOptions,
} from '../nn/grad_stats.ts';
export { Rng } from '../nn/random.ts';
export { preset, PRESETS, type PresetName } from '../nn/presets.ts';
export { loadModel, saveModel, loadModelFromBytes, saveModelToBytes, type LoadedModel, type SaveOptions, type Preprocessing } from '../nn/model_file.ts';
export { loadApplication, type LoadedApplication } from '../nn/applications/load.ts';
export { applications, applicationByName, type Application } from '../nn/applications/index.ts';
export { loadMnist, type Mnist, type LoadMnistOptions, type MnistSplit, type PixelMode } from '../nn/data/mnist.ts';
export {
  CUE_KINDS, shortcutSet, shortcutTestSets, drawCue, cueMask, markMask, digitMask, shortcutRecordOf,
  type CueKind, type CueMode, type ShortcutOptions, type ShortcutSet, type ShortcutRecord,
} from '../nn/data/shortcut.ts';
