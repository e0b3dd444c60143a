"""Independent PyTorch (float64) EfficientNetB0, written from keras.applications.efficientnet
(Keras >= 2.10 / Keras 3, weights='imagenet'), on the seeded random weights files in the official
layout that scripts/reference/app_weights.mjs --cases writes. Writes
test/golden/efficientnetb0/torch_efficientnetb0.json: outputs, logits, per-layer samples and
Grad-CAM maps (the logit of image 0's top-1 class) at top_activation and block6a_expand_activation.

The architecture, as Keras builds it (BatchNormalization epsilon 1e-3, swish = x sigmoid(x)):
  rescaling x/255; normalization (x - mean) / max(sqrt(variance), 1e-7) with the file's mean and
  variance; rescaling_1 x / sqrt([0.229, 0.224, 0.225]) (added for the ImageNet weights, whose
  "variance" holds the standard deviations); stem_conv_pad correct_pad(x, 3); stem_conv 3x3 s2
  'valid' no bias (round_filters(32)); stem_bn; stem_activation
  block(name, k, s, f_in, f_out, t, se 0.25):
    t != 1: {name}expand_conv 1x1 (f_in t), expand_bn, expand_activation
    s = 2: {name}dwconv_pad correct_pad(x, k), dwconv 'valid'; else 'same'
    {name}dwconv kxk, bn, activation
    squeeze to max(1, int(f_in 0.25)): se_squeeze GAP, se_reshape (1,1,C), se_reduce 1x1 swish (bias),
      se_expand 1x1 sigmoid (bias), se_excite = x * se
    {name}project_conv 1x1 (f_out), project_bn; when s = 1 and f_in = f_out: {name}drop (Dropout
      0.2 b / 16, identity here, only when the rate > 0), {name}add = x + input
  blocks (k, repeats, f_in, f_out, t, s): (3,1,32,16,1,1) (3,2,16,24,6,2) (5,2,24,40,6,2)
    (3,3,40,80,6,2) (5,3,80,112,6,1) (5,4,112,192,6,2) (3,1,192,320,6,1); names block{i}{a,b,..}_
  top_conv 1x1 (1280), top_bn, top_activation; top: avg_pool GAP, top_dropout, predictions Dense softmax
  no top: pooling 'avg' (avg_pool) / 'max' (max_pool)

Run: npx tsc -p tsconfig.json && node scripts/reference/app_weights.mjs --cases &&
     /usr/bin/python3 scripts/reference/torch_efficientnetb0.py [casesDir]
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_app_torch import ROOT, correct_pad, run_cases  # noqa: E402

BLOCKS = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1)]
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def block(net, inputs, drop_rate, name, filters_in, filters_out, kernel_size, strides, expand_ratio, se_ratio=0.25):
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = net.conv(name + 'expand_conv', inputs)
        x = net.activation(name + 'expand_activation', net.bn(name + 'expand_bn', x), 'swish')
    else:
        x = inputs
    if strides == 2:
        x = net.zero_pad(name + 'dwconv_pad', x, correct_pad(x.shape[2:], kernel_size))
        conv_pad = 'valid'
    else:
        conv_pad = 'same'
    assert net.W[name + 'dwconv']['depthwise_kernel'].shape[:2] == (kernel_size, kernel_size)
    x = net.depthwise(name + 'dwconv', x, stride=strides, padding=conv_pad)
    x = net.activation(name + 'activation', net.bn(name + 'bn', x), 'swish')
    filters_se = max(1, int(filters_in * se_ratio))
    se = net.gap(name + 'se_squeeze', x)
    se = net.reshape_nhwc(name + 'se_reshape', se, (1, 1, filters))
    assert net.W[name + 'se_reduce']['kernel'].shape[3] == filters_se
    se = net.conv(name + 'se_reduce', se, activation='swish')
    se = net.conv(name + 'se_expand', se, activation='sigmoid')
    x = net.multiply(name + 'se_excite', x, se)
    x = net.conv(name + 'project_conv', x)
    x = net.bn(name + 'project_bn', x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = net.identity(name + 'drop', x)
        x = net.add(name + 'add', x, inputs)
    return x


def forward(net, x, o):
    x = net.rescale('rescaling', x, 1.0 / 255.0)
    x = net.normalization('normalization', x)
    x = net.rescale('rescaling_1', x, [1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])
    x = net.zero_pad('stem_conv_pad', x, correct_pad(x.shape[2:], 3))
    x = net.conv('stem_conv', x, stride=2, padding='valid')
    x = net.activation('stem_activation', net.bn('stem_bn', x), 'swish')
    total = float(sum(r for _, r, *_ in BLOCKS))
    b = 0
    for i, (k, repeats, f_in, f_out, t, s) in enumerate(BLOCKS):
        for j in range(repeats):
            x = block(net, x, 0.2 * b / total, f'block{i + 1}{chr(j + 97)}_', f_in if j == 0 else f_out, f_out, k,
                      s if j == 0 else 1, t)
            b += 1
    x = net.conv('top_conv', x)
    x = net.activation('top_activation', net.bn('top_bn', x), 'swish')
    if o.get('includeTop'):
        x = net.gap('avg_pool', x)
        x = net.identity('top_dropout', x)
        y = net.dense('predictions', x, 'softmax')
        net.logits = net.pre
        return y
    if o.get('pooling') == 'avg':
        return net.gap('avg_pool', x)
    if o.get('pooling') == 'max':
        return net.gmp('max_pool', x)
    return x


if __name__ == '__main__':
    cases_dir = sys.argv[1] if len(sys.argv) > 1 else '/tmp/lanterna-app-goldens'
    run_cases('efficientnetb0', forward, ['top_activation', 'block6a_expand_activation'],
              os.path.join(ROOT, 'test', 'golden', 'efficientnetb0', 'torch_efficientnetb0.json'),
              'Independent PyTorch float64 EfficientNetB0 on seeded random weights in the official layout; '
              'made by scripts/reference/torch_efficientnetb0.py', cases_dir)
