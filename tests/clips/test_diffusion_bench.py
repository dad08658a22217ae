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


def _bench(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PRODUCTREEL_CACHE_DIR": str(tmp_path / "cache"), **env})


def _bench_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_diffusion", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("family", ["ltx", "wan", "ltx2", "hunyuanvideo15"])
def test_full_size_configs_are_the_real_models(family):
    bench = _bench_module()
    # Billions of parameters of every model in the pipeline (transformer, encoders, VAEs), counted on the meta device.
    expected = {"ltx": (6.5, 7.5), "wan": (7.0, 8.0), "ltx2": (33.0, 36.0), "hunyuanvideo15": (17.0, 19.0)}[family]
    assert expected[0] < bench.count_config_parameters(bench.load_config(family)) / 1e9 < expected[1]
    from clips.diffusion import FAMILIES

    assert FAMILIES[family]["benchmark"]["config"] == family


def test_a_cpu_refuses_a_full_size_random_model_in_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the benchmark would run for real")
    done = _bench(["--random-weights", "--family", "ltx2"], tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("too big for a CPU: LTX-2"), done.stderr[-2000:]
    assert "Nothing was measured" in done.stdout and "Traceback" not in done.stderr


# Toy versions of two full-size configs: the same component kinds, tiny sizes (clips/diffusion_tiny.py's).
TOYS = {
    "ltx": {
        "family": "ltx", "name": "toy LTX", "pipeline": "LTXImageToVideoPipeline",
        "components": {
            "transformer": {"class": "LTXVideoTransformer3DModel", "config": {
                "in_channels": 8, "out_channels": 8, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 4,
                "attention_head_dim": 8, "cross_attention_dim": 32, "num_layers": 2, "caption_channels": 32}},
            "vae": {"class": "AutoencoderKLLTXVideo", "config": {
                "latent_channels": 8, "block_out_channels": [8, 8, 8, 8], "decoder_block_out_channels": [8, 8, 8, 8],
                "layers_per_block": [1, 1, 1, 1, 1], "decoder_layers_per_block": [1, 1, 1, 1, 1],
                "spatio_temporal_scaling": [True, True, False, False],
                "decoder_spatio_temporal_scaling": [True, True, False, False],
                "decoder_inject_noise": [False, False, False, False, False], "upsample_residual": [False] * 4,
                "upsample_factor": [1, 1, 1, 1], "timestep_conditioning": False, "patch_size": 1, "patch_size_t": 1}},
            "text_encoder": {"class": "T5EncoderModel", "config_class": "T5Config", "config": {
                "vocab_size": 300, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4,
                "relative_attention_num_buckets": 8, "is_encoder_decoder": False}},
            "tokenizer": {"tokenizer": {"model_max_length": 32}},
            "scheduler": {"class": "FlowMatchEulerDiscreteScheduler", "config": {}},
        },
    },
    "hunyuanvideo15": {
        "family": "hunyuanvideo15", "name": "toy HunyuanVideo-1.5", "pipeline": "HunyuanVideo15ImageToVideoPipeline",
        "components": {
            "transformer": {"class": "HunyuanVideo15Transformer3DModel", "config": {
                "in_channels": 9, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2,
                "num_refiner_layers": 1, "mlp_ratio": 2.0, "patch_size": 1, "patch_size_t": 1, "text_embed_dim": 16,
                "text_embed_2_dim": 32, "image_embed_dim": 12, "rope_axes_dim": [2, 2, 4], "target_size": 64,
                "task_type": "i2v"}},
            "vae": {"class": "AutoencoderKLHunyuanVideo15", "config": {
                "latent_channels": 4, "block_out_channels": [16, 16], "layers_per_block": 1,
                "spatial_compression_ratio": 4, "temporal_compression_ratio": 4, "downsample_match_channel": False,
                "upsample_match_channel": False}},
            "text_encoder": {"class": "Qwen2_5_VLTextModel", "config_class": "Qwen2_5_VLTextConfig", "config": {
                "vocab_size": 300, "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 3,
                "num_attention_heads": 2, "num_key_value_heads": 2, "rope_theta": 1e6,
                "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"}}},
            "tokenizer": {"tokenizer": {"model_max_length": 2048, "chat": True}},
            "text_encoder_2": {"class": "T5EncoderModel", "config_class": "T5Config", "config": {
                "vocab_size": 384, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 1, "num_heads": 4,
                "relative_attention_num_buckets": 8, "is_encoder_decoder": False}},
            "tokenizer_2": {"byt5": {}},
            "image_encoder": {"class": "SiglipVisionModel", "config_class": "SiglipVisionConfig", "config": {
                "hidden_size": 12, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                "image_size": 28, "patch_size": 14}},
            "feature_extractor": {"siglip_processor": {"size": {"height": 28, "width": 28}}},
            "guider": {"guider": {"guidance_scale": 6.0}},
            "scheduler": {"class": "FlowMatchEulerDiscreteScheduler", "config": {"shift": 7.0}},
        },
    },
}


@pytest.mark.parametrize("family", ["ltx", pytest.param("hunyuanvideo15", marks=pytest.mark.slow)])
def test_random_weights_path_runs_end_to_end_on_a_toy_config(tmp_path, family):
    config = tmp_path / "toy.json"
    config.write_text(json.dumps(TOYS[family]))
    out = tmp_path / "bench.json"
    done = _bench(["--random-weights", "--config", str(config), "--seconds", "0.3", "--batch", "2", "--json", str(out)],
                  tmp_path, PRODUCTREEL_DIFFUSION_STEPS="2", PRODUCTREEL_DIFFUSION_MAX_SEQUENCE_LENGTH="16")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["family"] == family and result["plain"]["steps"] == result["productreel"]["steps"] == 2
    assert result["plain"]["seconds"] > 0 and result["productreel"]["seconds"] > 0 and result["load_s"] > 0
    assert result["productreel"]["cache"] == {"ltx": "first_block", "hunyuanvideo15": "taylorseer"}[family]
    assert result["plain"]["fidelity"] is None  # random weights: not measured
    if family == "ltx":
        assert result["batch"]["videos"] == 2
    else:  # one shot per call: said, not attempted
        assert "1 shot(s) per call" in result["batch"]["skipped"]
    assert "not a benchmark" in done.stdout
