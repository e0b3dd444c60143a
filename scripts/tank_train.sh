#!/usr/bin/env bash
# The tank story's models (issue #18): cam1's recipe on MNIST with a spurious cue, for each cue
# kind and each training correlation. Correlation 1 goes to models/ (shipped); 0.95 and 0.8 to
# out/tank/ (not shipped). Skips a model whose .h5 is already there; FORCE=1 retrains.
#   bash scripts/tank_train.sh            # after the build (dist/ or LANTERNA_CLI=dist-dev/cli/main.js)
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=${LANTERNA_CLI:-bin/lanterna.js}
mkdir -p out/tank
for kind in mark weather; do
  for p in 1 0.95 0.8; do
    if [ "$p" = 1 ]; then dir=models; name=shortcut-$kind; else dir=out/tank; name=shortcut-$kind-$p; fi
    if [ -f "$dir/$name.h5" ] && [ "${FORCE:-0}" != 1 ]; then echo "have $dir/$name.h5"; continue; fi
    node "$CLI" train --preset cam1 --shortcut "$kind" --correlation "$p" --out "$dir"
    rm -f "$dir/$name.curve.svg" # the curve is in the history; models/ keeps no pictures
  done
done
