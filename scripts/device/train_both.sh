#!/usr/bin/env bash
# On the lent GPU: checks the kernels there, then trains cam1 and cam2 side by side (two
# processes, one GPU) for at most $1 seconds each, and copies the models and logs to $OUT.
# Run from the repository root with .device and .gl carried:  bash scripts/device/train_both.sh 450 [epochs] [extra train args]
set -u
limit=${1:-450}
epochs=${2:-60}
extra=${3:-}
source scripts/device/setup.sh > "$OUT/checks.txt" 2>&1
cd "$LROOT"
out=/tmp/lanterna-models; mkdir -p $out
( lanterna info
  for t in matmul conv2d elementwise reduce pooling softmax loss; do
    [ -f dist/test/$t.test.js ] && timeout 90 node dist/test/$t.test.js 2>&1 | grep -E "Total|Passed|FAIL|✘" | head -8 | sed "s/^/$t: /"
  done ) >> "$OUT/checks.txt" 2>&1 &
for p in cam1 cam2; do
  lanterna train --preset $p --epochs "$epochs" --out $out --time-limit "$limit" $extra > $out/$p.stdout 2>&1 &
done
wait
for p in cam1 cam2; do
  cp $out/$p.h5 $out/$p.train.log $out/$p.history.json "$OUT/" 2>/dev/null
  tail -3 $out/$p.stdout >> "$OUT/checks.txt"
done
ls -la "$OUT"
