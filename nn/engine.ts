// nn's single import point for the engine, so layers read as plain code.
export * from '../engine/index.ts';
export { fmtShape as fmtShapeOf } from '../engine/errors.ts';
