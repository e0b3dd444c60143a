// Gradients: tensors on the GPU, reverse-mode autograd, a gradient hook, the recorded graph,
// and a check of the engine's gradient against central finite differences.
import * as L from 'lanterna';

await L.init();
const xs = [0.5, -1.2, 2.0];
const x = L.keep(L.tensor(xs, [3]).requireGrad());
const f = (t) => L.sum(L.mul(L.tanh(t), t)); // f(x) = Σ tanh(xᵢ)·xᵢ

x.onGrad((g) => console.log('hook: the gradient reaching x has shape', g.shape));
L.tidy(() => {
  const y = f(x);
  console.log(L.formatGraph(y));
  L.backward(y);
});
const engine = await x.grad.data();

const h = 1e-3;
const value = (v) => v.reduce((s, a) => s + Math.tanh(a) * a, 0);
const numeric = xs.map((_, i) => (value(xs.map((a, j) => a + (i === j ? h : 0))) - value(xs.map((a, j) => a - (i === j ? h : 0)))) / (2 * h));
const worst = Math.max(...numeric.map((n, i) => Math.abs(n - engine[i])));
console.log('df/dx', Array.from(engine, (v) => v.toFixed(5)).join(' '), `(finite differences agree to ${worst.toExponential(1)})`);
if (!(worst < 1e-3)) throw new Error('gradient check failed');
L.shutdown();
