"""What the PyTorch references of the Keras applications share (torch_<family>.py): the seeded
weights files (written by OUR writers through app_weights.mjs) and their digests, the seeded
inputs, reading a Keras weights file with h5py, the Keras layers' semantics in PyTorch (NCHW
inside, everything written out in Keras' NHWC order), Grad-CAM, and the golden writers. Nothing
here knows an architecture; each script builds its own from the Keras definition, calling these
with Keras' layer names. Two ways of running the layers: `Net` records every layer by name (the
MobileNet, MobileNetV2 and EfficientNet cases of run_cases); `Keras` takes arrays from an h5py
file (Xception, InceptionV3).

Keras semantics reproduced:
  - Conv2D / DepthwiseConv2D padding 'same': out = ceil(in / s), total pad
    max((out - 1) s + k - in, 0), the extra row / column at the bottom / right (TensorFlow).
    'valid': no padding. ZeroPadding2D ((top, bottom), (left, right)).
  - Conv2D kernel [kh, kw, in, out] -> [out, in, kh, kw]; DepthwiseConv2D kernel [kh, kw, C, M]
    -> [C*M, 1, kh, kw] with groups = C (output channel c*M + m, as TF).
  - BatchNormalization (inference): (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta.
  - Normalization (preprocessing): (x - mean) / max(sqrt(variance), 1e-7), per channel.
  - ReLU(6) = clamp(x, 0, 6); swish = x * sigmoid(x); Dense kernel [in, out].
  - GlobalAveragePooling2D = mean over H, W; GlobalMaxPooling2D = max; Reshape in NHWC order;
    Dropout = identity (inference); Add, Multiply with Keras' broadcasting ([N, 1, 1, C] * [N, H, W, C]).
Everything runs in float64.
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

DTYPE = torch.float64
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRITER = os.path.join(ROOT, 'scripts', 'reference', 'app_weights.mjs')


def read_keras_weights(path):
    """layer name -> [(short weight name, float64 array)] in weight_names order, and the
    layer_names list; for save_weights files (layer groups at the root) and whole-model saves
    (under /model_weights)."""
    with h5py.File(path, 'r') as f:
        root = f['model_weights'] if 'model_weights' in f else f
        names = [n.decode() if isinstance(n, bytes) else n for n in root.attrs['layer_names']]
        out = {}
        for n in names:
            g = root[n]
            wn = [w.decode() if isinstance(w, bytes) else w for w in g.attrs['weight_names']]
            out[n] = [(w.split('/')[-1].split(':')[0], np.asarray(g[w][()], dtype=np.float64)) for w in wn]
    return out, names


def digest(weights, names):
    """count, sum and sum of |.| of every weight value, in file order (float64)."""
    count, s, sa = 0, 0.0, 0.0
    for n in names:
        for _, a in weights[n]:
            # the stored float32 values, summed one by one as the TypeScript test does
            v = a.astype(np.float32).astype(np.float64).ravel()
            count += v.size
            s += math.fsum(v)
            sa += math.fsum(np.abs(v))
    return {'count': count, 'sum': s, 'sumAbs': sa}


class Net:
    """Runs layers by their Keras names, keeping every output (NCHW or NC) for statistics and
    Grad-CAM. `W` maps a layer name to its {short name: tensor} weights."""

    def __init__(self, weights, keep_grad=()):
        self.W = {n: {k: torch.tensor(a, dtype=DTYPE) for k, a in ws} for n, ws in weights.items()}
        self.acts = {}
        self.order = []
        self.keep_grad = set(keep_grad)
        self.margins = {}

    def w(self, layer, name):
        return self.W[layer][name]

    def out(self, name, x):
        if name in self.acts:
            raise ValueError(f'layer {name} recorded twice')
        if name in self.keep_grad:
            x.retain_grad()
        self.acts[name] = x
        self.order.append(name)
        return x

    # --- Keras layers -------------------------------------------------------------------------
    def conv(self, name, x, stride=1, padding='same', activation=None, weights_of=None):
        src = weights_of or name
        k = self.w(src, 'kernel').permute(3, 2, 0, 1)
        b = self.W[src].get('bias')
        x = F.conv2d(pad(x, k.shape[2:], stride, padding), k, b, stride=stride)
        return self.out(name, act(x, activation))

    def depthwise(self, name, x, stride=1, padding='same'):
        dk = self.w(name, 'depthwise_kernel')
        kh, kw, C, M = dk.shape
        k = dk.permute(2, 3, 0, 1).reshape(C * M, 1, kh, kw)
        b = self.W[name].get('bias')
        return self.out(name, F.conv2d(pad(x, (kh, kw), stride, padding), k, b, stride=stride, groups=C))

    def bn(self, name, x, eps=1e-3):
        v = lambda s: self.w(name, s).reshape(1, -1, 1, 1)
        return self.out(name, (x - v('moving_mean')) / torch.sqrt(v('moving_variance') + eps) * v('gamma') + v('beta'))

    def relu6(self, name, x):
        # How close image 0's inputs come to the kinks at 0 and 6: where float32 rounding can flip
        # the gradient mask, and a gradient golden stops testing the network.
        self.margins[name] = torch.minimum(torch.abs(x[0]), torch.abs(x[0] - 6)).min().item()
        return self.out(name, torch.clamp(x, 0, 6))

    def activation(self, name, x, fn):
        return self.out(name, act(x, fn))

    def zero_pad(self, name, x, pads):
        (t, b), (l, r) = pads
        return self.out(name, F.pad(x, (l, r, t, b)))

    def gap(self, name, x, keepdims=False):
        return self.out(name, x.mean(dim=(2, 3), keepdim=keepdims))

    def gmp(self, name, x):
        return self.out(name, x.amax(dim=(2, 3)))

    def dense(self, name, x, activation=None, weights_of=None):
        src = weights_of or name
        y = x @ self.w(src, 'kernel') + self.w(src, 'bias')
        self.pre = y
        return self.out(name, act(y, activation))

    def identity(self, name, x):
        return self.out(name, x)

    def add(self, name, a, b):
        return self.out(name, a + b)

    def multiply(self, name, a, b):
        return self.out(name, a * b)

    def rescale(self, name, x, scale, offset=0.0):
        s = torch.tensor(scale, dtype=DTYPE).reshape(1, -1, 1, 1) if isinstance(scale, (list, tuple)) else scale
        return self.out(name, x * s + offset)

    def normalization(self, name, x):
        m = self.w(name, 'mean').reshape(1, -1, 1, 1)
        std = torch.clamp(torch.sqrt(self.w(name, 'variance').reshape(1, -1, 1, 1)), min=1e-7)
        return self.out(name, (x - m) / std)

    def reshape_nhwc(self, name, x, target):
        """Keras Reshape: row-major over NHWC; returns NCHW for rank-4 targets."""
        y = to_nhwc(x).reshape(x.shape[0], *target)
        return self.out(name, y.permute(0, 3, 1, 2) if y.dim() == 4 else y)


def act(x, fn):
    if fn in (None, 'linear'):
        return x
    if fn == 'relu6':
        return torch.clamp(x, 0, 6)
    if fn == 'swish':
        return x * torch.sigmoid(x)
    if fn == 'sigmoid':
        return torch.sigmoid(x)
    if fn == 'softmax':
        return torch.softmax(x, dim=1)
    raise ValueError(f'activation {fn}')


def pad(x, k, s, padding):
    """TF 'same' padding on NCHW: the extra row / column goes to the bottom / right."""
    if padding == 'valid':
        return x
    pads = []
    for size, kk in ((x.shape[3], k[1]), (x.shape[2], k[0])):  # W then H, as F.pad wants
        out = math.ceil(size / s)
        total = max((out - 1) * s + kk - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def correct_pad(shape_hw, k):
    """imagenet_utils.correct_pad for a static input size (H, W)."""
    adjust = (1 - shape_hw[0] % 2, 1 - shape_hw[1] % 2)
    c = k // 2
    return ((c - adjust[0], c), (c - adjust[1], c))


def make_divisible(v, divisor=8, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def to_nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def sample_indices(size, k=16):
    k = min(k, size)
    return [i * size // k for i in range(k)]


def r(a, digits=10):
    return [float(f'{v:.{digits}g}') for v in np.asarray(a, dtype=np.float64).ravel()]


def layer_stats(net, n):
    """Image 0 of every recorded layer: NHWC shape, mean, population std, 16 samples."""
    out = []
    for name in net.order:
        a = to_nhwc(net.acts[name]).detach().numpy()[0]
        flat = a.ravel()
        out.append({'name': name, 'shape': list(a.shape), 'mean': float(flat.mean()), 'std': float(flat.std()),
                    'sample': r(flat[sample_indices(flat.size)])})
    return out


def gradcam(net, layer, score):
    """Selvaraju et al. eq. 1-2 at the layer's resolution: ReLU(sum_k mean_ij(d score / d A_k) A_k),
    image 0, NHWC row-major [H, W]."""
    A = net.acts[layer]
    A.grad = None
    score.backward(retain_graph=True)
    w = A.grad[0].mean(dim=(1, 2))
    return torch.relu((w[:, None, None] * A[0]).sum(0)).detach().numpy()


def run_cases(family, forward, cam_layers, golden_path, about, cases_dir):
    """For each case of `family` in cases_dir/cases.json: read the weights file and the input,
    run `forward(net, x, options)` (returns the output; the net records the layers), and write
    the golden. With the top, `forward` leaves the final softmax's input in net.logits."""
    cases = json.load(open(os.path.join(cases_dir, 'cases.json')))[family]
    result = {'about': about, 'torch': torch.__version__, 'numpy': np.__version__, 'cases': []}
    for c in cases:
        weights, names = read_keras_weights(c['weights'])
        o = c['options']
        h, w_, ch = o['inputShape']
        n = c['input']['n']
        x = np.fromfile(c['inputFile'], dtype='<f4').astype(np.float64).reshape(n, h, w_, ch)
        net = Net(weights, keep_grad=cam_layers if o.get('includeTop') else ())
        xt = torch.tensor(x, dtype=DTYPE, requires_grad=True).permute(0, 3, 1, 2)
        y = forward(net, xt, o)
        entry = {k: c[k] for k in ('id', 'options', 'seed', 'input')}
        entry['weightsDigest'] = digest(weights, names)
        entry['inputSum'] = math.fsum(np.fromfile(c['inputFile'], dtype='<f4').astype(np.float64))
        entry['output'] = r(to_nhwc(y).detach().numpy())
        entry['gradcam'] = []
        margin = ''
        if o.get('includeTop'):
            logits = net.logits
            entry['logits'] = r(logits.detach().numpy())
            cls = int(torch.argmax(logits[0]))
            for layer in cam_layers:
                m = gradcam(net, layer, logits[0, cls])
                g = {'layer': layer, 'class': cls, 'shape': list(m.shape), 'map': r(m)}
                after = [(d, k) for k, d in net.margins.items() if net.order.index(k) > net.order.index(layer)]
                if after:
                    # The ReLU6 input between the layer and the output nearest to a kink (0 or 6), image 0.
                    d, k = min(after)
                    g['relu6Margin'] = {'min': d, 'layer': k}
                    margin += f', {layer}: ReLU6 inputs after it ≥ {d:.1e} from 0 and 6 ({k})'
                entry['gradcam'].append(g)
        entry['layers'] = layer_stats(net, n)
        top = f", top-1 {int(torch.argmax(net.logits[0]))} p {float(y[0].max()):.4f}" if o.get('includeTop') else ''
        print(f"{family} {c['id']}: {len(entry['layers'])} layers, output {list(y.shape)}{top}{margin}, "
              f"maps {[(g['layer'], g['shape'], round(max(g['map']), 5)) for g in entry['gradcam']]}")
        result['cases'].append(entry)
    write_golden(golden_path, result, end='\n')


# ---------------------------------------------------------------------------------------------
# The seeded weights files and inputs.


def write_seeded(family, path, opts):
    """Our writer (app_weights.mjs; needs a build: npx tsc -p tsconfig.json --outDir dist-dev)
    writes the family's seeded random weights for `opts` at `path`."""
    subprocess.run(['node', WRITER, family, path, json.dumps(opts)], check=True, cwd=ROOT)


def weights_file(family, given, seed):
    """The weights file: `given`, or one written now by our writer with `seed`."""
    if given:
        return given, None
    tmp = tempfile.mkdtemp(prefix=f'lanterna-{family}-')
    path = os.path.join(tmp, f'{family}.h5')
    write_seeded(family, path, {'seed': seed})
    return path, tmp


def read_file(path):
    """layer name -> {dataset name: array}, in layer_names / weight_names order; and the digest of
    all arrays' float32 bytes in that order."""
    out, h = {}, hashlib.sha256()
    with h5py.File(path, 'r') as f:
        for ln in f.attrs['layer_names']:
            ln = ln.decode()
            g = f[ln]
            ws = {}
            for wn in g.attrs['weight_names']:
                wn = wn.decode()
                a = np.asarray(g[wn][()], dtype=np.float32)
                h.update(a.tobytes())
                ws[wn] = a
            out[ln] = ws
    return out, h.hexdigest()


def lcg_input(n, size, seed, lo, hi):
    """[n, size, size, 3] float32(lo + (hi - lo) s / 2^32) from the LCG (ResNet50, DenseNet121)."""
    s, vals = seed, np.empty(n * size * size * 3, dtype=np.float32)
    for i in range(vals.size):
        s = (1664525 * s + 1013904223) % 4294967296
        vals[i] = np.float32(lo + (hi - lo) * s / 4294967296)
    return vals.reshape(n, size, size, 3)


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
    """Keras layers on NCHW tensors of one dtype, weights taken from an h5py file by a getter.

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
    """

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


def gradcam_logit(logits, acts, layer, cls):
    """Grad-CAM of logit `cls` (batch element 0) at acts[layer] ([1, C, H, W] in the graph): [H, W]."""
    a = acts[layer]
    (g,) = torch.autograd.grad(logits[0, cls], a, retain_graph=True)
    w = g[0].mean(dim=(1, 2))
    return torch.relu((w[:, None, None] * a[0]).sum(0))


def nested(x):
    return np.asarray(x.detach().cpu().numpy(), dtype=np.float64).tolist()


def write_golden(path, doc, end=''):
    """The golden as compact JSON (then `end`), atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write(end)
    os.replace(path + '.tmp', path)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)', file=sys.stderr)
