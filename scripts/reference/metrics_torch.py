#!/usr/bin/python3
"""Golden values for test/metrics.test.ts, from an independent implementation (PyTorch float64,
NumPy, SciPy) of the faithfulness metrics in explain/metrics/, on the tiny VGG16 of
scripts/reference/gradcam_golden.py (test/golden/tiny_vgg16.h5, its two 64x64 inputs).

The saliency maps are fixed formulas at the input's 64x64 (distinct values, so the order of
pixels is unambiguous); the class is each image's top-1.
- Deletion / insertion (Petsiuk et al. 2018, RISE's evaluation): 64 pixels per step, most salient
  first; deletion ends at zeros, insertion starts from the image blurred by a sampled 11x11
  Gaussian (sigma 5, normalised to 1, zero padding); AUC by the trapezoid rule over [0, 1].
- ROAD (Rong et al. 2022) without noise: remove 10..90 % most / least relevant, fill each removed
  pixel with the weighted mean of its 8 neighbours (1/6 across, 1/12 diagonal, neighbours outside
  the image left out) -- solved here as a dense linear system (numpy.linalg.solve).
- Average Drop / Increase in Confidence (Chattopadhay et al. 2018): the input times the min-max
  normalised map.
- Spearman (scipy.stats.spearmanr) and SSIM (11x11 Gaussian window, sigma 1.5, valid positions,
  C1 = 0.01^2, C2 = 0.03^2, on maps min-max normalised) between the two images' maps.
Run: /usr/bin/python3 scripts/reference/metrics_torch.py  (writes test/golden/metrics/tiny_vgg16.json)
"""
import importlib.util
import json
import os

import h5py
import numpy as np
import torch
from scipy.stats import spearmanr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location('gg', os.path.join(ROOT, 'scripts/reference/gradcam_golden.py'))
gg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gg)

S = gg.SIZE
STEP = 64
PCTS = [10, 20, 30, 40, 50, 60, 70, 80, 90]


def load_weights():
    w = {}
    with h5py.File(os.path.join(ROOT, 'test/golden/tiny_vgg16.h5'), 'r') as f:
        for name, kind, shapes in gg.layer_list():
            if shapes:
                w[name] = (f[name]['%s_W_1:0' % name][()], f[name]['%s_b_1:0' % name][()])
    return w


def maps():
    y, x = np.mgrid[0:S, 0:S].astype(np.float64)
    m0 = np.sin(0.21 * x + 0.5) * np.cos(0.13 * y) + 1e-4 * (y * S + x) / (S * S)
    m1 = np.exp(-((x - 40) ** 2 + (y - 20) ** 2) / 200.0) + 0.3 * np.sin(0.05 * x * y / 8) + 1e-4 * (x * S + y) / (S * S)
    return [m0.astype(np.float32).astype(np.float64), m1.astype(np.float32).astype(np.float64)]


def scores(W, xs, cls):
    with torch.no_grad():
        _, p, _ = gg.forward(np.ascontiguousarray(xs, dtype=np.float64), W, [])
    return p[:, cls].numpy()


def order(m):
    flat = m.reshape(-1)
    return np.array(sorted(range(flat.size), key=lambda i: (-flat[i], i)))


def kernel(size=11, sigma=5.0):
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size]
    k = np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma))
    return k / k.sum()


def blur(img):
    k = torch.from_numpy(kernel()).view(1, 1, 11, 11).repeat(3, 1, 1, 1)
    t = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0)
    return torch.nn.functional.conv2d(t, k, padding=5, groups=3)[0].permute(1, 2, 0).numpy()


def curve(W, start, finish, m, cls):
    o = order(m)
    steps = (S * S + STEP - 1) // STEP
    cur = start.copy().reshape(-1, 3)
    fin = finish.reshape(-1, 3)
    stack = []
    for i in range(steps + 1):
        stack.append(cur.copy().reshape(S, S, 3))
        idx = o[i * STEP:(i + 1) * STEP]
        cur[idx] = fin[idx]
    s = scores(W, np.stack(stack), cls)
    return s, float((s.sum() - s[0] / 2 - s[-1] / 2) / (len(s) - 1))


NB = [(-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6), (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12)]


def impute(img, removed):
    pix = np.flatnonzero(removed.reshape(-1))
    var = -np.ones(S * S, dtype=int)
    var[pix] = np.arange(len(pix))
    A = np.zeros((len(pix), len(pix)))
    b = np.zeros((len(pix), 3))
    flat = img.reshape(-1, 3)
    for i, p in enumerate(pix):
        y, x = divmod(p, S)
        for dy, dx, w in NB:
            yy, xx = y + dy, x + dx
            if 0 <= yy < S and 0 <= xx < S:
                A[i, i] += w
                q = yy * S + xx
                if var[q] >= 0:
                    A[i, var[q]] -= w
                else:
                    b[i] += w * flat[q]
    out = flat.copy()
    out[pix] = np.linalg.solve(A, b)
    return out.reshape(S, S, 3)


def road(W, img, m, cls):
    o = order(m)
    stack = []
    for first in (True, False):
        for p in PCTS:
            n = int(round(p / 100 * S * S))
            removed = np.zeros(S * S, dtype=bool)
            removed[o[:n] if first else o[::-1][:n]] = True
            stack.append(impute(img, removed))
    s = scores(W, np.stack(stack), cls)
    return s[:len(PCTS)], s[len(PCTS):]


def ssim(a, b, w=11, sigma=1.5):
    def unit(v):
        return (v - v.min()) / (v.max() - v.min())
    a, b = unit(a), unit(b)
    g = kernel(w, sigma)
    vals = []
    for y0 in range(S - w + 1):
        for x0 in range(S - w + 1):
            pa, pb = a[y0:y0 + w, x0:x0 + w], b[y0:y0 + w, x0:x0 + w]
            ma, mb = (g * pa).sum(), (g * pb).sum()
            va, vb = (g * pa * pa).sum() - ma * ma, (g * pb * pb).sum() - mb * mb
            cov = (g * pa * pb).sum() - ma * mb
            vals.append(((2 * ma * mb + 1e-4) * (2 * cov + 9e-4)) / ((ma * ma + mb * mb + 1e-4) * (va + vb + 9e-4)))
    return float(np.mean(vals))


def main():
    W = load_weights()
    doc = json.load(open(os.path.join(ROOT, 'test/golden/gradcam_tiny_vgg16.json')))
    x = np.array(doc['input'], dtype=np.float32).astype(np.float64).reshape(2, S, S, 3)
    probs = np.array(doc['probs']).reshape(2, -1)
    cls = [int(c) for c in probs.argmax(1)]
    M = maps()
    out = {'source': 'scripts/reference/metrics_torch.py, PyTorch %s float64' % torch.__version__, 'classes': cls, 'step': STEP, 'percentiles': PCTS,
           'maps': [[float(v) for v in m.reshape(-1)] for m in M], 'images': []}
    for i in range(2):
        d_curve, d_auc = curve(W, x[i], np.zeros_like(x[i]), M[i], cls[i])
        i_curve, i_auc = curve(W, blur(x[i]), x[i], M[i], cls[i])
        morf, lerf = road(W, x[i], M[i], cls[i])
        out['images'].append({'deletion': d_curve.tolist(), 'deletionAuc': d_auc, 'insertion': i_curve.tolist(), 'insertionAuc': i_auc,
                              'morf': morf.tolist(), 'lerf': lerf.tolist()})
    unit = [(m - m.min()) / (m.max() - m.min()) for m in M]
    Y = scores(W, x, cls) if False else np.array([scores(W, x[i:i + 1], cls[i])[0] for i in range(2)])
    O = np.array([scores(W, (x[i] * unit[i][:, :, None])[None], cls[i])[0] for i in range(2)])
    out['confidence'] = {'original': Y.tolist(), 'masked': O.tolist(), 'averageDrop': float(100 * np.mean(np.maximum(0, Y - O) / Y)), 'increase': float(100 * np.mean(O > Y))}
    out['similarity'] = {'spearman': float(spearmanr(M[0].reshape(-1), M[1].reshape(-1)).correlation),
                         'spearmanAbs': float(spearmanr(np.abs(M[0]).reshape(-1), np.abs(M[1]).reshape(-1)).correlation),
                         'ssim': ssim(M[0], M[1])}
    os.makedirs(os.path.join(ROOT, 'test/golden/metrics'), exist_ok=True)
    path = os.path.join(ROOT, 'test/golden/metrics/tiny_vgg16.json')
    with open(path, 'w') as fh:
        json.dump(out, fh, separators=(',', ':'))
    print('wrote', path, os.path.getsize(path), 'bytes; classes', cls, 'deletion AUC', [im['deletionAuc'] for im in out['images']],
          'insertion AUC', [im['insertionAuc'] for im in out['images']], 'confidence', out['confidence'], 'similarity', out['similarity'])


if __name__ == '__main__':
    main()
