"""bench/diffusion.py: says so without CUDA, and its comparison runs end to end on a tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clips.diffusion import build_tiny_pipeline

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "diffusion.py"


def test_bench_without_cuda_says_so_and_exits_0():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the benchmark would run for real")
    done = subprocess.run([sys.executable, str(BENCH)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("CUDA not available:")


@pytest.mark.slow
def test_bench_comparison_runs_on_a_tiny_model(tmp_path):
    model = build_tiny_pipeline(tmp_path / "tiny", "wan")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--cpu-smoke", "--model", str(model), "--seconds", "0.2", "--json", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PRODUCTREEL_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["family"] == "wan" and result["plain"]["seconds"] > 0 and result["productreel"]["seconds"] > 0
    assert result["productreel"]["steps"] == 2 and result["speedup"] > 0
    assert "not a benchmark" in done.stdout
