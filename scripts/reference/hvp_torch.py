#!/usr/bin/python3
"""Golden Hessian-vector products for test/hvp_torch.test.ts, from PyTorch's
autograd.grad(create_graph=True) in float64.

A small seeded network: conv 3x3 (2 -> 3 channels, 'same', bias) -> relu -> flatten (NHWC order,
as Lanterna) -> dense (48 -> 4, bias) -> softmax cross-entropy (mean) on int labels. The
Hessian-vector product of the loss with respect to (conv kernel, dense kernel) along seeded
vectors (v_conv, v_dense), jointly: H·v = d/dθ <dL/dθ, v>. Values are stored in Lanterna's
layouts (x NHWC, conv kernel HWIO, dense kernel [in, out]).
Run: /usr/bin/python3 scripts/reference/hvp_torch.py  (writes test/golden/hvp/conv_dense.json)
"""
import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.manual_seed(0)
D = torch.float64
N, H, W, C, O, K = 2, 4, 4, 2, 3, 4
x = torch.randn(N, H, W, C, dtype=D)
labels = torch.tensor([1, 3])
wc = (torch.randn(3, 3, C, O, dtype=D) * 0.5).requires_grad_()
bc = (torch.randn(O, dtype=D) * 0.1).requires_grad_()
wd = (torch.randn(H * W * O, K, dtype=D) * 0.3).requires_grad_()
bd = (torch.randn(K, dtype=D) * 0.1).requires_grad_()
vc = torch.randn(3, 3, C, O, dtype=D)
vd = torch.randn(H * W * O, K, dtype=D)


def loss_of(wc, bc, wd, bd):
    xn = x.permute(0, 3, 1, 2)  # NCHW
    y = torch.nn.functional.conv2d(xn, wc.permute(3, 2, 0, 1), bc, padding=1)  # OIHW kernel
    h = torch.relu(y).permute(0, 2, 3, 1).reshape(N, -1)  # NHWC flatten
    return torch.nn.functional.cross_entropy(h @ wd + bd, labels)


loss = loss_of(wc, bc, wd, bd)
gc, gd = torch.autograd.grad(loss, [wc, wd], create_graph=True)
hc, hd = torch.autograd.grad((gc * vc).sum() + (gd * vd).sum(), [wc, wd])
flat = lambda t: [float(v) for v in t.detach().reshape(-1)]
out = {
    'note': 'scripts/reference/hvp_torch.py: torch ' + torch.__version__ + ', float64',
    'x': flat(x), 'xShape': [N, H, W, C], 'labels': labels.tolist(),
    'wc': flat(wc), 'wcShape': [3, 3, C, O], 'bc': flat(bc), 'wd': flat(wd), 'wdShape': [H * W * O, K], 'bd': flat(bd),
    'vc': flat(vc), 'vd': flat(vd), 'loss': float(loss), 'hvpConv': flat(hc), 'hvpDense': flat(hd),
}
path = os.path.join(ROOT, 'test/golden/hvp/conv_dense.json')
with open(path, 'w') as f:
    json.dump(out, f)
print(f'wrote {path}: loss {float(loss):.6f}, |Hv conv| {float(hc.abs().max()):.4g}, |Hv dense| {float(hd.abs().max()):.4g}')
