declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Template tag with #if/#elif/#else/#endif over template values. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
