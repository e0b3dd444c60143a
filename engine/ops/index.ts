// One line per op file. Adding an op = one kernel file in kernels/ + one op file here + a line below.
export * from './create.ts';
export * from './unary.ts';
export * from './binary.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './softmax.ts';
export * from './dropout.ts';
export * from './loss.ts';
export * from './pooling.ts';
export * from './resize.ts';
export * from './layout.ts';
export * from './optim.ts';
export * from './matmul.ts';
export * from './conv2d.ts';
export * from './depthwise.ts';
export * from './batchnorm.ts';
export * from './checks.ts';
