#!/usr/bin/python3
"""Golden ResNet50 logits, stage outputs and Grad-CAM maps from an independent PyTorch forward pass.

The network is written here from keras_applications 1.0.8 (Debian python3-keras-applications):
  - resnet_common.py ResNet50 ('keras' layout): ZeroPadding2D(3) conv1_conv (7x7/2, bias) conv1_bn
    conv1_relu ZeroPadding2D(1) MaxPooling2D(3, 2); stack1 x4 of block1: a 1x1 projection
    shortcut (_0_conv, _0_bn) in each stage's first block, 1x1 conv with the stride (_1_), 3x3
    'SAME' (_2_), 1x1 to 4x the width (_3_), add, relu; stages (64, 3, stride 1), (128, 4),
    (256, 6), (512, 3); BatchNormalization epsilon 1.001e-5; top GlobalAveragePooling2D + Dense
    softmax 'probs'.
  - resnet50.py (the '2016' layout): the same network with the Caffe names conv1, bn_conv1,
    res{stage}{a..f}_branch{1,2a,2b,2c}, bn..., top fc1000, and BatchNormalization with Keras'
    default epsilon 1e-3.
It reads the weights file with h5py in the file's own layout (Keras 2 save_weights,
conv1_conv/conv1_conv/kernel:0; or the Keras 1 file of deep-learning-models v0.2, datasets in the
layer group: conv1/conv1_W:0, bn_conv1/bn_conv1_running_std:0, which Keras 2 loads as the moving
variance), picking each array by its dataset name, not by position.

PyTorch runs NCHW; what is written out is NHWC (Keras' order). Keras' 'SAME' 3x3 stride 1 pads 1
on every side; the 1x1 strided convolutions are 'valid'. BatchNormalization at inference:
(x - mean) / sqrt(var + eps) * gamma + beta.

Grad-CAM (Selvaraju et al. eq. 1-2) at the stage-5 and stage-4 outputs: w_k = mean over H, W of
d logit_c / d A_k (the input of the final softmax), map = ReLU(sum_k w_k A_k), at the layer's
resolution, for each image's top-1 class.

Inputs: N x S x S x 3 from the LCG s <- (1664525 s + 1013904223) mod 2^32, seed 7 per case,
value float32(-128 + 256 s / 2^32) in NHWC order (caffe-range pixels), as test/app_resnet50.test.ts
makes them.

Run: /usr/bin/python3 scripts/reference/torch_resnet50.py   (after building dist-dev: it calls
node scripts/reference/app_weights.mjs to write the weights files in a temporary
folder). Debian 12: python3-torch 1.13, python3-numpy, python3-h5py. Writes
test/golden/resnet50/torch_resnet50.json. Tests never run Python.
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_app_torch import ROOT, lcg_input, read_file, write_golden, write_seeded  # noqa: E402

OUT_DIR = os.path.join(ROOT, 'test', 'golden', 'resnet50')
STAGES = [(64, 3), (128, 4), (256, 6), (512, 3)]
# (layout, input side, seed of the weights, batch): the tests run every case.
CASES = [('keras', 64, 11, 2), ('2016', 64, 12, 2), ('keras', 224, 13, 1)]


def pick(W, layer, suffix):
    hits = [a for n, a in W[layer].items() if n.endswith(suffix)]
    if len(hits) != 1:
        raise ValueError(f'{layer}: {len(hits)} datasets end with {suffix} ({list(W[layer])})')
    return hits[0]


class Names:
    """Layer and dataset names of one layout (from the two Keras definitions)."""

    def __init__(self, layout):
        self.old = layout == '2016'
        self.eps = 1e-3 if self.old else 1.001e-5
        self.k = ('_W:0', '_b:0') if self.old else ('/kernel:0', '/bias:0')
        self.bn = ('_gamma:0', '_beta:0', '_running_mean:0', '_running_std:0') if self.old else \
            ('/gamma:0', '/beta:0', '/moving_mean:0', '/moving_variance:0')

    def conv(self, stage, block, k):
        if stage == 1:
            return ('conv1', 'bn_conv1') if self.old else ('conv1_conv', 'conv1_bn')
        if self.old:
            tag = f"{stage}{'abcdef'[block - 1]}_branch{['1', '2a', '2b', '2c'][k]}"
            return f'res{tag}', f'bn{tag}'
        return f'conv{stage}_block{block}_{k}_conv', f'conv{stage}_block{block}_{k}_bn'

    def top(self):
        return 'fc1000' if self.old else 'probs'

    def out(self, stage, block, count):
        return f'activation_{count}' if self.old else f'conv{stage}_block{block}_out'


def forward(W, names, x_nhwc, dtype, keep):
    t = lambda a: torch.tensor(a, dtype=dtype)
    acts = {}

    def conv(x, stage, block, k, stride=1, pad=0):
        cname, bname = names.conv(stage, block, k)
        kern = t(pick(W, cname, names.k[0])).permute(3, 2, 0, 1)
        y = F.conv2d(x, kern, t(pick(W, cname, names.k[1])), stride=stride, padding=pad)
        g, b, m, v = (t(pick(W, bname, s)).reshape(1, -1, 1, 1) for s in names.bn)
        return (y - m) / torch.sqrt(v + names.eps) * g + b

    def mark(name, x):
        if name in keep:
            x.retain_grad()
        acts[name] = x
        return x

    x = torch.tensor(x_nhwc, dtype=dtype, requires_grad=True).permute(0, 3, 1, 2)
    x = F.pad(x, (3, 3, 3, 3))
    x = torch.relu(conv(x, 1, 0, 0, stride=2))
    x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
    count = 1
    for si, (width, blocks) in enumerate(STAGES):
        stage = si + 2
        for b in range(1, blocks + 1):
            stride = 2 if b == 1 and stage > 2 else 1
            short = conv(x, stage, b, 0, stride) if b == 1 else x
            y = torch.relu(conv(x, stage, b, 1, stride))
            y = torch.relu(conv(y, stage, b, 2, 1, pad=1))
            y = conv(y, stage, b, 3)
            x = torch.relu(y + short)
            count += 3
            mark(names.out(stage, b, count), x)
    feat = x.mean(dim=(2, 3))
    top = names.top()
    logits = feat @ t(pick(W, top, names.k[0])) + t(pick(W, top, names.k[1]))
    return acts, logits


def r(a, digits=12):
    return [float(f'{v:.{digits}g}') for v in np.asarray(a, dtype=np.float64).ravel()]


def nhwc(a):
    return a.permute(0, 2, 3, 1).detach().numpy()


def run_case(layout, size, seed, batch, tmp):
    names = Names(layout)
    path = os.path.join(tmp, f'resnet50_{layout}_{size}.h5')
    opts = {'layout': layout, 'seed': seed, 'inputShape': [size, size, 3]}
    write_seeded('resnet50', path, opts)
    W, digest = read_file(path)
    params = sum(a.size for ws in W.values() for a in ws.values())
    x = lcg_input(batch, size, 7, -128.0, 128.0)
    stage_outs = [names.out(2, 3, 10), names.out(3, 4, 22), names.out(4, 6, 40), names.out(5, 3, 49)]
    cam_layers = [stage_outs[3], stage_outs[2]]
    acts, logits = forward(W, names, x, torch.float64, cam_layers)
    classes = [int(c) for c in logits.detach().numpy().argmax(1)]
    case = {
        'layout': layout, 'size': size, 'batch': batch, 'options': opts, 'weightsDigest': digest,
        'parameters': int(params), 'input': {'seed': 7, 'lo': -128, 'hi': 128},
        'logits': r(logits.detach().numpy()),
        # Per-channel means over H, W of image 0 at each stage's output (NHWC channel order).
        'layerMeans': {n: r(acts[n][0].mean(dim=(1, 2)).detach().numpy()) for n in stage_outs},
        'gradcam': {'classes': classes, 'layers': {}},
    }
    score = sum(logits[i, c] for i, c in enumerate(classes))
    score.backward()
    for layer in cam_layers:
        A = acts[layer]
        w = A.grad.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((w * A).sum(1))                      # [N, H, W]
        case['gradcam']['layers'][layer] = {'shape': list(cam.shape[1:]), 'maps': r(cam.detach().numpy())}
    # For information: float32 PyTorch against the float64 golden.
    a32, l32 = forward(W, names, x, torch.float32, ())
    scale = float(np.abs(logits.detach().numpy()).max())
    case['checks'] = {'float32MaxAbsLogitDiff': float(np.abs(l32.detach().numpy().astype(np.float64) - logits.detach().numpy()).max()),
                      'logitScale': scale}
    p = torch.softmax(logits, 1).detach().numpy()
    print(f"{layout} {size}x{size}: {params} parameters, digest {digest[:12]}, logits max |.| {scale:.4g}, "
          f"top-1 {p.argmax(1).tolist()} p {p.max(1).round(4).tolist()}, float32 diff {case['checks']['float32MaxAbsLogitDiff']:.3g}")
    for layer in cam_layers:
        m = case['gradcam']['layers'][layer]
        print(f"  gradcam {layer}: {m['shape']}, max {max(m['maps']):.4g}")
    return case


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        cases = [run_case(*c, tmp) for c in CASES]
    doc = {'about': 'Independent PyTorch (float64) ResNet50 on seeded random weights in the two official layouts; '
                    'made by scripts/reference/torch_resnet50.py', 'cases': cases}
    write_golden(os.path.join(OUT_DIR, 'torch_resnet50.json'), doc, end='\n')


if __name__ == '__main__':
    sys.exit(main())
