#!/usr/bin/env bash
# On the lent GPU: real MNIST epochs of cam1 and cam2 (48 600 digits after Keras' 10% validation
# split, batch 100, as the lecture) through `lanterna train`, at fit's inFlight depths 2 (the
# default) and 4 (LANTERNA_FIT_INFLIGHT), cam2 also without 128×32 blocks (LANTERNA_TILE=no-narrow),
# then a CPU profile of the host (node --cpu-prof) over a cam1 epoch: GPU- or host-bound?
# Run from the repository root with .device and .gl carried:  bash scripts/device/epochs.sh
set -u
source scripts/device/setup.sh > "$OUT/epochs.log" 2>&1
cd "$LROOT"
run() { # label preset env...
  local label=$1 p=$2; shift 2
  env "$@" timeout 60 node dist/cli/main.js train --preset $p --epochs 2 --out /tmp/m-$label > /tmp/m-$label.log 2>&1
  echo "$label rc=$? $(grep -o '"seconds": *[0-9.]*' /tmp/m-$label/$p.history.json | tr '\n' ' ')" >> "$OUT/epochs.log"
  grep "^epoch" /tmp/m-$label.log >> "$OUT/epochs.log"
}
for d in 2 4; do
  run cam1-inflight$d cam1 LANTERNA_FIT_INFLIGHT=$d
  run cam2-inflight$d cam2 LANTERNA_FIT_INFLIGHT=$d
done
run cam2-no-narrow cam2 LANTERNA_TILE=no-narrow
mkdir -p "$OUT/prof"
timeout 60 node --cpu-prof --cpu-prof-dir="$OUT/prof" --cpu-prof-interval 250 dist/cli/main.js train --preset cam1 --epochs 1 --validation-split 0 --out /tmp/prof >> "$OUT/epochs.log" 2>&1
echo "profile rc=$?" >> "$OUT/epochs.log"
grep -E "rc=|^epoch" "$OUT/epochs.log"
