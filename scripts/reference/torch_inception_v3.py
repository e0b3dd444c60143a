#!/usr/bin/python3
"""Golden InceptionV3 logits and Grad-CAM maps from an independent PyTorch forward pass.

Written from keras_applications/inception_v3.py; the weights are read with h5py from a file in the
layout of the official inception_v3_weights_tf_dim_ordering_tf_kernels.h5 (Keras 2.0 save_weights:
root attributes layer_names, backend, keras_version; groups conv2d_N / batch_normalization_N /
predictions; datasets conv2d_N/kernel:0, batch_normalization_N/{beta, moving_mean,
moving_variance}:0 one group deeper, no gamma as conv2d_bn uses scale=False). conv2d_bn's
automatic names are counted here in the order inception_v3.py creates them. Layer semantics:
keras_app_torch.py (TF 'same' padding; average pools exclude the padding; BN eps 1e-3).

The weights file is written by our writer with seed 2 (scripts/reference/app_weights.mjs) unless a
path is given; its SHA-256 goes into the golden. Inputs: keras_app_torch.inputs (seeds 21, 22 at
139x139, where mixed10 is 3x3 and mixed7 7x7; seed 23 at 75x75, the minimum; seed 24 at 299x299).
Run in float64 (the golden) and float32 (reported).

Run: /usr/bin/python3 scripts/reference/torch_inception_v3.py [weights.h5]
Writes test/golden/inception_v3/torch_inception_v3.json. Tests never run Python.
"""
import shutil
import sys

import h5py
import numpy as np
import torch

from keras_app_torch import ROOT, Keras, gradcam_logit, inputs, nested, weights_file, weights_sha256, write_golden

CAM_LAYERS = ['mixed10', 'mixed7']


def forward(f, x_nhwc, dtype):
    K = Keras(dtype)
    n = [0]

    def cbr(x, filters, rows, cols, padding='same', strides=1):
        n[0] += 1
        c, b = f'conv2d_{n[0]}', f'batch_normalization_{n[0]}'
        k = f[c][f'{c}/kernel:0'][()]
        if list(k.shape[:2]) != [rows, cols] or k.shape[3] != filters:
            raise ValueError(f'{c}: kernel {k.shape}, inception_v3.py makes {rows}x{cols} -> {filters}')
        if 'gamma:0' in f[b][b]:
            raise ValueError(f'{b}: has gamma; conv2d_bn uses scale=False')
        y = K.conv(x, k, strides, padding)
        y = K.bn(y, f[b][f'{b}/beta:0'][()], f[b][f'{b}/moving_mean:0'][()], f[b][f'{b}/moving_variance:0'][()])
        return torch.relu(y)

    cat = lambda xs: torch.cat(xs, dim=1)
    acts = {}
    x = torch.tensor(x_nhwc, dtype=dtype, requires_grad=True).permute(0, 3, 1, 2)
    x = cbr(x, 32, 3, 3, 'valid', 2)
    x = cbr(x, 32, 3, 3, 'valid')
    x = cbr(x, 64, 3, 3)
    x = K.maxpool(x, 3, 2, 'valid')
    x = cbr(x, 80, 1, 1, 'valid')
    x = cbr(x, 192, 3, 3, 'valid')
    x = K.maxpool(x, 3, 2, 'valid')
    for i, pool in enumerate([32, 64, 64]):  # mixed0-2
        b1 = cbr(x, 64, 1, 1)
        b5 = cbr(cbr(x, 48, 1, 1), 64, 5, 5)
        b3 = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        bp = cbr(K.avgpool_same3(x), pool, 1, 1)
        x = cat([b1, b5, b3, bp])
    b3 = cbr(x, 384, 3, 3, 'valid', 2)  # mixed3
    bd = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2)
    x = cat([b3, bd, K.maxpool(x, 3, 2, 'valid')])
    for i, c in enumerate([128, 160, 160, 192]):  # mixed4-7
        b1 = cbr(x, 192, 1, 1)
        b7 = cbr(cbr(cbr(x, c, 1, 1), c, 1, 7), 192, 7, 1)
        bd = cbr(cbr(cbr(cbr(cbr(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7)
        bp = cbr(K.avgpool_same3(x), 192, 1, 1)
        x = cat([b1, b7, bd, bp])
        acts[f'mixed{4 + i}'] = x
    b3 = cbr(cbr(x, 192, 1, 1), 320, 3, 3, 'valid', 2)  # mixed8
    b7 = cbr(cbr(cbr(cbr(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2)
    x = cat([b3, b7, K.maxpool(x, 3, 2, 'valid')])
    for i in range(2):  # mixed9, mixed10
        b1 = cbr(x, 320, 1, 1)
        b3 = cbr(x, 384, 1, 1)
        b3 = cat([cbr(b3, 384, 1, 3), cbr(b3, 384, 3, 1)])
        bd = cbr(cbr(x, 448, 1, 1), 384, 3, 3)
        bd = cat([cbr(bd, 384, 1, 3), cbr(bd, 384, 3, 1)])
        bp = cbr(K.avgpool_same3(x), 192, 1, 1)
        x = cat([b1, b3, bd, bp])
        acts[f'mixed{9 + i}'] = x
    if n[0] != 94:
        raise ValueError(f'{n[0]} conv2d_bn blocks, InceptionV3 has 94')
    logits = K.dense(x.mean(dim=(2, 3)), f['predictions']['predictions/kernel:0'][()], f['predictions']['predictions/bias:0'][()])
    return logits, acts


def main():
    path, tmp = weights_file('inception_v3', sys.argv[1] if len(sys.argv) > 1 else None, 2)
    doc = {'family': 'inception_v3', 'weightsSeed': 2, 'camLayers': CAM_LAYERS}
    with h5py.File(path, 'r') as f:
        if sorted(f.attrs.keys()) != ['backend', 'keras_version', 'layer_names']:
            raise ValueError(f'root attributes {list(f.attrs.keys())}: the Keras 2.0 layout has layer_names, backend, keras_version')
        doc['weightsSha256'] = weights_sha256(f)
        x = np.concatenate([inputs(21, 1, 139), inputs(22, 1, 139)])
        logits64, acts = forward(f, x, torch.float64)
        logits32, _ = forward(f, x, torch.float32)
        rel = float((logits32.double() - logits64).abs().max() / logits64.abs().max())
        cls = int(logits64[0].argmax())
        maps = {layer: {'shape': list(acts[layer].shape[2:]), 'map': nested(gradcam_logit(logits64, acts, layer, cls).flatten())} for layer in CAM_LAYERS}
        doc['small'] = {'size': 139, 'inputSeeds': [21, 22], 'logits': nested(logits64), 'gradcam': {'class': cls, 'maps': maps}}
        with torch.no_grad():
            l75, _ = forward(f, inputs(23, 1, 75), torch.float64)
            l299, _ = forward(f, inputs(24, 1, 299), torch.float64)
        doc['minimum'] = {'size': 75, 'inputSeeds': [23], 'logits': nested(l75)}
        doc['default'] = {'size': 299, 'inputSeeds': [24], 'logits': nested(l299)}
        print(f'139x139: logits max |.| {float(logits64.abs().max()):.3g}, float32 vs float64 {rel:.2e} of it; class {cls}; '
              f'maps {[(k, v["shape"], max(v["map"])) for k, v in maps.items()]}; 75: {float(l75.abs().max()):.3g}; 299: {float(l299.abs().max()):.3g}', file=sys.stderr)
    write_golden(f'{ROOT}/test/golden/inception_v3/torch_inception_v3.json', doc)
    if tmp:
        shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
