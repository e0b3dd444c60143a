#!/usr/bin/env bash
# On the lent GPU: real MNIST epochs of cam1 and cam2 (54 000 digits, batch 100, as the lecture)
# through `lanterna train`, at fit's inFlight depths 1, 2 and 4 (LANTERNA_FIT_INFLIGHT), then a
# CPU profile of the host (node --cpu-prof) over a cam1 epoch: is an epoch GPU- or host-bound?
# Run from the repository root with .device and .gl carried:  bash scripts/device/epochs.sh
set -u
source scripts/device/setup.sh > "$OUT/epochs.log" 2>&1
cd "$LROOT"
for d in 1 2 4; do
  for p in cam1 cam2; do
    LANTERNA_FIT_INFLIGHT=$d timeout 60 node dist/cli/main.js train --preset $p --epochs 2 --out /tmp/m-$p-$d > /tmp/m-$p-$d.log 2>&1
    echo "inFlight $d $p rc=$? $(grep -o '"seconds": *[0-9.]*' /tmp/m-$p-$d/$p.history.json | tr '\n' ' ')" >> "$OUT/epochs.log"
    grep "^epoch" /tmp/m-$p-$d.log >> "$OUT/epochs.log"
  done
done
mkdir -p "$OUT/prof"
timeout 60 node --cpu-prof --cpu-prof-dir="$OUT/prof" --cpu-prof-interval 250 dist/cli/main.js train --preset cam1 --epochs 1 --validation-split 0 --out /tmp/prof >> "$OUT/epochs.log" 2>&1
echo "profile rc=$?" >> "$OUT/epochs.log"
ls -la "$OUT/prof" >> "$OUT/epochs.log"
cat "$OUT/epochs.log"
