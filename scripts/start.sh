#!/usr/bin/env bash
# The main job: set up (apt driver, npm, build), then draw the class activation maps of the first
# ten MNIST test digits with the two shipped models, as the lecture's Programs 2 and 4 do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
node bin/lanterna.js info | head -6
echo
node bin/lanterna.js cam --model models/cam1.h5 --images 10 --out out/cam1.png --json out/cam1.json
echo
node bin/lanterna.js cam --model models/cam2.h5 --images 10 --out out/cam2.png --json out/cam2.json
cat <<'MSG'

Open out/cam1.png (3×3 CAMs: the network with pooling) and out/cam2.png (28×28 CAMs: without).
More:
  node bin/lanterna.js cam --index 0,7,42 --class 3 --upsample bilinear --colormap jet --out out/x.png
  node bin/lanterna.js evaluate --model models/cam1.h5          # test accuracy on 10 000 digits
  node bin/lanterna.js train --preset cam1 --epochs 30 --out my  # train it yourself (slow without a GPU)
MSG
