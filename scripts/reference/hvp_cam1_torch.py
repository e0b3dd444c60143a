#!/usr/bin/python3
"""Golden Hessian-vector product on a seeded cam1 for test/hvp_torch.test.ts, from PyTorch's
autograd.grad(create_graph=True) in float64 (issue #19, item 1).

cam1 as the lecture builds it: Conv(16)-MaxPool-Conv(32)-MaxPool-Conv(64)-MaxPool-Conv(128), 3x3
'same' relu convolutions, 2x2 'valid' pooling (28 -> 14 -> 7 -> 3), global average pooling,
Dense(10) and softmax cross-entropy (mean) on int labels. Glorot-uniform kernels and small biases
from a 32-bit LCG that the test repeats exactly (so that only the result is stored), four 28x28
inputs uniform in [0, 1]. The product is taken jointly in the four conv
kernels and the dense kernel, along seeded vectors: H.v = d/dθ <dL/dθ, v>. Stored in Lanterna's
layouts (NHWC, conv HWIO, dense [in, out]).
Run: /usr/bin/python3 scripts/reference/hvp_cam1_torch.py  (writes test/golden/hvp/cam1.json and
cam1_hvp.f32, H.v of the five kernels one after the other as little-endian float32)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D = torch.float64
N = 4


class Lcg:
    # state' = 1664525·state + 1013904223 mod 2^32; u = state / 2^32 (test/hvp_torch.test.ts: the same).
    def __init__(self, seed):
        self.s = seed

    def uniform(self, n):
        out = []
        for _ in range(n):
            self.s = (self.s * 1664525 + 1013904223) % 4294967296
            out.append(self.s / 4294967296)
        return torch.tensor(out, dtype=D)


rng = Lcg(12345)
x = rng.uniform(N * 28 * 28).reshape(N, 28, 28, 1)
labels = torch.tensor([7, 2, 1, 0])
chans = [1, 16, 32, 64, 128]


def glorot(shape, fan_in, fan_out):
    lim = math.sqrt(6 / (fan_in + fan_out))
    return (rng.uniform(math.prod(shape)).reshape(*shape) * 2 - 1) * lim


convs = [glorot((3, 3, chans[i], chans[i + 1]), 9 * chans[i], 9 * chans[i + 1]).requires_grad_() for i in range(4)]
biases = [(rng.uniform(chans[i + 1]) - 0.5) * 0.1 for i in range(4)]
wd = glorot((128, 10), 128, 10).requires_grad_()
bd = (rng.uniform(10) - 0.5) * 0.1
vs = [rng.uniform(w.numel()).reshape(*w.shape) * 2 - 1 for w in convs + [wd]]


def loss_of(ws):
    h = x.permute(0, 3, 1, 2)
    for i in range(4):
        h = torch.relu(F.conv2d(h, ws[i].permute(3, 2, 0, 1), biases[i], padding=1))
        if i < 3:
            h = F.max_pool2d(h, 2)
    g = h.mean(dim=(2, 3))
    return F.cross_entropy(g @ ws[4] + bd, labels)


ws = convs + [wd]
loss = loss_of(ws)
gs = torch.autograd.grad(loss, ws, create_graph=True)
hv = torch.autograd.grad(sum((g * v).sum() for g, v in zip(gs, vs)), ws)
out = {
    'note': 'scripts/reference/hvp_cam1_torch.py: torch ' + torch.__version__ + ', float64',
    'seed': 12345, 'labels': labels.tolist(), 'shapes': [list(w.shape) for w in ws], 'loss': float(loss),
    'hvpMaxAbs': [float(h.abs().max()) for h in hv],
    'checksums': {'x': float(x.sum()), 'kernels': [float(w.detach().sum()) for w in ws], 'v': [float(v.sum()) for v in vs]},
}
path = os.path.join(ROOT, 'test/golden/hvp/cam1.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
with open(os.path.join(ROOT, 'test/golden/hvp/cam1_hvp.f32'), 'wb') as f:
    f.write(torch.cat([h.reshape(-1) for h in hv]).to(torch.float32).numpy().astype('<f4').tobytes())
print(f'wrote {path}: loss {float(loss):.6f}, max |H.v| per kernel ' + ', '.join(f'{float(h.abs().max()):.3g}' for h in hv))
