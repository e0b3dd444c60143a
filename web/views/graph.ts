// Graph: the autograd tape of one training step of cam1, drawn. A small batch of MNIST test
// digits (or, without the dataset, synthetic strokes) goes through the model with the tape on;
// the loss's recorded graph (engine/graph_export.ts) is laid out top-down (graph_layout.ts) as an
// SVG: one box per op (op, output shape, the norm of the gradient reaching it) and per leaf
// (parameters by name, the input, the labels). backward() runs with every op output retaining its
// gradient; values and gradients come back in one readback, so a click on a box (or Enter on it)
// shows the tensor's summary, its first values, the saved tensors and its gradient's histogram
// without touching the GPU again.

import * as E from '../../engine/index.ts';
import type { GraphJson, GraphJsonNode } from '../../engine/graph_export.ts';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, parseIdx } from '../../nn/data/idx.ts';
import { toFloat } from '../../nn/data/mnist.ts';
import { lossOf } from '../../nn/losses.ts';
import { preset } from '../../nn/presets.ts';
import type { App } from '../app.ts';
import { Alert, guarded, h } from '../ui.ts';
import { BOX, fmt, histogram, layoutGraph, summarise, type Layout, type Placed } from './graph_layout.ts';

const SVG = 'http://www.w3.org/2000/svg';
const BINS = 24;

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** What a click shows, read back once when the step ran. */
interface Seen {
  values: Float32Array | Int32Array;
  grad: Float32Array | null;
}

interface Step {
  graph: GraphJson;
  seen: Map<number, Seen>;
  loss: number;
  source: string;
}

/** A batch of `n` digits: the first MNIST test digits when the page serves them, else strokes. */
async function batchOf(n: number): Promise<{ pixels: Float32Array; labels: Int32Array; source: string }> {
  try {
    const get = async (name: string) => {
      const r = await fetch(`assets/mnist/${name}`);
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    };
    const imgs = parseIdx(await get('t10k-images-idx3-ubyte'), 't10k-images-idx3-ubyte', IDX_UBYTE_IMAGES);
    const labs = parseIdx(await get('t10k-labels-idx1-ubyte'), 't10k-labels-idx1-ubyte', IDX_UBYTE_LABELS);
    return { pixels: toFloat(imgs.data.subarray(0, n * 784), 'inverted'), labels: Int32Array.from(labs.data.subarray(0, n)), source: `the first ${n} MNIST test digits` };
  } catch {
    // Strokes: digit k is a bar at column 6 + 4k (the graph is the point, not the data).
    const pixels = new Float32Array(n * 784).fill(1);
    for (let k = 0; k < n; k++) for (let y = 4; y < 24; y++) pixels[k * 784 + y * 28 + 6 + 4 * k] = 0;
    return { pixels, labels: Int32Array.from({ length: n }, (_, k) => k), source: `${n} synthetic strokes (MNIST is not served)` };
  }
}

/** Forward + loss on the tape, backward with every op output retaining its gradient, one readback. */
async function runStep(batch: number): Promise<Step> {
  const { pixels, labels, source } = await batchOf(batch);
  const model = preset('cam1', 1);
  try {
    return await E.asyncTidy(async (sc) => {
      const { loss, tensors, graph } = sc.run(() => {
        const x = E.tensor(pixels, [batch, 28, 28, 1]);
        const y = E.tensor(labels, [batch], 'int32');
        const loss = lossOf('categorical_crossentropy', model.forward(x, { training: true }), y);
        const tensors = new Map<number, E.Tensor>();
        const stack = [loss];
        while (stack.length) {
          const t = stack.pop()!;
          if (tensors.has(t.id)) continue;
          tensors.set(t.id, t);
          if (t.node) stack.push(...t.node.inputs);
        }
        for (const t of tensors.values()) if (t.node && t !== loss) t.retainGrad();
        const graph = E.graphJson(loss);
        E.backward(loss);
        return { loss, tensors, graph };
      });
      const ids = [...tensors.keys()];
      const withGrad = ids.filter((id) => tensors.get(id)!.grad);
      const got = await E.readAll([loss, ...ids.map((id) => tensors.get(id)!), ...withGrad.map((id) => tensors.get(id)!.grad!)]);
      const seen = new Map<number, Seen>();
      ids.forEach((id, k) => seen.set(id, { values: got[1 + k], grad: null }));
      withGrad.forEach((id, k) => (seen.get(id)!.grad = got[1 + ids.length + k] as Float32Array));
      return { graph, seen, loss: got[0][0], source };
    });
  } finally {
    model.dispose();
  }
}

function title(n: GraphJsonNode): string {
  if (n.op !== 'leaf') return n.op;
  return n.name ?? (n.dtype === 'int32' ? 'labels' : 'input');
}

function shapeText(n: GraphJsonNode): string {
  return `${n.dtype}[${n.shape.join(',')}]`;
}

function drawGraph(layout: Layout, step: Step, onPick: (p: Placed, el: SVGGElement) => void): SVGSVGElement {
  const svg = s('svg', { id: 'graph-svg', width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'group', 'aria-label': `recorded graph: ${layout.nodes.length} tensors` });
  const marker = s('marker', { id: 'graph-arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  marker.append(s('path', { d: 'M0,0 L8,4 L0,8 z', fill: '#888' }));
  const defs = s('defs');
  defs.append(marker);
  svg.append(defs);
  for (const { from, to } of layout.edges) {
    const x1 = from.x + BOX.w / 2;
    const y1 = from.y + BOX.h;
    const x2 = to.x + BOX.w / 2;
    const y2 = to.y;
    const my = (y1 + y2) / 2;
    svg.append(s('path', { class: 'gedge', d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, fill: 'none', stroke: '#999', 'marker-end': 'url(#graph-arrow)' }));
  }
  for (const p of layout.nodes) {
    const n = p.node;
    const leaf = n.op === 'leaf';
    const g = s('g', { class: `gnode${leaf ? ' leaf' : ''}`, 'data-id': n.id, 'data-op': n.op, transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'button', 'aria-label': `${title(n)} ${shapeText(n)}` });
    const fill = leaf ? (n.requiresGrad ? '#dbe8ff' : '#f3f3f0') : n.id === step.graph.root ? '#ffedd5' : '#fff';
    g.append(s('rect', { width: BOX.w, height: BOX.h, rx: leaf ? 2 : 12, fill, stroke: leaf && !n.requiresGrad ? '#aaa' : '#555', 'stroke-dasharray': leaf && !n.requiresGrad ? '4 3' : 'none' }));
    g.append(s('text', { x: BOX.w / 2, y: 15, 'text-anchor': 'middle', 'font-weight': 600, 'font-size': 12 }, title(n)));
    g.append(s('text', { x: BOX.w / 2, y: 29, 'text-anchor': 'middle', 'font-size': 11, 'font-family': 'ui-monospace, monospace' }, shapeText(n)));
    const gr = step.seen.get(n.id)?.grad;
    if (gr) g.append(s('text', { x: BOX.w / 2, y: 41, 'text-anchor': 'middle', 'font-size': 10, fill: '#666' }, `‖grad‖ ${fmt(summarise(gr).norm)}`));
    const pick = () => onPick(p, g);
    g.addEventListener('click', pick);
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick();
      }
    });
    svg.append(g);
  }
  return svg;
}

function histogramSvg(v: Float32Array, id: string, label: string): SVGSVGElement {
  const W = 300;
  const H = 110;
  const { lo, hi, counts } = histogram(v, BINS);
  const top = Math.max(...counts, 1);
  const svg = s('svg', { id, width: W, height: H + 18, viewBox: `0 0 ${W} ${H + 18}`, role: 'img', 'aria-label': `${label}: ${v.length} values in ${BINS} bins from ${fmt(lo)} to ${fmt(hi)}` });
  const bw = W / BINS;
  counts.forEach((c, k) => {
    const bh = c ? Math.max(1, (c / top) * H) : 0;
    svg.append(s('rect', { class: 'hist-bar', x: k * bw + 0.5, y: H - bh, width: bw - 1, height: bh, fill: '#3b82f6', 'data-count': c }));
  });
  svg.append(s('line', { x1: 0, y1: H, x2: W, y2: H, stroke: '#999' }));
  svg.append(s('text', { x: 0, y: H + 14, 'font-size': 11 }, fmt(lo)));
  svg.append(s('text', { x: W, y: H + 14, 'font-size': 11, 'text-anchor': 'end' }, fmt(hi)));
  return svg;
}

function details(step: Step, n: GraphJsonNode): HTMLElement[] {
  const seen = step.seen.get(n.id)!;
  const v = summarise(seen.values);
  const first = Array.from(seen.values.subarray(0, 8), (x) => fmt(x)).join(', ');
  const byId = new Map(step.graph.nodes.map((m) => [m.id, m]));
  const out: HTMLElement[] = [
    h('h3', {}, `${title(n)} → ${shapeText(n)}`),
    h('div', { class: 'stats', id: 'graph-values' }, `values: min ${fmt(v.min)}  max ${fmt(v.max)}  mean ${fmt(v.mean)}  std ${fmt(v.std)}`, h('br'), `first: ${first}${seen.values.length > 8 ? ', …' : ''}`),
  ];
  if (n.inputs.length)
    out.push(h('div', { class: 'muted' }, `inputs: ${n.inputs.map((i) => { const m = byId.get(i)!; return `${title(m)} ${shapeText(m)}`; }).join(', ')}`));
  if (n.saved.length) out.push(h('div', { class: 'muted' }, `saved for backward: ${n.saved.map((sh) => `[${sh.join(',')}]`).join(', ')}`));
  if (seen.grad) {
    const g = summarise(seen.grad);
    let zeros = 0;
    for (const x of seen.grad) if (x === 0) zeros++;
    out.push(
      h('div', { class: 'stats', id: 'graph-grad' }, `gradient: ‖g‖ ${fmt(g.norm)}  min ${fmt(g.min)}  max ${fmt(g.max)}  mean ${fmt(g.mean)}`, h('br'), `${zeros} of ${g.count} exactly 0`),
      h('div', {}, histogramSvg(seen.grad, 'graph-grad-hist', `histogram of the gradient of ${title(n)}`)),
    );
  } else out.push(h('div', { class: 'muted', id: 'graph-grad' }, n.id === step.graph.root ? 'the root: its gradient is the seed, 1' : 'no gradient flows here (not a parameter, not computed from one)'));
  return out;
}

export function mount(root: HTMLElement, app: App) {
  const alert = new Alert();
  const batchSel = h('select', { id: 'graph-batch' }, ...[2, 3, 4].map((b) => h('option', { value: b, selected: b === 2 }, String(b))));
  const runBtn = h('button', { id: 'graph-run' }, 'Record one step');
  const info = h('div', { class: 'muted', id: 'graph-info' });
  // Inline styles: the view adds no rule to the shared style sheet.
  const canvas = h('div', { style: 'overflow-x: auto; max-width: 100%' });
  const side = h('div', { class: 'card', id: 'graph-details', 'aria-live': 'polite', style: 'flex: 1 1 320px; max-width: 420px' }, h('p', { class: 'muted' }, 'Click a box to see its values and its gradient.'));
  root.append(
    h('div', { class: 'controls' }, h('label', {}, 'cam1, batch ', batchSel), runBtn),
    alert.el,
    info,
    h('div', { class: 'row' }, h('div', { class: 'card' }, canvas), side),
  );
  let ran = false;

  async function record() {
    root.dataset.state = 'running';
    runBtn.disabled = true;
    await guarded(alert, () =>
      app.gpu(async () => {
        const step = await runStep(Number(batchSel.value));
        const layout = layoutGraph(step.graph);
        const ops = step.graph.nodes.filter((n) => n.op !== 'leaf').length;
        info.textContent = `one training step of cam1 on ${step.source}: loss ${fmt(step.loss)}; ${ops} recorded ops, ${step.graph.nodes.length - ops} leaves, ${step.graph.edges.length} edges`;
        let picked: SVGGElement | null = null;
        canvas.replaceChildren(
          drawGraph(layout, step, (p, el) => {
            picked?.querySelector('rect')!.setAttribute('stroke-width', '1');
            el.querySelector('rect')!.setAttribute('stroke-width', '3');
            picked = el;
            side.replaceChildren(...details(step, p.node));
            root.dataset.picked = String(p.node.id);
          }),
        );
        side.replaceChildren(h('p', { class: 'muted' }, 'Click a box to see its values and its gradient.'));
        root.dataset.ops = String(ops);
      }),
    );
    runBtn.disabled = false;
    root.dataset.state = 'done';
  }
  runBtn.addEventListener('click', () => void record());
  return {
    shown() {
      if (!ran) {
        ran = true;
        void record();
      }
    },
  };
}
