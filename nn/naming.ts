/** Keras' naming.to_snake_case, which names layers and Keras 3 weight groups: 'MaxPooling2D' → 'max_pooling2d'. */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
