#!/usr/bin/env bash
# On the lent GPU: the benchmark suite (ours vs TF.js WebGPU, same adapter) with the large
# workloads and training at batch 100. Results land in $OUT (JSON, Markdown, SVG).
# Run from the repository root with .device and .gl carried:  bash scripts/device/bench.sh [max-seconds]
set -u
source scripts/device/setup.sh > "$OUT/bench.log" 2>&1
cd "$LROOT"
timeout "${2:-120}" node dist/bench/run.bundle.mjs --large --batch 100 --runs 5 --max-seconds "${1:-8}" --out "$OUT" >> "$OUT/bench.log" 2>&1
echo "bench rc=$?" >> "$OUT/bench.log"
tail -40 "$OUT/bench.log"
