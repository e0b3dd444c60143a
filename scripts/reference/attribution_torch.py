#!/usr/bin/python3
"""Golden pixel attributions for test/attribution.test.ts, from an independent PyTorch float64
implementation of each method (explain/attribution/ is the TypeScript one), on two seeded networks:

  tiny_vgg16      VGG16's layout with few channels (test/golden/tiny_vgg16.h5, made by
                  gradcam_golden.py), 64x64 inputs in 'caffe' pixels (gradcam_tiny_vgg16.json's two)
  tiny_mobilenet  keras.applications.MobileNet's layout cut to 3 blocks (conv1, then depthwise +
                  BN + ReLU6 + pointwise + BN + ReLU6, one of stride 2 with its ZeroPadding2D),
                  GAP, conv_preds, softmax; 32x32 inputs in [-1, 1) ('tf' pixels); seeded weights
                  written here to test/golden/attribution/tiny_mobilenet.h5 (save_weights layout,
                  Keras names), run by keras_app_torch.Net. BN's gamma and beta are chosen so that
                  ReLU6 clips at 6 as well as at 0 (the script prints how often).

The methods, as explain/attribution/*.ts define them (score S = the target's logit or softmax):
  saliency        g = dS/dx; map max_c |g|
  grad_x_input    x * g; map sum_c
  smoothgrad      mean_s g(x + e_s); map max_c |.|; e_s ~ N(0, sigma^2), sigma = level*(max x_i - min x_i)
  smoothgrad_sq   mean_s g^2; map max_c.   vargrad: mean g^2 - (mean g)^2; map max_c
  ig              (x - x') * sum_k w_k g(x' + a_k (x - x')), trapezoid a_k = k/(m-1); map sum_c
                  baselines: black = the preprocessing of pixel 0 (caffe: -mean BGR; tf: -1),
                  blurN = Gaussian of sigma N (radius ceil(3 sigma), edge replicated) of x,
                  uniform = seeded noise (VGG: in each image's min..max; MobileNet: pixels 0..255
                  through the 'tf' preprocessing)
  guided_backprop each ReLU / ReLU6's backward replaced by g_in = [x > 0 (and < 6)] * relu(g_out)
                  (a custom autograd Function, as Captum's module hooks)
  guided_gradcam  guided gradient * Grad-CAM (ordinary gradients) resized bilinearly (half-pixel)
  occlusion       Captum's Occlusion: window (k, k) over all channels, stride s, ceil((H-k)/s)+1
                  positions per axis, cut at the border; mean over covering windows of S(x) - S(x_occ)

The noise is the TypeScript side's: nn/random.ts' mulberry32 (vectorised below: its state is a
counter), a normal from two draws by Box-Muller (cosine branch), values rounded to float32 like
the Float32Array they fill; rows in order image-major (image i, sample s), each row's values in
NHWC order. Inputs are float32 values (the model's input type); everything else is float64.

Conditioning: each case is also run with PyTorch in float32 ('torchFloat32Error', the largest
difference of the normalised maps). A ReLU input within float32 rounding of its kink flips a
gradient mask and moves the map locally by up to 1e-2: such a case tests the inputs, not the
implementation, and is replaced (an IG case on the tiny VGG with a sigma-2 blurred baseline at 12
or 16 steps was, for our float32 engine; sigma 4 is not). 'reluMargin' records the smallest
distance of a ReLU input to a kink relative to its layer's largest input, for the record.

Writes test/golden/attribution/golden.json (cases, classes, completeness figures; IG's at 256
steps with the black and sigma-1 blurred baselines), golden.f32 (inputs, maps and two raw
attributions, little-endian float32) and tiny_mobilenet.h5.

Run: /usr/bin/python3 scripts/reference/attribution_torch.py   (about a minute; no build needed)
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradcam_golden as vgg  # noqa: E402  (layer_list: the tiny VGG16's layout)
from keras_app_torch import Net, inputs as lcg_inputs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, 'test', 'golden', 'attribution')
D = torch.float64
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])
MOBILENET_BLOCKS = [(16, 1), (32, 2), (32, 1)]
MOBILENET_CLASSES = 10
MOBILENET_SEED = 20240917
MOBILENET_INPUT_SEED = 4242
BN = ['gamma', 'beta', 'moving_mean', 'moving_variance']


# ---- the TypeScript side's random numbers ------------------------------------------------------

class Mulberry32:
    """nn/random.ts Rng: state += 0x6D2B79F5 per draw, output a hash of the state."""

    def __init__(self, seed):
        self.seed = seed & 0xFFFFFFFF
        self.k = 0

    def next(self, n):
        M = np.uint64(0xFFFFFFFF)
        s = (np.uint64(self.seed) + np.arange(self.k + 1, self.k + n + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & M
        self.k += n
        imul = lambda a, b: (a * b) & M  # noqa: E731  (operands < 2^32: the product fits uint64)
        t = imul(s ^ (s >> np.uint64(15)), s | np.uint64(1))
        t = t ^ ((t + imul(t ^ (t >> np.uint64(7)), t | np.uint64(61))) & M)
        return ((t ^ (t >> np.uint64(14))) & M).astype(np.float64) / 4294967296.0

    def gaussian(self, n, sigma):
        u = self.next(2 * n)
        return (sigma * np.sqrt(-2 * np.log(1 - u[0::2])) * np.cos(2 * math.pi * u[1::2])).astype(np.float32)

    def uniform(self, n, lo, hi):
        return (lo + (hi - lo) * self.next(n)).astype(np.float32)


MARGIN = [math.inf]


def margin(dist, pre):
    """Records the smallest distance of a ReLU input to a kink, relative to the largest input of
    its layer in the same image: where float32 rounding (~1e-7 relative) could flip a gradient
    mask. A golden case is kept only when this stays well above it (see run_net)."""
    with torch.no_grad():
        rows = pre.shape[0]
        rel = dist.reshape(rows, -1).amin(1) / pre.abs().reshape(rows, -1).amax(1).clamp(min=1e-300)
        MARGIN[0] = min(MARGIN[0], float(rel.min()))


# ---- the networks: f(x NHWC float64, guided) -> (logits, probs, {layer: activation NCHW}) -------

class GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, top):
        ctx.save_for_backward(x)
        ctx.top = top
        return x.clamp(0, top) if top else x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        mask = (x > 0) & (x < ctx.top) if ctx.top else x > 0
        return g.clamp(min=0) * mask, None


def tiny_vgg():
    W = {}
    with h5py.File(os.path.join(ROOT, 'test', 'golden', 'tiny_vgg16.h5'), 'r') as f:
        for name, _, shapes in vgg.layer_list():
            if shapes:
                W[name] = [torch.tensor(np.asarray(f[name]['%s_%s_1:0' % (name, k)]), dtype=D) for k in 'Wb']

    def run(x, guided=False, capture=()):
        def relu(t):
            margin(t.abs(), t)
            return GuidedReLU.apply(t, None) if guided else torch.relu(t)
        h, caps = x.permute(0, 3, 1, 2), {}
        for name, kind, _ in vgg.layer_list():
            if kind == 'conv':
                h = relu(F.conv2d(h, W[name][0].permute(3, 2, 0, 1), W[name][1], padding=1))
            elif kind == 'pool':
                h = F.max_pool2d(h, 2, 2)
            elif kind == 'flatten':
                h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # Keras flattens NHWC
            else:
                h = h @ W[name][0] + W[name][1]
                if name != 'predictions':
                    h = relu(h)
            if name in capture:
                caps[name] = h
        return h, torch.softmax(h, 1), caps
    return run


class MarginNet(Net):
    def relu6(self, name, x):
        margin(torch.minimum(x.abs(), (x - 6).abs()), x)
        return self.out(name, torch.clamp(x, 0, 6))


class GuidedNet(Net):
    def relu6(self, name, x):
        margin(torch.minimum(x.abs(), (x - 6).abs()), x)
        return self.out(name, GuidedReLU.apply(x, 6.0))


def mobilenet_layers():
    """(name, [(weight, shape)]) in Keras order; weightless layers have []."""
    out, cin = [('conv1', [('kernel', (3, 3, 3, 8))])], 8
    out.append(('conv1_bn', [(w, (8,)) for w in BN]))
    for i, (f, s) in enumerate(MOBILENET_BLOCKS, start=1):
        out += [('conv_dw_%d' % i, [('depthwise_kernel', (3, 3, cin, 1))]), ('conv_dw_%d_bn' % i, [(w, (cin,)) for w in BN]),
                ('conv_pw_%d' % i, [('kernel', (1, 1, cin, f))]), ('conv_pw_%d_bn' % i, [(w, (f,)) for w in BN])]
        cin = f
    out.append(('conv_preds', [('kernel', (1, 1, cin, MOBILENET_CLASSES)), ('bias', (MOBILENET_CLASSES,))]))
    return out


def mobilenet_forward(net, x):
    """keras.applications.MobileNet's layout (torch_mobilenet_app.py), 3 blocks, at this size."""
    x = net.conv('conv1', x, stride=2, padding='same')
    x = net.relu6('conv1_relu', net.bn('conv1_bn', x))
    for i, (f, s) in enumerate(MOBILENET_BLOCKS, start=1):
        if s == 2:
            x = net.zero_pad('conv_pad_%d' % i, x, ((0, 1), (0, 1)))
        x = net.depthwise('conv_dw_%d' % i, x, stride=s, padding='same' if s == 1 else 'valid')
        x = net.relu6('conv_dw_%d_relu' % i, net.bn('conv_dw_%d_bn' % i, x))
        x = net.conv('conv_pw_%d' % i, x)
        x = net.relu6('conv_pw_%d_relu' % i, net.bn('conv_pw_%d_bn' % i, x))
    x = net.gap('global_average_pooling2d', x, keepdims=True)
    x = net.conv('conv_preds', x)
    x = net.reshape_nhwc('reshape_2', x, (MOBILENET_CLASSES,))
    net.logits = x
    return net.activation('predictions', x, 'softmax')


def mobilenet_weights(x):
    """Seeded: kernels He-normal, BN gamma U(1, 2.5) and beta U(0, 1) (so that ReLU6 clips at both
    ends), moving mean U(-0.2, 0.2), variance U(0.5, 1.5); conv_preds scaled so that the logits'
    standard deviation on x is 2. float32 values."""
    rng = np.random.RandomState(MOBILENET_SEED)
    ranges = {'gamma': (1, 2.5), 'beta': (0, 1), 'moving_mean': (-0.2, 0.2), 'moving_variance': (0.5, 1.5), 'bias': (-0.05, 0.05)}
    W = {}
    for name, ws in mobilenet_layers():
        W[name] = []
        for w, shape in ws:
            if w in ranges:
                a = rng.uniform(*ranges[w], size=shape)
            else:
                fan_in = shape[0] * shape[1] * (1 if w == 'depthwise_kernel' else shape[2])
                a = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            W[name].append((w, a.astype(np.float32).astype(np.float64)))
    logits = mobilenet(W)(torch.tensor(x, dtype=D))[0].detach()
    f = 2.0 / float(logits.std())
    W['conv_preds'] = [(w, (a * f).astype(np.float32).astype(np.float64)) for w, a in W['conv_preds']]
    return W


def write_weights_h5(path, W):
    """A save_weights file (legacy layout: layer_names, one group per layer listing weight_names)."""
    with h5py.File(path, 'w') as f:
        f.attrs['layer_names'] = np.array([n.encode() for n, _ in mobilenet_layers()])
        for n, ws in mobilenet_layers():
            g = f.create_group(n)
            g.attrs['weight_names'] = np.array([('%s:0' % w).encode() for w, _ in ws])
            for (w, _), (_, a) in zip(ws, W[n]):
                g.create_dataset('%s:0' % w, data=a.astype(np.float32))


def mobilenet(W):
    def run(x, guided=False, capture=()):
        net = (GuidedNet if guided else MarginNet)({n: list(ws) for n, ws in W.items()})
        probs = mobilenet_forward(net, x.permute(0, 3, 1, 2))
        return net.logits, probs, {k: net.acts[k] for k in capture}
    return run


# ---- the methods -------------------------------------------------------------------------------

def score(f, x, classes, kind, guided=False, capture=()):
    logits, probs, caps = f(x, guided, capture)
    y = logits if kind == 'logit' else probs
    return y[torch.arange(x.shape[0]), torch.tensor(classes)], caps


def grads(f, rows, classes, kind, guided=False):
    """d S / d x of every row [B, H, W, C] (float64 numpy), rows independent."""
    x = torch.tensor(rows, dtype=D, requires_grad=True)
    s, _ = score(f, x, classes, kind, guided)
    s.sum().backward()
    return x.grad.numpy()


def scores(f, rows, classes, kind):
    with torch.no_grad():
        return score(f, torch.tensor(rows, dtype=D), classes, kind)[0].numpy()


def noise_tunnel(f, x, classes, kind, samples, level, seed):
    n, per = x.shape[0], x[0].size
    rng = Mulberry32(seed)
    m1, m2 = np.zeros_like(x), np.zeros_like(x)
    for i in range(n):
        sigma = level * (x[i].max() - x[i].min())
        rows = np.stack([(x[i].astype(np.float32) + rng.gaussian(per, sigma).reshape(x[i].shape)) for _ in range(samples)])
        g = grads(f, rows.astype(np.float64), [classes[i]] * samples, kind)
        m1[i], m2[i] = g.mean(0), (g * g).mean(0)
    return {'smoothgrad': m1, 'smoothgrad_sq': m2, 'vargrad': m2 - m1 * m1}


def blur(x, sigma):
    r = math.ceil(3 * sigma)
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma))
    k = torch.tensor(k / k.sum(), dtype=D)
    c = x.shape[3]
    t = torch.tensor(x, dtype=D).permute(0, 3, 1, 2)
    t = F.conv2d(F.pad(t, (0, 0, r, r), mode='replicate'), k.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode='replicate'), k.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return t.permute(0, 2, 3, 1).numpy().astype(np.float32).astype(np.float64)


def baseline(kind, x, net, seed=None):
    n, per = x.shape[0], x[0].size
    if kind == 'black':
        v = -CAFFE_MEAN_BGR if net == 'tiny_vgg16' else np.full(3, -1.0)  # preprocess(pixel 0)
        return np.broadcast_to(v.astype(np.float32), x.shape).astype(np.float64)
    if kind.startswith('blur'):
        return blur(x, float(kind[4:]))
    rng = Mulberry32(seed)
    if net == 'tiny_mobilenet':  # with the caller's preprocessing ('tf'): pixels uniform in 0..255
        px = np.stack([rng.uniform(per, 0, 255) for _ in range(n)]).astype(np.float64)
        return (px / 127.5 - 1).astype(np.float32).reshape(x.shape).astype(np.float64)
    return np.stack([rng.uniform(per, x[i].min(), x[i].max()).reshape(x[i].shape) for i in range(n)]).astype(np.float64)


def integrated_gradients(f, x, b, classes, kind, steps):
    a = np.linspace(0, 1, steps)
    w = np.full(steps, 1 / (steps - 1))
    w[0] /= 2
    w[-1] /= 2
    raw = np.zeros_like(x)
    for i in range(x.shape[0]):
        pts = b[i] + a[:, None, None, None] * (x[i] - b[i])
        g = grads(f, pts, [classes[i]] * steps, kind)
        raw[i] = (x[i] - b[i]) * np.tensordot(w, g, 1)
    fx = scores(f, x, classes, kind)
    fb = scores(f, b, classes, kind)
    total = raw.reshape(x.shape[0], -1).sum(1)
    err = np.abs(total - (fx - fb))
    return raw, {'score': fx.tolist(), 'baselineScore': fb.tolist(), 'total': total.tolist(),
                 'error': err.tolist(), 'ratio': (err / np.abs(fx - fb)).tolist()}


def guided_gradcam(f, x, classes, kind, layer):
    xt = torch.tensor(x, dtype=D, requires_grad=True)
    s, caps = score(f, xt, classes, kind, capture=(layer,))
    A = caps[layer]
    g, = torch.autograd.grad(s.sum(), A)
    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(1, keepdim=True))
    up = F.interpolate(cam, size=x.shape[1:3], mode='bilinear', align_corners=False)[:, 0].detach().numpy()
    return grads(f, x, classes, kind, guided=True) * up[..., None]


def occlusion(f, x, classes, kind, k, s, value):
    n, h, w, c = x.shape
    ph, pw = math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1
    fx = scores(f, x, classes, kind)
    total, count = np.zeros((n, h, w)), np.zeros((n, h, w))
    for i in range(n):
        rows, boxes = [], []
        for p in range(ph * pw):
            y0, x0 = (p // pw) * s, (p % pw) * s
            o = x[i].copy()
            o[y0:y0 + k, x0:x0 + k, :] = value
            rows.append(o)
            boxes.append((y0, x0))
        fo = scores(f, np.stack(rows), [classes[i]] * len(rows), kind)
        for (y0, x0), v in zip(boxes, fo):
            total[i, y0:y0 + k, x0:x0 + k] += fx[i] - v
            count[i, y0:y0 + k, x0:x0 + k] += 1
    return np.repeat((total / count)[..., None], c, axis=3)


REDUCE = {
    'max-abs': lambda r: np.abs(r).max(3), 'sum': lambda r: r.sum(3), 'max': lambda r: r.max(3), 'mean': lambda r: r.mean(3),
}


# ---- the goldens -------------------------------------------------------------------------------

class Bin:
    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, a):
        a = np.ascontiguousarray(a, dtype='<f4').ravel()
        ref = {'offset': self.size, 'length': int(a.size)}
        self.parts.append(a)
        self.size += a.size
        return ref


def cases_for(net, layer):
    st = {'samples': 8, 'noiseLevel': 0.15, 'seed': 7}
    return [
        {'id': 'saliency_softmax_top1', 'method': 'saliency', 'score': 'softmax', 'top1': True, 'raw': True},
        {'id': 'grad_x_input', 'method': 'grad_x_input', 'score': 'logit'},
        {'id': 'smoothgrad', 'method': 'smoothgrad', 'score': 'logit', **st},
        {'id': 'smoothgrad_sq', 'method': 'smoothgrad_sq', 'score': 'logit', **st},
        {'id': 'vargrad', 'method': 'vargrad', 'score': 'logit', **st},
        {'id': 'ig_black_32', 'method': 'ig', 'score': 'logit', 'baseline': 'black', 'steps': 32},
        {'id': 'ig_blur4_12_softmax', 'method': 'ig', 'score': 'softmax', 'baseline': 'blur4', 'steps': 12},
        {'id': 'ig_uniform_16', 'method': 'ig', 'score': 'logit', 'baseline': 'uniform', 'seed': 5, 'steps': 16},
        {'id': 'guided_backprop', 'method': 'guided_backprop', 'score': 'logit', 'raw': True},
        {'id': 'guided_gradcam', 'method': 'guided_gradcam', 'score': 'logit', 'layer': layer},
        {'id': 'occlusion', 'method': 'occlusion', 'score': 'logit', 'window': 8, 'stride': 4, 'value': 0.0},
    ]


def compute(case, f, x, cls, name, layer, tunnel):
    """One case's raw attributions [N, H, W, C] and reduction (and IG's completeness figures)."""
    m, kind = case['method'], case['score']
    if m == 'saliency':
        return grads(f, x, cls, kind), 'max-abs', None
    if m == 'grad_x_input':
        return x * grads(f, x, cls, kind), 'sum', None
    if m in ('smoothgrad', 'smoothgrad_sq', 'vargrad'):
        key = (kind, case['samples'], case['noiseLevel'], case['seed'])
        if key not in tunnel:
            tunnel[key] = (noise_tunnel(f, x, cls, kind, case['samples'], case['noiseLevel'], case['seed']), MARGIN[0])
        MARGIN[0] = tunnel[key][1]
        return tunnel[key][0][m], 'max-abs' if m == 'smoothgrad' else 'max', None
    if m == 'ig':
        b = baseline(case['baseline'], x, name, case.get('seed'))
        raw, comp = integrated_gradients(f, x, b, cls, kind, case['steps'])
        return raw, 'sum', comp
    if m == 'guided_backprop':
        return grads(f, x, cls, kind, guided=True), 'max-abs', None
    if m == 'guided_gradcam':
        return guided_gradcam(f, x, cls, kind, layer), 'max-abs', None
    return occlusion(f, x, cls, kind, case['window'], case['stride'], case['value']), 'mean', None


def normalised(a):
    return a / np.abs(a).max()


def in_float32(make_net, fn):
    """fn(net) with the network and every tensor in float32: how far a float32 implementation
    can be from float64 on these inputs (a ReLU input within float32 rounding of its kink flips
    a gradient mask; such a case would test the inputs, not the implementation)."""
    global D
    import keras_app_torch
    D = keras_app_torch.DTYPE = torch.float32
    try:
        return fn(make_net())
    finally:
        D = keras_app_torch.DTYPE = torch.float64


def run_net(name, make_net, x, layer, out):
    f = make_net()
    logits, probs, _ = f(torch.tensor(x, dtype=D))
    top1 = probs.argmax(1).tolist()
    c = probs.shape[1]
    classes = [top1[0], (top1[1] + 3) % c]  # a class other than the top-1 for image 1
    entry = {'shape': list(x.shape), 'input': out.add(x), 'top1': top1, 'classes': classes,
             'logits': logits.detach().reshape(-1).tolist(), 'cases': [], 'completeness256': {}}
    tunnel, tunnel32 = {}, {}
    for case in cases_for(name, layer):
        cls = top1 if case.get('top1') else classes
        MARGIN[0] = math.inf
        raw, red, comp = compute(case, f, x, cls, name, layer, tunnel)
        case['reluMargin'] = MARGIN[0]
        mp = REDUCE[red](raw)
        raw32 = in_float32(make_net, lambda f32: compute(case, f32, x, cls, name, layer, tunnel32)[0])
        err32 = float(np.abs(normalised(REDUCE[red](np.asarray(raw32, dtype=np.float64))) - normalised(mp)).max())
        case.update({'classes': cls, 'reduction': red, 'map': out.add(mp), 'mapMaxAbs': float(np.abs(mp).max()), 'torchFloat32Error': err32})
        if comp:
            case['completeness'] = comp
        if case.pop('raw', False):
            case['raw'] = out.add(raw)
        entry['cases'].append(case)
        print(f"{name} {case['id']}: classes {cls}, max |map| {case['mapMaxAbs']:.4g}, PyTorch float32 vs float64 {err32:.1e}, ReLU margin {case['reluMargin']:.1e}"
              + (f", completeness ratio {[round(r, 6) for r in comp['ratio']]}" if comp else '')
              + ('  ** ILL-CONDITIONED for float32: choose other parameters **' if err32 > 2e-5 else ''), flush=True)
    # Integrated Gradients' completeness at 256 steps (trapezoid, logit score): the quadrature's
    # own error, which the float32 implementation should reproduce.
    entry['completeness256'] = {}
    for base in ('black', 'blur1'):
        _, comp = integrated_gradients(f, x, baseline(base, x, name), classes, 'logit', 256)
        entry['completeness256'][base] = comp
        print(f"{name} IG 256 steps ({base}, logit): completeness ratio {comp['ratio']}", flush=True)
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    out = Bin()
    doc = {'about': 'scripts/reference/attribution_torch.py: independent PyTorch float64 attributions', 'torch': torch.__version__,
           'bin': 'golden.f32', 'networks': {}}
    gd = json.load(open(os.path.join(ROOT, 'test', 'golden', 'gradcam_tiny_vgg16.json')))
    xv = np.array(gd['input'], dtype=np.float32).astype(np.float64).reshape(2, gd['size'], gd['size'], 3)
    doc['networks']['tiny_vgg16'] = run_net('tiny_vgg16', tiny_vgg, xv, 'block5_conv3', out)
    xm = lcg_inputs(MOBILENET_INPUT_SEED, 2, 32).astype(np.float32).astype(np.float64)
    W = mobilenet_weights(xm)
    net = Net({n: list(ws) for n, ws in W.items()})
    mobilenet_forward(net, torch.tensor(xm, dtype=D).permute(0, 3, 1, 2))
    print('tiny_mobilenet ReLU6 outputs at 0 / at 6:', ', '.join(
        '%s %.0f%% / %.0f%%' % (k, 100 * float((a == 0).double().mean()), 100 * float((a == 6).double().mean())) for k, a in net.acts.items() if k.endswith('relu')))
    write_weights_h5(os.path.join(OUT, 'tiny_mobilenet.h5'), W)
    e = run_net('tiny_mobilenet', lambda: mobilenet(W), xm, 'conv_pw_3_relu', out)
    e.update({'weights': 'tiny_mobilenet.h5', 'blocks': MOBILENET_BLOCKS, 'classes_count': MOBILENET_CLASSES})
    doc['networks']['tiny_mobilenet'] = e
    doc['gaussLegendre'] = {str(m): [a.tolist() for a in np.polynomial.legendre.leggauss(m)] for m in (1, 2, 7, 64)}
    with open(os.path.join(OUT, 'golden.f32'), 'wb') as fh:
        for p in out.parts:
            fh.write(p.tobytes())
    with open(os.path.join(OUT, 'golden.json'), 'w') as fh:
        json.dump(doc, fh, separators=(',', ':'))
        fh.write('\n')
    print('wrote', OUT, out.size * 4, 'bytes of float32')


if __name__ == '__main__':
    main()
