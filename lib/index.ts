/**
 * Lanterna: what a convolutional network looks at. A WebGPU tensor engine with reverse-mode
 * autograd, layers and training, Keras and TF.js model files, CAM and Grad-CAM.
 *
 * Everything is also reachable by area: `lanterna/engine`, `lanterna/nn`, `lanterna/explain`.
 *
 * @packageDocumentation
 */
export * from './engine.ts';
export * from './nn.ts';
export * from './explain.ts';
