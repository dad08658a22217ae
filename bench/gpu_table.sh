#!/usr/bin/env bash
# The bench/README.md GPU table in one run: each family's full-size random-weight pipeline, a 5 s clip at its
# usual size, plain call vs productreel's settings at equal steps, a batch of 2 through the OOM fallback.
# Results: $OUT/bench-<family>.json (OUT defaults to out/). Usage: bench/gpu_table.sh [family ...]
# STEPS (default 10, to fit a short device lease) sets the steps of both sides; the table says which count
# each row ran at. PER_FAMILY_S bounds each family (default 240 s).
set -u
OUT="${OUT:-out}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
export PRODUCTREEL_DIFFUSION_STEPS="${STEPS:-10}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
for family in "${@:-ltx wan ltx2 hunyuanvideo15}"; do
  for f in $family; do
    echo "== $f"
    timeout "${PER_FAMILY_S:-240}" "$PY" bench/diffusion.py --random-weights --family "$f" --seconds 5 \
      --runs 1 --warmup-steps 1 --batch 2 --json "$OUT/bench-$f.json" 2>&1 | tail -12 | tee "$OUT/bench-$f.log"
  done
done
