#!/usr/bin/env bash
# On the lent GPU, one call: the kernel tests there, the whole benchmark suite with --profile
# (TF.js epochs shortened to 10 000 digits, extrapolated), two real cam1 epochs (their times),
# then cam2 training resumed from models/cam2.h5 for $1 seconds (skipped if a kernel test failed).
# Run from the repository root with .device and .gl carried:
#   bash scripts/device/bench_train.sh [cam2 seconds, default 300] [bench timeout, default 200]
set -u
source scripts/device/setup.sh > "$OUT/bench.log" 2>&1
cd "$LROOT"
fail=0
for t in matmul conv2d reduce pooling loss; do
  r=$(timeout 120 node dist/test/$t.test.js 2>&1 | grep -E "Total|Passed|FAIL" | tr '\n' ' ')
  echo "test $t: $r" >> "$OUT/bench.log"
  echo "$r" | grep -q "Passed" && ! echo "$r" | grep -q FAIL || fail=1
done
timeout "${2:-200}" node dist/bench/run.bundle.mjs --large --batch 100 --runs 5 --max-seconds 4 --epoch-limit 10000 --profile --tfjs-backends webgpu --out "$OUT/bench" >> "$OUT/bench.log" 2>&1
echo "bench rc=$?" >> "$OUT/bench.log"
out=/tmp/m; mkdir -p $out/c1
if [ $fail = 0 ]; then
  lanterna train --preset cam1 --epochs 2 --out $out/c1 > $out/c1/stdout 2>&1
  grep -E "^epoch|test acc" $out/c1/stdout | sed 's/^/cam1 /' >> "$OUT/bench.log"
  lanterna train --preset cam2 --resume models/cam2.h5 --epochs 200 --time-limit "${1:-300}" --out $out > $out/stdout 2>&1
  tail -5 $out/stdout >> "$OUT/bench.log"
  cp $out/cam2.h5 $out/cam2.train.log $out/cam2.history.json "$OUT/" 2>/dev/null
else
  echo "a kernel test failed on this GPU: no training" >> "$OUT/bench.log"
fi
grep -E "^test|^cam1|^epoch|ratio|rc=|accuracy" "$OUT/bench.log" | tail -40
