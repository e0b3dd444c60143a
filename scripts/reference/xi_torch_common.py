"""Shared pieces of torch_xception.py and torch_inception_v3.py: Keras layer semantics in PyTorch
(NCHW inside, NHWC outside), the seeded inputs, the weights file (written by our writer through
xi_weights.mjs), its SHA-256, and Grad-CAM.

Keras semantics reproduced:
  - padding 'same' (Conv2D, SeparableConv2D, MaxPooling2D): out = ceil(in / s); total pad
    max((out - 1) s + k - in, 0), split floor / ceil with the extra row / column at the bottom /
    right (TensorFlow's rule); max-pooling pads with -inf (padding never wins).
  - AveragePooling2D 'same' (3x3, stride 1): the mean over the taps inside the image
    (count_include_pad=False), as TensorFlow.
  - Conv2D kernel [kh, kw, in, out] -> [out, in, kh, kw]; SeparableConv2D depthwise
    [kh, kw, C, 1] -> [C, 1, kh, kw] with groups = C, then pointwise [1, 1, C, F] as a 1x1 conv.
  - BatchNormalization (inference): (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta,
    eps = 1e-3 (Keras' default; both families use it); no gamma when scale=False.
  - Dense kernel [in, out]: y = x @ W + b; softmax over classes.
Grad-CAM (Selvaraju et al. eq. 1-2): w_k = mean over H, W of d score / d A_k, map = ReLU(sum_k
w_k A_k) at the layer's resolution, not normalised or upsampled; score = the logit (the input of
the final softmax) of the class asked for.
"""
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def weights_file(family, given):
    """The weights file: `given`, or one written now by our writer (needs `npx tsc -p tsconfig.json`)."""
    if given:
        return given, None
    tmp = tempfile.mkdtemp(prefix='lanterna-xi-')
    path = os.path.join(tmp, f'{family}.h5')
    subprocess.run(['node', os.path.join(ROOT, 'scripts/reference/xi_weights.mjs'), family, path], check=True)
    return path, tmp


def weights_sha256(f):
    """SHA-256 of every weight as float32 little-endian, in layer_names then weight_names order."""
    h = hashlib.sha256()
    for name in f.attrs['layer_names']:
        g = f[name.decode()]
        for w in g.attrs['weight_names']:
            h.update(np.asarray(g[w.decode()], dtype='<f4').tobytes())
    return h.hexdigest()


def inputs(seed, n, size, channels=3):
    """[n, size, size, channels] in [-1, 1): the LCG s = 1664525 s + 1013904223 (mod 2^32), value
    (s >> 8) / 2^24 * 2 - 1 (exact in float32; the tests make the same numbers)."""
    out = np.empty(n * size * size * channels, dtype=np.float64)
    s = seed
    for i in range(out.size):
        s = (1664525 * s + 1013904223) % 4294967296
        out[i] = (s >> 8) / 16777216 * 2 - 1
    return out.reshape(n, size, size, channels)


class Keras:
    """Keras layers on NCHW tensors of one dtype, weights taken from an h5py file by a getter."""

    def __init__(self, dtype):
        self.dtype = dtype

    def t(self, a):
        return torch.tensor(np.asarray(a), dtype=self.dtype)

    @staticmethod
    def same_pad(x, k, s, value=0.0):
        pads = []
        for size, kk, ss in ((x.shape[3], k[1], s), (x.shape[2], k[0], s)):  # W then H for F.pad
            out = math.ceil(size / ss)
            total = max((out - 1) * ss + kk - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads, value=value)

    def conv(self, x, kernel, strides, padding, bias=None):
        k = self.t(kernel).permute(3, 2, 0, 1)
        if padding == 'same':
            x = self.same_pad(x, k.shape[2:], strides)
        return F.conv2d(x, k, None if bias is None else self.t(bias), stride=strides)

    def sepconv(self, x, depthwise, pointwise):
        dk = self.t(depthwise)
        kh, kw, c, m = dk.shape
        x = F.conv2d(self.same_pad(x, (kh, kw), 1), dk.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw), groups=c)
        return F.conv2d(x, self.t(pointwise).permute(3, 2, 0, 1))

    def bn(self, x, beta, mean, var, gamma=None, eps=1e-3):
        sh = (1, -1, 1, 1)
        y = (x - self.t(mean).reshape(sh)) / torch.sqrt(self.t(var).reshape(sh) + eps)
        if gamma is not None:
            y = y * self.t(gamma).reshape(sh)
        return y + self.t(beta).reshape(sh)

    def maxpool(self, x, k, s, padding):
        if padding == 'same':
            x = self.same_pad(x, (k, k), s, value=-math.inf)
        return F.max_pool2d(x, k, s)

    @staticmethod
    def avgpool_same3(x):
        return F.avg_pool2d(x, 3, 1, padding=1, count_include_pad=False)

    def dense(self, x, kernel, bias):
        return x @ self.t(kernel) + self.t(bias)


def gradcam(logits, acts, layer, cls):
    """Grad-CAM of logit `cls` (batch element 0) at acts[layer] ([1, C, H, W] in the graph): [H, W]."""
    a = acts[layer]
    (g,) = torch.autograd.grad(logits[0, cls], a, retain_graph=True)
    w = g[0].mean(dim=(1, 2))
    return torch.relu((w[:, None, None] * a[0]).sum(0))


def nested(x):
    return np.asarray(x.detach().cpu().numpy(), dtype=np.float64).tolist()


def write_golden(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    os.replace(path + '.tmp', path)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)', file=sys.stderr)
