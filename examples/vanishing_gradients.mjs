// Vanishing gradients: the same 10-layer MLP with sigmoid and with ReLU hidden layers (Glorot
// weights, one batch, softmax cross-entropy), and the gradient norm of each layer's kernel.
// sigmoid' ≤ 1/4, so the signal reaching layer 1 shrinks by a factor at every layer below the
// loss; ReLU passes it through where a unit is active and the norms stay of one order.
import * as L from 'lanterna';

await L.init();
const depth = 10;
const width = 32;
const rng = new L.Rng(7);
const x = L.keep(L.tensor(rng.uniform(64 * width, -1, 1), [64, width]));
const labels = L.keep(L.tensor(Array.from({ length: 64 }, (_, i) => i % 10), [64], 'int32'));

async function layerNorms(activation) {
  const model = new L.Sequential(activation, 1);
  model.add(new L.InputLayer([width]));
  for (let i = 0; i < depth; i++) model.add(new L.Dense({ units: i === depth - 1 ? 10 : width, activation: i === depth - 1 ? 'linear' : activation }));
  model.build();
  const kernels = model.layers.map((l) => l.weights[0].value);
  const norms = await L.asyncTidy(async (s) => {
    const grads = s.run(() => L.grad(L.softmaxCrossEntropy(model.forward(x, { training: true }).output, labels), kernels));
    return Promise.all(grads.map(async (g) => Math.hypot(...(await g.data()))));
  });
  model.dispose();
  return norms;
}

const sigmoid = await layerNorms('sigmoid');
const relu = await layerNorms('relu');
console.log('layer   ‖∂loss/∂W‖ sigmoid   ‖∂loss/∂W‖ relu');
for (let i = 0; i < depth; i++) console.log(`${String(i + 1).padStart(5)}   ${sigmoid[i].toExponential(2).padStart(18)}   ${relu[i].toExponential(2).padStart(15)}`);
console.log(`first layer / last layer: sigmoid ${(sigmoid[0] / sigmoid[depth - 1]).toExponential(2)}, relu ${(relu[0] / relu[depth - 1]).toExponential(2)}`);
console.log(`first layer, sigmoid / relu: ${(sigmoid[0] / relu[0]).toExponential(2)}`);
L.shutdown();
