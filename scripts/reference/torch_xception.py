#!/usr/bin/python3
"""Golden Xception logits and Grad-CAM maps from an independent PyTorch forward pass.

Written from keras_applications/xception.py (Keras 2 era); the weights are read with h5py from a
file in the layout of the official xception_weights_tf_dim_ordering_tf_kernels.h5 (Keras 1:
groups convolution2d_N / separableconvolution2d_N / batchnormalization_N / dense_2, datasets
<group>_W:0, _depthwise_kernel:0, _pointwise_kernel:0, _gamma:0, _beta:0, _running_mean:0,
_running_std:0 = the moving variance). Layers are found here by those Keras 1 names, counted in the
order xception.py creates the layers (a block's residual conv and BN before its separable convs),
NOT by layer_names' order, which is how our loader matches them: the two must agree.
Layer semantics: keras_app_torch.py (Keras). Every conv is bias-free; block1_conv1/2 'valid', the rest
'same'; BN eps 1e-3; max-pool 3x3 s2 'same'.

The weights file is written by our writer with seed 1 (scripts/reference/app_weights.mjs) unless a
path is given; its SHA-256 goes into the golden so the test knows it regenerated the same one.
Inputs: keras_app_torch.inputs (seeds 11, 12 at 71x71, the minimum; seed 13 at 299x299).
Run in float64 (the golden) and float32 (reported).

Run: /usr/bin/python3 scripts/reference/torch_xception.py [weights.h5]
Writes test/golden/xception/torch_xception.json. Tests never run Python.
"""
import shutil
import sys

import h5py
import numpy as np
import torch

from keras_app_torch import ROOT, Keras, gradcam_logit, inputs, nested, weights_file, weights_sha256, write_golden

CAM_LAYERS = ['block14_sepconv2_act', 'block13_sepconv1_act']


def forward(f, x_nhwc, dtype):
    K = Keras(dtype)
    count = {}

    def name(prefix):
        count[prefix] = count.get(prefix, 0) + 1
        return f'{prefix}_{count[prefix]}'

    def W(n, suffix):
        return f[n][f'{n}_{suffix}:0'][()]

    def conv(x, strides, padding):
        n = name('convolution2d')
        return K.conv(x, W(n, 'W'), strides, padding)

    def sep(x):
        n = name('separableconvolution2d')
        return K.sepconv(x, W(n, 'depthwise_kernel'), W(n, 'pointwise_kernel'))

    def bn(x):
        n = name('batchnormalization')
        return K.bn(x, W(n, 'beta'), W(n, 'running_mean'), W(n, 'running_std'), W(n, 'gamma'))

    acts = {}
    x_in = torch.tensor(x_nhwc, dtype=dtype, requires_grad=True)
    x = x_in.permute(0, 3, 1, 2)
    x = torch.relu(bn(conv(x, 2, 'valid')))
    x = torch.relu(bn(conv(x, 1, 'valid')))

    def down(x, first_relu, tag=None):
        r = bn(conv(x, 2, 'same'))  # created first in xception.py
        a = torch.relu(x) if first_relu else x
        if tag:
            acts[tag] = a
        y = bn(sep(a))
        y = bn(sep(torch.relu(y)))
        return K.maxpool(y, 3, 2, 'same') + r

    x = down(x, False)
    x = down(x, True)
    x = down(x, True)
    for _ in range(8):
        y = x
        for _ in range(3):
            y = bn(sep(torch.relu(y)))
        x = y + x
    x = down(x, True, 'block13_sepconv1_act')
    x = torch.relu(bn(sep(x)))
    x = torch.relu(bn(sep(x)))
    acts['block14_sepconv2_act'] = x
    logits = K.dense(x.mean(dim=(2, 3)), f['dense_2']['dense_2_W:0'][()], f['dense_2']['dense_2_b:0'][()])
    if count != {'convolution2d': 6, 'separableconvolution2d': 34, 'batchnormalization': 40}:
        raise ValueError(f'layer counts {count}')
    return logits, acts


def main():
    path, tmp = weights_file('xception', sys.argv[1] if len(sys.argv) > 1 else None, 1)
    doc = {'family': 'xception', 'weightsSeed': 1, 'camLayers': CAM_LAYERS}
    with h5py.File(path, 'r') as f:
        if set(f.attrs.keys()) != {'layer_names'}:
            raise ValueError(f'root attributes {list(f.attrs.keys())}: the Keras 1 layout has layer_names only')
        doc['weightsSha256'] = weights_sha256(f)
        x71 = np.concatenate([inputs(11, 1, 71), inputs(12, 1, 71)])
        logits64, acts = forward(f, x71, torch.float64)
        logits32, _ = forward(f, x71, torch.float32)
        rel = float((logits32.double() - logits64).abs().max() / logits64.abs().max())
        cls = int(logits64[0].argmax())
        maps = {layer: {'shape': list(acts[layer].shape[2:]), 'map': nested(gradcam_logit(logits64, acts, layer, cls).flatten())} for layer in CAM_LAYERS}
        doc['small'] = {'size': 71, 'inputSeeds': [11, 12], 'logits': nested(logits64), 'gradcam': {'class': cls, 'maps': maps}}
        x299 = inputs(13, 1, 299)
        with torch.no_grad():
            l299, _ = forward(f, x299, torch.float64)
        doc['default'] = {'size': 299, 'inputSeeds': [13], 'logits': nested(l299)}
        print(f'71x71: logits max |.| {float(logits64.abs().max()):.3g}, float32 vs float64 {rel:.2e} of it; class {cls}; '
              f'maps {[(k, v["shape"], max(v["map"])) for k, v in maps.items()]}; 299: logits max |.| {float(l299.abs().max()):.3g}', file=sys.stderr)
    write_golden(f'{ROOT}/test/golden/xception/torch_xception.json', doc)
    if tmp:
        shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
