#!/usr/bin/python3
"""Golden Grad-CAM values for test/vgg16.test.ts, from an independent implementation (PyTorch).

1. Writes test/golden/tiny_vgg16.h5: a 'tiny VGG16' in the exact layout of Keras'
   vgg16_weights_tf_dim_ordering_tf_kernels.h5 (root attribute layer_names listing input_1, the
   13 convs, 5 pools, flatten, fc1, fc2, predictions; one group per layer holding its datasets
   directly, <layer>_W_1:0 (HWIO / [in, out]) and <layer>_b_1:0, listed in the group's
   weight_names; empty weight_names for weightless layers), with Keras' layer names but fewer
   channels: filters per block WIDTHS, fc units UNITS, CLASSES classes, input SIZE×SIZE×3.
   Weights: He-normal from numpy's RandomState(SEED), biases N(0, 0.05²), stored as float32;
   the predictions kernel is then scaled so that the logits' standard deviation is 2 (an
   unscaled network saturates its softmax).
2. Runs VGG16's forward pass in PyTorch (float64, NCHW; Keras' Flatten order is NHWC, so the
   activations are permuted back before flattening) on IMAGES fixed inputs, and Grad-CAM
   (Selvaraju et al. eq. 1-2: alpha = mean over H, W of d score / d A, map = ReLU(sum alpha A))
   for the layers and classes below, with the score taken after softmax and before it (logit).
3. Writes test/golden/gradcam_tiny_vgg16.json: the config, the inputs, probabilities, logits,
   the captured activations' shapes and the maps.

Run: /usr/bin/python3 scripts/reference/gradcam_golden.py   (Debian 12: python3-torch 1.13,
python3-h5py 3.7, python3-numpy 1.24). Both outputs are committed; the tests never run Python.
"""
import json
import os

import h5py
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'golden')
SEED = 20240614
WIDTHS = [4, 8, 8, 16, 16]
UNITS = 32
CLASSES = 10
SIZE = 64
IMAGES = 2
BLOCKS = [2, 2, 3, 3, 3]
LAYERS = ['block5_conv3', 'block4_conv3', 'block3_pool']
CLASS_SETS = [[None], [3, 7]]  # None: each image's top-1


def layer_list():
    out = []  # (name, kind, shapes)
    cin = 3
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            out.append(('block%d_conv%d' % (b + 1, i + 1), 'conv', [(3, 3, cin, WIDTHS[b]), (WIDTHS[b],)]))
            cin = WIDTHS[b]
        out.append(('block%d_pool' % (b + 1), 'pool', []))
    side = SIZE // 32
    out.append(('flatten', 'flatten', []))
    out.append(('fc1', 'dense', [(side * side * cin, UNITS), (UNITS,)]))
    out.append(('fc2', 'dense', [(UNITS, UNITS), (UNITS,)]))
    out.append(('predictions', 'dense', [(UNITS, CLASSES), (CLASSES,)]))
    return out


def make_weights():
    rng = np.random.RandomState(SEED)
    weights = {}
    for name, kind, shapes in layer_list():
        if not shapes:
            continue
        kshape = shapes[0]
        fan_in = int(np.prod(kshape[:-1]))
        k = (rng.standard_normal(kshape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(shapes[1]) * 0.05).astype(np.float32)
        weights[name] = (k, b)
    return weights


def calibrate(weights, x64):
    """Scales the predictions kernel so that the logits have a standard deviation of 2 on the
    inputs: with He weights and caffe-range inputs they are O(100) and the softmax saturates
    (its gradient underflows float32), which would test nothing."""
    with torch.no_grad():
        logits, _, _ = forward(x64, weights, [])
    k, b = weights['predictions']
    f = 2.0 / float(logits.std())
    weights['predictions'] = ((k * f).astype(np.float32), (b * f).astype(np.float32))


def write_h5(path, weights):
    names = ['input_1'] + [n for n, _, _ in layer_list()]
    with h5py.File(path, 'w') as f:
        f.attrs['layer_names'] = np.array([n.encode('utf8') for n in names])
        for n in names:
            g = f.create_group(n)
            if n in weights:
                wn = ['%s_W_1:0' % n, '%s_b_1:0' % n]
                g.attrs['weight_names'] = np.array([w.encode('utf8') for w in wn])
                g.create_dataset(wn[0], data=weights[n][0])
                g.create_dataset(wn[1], data=weights[n][1])
            else:
                g.attrs['weight_names'] = np.array([], dtype=np.float64)  # as Keras writes an empty list


def forward(x_nhwc, weights, capture):
    """x: float64 [N, H, W, 3]; returns logits, probs, {name: activation NCHW (requires grad)}."""
    h = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    caps = {}
    for name, kind, _ in layer_list():
        if kind == 'conv':
            k, b = weights[name]
            w = torch.from_numpy(k.astype(np.float64)).permute(3, 2, 0, 1)  # HWIO -> OIHW
            h = torch.relu(torch.nn.functional.conv2d(h, w, torch.from_numpy(b.astype(np.float64)), padding=1))
        elif kind == 'pool':
            h = torch.nn.functional.max_pool2d(h, 2, 2)
        elif kind == 'flatten':
            h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # Keras flattens NHWC
        else:
            k, b = weights[name]
            h = h @ torch.from_numpy(k.astype(np.float64)) + torch.from_numpy(b.astype(np.float64))
            if name != 'predictions':
                h = torch.relu(h)
        if name in capture:
            h = h.detach().requires_grad_(True)  # the layer's output A becomes a leaf: d score / d A
            caps[name] = h
    logits = h
    return logits, torch.softmax(logits, dim=1), caps


def main():
    os.makedirs(OUT, exist_ok=True)
    weights = make_weights()
    rng = np.random.RandomState(SEED + 1)
    # Inputs in the range preprocess_input (caffe) produces: pixels 0..255 minus the BGR means.
    # Rounded to 0.01 so that the JSON stays small; the float32 of each value is the input.
    x = np.round(rng.uniform(0, 255, (IMAGES, SIZE, SIZE, 3)) - np.array([103.939, 116.779, 123.68]), 2).astype(np.float32)
    x64 = x.astype(np.float64)
    calibrate(weights, x64)
    h5 = os.path.join(OUT, 'tiny_vgg16.h5')
    write_h5(h5, weights)
    doc = {
        'source': 'scripts/reference/gradcam_golden.py, PyTorch %s float64' % torch.__version__,
        'weights': 'tiny_vgg16.h5',
        'seed': SEED, 'widths': WIDTHS, 'units': UNITS, 'classes': CLASSES, 'size': SIZE,
        'input': [round(float(v), 2) for v in x.reshape(-1)],
        'cases': [],
    }
    with torch.no_grad():
        logits, probs, _ = forward(x64, weights, [])
    doc['logits'] = logits.reshape(-1).tolist()
    doc['probs'] = probs.reshape(-1).tolist()
    top1 = probs.argmax(1).tolist()
    for layer in LAYERS:
        for score in ['softmax', 'logit']:
            for cls in CLASS_SETS:
                classes = [top1[i] if cls[0] is None else cls[i % len(cls)] for i in range(IMAGES)]
                logits, probs, caps = forward(x64, weights, [layer])
                y = probs if score == 'softmax' else logits
                sel = y[torch.arange(IMAGES), torch.tensor(classes)].sum()
                sel.backward()
                A = caps[layer]
                alpha = A.grad.mean(dim=(2, 3), keepdim=True)
                cam = torch.relu((alpha * A).sum(1))  # [N, H, W]
                doc['cases'].append({
                    'layer': layer, 'score': score, 'classes': classes,
                    'h': int(cam.shape[1]), 'w': int(cam.shape[2]),
                    'maps': cam.detach().reshape(-1).tolist(),
                    'nonzero': int((cam > 0).sum()),
                })
    with open(os.path.join(OUT, 'gradcam_tiny_vgg16.json'), 'w') as fh:
        json.dump(doc, fh, separators=(',', ':'))
    print('wrote', h5, os.path.getsize(h5), 'bytes, and gradcam_tiny_vgg16.json; top-1', top1,
          'nonzero map cells', [c['nonzero'] for c in doc['cases']])


if __name__ == '__main__':
    main()
