"""Independent PyTorch (float64) MobileNetV2, written from keras.applications.mobilenet_v2
(tf.keras 2.x / Keras 3), on the seeded random weights files in the official layout that
scripts/reference/app_weights.mjs --cases writes. Writes test/golden/mobilenet_v2/torch_mobilenet_v2.json:
outputs, logits, per-layer samples and Grad-CAM maps (the logit of image 0's top-1 class) at
out_relu and block_13_expand_relu.

The architecture, as Keras builds it (every BatchNormalization epsilon 1e-3):
  Conv1: Conv2D(make_divisible(32 a, 8), 3, strides 2, 'same', no bias), bn_Conv1, Conv1_relu ReLU(6)
  _inverted_res_block(expansion t, stride s, filters c, block_id):
    in = input channels; out = make_divisible(int(c a), 8); prefix 'block_{id}_' ('expanded_conv_' for 0)
    id > 0: {p}expand Conv2D(t in, 1, no bias), {p}expand_BN, {p}expand_relu
    s = 2: {p}pad = ZeroPadding2D(correct_pad(x, 3)), depthwise 'valid'; else 'same'
    {p}depthwise (3x3, no bias), {p}depthwise_BN, {p}depthwise_relu,
    {p}project Conv2D(out, 1, no bias), {p}project_BN; {p}add = input + x when in == out and s == 1
  blocks: (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1)
  Conv_1: Conv2D(1280, or make_divisible(1280 a, 8) for a > 1, 1, no bias), Conv_1_bn, out_relu
  top: GlobalAveragePooling2D 'global_average_pooling2d', Dense 'predictions' (softmax)
The classifier's weights are read from the official file's 'Logits' layer.

Run: npx tsc -p tsconfig.json && node scripts/reference/app_weights.mjs --cases &&
     /usr/bin/python3 scripts/reference/torch_mobilenet_v2.py [casesDir]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_app_torch import ROOT, correct_pad, make_divisible, run_cases  # noqa: E402

STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def inverted_res_block(net, inputs, expansion, stride, alpha, filters, block_id):
    in_channels = inputs.shape[1]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f'block_{block_id}_'
    if block_id:
        assert net.W[prefix + 'expand']['kernel'].shape[3] == expansion * in_channels
        x = net.conv(prefix + 'expand', x)
        x = net.relu6(prefix + 'expand_relu', net.bn(prefix + 'expand_BN', x))
    else:
        prefix = 'expanded_conv_'
    if stride == 2:
        x = net.zero_pad(prefix + 'pad', x, correct_pad(x.shape[2:], 3))
    x = net.depthwise(prefix + 'depthwise', x, stride=stride, padding='same' if stride == 1 else 'valid')
    x = net.relu6(prefix + 'depthwise_relu', net.bn(prefix + 'depthwise_BN', x))
    assert net.W[prefix + 'project']['kernel'].shape[3] == pointwise_filters
    x = net.conv(prefix + 'project', x)
    x = net.bn(prefix + 'project_BN', x)
    if in_channels == pointwise_filters and stride == 1:
        return net.add(prefix + 'add', inputs, x)
    return x


def forward(net, x, o):
    alpha = o['alpha']
    assert net.W['Conv1']['kernel'].shape[3] == make_divisible(32 * alpha, 8)
    x = net.conv('Conv1', x, stride=2, padding='same')
    x = net.relu6('Conv1_relu', net.bn('bn_Conv1', x))
    block_id = 0
    for t, c, n, s in STAGES:
        for i in range(n):
            x = inverted_res_block(net, x, t, s if i == 0 else 1, alpha, c, block_id)
            block_id += 1
    assert net.W['Conv_1']['kernel'].shape[3] == (make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280)
    x = net.conv('Conv_1', x, padding='valid')
    x = net.relu6('out_relu', net.bn('Conv_1_bn', x))
    if o.get('includeTop'):
        x = net.gap('global_average_pooling2d', x)
        y = net.dense('predictions', x, 'softmax', weights_of='Logits')
        net.logits = net.pre
        return y
    if o.get('pooling') == 'avg':
        return net.gap('global_average_pooling2d', x)
    if o.get('pooling') == 'max':
        return net.gmp('global_max_pooling2d', x)
    return x


if __name__ == '__main__':
    cases_dir = sys.argv[1] if len(sys.argv) > 1 else '/tmp/lanterna-app-goldens'
    run_cases('mobilenet_v2', forward, ['out_relu', 'block_13_expand_relu'],
              os.path.join(ROOT, 'test', 'golden', 'mobilenet_v2', 'torch_mobilenet_v2.json'),
              'Independent PyTorch float64 MobileNetV2 on seeded random weights in the official layout; '
              'made by scripts/reference/torch_mobilenet_v2.py', cases_dir)
