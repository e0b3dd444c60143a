"""Independent PyTorch (float64) MobileNet v1, written from keras.applications.mobilenet (tf.keras
2.x / Keras 3), on the seeded random weights files in the official layout that
scripts/reference/app_weights.mjs --cases writes (the same the tests regenerate). Writes
test/golden/mobilenet/torch_mobilenet_app.json: outputs, logits, per-layer samples and Grad-CAM
maps (score: the logit of image 0's top-1 class) at conv_pw_13_relu and conv_pw_11_relu.

The architecture, as Keras builds it:
  conv1: Conv2D(int(32 a), 3, strides 2, 'same', no bias), conv1_bn (epsilon 1e-3), conv1_relu ReLU(6)
  block i = 1..13 (pointwise filters f, stride s): when s = 2, conv_pad_i = ZeroPadding2D(((0,1),(0,1)))
    and a 'valid' depthwise, else 'same'; conv_dw_i (3x3, no bias), conv_dw_i_bn, conv_dw_i_relu,
    conv_pw_i Conv2D(int(f a), 1, no bias), conv_pw_i_bn, conv_pw_i_relu
  top: GlobalAveragePooling2D(keepdims) 'global_average_pooling2d', Dropout 'dropout',
    conv_preds Conv2D(classes, 1, bias), Reshape 'reshape_2', Activation(softmax) 'predictions'
  no top: pooling 'avg' / 'max' (global_average_pooling2d / global_max_pooling2d)
The weights are read by the official file's layer names (Keras 2.0's: the same for every layer
with weights).

Run: npx tsc -p tsconfig.json && node scripts/reference/app_weights.mjs --cases &&
     /usr/bin/python3 scripts/reference/torch_mobilenet_app.py [casesDir]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_app_torch import ROOT, run_cases  # noqa: E402

BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
          (512, 1), (512, 1), (1024, 2), (1024, 1)]


def forward(net, x, o):
    alpha = o['alpha']
    x = net.conv('conv1', x, stride=2, padding='same')
    x = net.relu6('conv1_relu', net.bn('conv1_bn', x))
    for i, (f, s) in enumerate(BLOCKS, start=1):
        if s == 2:
            x = net.zero_pad(f'conv_pad_{i}', x, ((0, 1), (0, 1)))
        x = net.depthwise(f'conv_dw_{i}', x, stride=s, padding='same' if s == 1 else 'valid')
        x = net.relu6(f'conv_dw_{i}_relu', net.bn(f'conv_dw_{i}_bn', x))
        assert net.W[f'conv_pw_{i}']['kernel'].shape[3] == int(f * alpha)
        x = net.conv(f'conv_pw_{i}', x)
        x = net.relu6(f'conv_pw_{i}_relu', net.bn(f'conv_pw_{i}_bn', x))
    if o.get('includeTop'):
        x = net.gap('global_average_pooling2d', x, keepdims=True)
        x = net.identity('dropout', x)
        x = net.conv('conv_preds', x)
        x = net.reshape_nhwc('reshape_2', x, (o['classes'],))
        net.logits = x
        return net.activation('predictions', x, 'softmax')
    if o.get('pooling') == 'avg':
        return net.gap('global_average_pooling2d', x)
    if o.get('pooling') == 'max':
        return net.gmp('global_max_pooling2d', x)
    return x


if __name__ == '__main__':
    cases_dir = sys.argv[1] if len(sys.argv) > 1 else '/tmp/lanterna-app-goldens'
    run_cases('mobilenet', forward, ['conv_pw_13_relu', 'conv_pw_11_relu'],
              os.path.join(ROOT, 'test', 'golden', 'mobilenet', 'torch_mobilenet_app.json'),
              'Independent PyTorch float64 MobileNet v1 on seeded random weights in the official layout; '
              'made by scripts/reference/torch_mobilenet_app.py', cases_dir)
