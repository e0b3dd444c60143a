#!/usr/bin/python3
"""PyTorch CPU timings of the same explanation computations as bench/explain_methods.ts, for the
side-by-side rows: VGG16 (Keras' layout, random He weights; float32, NCHW, torch's own kernels)
at SIZE x SIZE, batch 1, and
- Score-CAM at block5_conv3: its 512 activation maps upsampled (bilinear, align_corners as
  pytorch-grad-cam) to the input, min-max normalised, multiplied into the input, the masked inputs
  run in batches of BATCH, softmax score of the target class, then the weighted sum;
- Integrated Gradients with STEPS steps from a black baseline: STEPS scaled inputs, forward and
  backward in batches of BATCH (one backward per batch), Riemann right sum.
Prints one JSON line: {"torch": version, "threads": n, "size": S, "scorecamMs": [...], "igMs": [...]}.
  /usr/bin/python3 scripts/reference/bench_explain_torch.py SIZE STEPS BATCH REPEATS [WARMUP: 0 skips it]
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 64
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 64
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 32
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
BLOCKS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]

torch.manual_seed(0)
torch.set_num_threads(os.cpu_count() or 1)
convs = []
cin = 3
for n, w in BLOCKS:
    for _ in range(n):
        k = torch.randn(w, cin, 3, 3) * (2.0 / (9 * cin)) ** 0.5
        convs.append((k, torch.zeros(w)))
        cin = w
side = SIZE // 32
fcs = [(torch.randn(4096, side * side * 512) * (2.0 / (side * side * 512)) ** 0.5, torch.zeros(4096)),
       (torch.randn(4096, 4096) * (2.0 / 4096) ** 0.5, torch.zeros(4096)),
       (torch.randn(1000, 4096) * (1.0 / 4096) ** 0.5, torch.zeros(1000))]


def features(x, upto_last_conv=False):
    i = 0
    for n, _ in BLOCKS:
        for _ in range(n):
            k, b = convs[i]
            x = F.relu(F.conv2d(x, k, b, padding=1))
            i += 1
            if upto_last_conv and i == len(convs):
                return x
        x = F.max_pool2d(x, 2)
    return x


def head(x):
    x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    for j, (w, b) in enumerate(fcs):
        x = x @ w.t() + b
        if j < 2:
            x = F.relu(x)
    return x


def tail_from_conv(a):
    return head(F.max_pool2d(a, 2))


def score_cam(x, cls):
    with torch.no_grad():
        a = features(x, True)  # [1, 512, h, w]
        up = F.interpolate(a, size=(SIZE, SIZE), mode='bilinear', align_corners=False)[0]
        lo = up.flatten(1).min(1)[0][:, None, None]
        hi = up.flatten(1).max(1)[0][:, None, None]
        masks = (up - lo) / (hi - lo + 1e-12)
        scores = []
        for s in range(0, masks.shape[0], BATCH):
            xm = x * masks[s:s + BATCH, None]
            scores.append(torch.softmax(head(features(xm)), 1)[:, cls])
        w = torch.softmax(torch.cat(scores), 0)
        return F.relu((w[:, None, None] * a[0]).sum(0))


def integrated_gradients(x, cls):
    total = torch.zeros_like(x)
    for s in range(0, STEPS, BATCH):
        al = torch.arange(s + 1, min(s + BATCH, STEPS) + 1, dtype=torch.float32) / STEPS
        xs = (al[:, None, None, None] * x).requires_grad_(True)
        p = torch.softmax(head(features(xs)), 1)[:, cls].sum()
        g, = torch.autograd.grad(p, xs)
        total += g.sum(0, keepdim=True)
    return total / STEPS * x


def timed(fn):
    out = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


x = torch.rand(1, 3, SIZE, SIZE) * 255 - 120
with torch.no_grad():
    cls = int(head(features(x)).argmax())
if len(sys.argv) <= 5 or sys.argv[5] != '0':
    score_cam(x, cls)  # warm-up
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'size': SIZE, 'steps': STEPS, 'batch': BATCH,
                  'scorecamMs': timed(lambda: score_cam(x, cls)), 'igMs': timed(lambda: integrated_gradients(x, cls))}))
