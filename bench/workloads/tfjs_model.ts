// The TF.js twin of one of our Sequential models, written with tfjs-core ops only (no
// tf.layers): the same layers, the same weights (copied from ours), the same layouts (NHWC,
// HWIO kernels, [in, out] dense kernels — Keras' and TF.js's own). Conv and dense use TF.js's
// fused ops (bias and relu in the kernel), as tf.layers itself does.

import type { Model } from '../../nn/model.ts';

export interface TfjsModel {
  /** Trainable variables, in our model's trainableWeights order. */
  vars: any[];
  /** Logits when the last layer is Dense(softmax) (as our forward's `logits`), else the output. */
  forward(x: any): { logits: any; output: any };
  /** Index of the layer named `name` in the model. */
  layerIndex(name: string): number;
  /** The output of layer `upto` (inclusive). */
  head(x: any, upto: number): any;
  /** Layers `from`… to the end, on `h` (the output of layer from − 1). */
  tail(h: any, from: number): { logits: any; output: any };
  dispose(): void;
}

const FUSABLE = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

/** Builds the TF.js twin, copying the current weights (one readback per weight). */
export async function tfjsTwin(tf: any, model: Model, trainable = true): Promise<TfjsModel> {
  const vars: any[] = [];
  const steps: ((h: any) => any)[] = [];
  let logitsAt = -1;
  const copy = async (w: { value: { data(): Promise<ArrayLike<number>> }; shape: number[] }) => {
    const v = tf.variable(tf.tensor(Float32Array.from(await w.value.data()), w.shape), trainable);
    vars.push(v);
    return v;
  };
  const last = model.layers.length - 1;
  for (const [i, layer] of model.layers.entries()) {
    const l = layer as any;
    switch (l.className) {
      case 'Conv2D': {
        const k = await copy(l.weights[0]);
        const b = l.useBias ? await copy(l.weights[1]) : undefined;
        const act = l.activation as string;
        const fused = FUSABLE.has(act) ? act : 'linear';
        steps.push((h) => {
          const y = tf.fused.conv2d({ x: h, filter: k, bias: b, strides: l.strides, pad: l.padding, activation: fused });
          return fused === act ? y : applyActivation(tf, act, y);
        });
        break;
      }
      case 'Dense': {
        const k = await copy(l.weights[0]);
        const b = l.useBias ? await copy(l.weights[1]) : undefined;
        const act = l.activation as string;
        if (i === last && act === 'softmax') {
          logitsAt = i;
          steps.push((h) => tf.fused.matMul({ a: h, b: k, bias: b }));
        } else {
          const fused = FUSABLE.has(act) ? act : 'linear';
          steps.push((h) => {
            const y = tf.fused.matMul({ a: h, b: k, bias: b, activation: fused });
            return fused === act ? y : applyActivation(tf, act, y);
          });
        }
        break;
      }
      case 'MaxPooling2D':
        steps.push((h) => tf.maxPool(h, l.poolSize, l.strides, l.padding));
        break;
      case 'AveragePooling2D':
        steps.push((h) => tf.avgPool(h, l.poolSize, l.strides, l.padding));
        break;
      case 'GlobalAveragePooling2D':
        steps.push((h) => tf.mean(h, [1, 2]));
        break;
      case 'GlobalMaxPooling2D':
        steps.push((h) => tf.max(h, [1, 2]));
        break;
      case 'Flatten':
        steps.push((h) => tf.reshape(h, [h.shape[0], -1]));
        break;
      case 'Activation':
        steps.push((h) => applyActivation(tf, l.fn, h));
        break;
      case 'Dropout':
        steps.push((h) => h); // inference and the benchmark's training step: identity (no dropout in cam1/cam2)
        break;
      default:
        throw new Error(`bench: no TF.js twin for layer class ${l.className} ('${l.name}')`);
    }
  }
  const tail = (x: any, from: number) => {
    let h = x;
    let logits: any = null;
    for (let i = from; i < steps.length; i++) {
      h = steps[i](h);
      if (i === logitsAt) {
        logits = h;
        h = tf.softmax(h);
      }
    }
    return { logits: logits ?? h, output: h };
  };
  return {
    vars,
    forward: (x) => tail(x, 0),
    layerIndex(name) {
      const i = model.layers.findIndex((l) => l.name === name);
      if (i < 0) throw new Error(`bench: model '${model.name}' has no layer '${name}'`);
      return i;
    },
    head(x, upto) {
      let h = x;
      for (let i = 0; i <= upto; i++) h = steps[i](h);
      return h;
    },
    tail,
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

function applyActivation(tf: any, name: string, x: any): any {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      return tf.elu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    default:
      throw new Error(`bench: no TF.js twin for activation '${name}'`);
  }
}
