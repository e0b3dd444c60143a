// A differentiable Grad-CAM: the map is built from the gradient of the class score, so its own
// gradient with respect to the input image is a second derivative. The first grad() runs with
// { createGraph: true }, the map (weights α = spatial mean of ∂p/∂A, then relu(Σ α·A)) is made of
// recorded ops, and a second grad() gives ∂(Σ map)/∂image: which pixels would make the
// explanation brighter (what attacks on explanations and "explanation regularisers" optimise).
// Checked on a few pixels against central differences of a float64 host copy of the network.
import * as L from 'lanterna';

const here = (f) => new URL(f, import.meta.url).pathname;
const shipped = (f) => new URL(f, import.meta.resolve('lanterna/package.json')).pathname;

await L.init();
const { model, preprocessing } = await L.loadModel(shipped('models/cam2.h5')); // 4 conv (relu) → GAP → dense softmax
const img = L.loadImg(here('digit7.png'), { targetSize: [28, 28], colorMode: 'grayscale' });
const x0 = L.preprocessPixels(img.pixels, preprocessing?.pixels ?? 'unit', 1);
const layer = L.defaultCamLayer(model); // conv2d_3, 28×28×128
const probs = await L.tidy(() => model.forward(L.tensor(x0, [1, 28, 28, 1])).output).data();
// The runner-up class ("what in this 7 looks like that class?"): the top class has p ≈ 1, where
// ∂p/∂logits = p·(δ − p) is lost to float32 rounding of 1 − p.
const top = probs.indexOf(Math.max(...probs));
const cls = probs.indexOf(Math.max(...probs.map((p, i) => (i === top ? -1 : p))));

const [S, dS] = await L.asyncTidy(async (s) => {
  const out = s.run(() => {
    const x = L.tensor(x0, [1, 28, 28, 1]).requireGrad();
    const fwd = model.forward(x, { training: false }, [layer]);
    const A = fwd.captured.get(layer);
    const score = L.sum(L.mul(fwd.output, L.oneHot(L.tensor([cls], [1], 'int32'), 10))); // p_cls
    const [dA] = L.grad(score, [A], undefined, { createGraph: true });
    const alpha = L.globalAvgPool(dA, true); // [1, 1, 1, 128]
    const map = L.relu(L.sum(L.mul(A, alpha), 3)); // [1, 28, 28]
    const total = L.sum(map);
    return [total, L.grad(total, [x])[0]];
  });
  return Promise.all([out[0].item(), out[1].data()]);
});

// ---- the same in float64 on the host, for central differences
const weights = new Map();
for (const l of model.layers) weights.set(l.name, await Promise.all(l.weights.map((w) => w.read())));
function conv3x3(x, C, w, b, O) {
  const y = new Float64Array(28 * 28 * O);
  for (let i = 0; i < 28; i++)
    for (let j = 0; j < 28; j++) {
      const o0 = (i * 28 + j) * O;
      for (let o = 0; o < O; o++) y[o0 + o] = b[o];
      for (let kh = 0; kh < 3; kh++) {
        const ii = i + kh - 1;
        if (ii < 0 || ii >= 28) continue;
        for (let kw = 0; kw < 3; kw++) {
          const jj = j + kw - 1;
          if (jj < 0 || jj >= 28) continue;
          for (let c = 0; c < C; c++) {
            const v = x[(ii * 28 + jj) * C + c];
            if (v === 0) continue;
            const w0 = ((kh * 3 + kw) * C + c) * O;
            for (let o = 0; o < O; o++) y[o0 + o] += v * w[w0 + o];
          }
        }
      }
      for (let o = 0; o < O; o++) y[o0 + o] = Math.max(y[o0 + o], 0);
    }
  return y;
}
function mapSum64(x) {
  let a = Float64Array.from(x);
  let C = 1;
  for (const [name, O] of [['conv2d', 16], ['conv2d_1', 32], ['conv2d_2', 64], ['conv2d_3', 128]]) {
    const [w, b] = weights.get(name);
    a = conv3x3(a, C, w, b, O);
    C = O;
  }
  const g = new Float64Array(C);
  for (let p = 0; p < 784; p++) for (let k = 0; k < C; k++) g[k] += a[p * C + k] / 784;
  const [W, b] = weights.get('dense');
  const z = Array.from({ length: 10 }, (_, j) => g.reduce((t, gk, k) => t + gk * W[k * 10 + j], b[j]));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const p = e.map((v) => v / e.reduce((t, u) => t + u, 0));
  // α_k = mean over the map of ∂p_cls/∂A_k = p_cls·(W[k, cls] − Σ_j p_j·W[k, j]) / 784
  const alpha = Array.from({ length: C }, (_, k) => (p[cls] * (W[k * 10 + cls] - p.reduce((t, pj, j) => t + pj * W[k * 10 + j], 0))) / 784);
  let total = 0;
  for (let q = 0; q < 784; q++) total += Math.max(alpha.reduce((t, ak, k) => t + ak * a[q * C + k], 0), 0);
  return total;
}

const h = 1e-6; // float64 leaves room; a larger step can cross a relu kink of some unit
const order = Array.from(dS.keys()).sort((i, j) => Math.abs(dS[j]) - Math.abs(dS[i]));
const pixels = [...order.slice(0, 3), order[100], order[300]];
console.log(`predicted ${top} (p = ${probs[top].toFixed(4)}); runner-up ${cls} (p = ${probs[cls].toExponential(2)}), its Grad-CAM at '${layer}': Σ map = ${S.toExponential(4)} (float64 host: ${mapSum64(x0).toExponential(4)})`);
console.log('pixel (row, col)   ∂Σmap/∂pixel engine   central difference   relative error');
let worst = 0;
for (const q of pixels) {
  const up = Float64Array.from(x0);
  const dn = Float64Array.from(x0);
  up[q] += h;
  dn[q] -= h;
  const fd = (mapSum64(up) - mapSum64(dn)) / (2 * h);
  const rel = Math.abs(dS[q] - fd) / Math.max(Math.abs(fd), 1e-12);
  worst = Math.max(worst, rel);
  console.log(`(${String(Math.floor(q / 28)).padStart(2)}, ${String(q % 28).padStart(2)})           ${dS[q].toExponential(4).padStart(20)}   ${fd.toExponential(4).padStart(18)}   ${rel.toExponential(1).padStart(14)}`);
}
console.log(`worst relative error ${worst.toExponential(1)} over ${pixels.length} pixels`);
L.shutdown();
