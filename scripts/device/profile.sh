#!/usr/bin/env bash
# On the lent GPU: where a training step's time goes. Per-kernel GPU times (--profile) of cam1 and
# cam2 steps at batch 100, the VGG16 block3 convs and forward, then the same steps with the other
# GEMM variant (LANTERNA_GEMM=register), then (when $1 > 0) cam2 training resumed from
# models/cam2.h5 for $1 seconds. Run from the repository root with .device and .gl carried:
#   bash scripts/device/profile.sh [train seconds, default 0]
set -u
source scripts/device/setup.sh > "$OUT/bench.log" 2>&1
cd "$LROOT"
B="node dist/bench/run.bundle.mjs --batch 100 --max-seconds 4 --profile --tfjs-backends webgpu"
timeout 140 $B --large --runs 5 --only train-cam1,train-cam2,conv-56,vgg16-forward,matmul-4096 --out "$OUT/tiled" >> "$OUT/bench.log" 2>&1
echo "tiled rc=$?" >> "$OUT/bench.log"
LANTERNA_GEMM=register timeout 70 $B --runs 3 --only train-cam1,train-cam2 --no-save > "$OUT/register.log" 2>&1
echo "register rc=$?" >> "$OUT/register.log"
if [ "${1:-0}" -gt 0 ]; then
  out=/tmp/m; mkdir -p $out
  lanterna train --preset cam2 --resume models/cam2.h5 --epochs 30 --time-limit "$1" --out $out > $out/stdout 2>&1
  tail -4 $out/stdout >> "$OUT/bench.log"
  cp $out/cam2.h5 $out/cam2.train.log "$OUT/" 2>/dev/null
fi
grep -E "Ratio|×|ms" "$OUT/bench.log" | tail -30
