// One line per op file. Adding an op = one kernel file in kernels/ + one op file here + a line below.
export * from './create.ts';
export * from './unary.ts';
export * from './binary.ts';
export * from './reduce.ts';
export * from './shape.ts';
