#!/usr/bin/python3
"""Golden MobileNet v1 α=0.25 outputs and Grad-CAM maps from an independent PyTorch forward pass.

Reads the TensorFlow.js layers model /work/shared/data/tfjs/mobilenet_v1_0.25_224/ (model.json +
float32 shards, sliced by the weightsManifest with numpy) and interprets its Keras 2.1.4
model_config as a plain chain, in PyTorch (NCHW inside; everything written out is in Keras' NHWC
order). Keras semantics reproduced:
  - Conv2D / DepthwiseConv2D padding 'same': out = ceil(in / s); total pad
    max((out - 1) s + k - in, 0) split floor / ceil with the extra row / column at the
    bottom / right (as TensorFlow; for stride 2 on 224 that is pad 0 top, 1 bottom).
  - Conv2D kernel [kh, kw, in, out] -> [out, in, kh, kw]; DepthwiseConv2D kernel
    [kh, kw, C, M] -> [C*M, 1, kh, kw], groups = C (output channel c*M + m, as TF).
  - BatchNormalization (inference): (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma
    + beta, epsilon from the config (1e-3).
  - Activation relu6 = clamp(x, 0, 6); softmax over channels; GlobalAveragePooling2D = mean over
    H, W; Reshape in NHWC order; Dropout = identity (inference).
Input: the committed 224x224 PNGs (made by mobilenet_inputs.mjs with OUR loader), x/127.5 - 1.

Grad-CAM (Selvaraju et al. eq. 1-2): for layer A (the ReLU6 output of conv_pw_13 / conv_pw_11),
w_k = mean over H, W of d score / d A_k, map = ReLU(sum_k w_k A_k), at the layer's resolution,
neither normalised nor upsampled. score = the softmax probability of the top-1 class
('softmax' variant) or the input of the final softmax, conv_preds' output ('logit' variant).

Run in float64 (the golden) and float32 (reported for comparison); the first layer is also
computed by a numpy-only convolution as a second path.

Run: /usr/bin/python3 scripts/reference/torch_mobilenet.py [dataDir]
(Debian 12: python3-torch 1.13.1, python3-numpy 1.24, python3-pil 9.4). Writes
test/golden/mobilenet/torch_mobilenet.json. Tests never run Python.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('LANTERNA_DATA', os.path.join(ROOT, '..', 'shared', 'data'))
MODEL_DIR = os.path.join(DATA, 'tfjs', 'mobilenet_v1_0.25_224')
OUT_DIR = os.path.join(ROOT, 'test', 'golden', 'mobilenet')
IMAGES = ['hummingbird_tonningp', 'hummingbird_perceptualBall']
CAM_LAYERS = ['conv_pw_13_relu', 'conv_pw_11_relu']
LABELS = os.path.join(DATA, 'labels', 'imagenet_class_index.json')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_weights(model_dir, manifest):
    """name -> float32 numpy array, by the weightsManifest: each group's shards are concatenated
    in order and the weights follow each other in the listed order."""
    out = {}
    for group in manifest:
        buf = b''.join(open(os.path.join(model_dir, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            if w['dtype'] != 'float32' or 'quantization' in w:
                raise ValueError(f"{w['name']}: dtype {w['dtype']} / quantization not handled")
            n = int(np.prod(w['shape'])) if w['shape'] else 1
            out[w['name']] = np.frombuffer(buf, '<f4', n, off).reshape(w['shape']).copy()
            off += 4 * n
        if off != len(buf):
            raise ValueError(f"group {group['paths']}: {len(buf)} bytes, weights use {off}")
    return out


def same_pad(x, k, s):
    """TF 'same' padding on an NCHW tensor: the extra row / column goes bottom / right."""
    pads = []
    for size, kk, ss in ((x.shape[3], k[1], s[1]), (x.shape[2], k[0], s[0])):  # W then H for F.pad
        out = math.ceil(size / ss)
        total = max((out - 1) * ss + kk - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def to_nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def run(layers, W, x_nhwc, dtype, keep=()):
    """Forward pass of the chain; returns {layer name: output (NCHW / NC)}; layers in `keep` have
    their outputs retain gradients."""
    # The input requires grad so that every activation is in the graph (Grad-CAM reads their .grad).
    x = torch.tensor(x_nhwc, dtype=dtype, requires_grad=True).permute(0, 3, 1, 2)
    t = lambda a: torch.tensor(a, dtype=dtype)
    acts = {}
    prev = None
    for L in layers:
        cls, name, c = L['class_name'], L['name'], L['config']
        inbound = [n[0] for n in L['inbound_nodes'][0]] if L['inbound_nodes'] else []
        if inbound != ([prev] if prev else []):
            raise ValueError(f'{name}: inbound {inbound}, not a plain chain after {prev}')
        for key in ('dilation_rate',):
            if key in c and list(c[key]) != [1, 1]:
                raise ValueError(f'{name}: {key} {c[key]} not handled')
        if c.get('data_format', 'channels_last') != 'channels_last':
            raise ValueError(f"{name}: data_format {c['data_format']}")
        if cls == 'InputLayer':
            pass
        elif cls == 'Conv2D':
            k = t(W[f'{name}/kernel']).permute(3, 2, 0, 1)
            b = t(W[f'{name}/bias']) if c['use_bias'] else None
            xp = same_pad(x, c['kernel_size'], c['strides']) if c['padding'] == 'same' else x
            x = F.conv2d(xp, k, b, stride=c['strides'])
        elif cls == 'DepthwiseConv2D':
            dk = W[f'{name}/depthwise_kernel']
            kh, kw, C, M = dk.shape
            k = t(dk).permute(2, 3, 0, 1).reshape(C * M, 1, kh, kw)
            b = t(W[f'{name}/bias']) if c['use_bias'] else None
            xp = same_pad(x, c['kernel_size'], c['strides']) if c['padding'] == 'same' else x
            x = F.conv2d(xp, k, b, stride=c['strides'], groups=C)
        elif cls == 'BatchNormalization':
            if c['axis'] not in (-1, 3) or not (c['center'] and c['scale']):
                raise ValueError(f'{name}: axis / center / scale not handled')
            v = lambda s: t(W[f'{name}/{s}']).reshape(1, -1, 1, 1)
            x = (x - v('moving_mean')) / torch.sqrt(v('moving_variance') + c['epsilon']) * v('gamma') + v('beta')
        elif cls == 'Activation':
            a = c['activation']
            if a == 'relu6':
                x = torch.clamp(x, 0, 6)
            elif a == 'softmax':
                x = torch.softmax(x, dim=1)
            elif a != 'linear':
                raise ValueError(f'{name}: activation {a}')
        elif cls == 'GlobalAveragePooling2D':
            x = x.mean(dim=(2, 3))
        elif cls == 'Reshape':
            y = to_nhwc(x).reshape(x.shape[0], *c['target_shape'])
            x = y.permute(0, 3, 1, 2) if y.dim() == 4 else y
        elif cls == 'Dropout':
            pass
        else:
            raise ValueError(f'{name}: layer class {cls} not handled')
        if name in keep:
            x.retain_grad()
        acts[name] = x
        prev = name
    return acts


def gradcam(acts, layer, score):
    """Grad-CAM map [H, W], the map before its ReLU, and the channel weights [C] for `layer`,
    given the scalar `score`."""
    A = acts[layer]
    A.grad = None
    score.backward(retain_graph=True)
    g = A.grad[0]                        # [C, H, w]
    w = g.mean(dim=(1, 2))
    lin = (w[:, None, None] * A[0]).sum(0)
    return torch.relu(lin).detach().numpy(), lin.detach().numpy(), w.detach().numpy()


def numpy_conv1(x_nhwc, kernel):
    """conv1 without torch: TF 'same' padding for a 3x3 stride-2 conv on 224 (pad 0 top/left,
    1 bottom/right), direct sum over the window."""
    N, H, Wd, C = x_nhwc.shape
    kh, kw, _, O = kernel.shape
    oh, ow = math.ceil(H / 2), math.ceil(Wd / 2)
    ph = max((oh - 1) * 2 + kh - H, 0)
    pw = max((ow - 1) * 2 + kw - Wd, 0)
    xp = np.pad(x_nhwc, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((N, oh, ow, O))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + 2 * oh:2, j:j + 2 * ow:2, :]          # [N, oh, ow, C]
            out += patch @ kernel[i, j].astype(np.float64)             # [C, O]
    return out


def compare_no_top(W):
    """The weights-only Keras twin (keras/mobilenet_2_5_224_tf_no_top.h5) against the TF.js
    weights, array by array (each layer group's weight_names, 'conv1/kernel:0' -> 'conv1/kernel')."""
    try:
        import h5py
    except ImportError:
        return 'not compared (no h5py)'
    path = os.path.join(DATA, 'keras', 'mobilenet_2_5_224_tf_no_top.h5')
    n, worst, seen = 0, 0.0, set()
    with h5py.File(path, 'r') as f:
        for ln in f.attrs['layer_names']:
            g = f[ln.decode()]
            for wn in g.attrs['weight_names']:
                a, key = g[wn.decode()][()], wn.decode().split(':')[0]
                if key not in W or W[key].shape != a.shape:
                    raise ValueError(f'{path}: {wn.decode()} {a.shape} has no TF.js twin of that shape')
                worst, n = max(worst, float(np.abs(W[key] - a).max())), n + 1
                seen.add(key)
    return {'arraysCompared': n, 'maxAbsDiff': worst, 'tfjsOnly': sorted(set(W) - seen)}


def r(a, digits=12):
    """Floats for JSON, 12 significant digits (well below the tests' tolerances)."""
    return [float(f'{v:.{digits}g}') for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    model_json = os.path.join(MODEL_DIR, 'model.json')
    m = json.load(open(model_json))
    layers = m['modelTopology']['model_config']['config']['layers']
    W = load_weights(MODEL_DIR, m['weightsManifest'])
    labels = {int(k): v[1] for k, v in json.load(open(LABELS)).items()}
    print(f'{len(layers)} layers, {len(W)} weight arrays, {sum(a.size for a in W.values())} parameters')

    result = {
        'about': 'Independent PyTorch (float64) forward pass + Grad-CAM of the TF.js MobileNet v1 0.25 224; '
                 'made by scripts/reference/torch_mobilenet.py, see README.md here',
        'model': {'path': 'tfjs/mobilenet_v1_0.25_224/model.json', 'sha256': sha256(model_json),
                  'parameters': int(sum(a.size for a in W.values()))},
        'preprocess': 'x / 127.5 - 1 on the 224x224 RGB uint8 PNG (NHWC)',
        'noTopH5': compare_no_top(W),
        'camLayers': CAM_LAYERS,
        'images': [],
    }
    for idx, stem in enumerate(IMAGES):
        png = os.path.join(OUT_DIR, f'{stem}.224.png')
        img = Image.open(png)
        assert img.mode == 'RGB' and img.size == (224, 224), (png, img.mode, img.size)
        px = np.asarray(img, dtype=np.uint8)
        x = px.astype(np.float64)[None] / 127.5 - 1.0

        acts = run(layers, W, x, torch.float64, keep=CAM_LAYERS)
        probs = acts['reshape_2'][0].detach().numpy()
        logits = acts['conv_preds'][0, :, 0, 0].detach().numpy()
        top = np.argsort(-probs)[:5]
        cls = int(top[0])
        entry = {
            'image': f'{stem}.224.png', 'source': f'images/{stem}.jpg', 'pngSha256': sha256(png),
            'top5': [{'index': int(i), 'label': labels[int(i)], 'prob': float(probs[i])} for i in top],
            'probs': r(probs), 'logits': r(logits), 'gradcam': {},
        }
        for variant, score in (('softmax', acts['act_softmax'][0, cls, 0, 0]), ('logit', acts['conv_preds'][0, cls, 0, 0])):
            entry['gradcam'][variant] = {}
            for layer in CAM_LAYERS:
                cam, lin, w = gradcam(acts, layer, score)
                entry['gradcam'][variant][layer] = {'class': cls, 'shape': list(cam.shape), 'map': r(cam),
                                                    'preRelu': r(lin), 'weights': r(w)}
        print(f'{stem}: ' + ', '.join(f"{t['label']}({t['index']}) {t['prob']:.6f}" for t in entry['top5']))
        for variant in ('softmax', 'logit'):
            for layer in CAM_LAYERS:
                g = entry['gradcam'][variant][layer]
                print(f"  gradcam {variant:7s} {layer}: shape {g['shape']}, max {max(g['map']):.6g}, sum {sum(g['map']):.6g}")

        # Second paths: float32 throughout, and conv1 by numpy.
        a32 = run(layers, W, x, torch.float32, keep=CAM_LAYERS)
        p32 = a32['reshape_2'][0].detach().numpy().astype(np.float64)
        cam32 = {(v, l): gradcam(a32, l, a32[src][0, cls, 0, 0])[1]
                 for v, src in (('softmax', 'act_softmax'), ('logit', 'conv_preds')) for l in CAM_LAYERS}
        c1 = numpy_conv1(x, W['conv1/kernel'])
        c1_torch = to_nhwc(acts['conv1']).detach().numpy()
        entry['checks'] = {
            'float32MaxAbsProbDiff': float(np.abs(p32 - probs).max()),
            # pre-ReLU maps, float32 vs float64, max abs difference / max |map|
            'float32RelPreReluCamDiff': {f'{v}/{l}': rel_diff(cam32[v, l], entry_map(entry, v, l, 'preRelu')) for (v, l) in cam32},
            'numpyConv1MaxAbsDiff': float(np.abs(c1 - c1_torch).max()),
        }
        # For information only: how far our loader's pixels are from PIL's own load_img of the JPEG
        # (libjpeg's IDCT differs from jpeg-js's by +-1 on some samples, see explain/image_io.ts).
        pil = np.asarray(Image.open(os.path.join(DATA, 'images', f'{stem}.jpg')).convert('RGB').resize((224, 224), Image.NEAREST), dtype=np.int16)
        d = np.abs(pil - px.astype(np.int16))
        entry['checks']['pilLoadImgPixels'] = {'differing': int((d > 0).sum()), 'of': int(d.size), 'maxAbs': int(d.max())}
        # For information only: the data README's measurement (PIL bilinear resize of the JPEG).
        bil = np.asarray(Image.open(os.path.join(DATA, 'images', f'{stem}.jpg')).convert('RGB').resize((224, 224), Image.BILINEAR), dtype=np.float64)
        pb = run(layers, W, bil[None] / 127.5 - 1.0, torch.float64)['reshape_2'][0].detach().numpy()
        entry['checks']['pilBilinearTop1'] = {'index': int(pb.argmax()), 'label': labels[int(pb.argmax())], 'prob': float(pb.max())}
        print(f"  checks: {entry['checks']}")

        if idx == 0:
            # Per-layer statistics (NHWC order; first8 = pixel (0, 0), channels 0..7 for 4-D) to locate
            # a mismatch layer by layer.
            stats = []
            for L in layers:
                a = to_nhwc(acts[L['name']]).detach().numpy().astype(np.float64)
                stats.append({'layer': L['name'], 'shape': list(a.shape[1:]), 'mean': float(a.mean()),
                              'std': float(a.std()), 'first8': r(a.ravel()[:8])})
            result['layerStats'] = {'image': entry['image'], 'note': 'float64; NHWC; std is the population std; first8 = the first 8 values in NHWC order', 'layers': stats}
        result['images'].append(entry)

    out = os.path.join(OUT_DIR, 'torch_mobilenet.json')
    with open(out + '.tmp', 'w') as f:
        json.dump(result, f, indent=1)
        f.write('\n')
    os.replace(out + '.tmp', out)
    print(f'wrote {out} ({os.path.getsize(out)} bytes)')


def entry_map(entry, variant, layer, key='map'):
    g = entry['gradcam'][variant][layer]
    return np.array(g[key]).reshape(g['shape'])


def rel_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


if __name__ == '__main__':
    main()
