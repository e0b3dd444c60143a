#!/usr/bin/env bash
# On the lent GPU: the whole benchmark suite (ours vs TF.js WebGPU, same adapter) with the large
# workloads (matmul 2048 and 4096, VGG16 forward and Grad-CAM), training steps at batch 100,
# whole cam1 and cam2 epochs (54 000 digits) and --profile (per-kernel GPU times of a cam1 and
# a cam2 step and of a Grad-CAM, from timestamp queries). Results land in $OUT (JSON, Markdown,
# SVG) and bench.log. TF.js wasm runs beside on the host CPU; its plain-JS cpu backend does not
# (seconds a run: device time is scarce; add `--tfjs-backends webgpu,wasm,cpu` to have it).
# Run from the repository root with .device and .gl carried:
#   bash scripts/device/bench.sh [max-seconds per workload, default 8] [timeout s, default 480] [more options]
# Time: the epochs dominate. At the last H200 step times (cam1 26 / 62 ms, cam2 61 / 204 ms,
# ours / TF.js) one epoch each is about 14 + 34 s and 33 + 110 s; the rest took 13 s. Keep the
# timeout under the device's 10 minutes per command; `--epoch-limit 10000` shortens the epochs
# (the report then extrapolates and says so).
set -u
source scripts/device/setup.sh > "$OUT/bench.log" 2>&1
cd "$LROOT"
timeout "${2:-480}" node dist/bench/run.bundle.mjs --large --batch 100 --runs 5 --max-seconds "${1:-8}" --profile --tfjs-backends webgpu,wasm --out "$OUT" "${@:3}" >> "$OUT/bench.log" 2>&1
echo "bench rc=$?" >> "$OUT/bench.log"
tail -60 "$OUT/bench.log"
