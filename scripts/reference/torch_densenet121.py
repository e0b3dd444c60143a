#!/usr/bin/python3
"""Golden DenseNet121 logits, layer outputs and Grad-CAM maps from an independent PyTorch forward pass.

The network is written here from keras_applications 1.0.8 densenet.py (Debian
python3-keras-applications), blocks [6, 12, 24, 16], growth 32:
  ZeroPadding2D(3) conv1/conv (7x7/2, no bias) conv1/bn conv1/relu ZeroPadding2D(1)
  pool1 = MaxPooling2D(3, 2);
  conv_block (name conv{s}_block{b}): BN _0_bn, relu, 1x1 conv to 128 _1_conv, BN _1_bn, relu,
  3x3 'same' conv to 32 _2_conv, concatenated after the block's input (channels last);
  transition_block (pool{s}): BN _bn, relu, 1x1 conv to floor(C * 0.5) _conv,
  AveragePooling2D(2, 2) _pool;
  final BN 'bn', relu 'relu', GlobalAveragePooling2D, Dense softmax 'fc1000'.
Every convolution is bias-free; every BatchNormalization has epsilon 1.001e-5.
The weights file (keras-applications' Keras 2 save_weights layout; '/' in 'conv1/conv' nests the
groups: /conv1/conv/conv1/conv/kernel:0) is read with h5py, each array picked by its dataset name.

PyTorch runs NCHW; outputs are written NHWC. Grad-CAM (Selvaraju et al. eq. 1-2) at 'relu' and
'pool4_relu' for each image's top-1 class: w_k = mean over H, W of d logit_c / d A_k (the input
of the final softmax), map = ReLU(sum_k w_k A_k) at the layer's resolution.

Inputs: N x S x S x 3 from the LCG s <- (1664525 s + 1013904223) mod 2^32, seed 7, value
float32(-2 + 4.5 s / 2^32) in NHWC order ('torch'-range pixels), as test/app_densenet121.test.ts
makes them.

Run: /usr/bin/python3 scripts/reference/torch_densenet121.py   (after building dist-dev: it calls
node scripts/reference/app_weights.mjs for the weights files). Debian 12:
python3-torch 1.13, python3-numpy, python3-h5py. Writes test/golden/densenet121/torch_densenet121.json.
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_app_torch import ROOT, lcg_input, read_file, write_golden, write_seeded  # noqa: E402

OUT_DIR = os.path.join(ROOT, 'test', 'golden', 'densenet121')
BLOCKS = [6, 12, 24, 16]
EPS = 1.001e-5
CAM_LAYERS = ['relu', 'pool4_relu']
MEAN_LAYERS = ['pool1', 'pool2_pool', 'pool3_pool', 'pool4_relu', 'relu']
# (input side, seed of the weights, batch): the tests run every case.
CASES = [(64, 21, 2), (224, 22, 1)]


def pick(W, layer, short):
    key = f'{layer}/{short}:0'
    if key not in W[layer]:
        raise ValueError(f'{layer}: no dataset {key} ({list(W[layer])})')
    return W[layer][key]


def forward(W, x_nhwc, dtype, keep):
    t = lambda a: torch.tensor(a, dtype=dtype)
    acts = {}

    def mark(name, x):
        if name in keep:
            x.retain_grad()
        acts[name] = x
        return x

    def bn(x, name):
        g, b, m, v = (t(pick(W, name, s)).reshape(1, -1, 1, 1) for s in ('gamma', 'beta', 'moving_mean', 'moving_variance'))
        return (x - m) / torch.sqrt(v + EPS) * g + b

    def conv(x, name, stride=1, pad=0):
        return F.conv2d(x, t(pick(W, name, 'kernel')).permute(3, 2, 0, 1), None, stride=stride, padding=pad)

    x = torch.tensor(x_nhwc, dtype=dtype, requires_grad=True).permute(0, 3, 1, 2)
    x = torch.relu(bn(conv(F.pad(x, (3, 3, 3, 3)), 'conv1/conv', 2), 'conv1/bn'))
    x = mark('pool1', F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2))
    for i, blocks in enumerate(BLOCKS):
        for b in range(1, blocks + 1):
            pre = f'conv{i + 2}_block{b}'
            y = torch.relu(bn(x, f'{pre}_0_bn'))
            y = torch.relu(bn(conv(y, f'{pre}_1_conv'), f'{pre}_1_bn'))
            y = conv(y, f'{pre}_2_conv', pad=1)
            x = torch.cat([x, y], 1)
        if i < 3:
            pre = f'pool{i + 2}'
            y = mark(f'{pre}_relu', torch.relu(bn(x, f'{pre}_bn')))
            x = mark(f'{pre}_pool', F.avg_pool2d(conv(y, f'{pre}_conv'), 2, 2))
    x = mark('relu', torch.relu(bn(x, 'bn')))
    logits = x.mean(dim=(2, 3)) @ t(pick(W, 'fc1000', 'kernel')) + t(pick(W, 'fc1000', 'bias'))
    return acts, logits


def r(a, digits=12):
    return [float(f'{v:.{digits}g}') for v in np.asarray(a, dtype=np.float64).ravel()]


def run_case(size, seed, batch, tmp):
    path = os.path.join(tmp, f'densenet121_{size}.h5')
    opts = {'seed': seed, 'inputShape': [size, size, 3]}
    write_seeded('densenet121', path, opts)
    W, digest = read_file(path)
    params = sum(a.size for ws in W.values() for a in ws.values())
    inp = {'seed': 7, 'lo': -2, 'hi': 2.5}
    x = lcg_input(batch, size, inp['seed'], float(inp['lo']), float(inp['hi']))
    acts, logits = forward(W, x, torch.float64, CAM_LAYERS)
    classes = [int(c) for c in logits.detach().numpy().argmax(1)]
    case = {
        'size': size, 'batch': batch, 'options': opts, 'weightsDigest': digest, 'parameters': int(params), 'input': inp,
        'logits': r(logits.detach().numpy()),
        'layerMeans': {n: r(acts[n][0].mean(dim=(1, 2)).detach().numpy()) for n in MEAN_LAYERS},
        'gradcam': {'classes': classes, 'layers': {}},
    }
    sum(logits[i, c] for i, c in enumerate(classes)).backward()
    for layer in CAM_LAYERS:
        A = acts[layer]
        cam = torch.relu((A.grad.mean(dim=(2, 3), keepdim=True) * A).sum(1))
        case['gradcam']['layers'][layer] = {'shape': list(cam.shape[1:]), 'maps': r(cam.detach().numpy())}
    _, l32 = forward(W, x, torch.float32, ())
    l64 = logits.detach().numpy()
    case['checks'] = {'float32MaxAbsLogitDiff': float(np.abs(l32.detach().numpy().astype(np.float64) - l64).max()), 'logitScale': float(np.abs(l64).max())}
    p = torch.softmax(logits, 1).detach().numpy()
    print(f"{size}x{size}: {params} parameters, digest {digest[:12]}, logits max |.| {case['checks']['logitScale']:.4g}, "
          f"top-1 {classes} p {p.max(1).round(4).tolist()}, float32 diff {case['checks']['float32MaxAbsLogitDiff']:.3g}")
    for n in MEAN_LAYERS:
        a = acts[n]
        print(f'  {n}: {list(a.shape[1:])} rms {float(a.pow(2).mean().sqrt()):.4g}')
    for layer in CAM_LAYERS:
        m = case['gradcam']['layers'][layer]
        print(f"  gradcam {layer}: {m['shape']}, max {max(m['maps']):.4g}")
    return case


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cases = [run_case(*c, tmp) for c in CASES]
    doc = {'about': 'Independent PyTorch (float64) DenseNet121 on seeded random weights in the official layout; '
                    'made by scripts/reference/torch_densenet121.py', 'cases': cases}
    write_golden(os.path.join(OUT_DIR, 'torch_densenet121.json'), doc, end='\n')


if __name__ == '__main__':
    sys.exit(main())
