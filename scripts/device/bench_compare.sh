#!/usr/bin/env bash
# On the lent GPU, one call: the GEMM/conv kernel tests there (every variant), the whole suite
# with --profile (TF.js epochs shortened to 10 000 digits, extrapolated; saved to $OUT/bench),
# the key workloads again with 64×64 blocks forced (LANTERNA_TILE=64, log only: what the
# 128-wide blocks bring), and whole cam1 and cam2 epochs timed by `lanterna train`.
# Run from the repository root with .device and .gl carried:  bash scripts/device/bench_compare.sh
set -u
source scripts/device/setup.sh > "$OUT/bench.log" 2>&1
cd "$LROOT"
for t in matmul conv2d reduce; do
  echo "test $t: $(timeout 45 node dist/test/$t.test.js 2>&1 | grep -E 'Total|Passed|FAIL' | tr '\n' ' ')" >> "$OUT/bench.log"
done
B="node dist/bench/run.bundle.mjs --batch 100 --max-seconds 4 --tfjs-backends webgpu"
timeout 150 $B --large --runs 5 --epoch-limit 10000 --profile --out "$OUT/bench" >> "$OUT/bench.log" 2>&1
echo "bench rc=$?" >> "$OUT/bench.log"
LANTERNA_TILE=64 timeout 50 $B --large --runs 5 --only train-cam2,conv-56,vgg16-forward,matmul-4096,matmul-2048 --no-save > "$OUT/tile64.log" 2>&1
echo "tile64 rc=$?" >> "$OUT/tile64.log"
mkdir -p /tmp/e1 /tmp/e2
lanterna train --preset cam1 --epochs 3 --out /tmp/e1 2>&1 | grep -E "^epoch|test acc" | sed 's/^/cam1 /' >> "$OUT/bench.log"
lanterna train --preset cam2 --resume models/cam2.h5 --epochs 2 --out /tmp/e2 2>&1 | grep -E "^epoch|test acc" | sed 's/^/cam2 /' >> "$OUT/bench.log"
grep -E "^test|^cam|ratio|rc=" "$OUT/bench.log"; grep -E "ratio|rc=" "$OUT/tile64.log"
