// Dead ReLUs: a unit whose pre-activation is negative for every input outputs 0 and gets no
// gradient, so nothing brings it back. Steps too large push many weights and biases that far.
// Two copies of one MLP (same initial weights) take 20 SGD steps on one batch, at a sane learning
// rate (0.5) and at one far too high (8); the share of hidden units that output 0 on the whole
// batch is counted (the layers' outputs captured by name), and the second copy then gets 20 more
// steps at the sane rate: its dead units stay dead.
import * as L from 'lanterna';

await L.init();
const rng = new L.Rng(3);
const [N, D, H, C] = [256, 20, 64, 10];
const xs = rng.uniform(N * D, -1, 1);
const teacher = rng.uniform(D * C, -1, 1);
const ys = Array.from({ length: N }, (_, n) => {
  const s = Array.from({ length: C }, (_, c) => xs.slice(n * D, n * D + D).reduce((a, v, d) => a + v * teacher[d * C + c], 0));
  return s.indexOf(Math.max(...s));
});
const x = L.keep(L.tensor(xs, [N, D]));
const labels = L.keep(L.tensor(ys, [N], 'int32'));
const hidden = ['dense', 'dense_1'];

function mlp() {
  const m = new L.Sequential('mlp', 5); // same seed: the same initial weights for both runs
  m.add(new L.InputLayer([D]));
  m.add(new L.Dense({ units: H, activation: 'relu' }));
  m.add(new L.Dense({ units: H, activation: 'relu' }));
  m.add(new L.Dense({ units: C }));
  return m.build();
}

/** Share of hidden units that output 0 for every row of the batch, and the loss. */
async function deadShare(model) {
  return L.asyncTidy(async (s) => {
    const fwd = s.run(() => L.noGrad(() => model.forward(x, { training: false }, hidden)));
    const loss = s.run(() => L.noGrad(() => L.softmaxCrossEntropy(fwd.output, labels)));
    let dead = 0;
    for (const name of hidden) {
      const a = await fwd.captured.get(name).data();
      for (let u = 0; u < H; u++) {
        let alive = false;
        for (let n = 0; n < N && !alive; n++) alive = a[n * H + u] > 0;
        if (!alive) dead++;
      }
    }
    return { dead: dead / (hidden.length * H), loss: await loss.item() };
  });
}

function steps(model, lr, n = 20) {
  const sgd = new L.SGD(lr);
  for (let i = 0; i < n; i++)
    L.tidy(() => {
      const weights = model.trainableWeights;
      const grads = L.grad(L.softmaxCrossEntropy(model.forward(x, { training: true }).output, labels), weights.map((w) => w.value));
      sgd.apply(weights, grads);
    });
}

const pct = (v) => `${(100 * v).toFixed(1)}%`;
const show = (r) => `${pct(r.dead)} dead (loss ${r.loss.toFixed(3)})`;
for (const lr of [0.5, 8]) {
  const model = mlp();
  const before = await deadShare(model);
  steps(model, lr);
  const after = await deadShare(model);
  console.log(`lr ${lr}: before ${show(before)}; after 20 steps ${show(after)}`);
  if (lr > 1) {
    // Back to a sane rate: the dead units get no gradient, so they stay dead.
    steps(model, 0.5);
    console.log(`  then 20 steps at lr 0.5: ${show(await deadShare(model))}`);
  }
  model.dispose();
}
L.shutdown();
