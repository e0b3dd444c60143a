#!/usr/bin/python3
"""Golden maps of the CAM family for test/cam_methods.test.ts, from an independent PyTorch (float64)
implementation of every method, written from its paper and pytorch-grad-cam's definitions:

  gradcam       alpha = mean_ij g                                   (Selvaraju et al. 2017)
  gradcam++     alpha = sum_ij a_ij relu(g), a = g^2 / (2 g^2 + sum_ab A * g^3 + 1e-6)  (eq. 19)
  xgradcam      alpha = sum_ij g A / (sum_ij A + 1e-7)
  hirescam      sum_k g * A
  layercam      sum_k relu(g) * A
  scorecam      alpha = softmax_k(score(x * norm(up(A_k)))), up: bilinear, align_corners=True,
                norm: (u - min) / (max - min + 1e-8)
  ablationcam   alpha = (y - y_k) / y, y_k with channel k of A set to 0 and the layers after A rerun
  eigencam      first principal component of A (centred [h*w, K], SVD, projection on VT[0])
  eigengradcam  the same of g * A
  fullgrad      |x gx| + sum over conv / BN biases of |b gz|, each channel min-max normalised
                ((t - min) / (max - min + 1e-7)), resized to the input (bilinear, half-pixel) per
                channel, summed; BN bias = beta - mean gamma / sqrt(var + eps)
  cam           alpha = the classifier's column (MobileNet's conv_preds), no ReLU
then ReLU (every method but cam). g = d score / d A, score = the softmax output of the target
class (and, for a few methods, the logit). Options: eigen_smooth (the projection of the weighted activations instead of their sum)
and aug_smooth (input flipped or not x 1, 1.1, 0.9; each map min-max normalised with 1e-7,
un-flipped, averaged; targets fixed to the plain input's).

The sign of an SVD vector is arbitrary (LAPACK's choice in pytorch-grad-cam); both sides here fix
it so that VT[0] sums to >= 0. The script prints how often numpy's own sign already did.

Networks (batch of 2 images; targets: each image's top-1, and given classes, chosen so that no
method's map of either image is all zero, which would test nothing):
  tiny_vgg16      test/golden/tiny_vgg16.h5 and the inputs of gradcam_tiny_vgg16.json (written by
                  gradcam_golden.py); layer block4_conv3 (8 x 8 x 16); given classes [5, 2].
  mini_mobilenet  MobileNet v1's layout and Keras layer names, three blocks (conv1 s2, dw/pw x 3,
                  the second depthwise s2 after ZeroPadding2D), ReLU6, BatchNormalization (eps 1e-3),
                  GAP (keepdims), conv_preds (1x1, bias), reshape_2, softmax; 32 x 32 x 3 input,
                  10 classes; layer conv_pw_2_relu (8 x 8 x 24: block 3 follows, so the gradients
                  vary over positions), CAM at conv_pw_3_relu (the GAP's input); given classes
                  [2, 9] (each image's the other's top-1). Weights seeded here (He normal; BN gamma
                  U(0.8, 1.2), beta and mean N(0, 0.1^2), variance U(0.5, 1.5); the classifier
                  scaled to logits of standard deviation 1.5) and written to
                  test/golden/cam_methods/mini_mobilenet.h5 (Keras weights-only layout); inputs:
                  noise plus a coloured blob at a different place in each image.

Writes test/golden/cam_methods/cam_methods.json. Run: /usr/bin/python3 scripts/reference/cam_methods_torch.py
"""
import json
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, 'test', 'golden')
OUT = os.path.join(GOLDEN, 'cam_methods')
MOBILE_SEED = 9  # the first seed whose two images have different top-1 classes and non-zero maps
SIGNS = {'agree': 0, 'flipped': 0}


# ------------------------------------------------------------------------------------------------
# Networks: a list of named steps (Keras layers), run in float64 NCHW.

class Net:
    def __init__(self, steps, size):
        self.steps = steps  # (name, fn(h, sites) -> h)
        self.size = size

    def forward(self, x_nhwc, capture=None, replace=None, sites=None):
        """Returns (logits, probs, captured A). replace = (layer, A'): start after that layer from A'.
        sites: a list that receives (z, bias) for every bias FullGrad uses."""
        h = x_nhwc.permute(0, 3, 1, 2) if x_nhwc is not None else None
        caps = None
        started = replace is None
        for name, fn in self.steps:
            if not started:
                if name == replace[0]:
                    h = replace[1]
                    started = True
                continue
            if fn is None:  # the final softmax: its input is the logits
                logits = h
                h = torch.softmax(h, dim=1)
            else:
                h = fn(h, sites)
            if name == capture:
                h = caps = h.detach().requires_grad_(True)  # A as a leaf: d score / d A
        return logits, h, caps


def tf_same(h, k, s):
    """TensorFlow's 'same' padding (extra on the bottom / right)."""
    n = h.shape[-1]
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return F.pad(h, (total // 2, total - total // 2, total // 2, total - total // 2))


def conv(w, b=None, stride=1, depthwise=False, padding='same'):
    """Keras kernel HWIO (depthwise: [kh, kw, C, 1]); z = the output the bias is added to."""
    k = w.shape[0]
    wt = torch.from_numpy(w.astype(np.float64))
    wt = wt.permute(2, 3, 0, 1).reshape(-1, 1, k, k) if depthwise else wt.permute(3, 2, 0, 1)
    bt = None if b is None else torch.from_numpy(b.astype(np.float64))

    def fn(h, sites):
        z = F.conv2d(tf_same(h, k, stride) if padding == 'same' else h, wt, bt, stride=stride, groups=h.shape[1] if depthwise else 1)
        if sites is not None and bt is not None:
            sites.append((z, bt))
        return z
    return fn


def bn(gamma, beta, mean, var, eps=1e-3):
    g, b, m, v = (torch.from_numpy(a.astype(np.float64))[None, :, None, None] for a in (gamma, beta, mean, var))

    def fn(h, sites):
        y = (h - m) / torch.sqrt(v + eps) * g + b
        if sites is not None:
            sites.append((y, (b - m * g / torch.sqrt(v + eps)).reshape(-1)))
        return y
    return fn


def vgg_net():
    f = h5py.File(os.path.join(GOLDEN, 'tiny_vgg16.h5'), 'r')
    steps = []
    for name in [n.decode() for n in f.attrs['layer_names']][1:]:
        g = f[name]
        ws = [np.array(g[w.decode() if isinstance(w, bytes) else w]) for w in g.attrs['weight_names']]
        if 'conv' in name:
            c = conv(ws[0], ws[1])
            steps.append((name, lambda h, s, c=c: torch.relu(c(h, s))))
        elif 'pool' in name:
            steps.append((name, lambda h, s: F.max_pool2d(h, 2, 2)))
        elif name == 'flatten':
            steps.append((name, lambda h, s: h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)))
        else:
            k, b = (torch.from_numpy(a.astype(np.float64)) for a in ws)
            relu = name != 'predictions'
            steps.append((name, lambda h, s, k=k, b=b, relu=relu: torch.relu(h @ k + b) if relu else h @ k + b))
    # Dense('predictions', softmax): the step above is its pre-activation, the logits.
    steps.append(('predictions_softmax', None))
    gold = json.load(open(os.path.join(GOLDEN, 'gradcam_tiny_vgg16.json')))
    x = np.array(gold['input'], dtype=np.float32).reshape(2, gold['size'], gold['size'], 3)
    return Net(steps, gold['size']), x


MOBILE_BLOCKS = [(16, 1), (24, 2), (24, 1)]
MOBILE_CLASSES = 10


def mobile_layers():
    """(name, kind, weight shapes) in Keras order, MobileNet's names."""
    out = [('conv1', 'conv', [(3, 3, 3, 8)]), ('conv1_bn', 'bn', 8), ('conv1_relu', 'relu6', None)]
    cin = 8
    for i, (f, s) in enumerate(MOBILE_BLOCKS, start=1):
        if s == 2:
            out.append(('conv_pad_%d' % i, 'pad', None))
        out += [('conv_dw_%d' % i, 'dw%d' % s, [(3, 3, cin, 1)]), ('conv_dw_%d_bn' % i, 'bn', cin), ('conv_dw_%d_relu' % i, 'relu6', None),
                ('conv_pw_%d' % i, 'conv', [(1, 1, cin, f)]), ('conv_pw_%d_bn' % i, 'bn', f), ('conv_pw_%d_relu' % i, 'relu6', None)]
        cin = f
    out += [('global_average_pooling2d', 'gap', None), ('dropout', 'id', None),
            ('conv_preds', 'preds', [(1, 1, cin, MOBILE_CLASSES), (MOBILE_CLASSES,)]), ('reshape_2', 'flat', None), ('predictions', 'softmax', None)]
    return out


def mobile_weights(rng):
    w = {}
    for name, kind, shapes in mobile_layers():
        if kind in ('conv', 'preds') or kind.startswith('dw'):
            k = shapes[0]
            fan_in = k[0] * k[1] * (1 if kind.startswith('dw') else k[2])
            arrs = [rng.standard_normal(k) * np.sqrt(2.0 / fan_in)]
            if kind == 'preds':
                arrs.append(rng.standard_normal(shapes[1]) * 0.05)
            w[name] = [a.astype(np.float32) for a in arrs]
        elif kind == 'bn':
            c = shapes
            w[name] = [a.astype(np.float32) for a in (rng.uniform(0.8, 1.2, c), rng.standard_normal(c) * 0.1, rng.standard_normal(c) * 0.1, rng.uniform(0.5, 1.5, c))]
    return w


def mobile_inputs(rng):
    """Two 32 x 32 x 3 images in [-1, 1]: noise plus a Gaussian blob of a random colour, rounded to 0.01."""
    yy, xx = np.mgrid[0:32, 0:32]
    out = []
    for cy, cx in [(10, 12), (22, 20)]:
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 5.0 ** 2))
        amp = rng.uniform(-1, 1, 3)
        out.append(0.4 * rng.uniform(-1, 1, (32, 32, 3)) + blob[:, :, None] * amp)
    return np.round(np.clip(np.array(out), -1, 1), 2).astype(np.float32)


def mobile_net(w):
    steps = []
    for name, kind, _ in mobile_layers():
        if kind == 'conv':
            steps.append((name, conv(w[name][0], stride=2 if name == 'conv1' else 1)))
        elif kind.startswith('dw'):
            s = int(kind[2])
            steps.append((name, conv(w[name][0], stride=s, depthwise=True, padding='same' if s == 1 else 'valid')))
        elif kind == 'bn':
            steps.append((name, bn(*w[name])))
        elif kind == 'relu6':
            steps.append((name, lambda h, s: torch.clamp(h, 0, 6)))
        elif kind == 'pad':
            steps.append((name, lambda h, s: F.pad(h, (0, 1, 0, 1))))
        elif kind == 'gap':
            steps.append((name, lambda h, s: h.mean(dim=(2, 3), keepdim=True)))
        elif kind == 'id':
            steps.append((name, lambda h, s: h))
        elif kind == 'preds':
            steps.append((name, conv(w[name][0], w[name][1])))
        elif kind == 'flat':
            steps.append((name, lambda h, s: h.reshape(h.shape[0], -1)))
        else:
            steps.append((name, None))
    return Net(steps, 32)


def write_mobile_h5(path, w):
    with h5py.File(path, 'w') as f:
        names = ['input_1'] + [n for n, _, _ in mobile_layers()]
        f.attrs['layer_names'] = np.array([n.encode() for n in names])
        f.attrs['keras_version'] = b'2.15.0'
        f.attrs['backend'] = b'tensorflow'
        for n in names:
            g = f.create_group(n)
            short = {'bn': ['gamma', 'beta', 'moving_mean', 'moving_variance']}
            ws = w.get(n, [])
            kind = next((k for nn, k, _ in mobile_layers() if nn == n), None)
            labels = short['bn'] if kind == 'bn' else ['depthwise_kernel'] if (kind or '').startswith('dw') else ['kernel', 'bias']
            wn = ['%s/%s:0' % (n, labels[i]) for i in range(len(ws))]
            g.attrs['weight_names'] = np.array([s.encode() for s in wn]) if wn else np.array([], dtype=np.float64)
            for s, a in zip(wn, ws):
                g.create_dataset(s, data=a)


# ------------------------------------------------------------------------------------------------
# The methods.

def projection(t):
    """First principal component of each image's [h*w, K] activations: centred, projected on VT[0]."""
    out = []
    for a in t.detach().numpy():
        k = a.shape[0]
        x = a.reshape(k, -1).T
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        v = vt[0]
        if v.sum() < 0:
            v = -v
            SIGNS['flipped'] += 1
        else:
            SIGNS['agree'] += 1
        out.append((x @ v).reshape(a.shape[1:]))
    return torch.from_numpy(np.array(out))


def target(y, classes):
    return y[torch.arange(y.shape[0]), torch.tensor(classes)]


def pick(out, score):
    """The explained score of a forward pass (logits, probs, A): the softmax output, or the logits."""
    return out[0] if score == 'logit' else out[1]


def acts_grads(net, x, layer, classes, score):
    out = net.forward(torch.from_numpy(x.astype(np.float64)), capture=layer)
    g, = torch.autograd.grad(target(pick(out, score), classes).sum(), out[2])
    A = out[2]
    return A.detach(), g


def score_cam_weights(net, x, A, classes, score):
    n, k = A.shape[:2]
    up = F.interpolate(A, size=(net.size, net.size), mode='bilinear', align_corners=True)
    lo = up.amin(dim=(2, 3), keepdim=True)
    hi = up.amax(dim=(2, 3), keepdim=True)
    up = (up - lo) / (hi - lo + 1e-8)
    xt = torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2)
    scores = torch.zeros(n, k)
    with torch.no_grad():
        for i in range(n):
            masked = (xt[i][None] * up[i][:, None]).permute(0, 2, 3, 1)  # [K, H, W, 3]
            scores[i] = pick(net.forward(masked), score)[:, classes[i]]
    return torch.softmax(scores, dim=1)


def ablation_weights(net, x, layer, A, classes, score):
    n, k = A.shape[:2]
    with torch.no_grad():
        y = target(pick(net.forward(torch.from_numpy(x.astype(np.float64))), score), classes)
        w = torch.zeros(n, k)
        for i in range(n):
            abl = A[i][None].repeat(k, 1, 1, 1)
            for c in range(k):
                abl[c, c] = 0
            p = pick(net.forward(None, replace=(layer, abl)), score)
            w[i] = (y[i] - p[:, classes[i]]) / y[i]
    return w


def minmax_channels(t):
    t = t - t.amin(dim=(2, 3), keepdim=True)
    return t / (t.amax(dim=(2, 3), keepdim=True) + 1e-7)


def full_grad(net, x, classes, score):
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    sites = []
    y = pick(net.forward(xt, sites=sites), score)
    grads = torch.autograd.grad(target(y, classes).sum(), [xt] + [z for z, _ in sites])
    size = (x.shape[1], x.shape[2])
    total = minmax_channels((xt * grads[0]).abs().permute(0, 3, 1, 2).detach()).sum(1)
    for (z, b), g in zip(sites, grads[1:]):
        t = minmax_channels((b[None, :, None, None] * g).abs().detach())
        total = total + F.interpolate(t, size=size, mode='bilinear', align_corners=False).sum(1)
    return total


def cam_map(net, x, layer, classes, method, eigen_smooth=False, preds=None, score='softmax'):
    """The map [N, h, w] (FullGrad: [N, H, W]) of `method`, ReLU applied where the method does."""
    if method == 'fullgrad':
        return full_grad(net, x, classes, score)
    A, g = acts_grads(net, x, layer, classes, score)
    weighted = None
    if method == 'gradcam':
        alpha = g.mean(dim=(2, 3))
    elif method == 'gradcam++':
        g2 = g ** 2
        aij = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * g + 1e-6)
        aij = torch.where(g != 0, aij, torch.zeros_like(aij))
        alpha = (aij * torch.relu(g)).sum(dim=(2, 3))
    elif method == 'xgradcam':
        alpha = (g * A / (A.sum(dim=(2, 3), keepdim=True) + 1e-7)).sum(dim=(2, 3))
    elif method == 'hirescam':
        weighted = g * A
    elif method == 'layercam':
        weighted = torch.relu(g) * A
    elif method == 'scorecam':
        alpha = score_cam_weights(net, x, A, classes, score)
    elif method == 'ablationcam':
        alpha = ablation_weights(net, x, layer, A, classes, score)
    elif method == 'eigencam':
        return torch.relu(projection(A))
    elif method == 'eigengradcam':
        return torch.relu(projection(g * A))
    elif method == 'cam':
        alpha = torch.from_numpy(preds.astype(np.float64))[0, 0][:, classes].T
    if weighted is None:
        weighted = alpha[:, :, None, None] * A
    m = projection(weighted) if eigen_smooth else weighted.sum(1)
    return m if method == 'cam' else torch.relu(m)


def aug_smooth(net, x, layer, classes, method):
    total = 0
    for flip in (False, True):
        for f in (1.0, 1.1, 0.9):
            xa = x.astype(np.float64) * f
            if flip:
                xa = xa[:, :, ::-1, :].copy()
            m = cam_map(net, xa, layer, classes, method).detach()
            lo = m.amin(dim=(1, 2), keepdim=True)
            hi = m.amax(dim=(1, 2), keepdim=True)
            m = (m - lo) / (hi - lo + 1e-7)
            total = total + (torch.flip(m, dims=[2]) if flip else m)
    return total / 6


METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'scorecam', 'ablationcam', 'eigencam', 'eigengradcam', 'fullgrad']
OPTIONS = [('gradcam', {'augSmooth': True}), ('gradcam', {'eigenSmooth': True}), ('hirescam', {'eigenSmooth': True}), ('scorecam', {'eigenSmooth': True}),
           ('gradcam++', {'score': 'logit'}), ('scorecam', {'score': 'logit'})]


def cases(net, x, layer, given, preds=None, cam_layer=None):
    with torch.no_grad():
        logits, probs, _ = net.forward(torch.from_numpy(x.astype(np.float64)))
    top1 = probs.argmax(1).tolist()
    methods = [(m, {}) for m in METHODS + (['cam'] if preds is not None else [])] + OPTIONS
    out = []
    for method, opts in methods:
        at = cam_layer if method == 'cam' else layer
        for is_given in (False, True):
            classes = given if is_given else top1
            if opts.get('augSmooth'):
                m = aug_smooth(net, x, at, classes, method)
            else:
                m = cam_map(net, x, at, classes, method, eigen_smooth=opts.get('eigenSmooth', False), preds=preds, score=opts.get('score', 'softmax'))
            m = m.detach()
            out.append({'method': method, 'layer': at, 'options': opts, 'given': is_given, 'classes': classes,
                        'h': int(m.shape[1]), 'w': int(m.shape[2]),
                        'maps': [float('%.9g' % v) for v in m.reshape(-1).tolist()]})
    return {'layer': layer, 'given': given, 'probs': probs.reshape(-1).tolist(), 'logits': logits.reshape(-1).tolist(), 'top1': top1, 'cases': out}


def main():
    os.makedirs(OUT, exist_ok=True)
    vgg, xv = vgg_net()
    doc = {'source': 'scripts/reference/cam_methods_torch.py, PyTorch %s float64' % torch.__version__, 'nets': {}}
    doc['nets']['tiny_vgg16'] = {'weights': 'tiny_vgg16.h5', 'inputs': 'gradcam_tiny_vgg16.json', **cases(vgg, xv, 'block4_conv3', [5, 2])}

    rng = np.random.RandomState(MOBILE_SEED)
    w = mobile_weights(rng)
    x = mobile_inputs(rng)
    net = mobile_net(w)
    with torch.no_grad():
        logits, _, _ = net.forward(torch.from_numpy(x.astype(np.float64)))
    f = 1.5 / float(logits.std())
    w['conv_preds'] = [(a * f).astype(np.float32) for a in w['conv_preds']]
    net = mobile_net(w)
    write_mobile_h5(os.path.join(OUT, 'mini_mobilenet.h5'), w)
    doc['nets']['mini_mobilenet'] = {'weights': 'cam_methods/mini_mobilenet.h5', 'input': [float(v) for v in x.reshape(-1)],
                                     'blocks': MOBILE_BLOCKS, 'classes': MOBILE_CLASSES,
                                     **cases(net, x, 'conv_pw_2_relu', [2, 9], preds=w['conv_preds'][0], cam_layer='conv_pw_3_relu')}
    with open(os.path.join(OUT, 'cam_methods.json'), 'w') as fh:
        json.dump(doc, fh, separators=(',', ':'))
    for name, n in doc['nets'].items():
        print(name, 'top-1', n['top1'], 'zero maps:', [(c['method'], c['given']) for c in n['cases'] if max(c['maps']) == 0])
    print('SVD signs: numpy already had VT[0] summing >= 0 in %(agree)d, flipped %(flipped)d' % SIGNS)


if __name__ == '__main__':
    main()
