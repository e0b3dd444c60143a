// The browser app: its views (Draw, Train, Explain an image, Audit, Graph) over the library's engine, nn and
// explain code, all on the page's WebGPU device. Built and served by `npm run web`.

import * as E from '../engine/index.ts';
import { App } from './app.ts';
import { Alert, tabs } from './ui.ts';

const status = document.getElementById('gpu-status')!;
const panels = ['view-draw', 'view-train', 'view-explain', 'view-audit', 'view-graph'].map((id) => document.getElementById(id)!);

type View = { shown?(): void };
const loaders: (() => Promise<{ mount(root: HTMLElement, app: App): View }>)[] = [
  () => import('./views/draw.ts'),
  () => import('./views/train.ts'),
  () => import('./views/explain.ts'),
  () => import('./views/audit.ts'),
  () => import('./views/graph.ts'),
];

async function start(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    const a = new Alert();
    a.show('This browser has no WebGPU (navigator.gpu is missing), and everything here runs on WebGPU in the page. Use a recent Chrome, Edge or Safari, or enable WebGPU (chrome://flags/#enable-unsafe-webgpu).');
    status.replaceChildren(a.el);
    document.body.dataset.ready = 'no-webgpu';
    return;
  }
  let info = '';
  try {
    const g = await E.init();
    const d = g.adapterInfo;
    info = `WebGPU: ${[d.vendor, d.architecture, d.device, d.description].filter(Boolean).join(' · ') || 'adapter ready'}`;
    status.textContent = info;
  } catch (e) {
    const a = new Alert();
    a.show(`WebGPU is present but no device could be created: ${(e as Error).message}`);
    status.replaceChildren(a.el);
    document.body.dataset.ready = 'no-adapter';
    return;
  }
  const app = new App();
  const views: (View | null)[] = panels.map(() => null);
  const show = async (i: number) => {
    if (!views[i]) {
      try {
        const m = await loaders[i]();
        views[i] = m.mount(panels[i], app);
      } catch (e) {
        const a = new Alert();
        a.show(e);
        panels[i].append(a.el);
        return;
      }
    }
    views[i]!.shown?.();
  };
  tabs(['tab-draw', 'tab-train', 'tab-explain', 'tab-audit', 'tab-graph'].map((id) => document.getElementById(id) as HTMLButtonElement), (i) => void show(i));
  await show(0);
  document.body.dataset.ready = 'yes';
}

void start();
