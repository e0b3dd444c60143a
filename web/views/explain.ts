import type { App } from '../app.ts';
export function mount(root: HTMLElement, _app: App) {
  root.textContent = 'todo';
  return {};
}
