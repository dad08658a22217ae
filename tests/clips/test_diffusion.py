"""The diffusion backend on CPU with tiny random LTX and Wan pipelines built by build_tiny_pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clips import diffusion
from clips.diffusion import (
    DiffusionSettings,
    ShotRequest,
    build_tiny_pipeline,
    count_parameters,
    fit_frames,
    frame_count,
    generate_shot,
    generate_shots,
    generation_size,
    load_pipeline,
    model_key,
    resolve_model,
)
from clips.diffusion_fidelity import fidelity
from clips.diffusion_video import source_indices, write_mp4
from productreel.errors import InputError, TransientError
from productreel.models import Shot
from productreel.settings import Settings

# The pipelines' own cache hooks work on CPU too; they are on by default, so the tests run them.
FAST = DiffusionSettings(fidelity_threshold=0.0)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """One tiny pipeline per family, built once for this module."""
    root = tmp_path_factory.mktemp("models")
    return {family: build_tiny_pipeline(root / f"tiny-{family}", family, seed=0) for family in ("ltx", "wan")}


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A small product photo: a red mug-ish block on a light background."""
    image = np.full((48, 64, 3), 235, dtype=np.uint8)
    image[10:40, 20:44] = (190, 40, 30)
    path = tmp_path_factory.mktemp("photos") / "mug.png"
    Image.fromarray(image).save(path)
    return path


def settings_for(model: Path, tmp_path: Path) -> Settings:
    return Settings(model=str(model), backend="diffusion", cache_dir=tmp_path / "cache")


def ffprobe(path: Path) -> dict:
    """The first stream as ffprobe -count_frames shows it (PyAV: no ffprobe binary needed)."""
    import av

    from productreel.media import probe

    stream = probe(path)["streams"][0]
    with av.open(str(path)) as container:
        stream["nb_read_frames"] = sum(1 for _ in container.decode(video=0))
    return stream


@pytest.mark.parametrize("family,pipeline", [("ltx", "LTXImageToVideoPipeline"), ("wan", "WanImageToVideoPipeline")])
def test_tiny_pipeline_is_a_saved_diffusers_pipeline(tiny_models, family, pipeline):
    folder = tiny_models[family]
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == pipeline
    assert (folder / "tokenizer" / "tokenizer.json").is_file()
    assert list((folder / "transformer").glob("*.safetensors"))
    assert json.loads((folder / "productreel.json").read_text())["tiny"] is True
    assert count_parameters(folder) < 1_000_000


def test_family_is_read_from_model_index_not_the_name(tiny_models, tmp_path):
    misleading = tmp_path / "Wan2.1-I2V-14B"
    shutil.copytree(tiny_models["ltx"], misleading)
    resolved = resolve_model(str(misleading), settings=Settings())
    assert (resolved.family, resolved.class_name) == ("ltx", "LTXImageToVideoPipeline")
    assert resolved.tiny


def test_unknown_pipeline_class_is_refused(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(InputError, match="StableDiffusionPipeline"):
        resolve_model(str(tmp_path), settings=Settings())


def test_missing_model_is_one_line_naming_it(tmp_path):
    for name in (str(tmp_path / "nowhere"), "Lightricks/LTX-Video-not-cached"):
        with pytest.raises(InputError) as info:
            resolve_model(name, settings=Settings(cache_dir=tmp_path))
        message = str(info.value)
        assert name in message and "hf download" in message and "\n" not in message
    with pytest.raises(InputError, match="no model_index.json"):
        resolve_model(str(tmp_path), settings=Settings())


def test_cpu_refuses_a_real_size_checkpoint_without_reading_weights(tmp_path):
    # LTX-Video's default transformer config is its 2B model; no weight files exist at all.
    (tmp_path / "transformer").mkdir()
    (tmp_path / "model_index.json").write_text(json.dumps({
        "_class_name": "LTXImageToVideoPipeline",
        "transformer": ["diffusers", "LTXVideoTransformer3DModel"],
    }))
    (tmp_path / "transformer" / "config.json").write_text(json.dumps({"_class_name": "LTXVideoTransformer3DModel"}))
    assert count_parameters(tmp_path) > 1_000_000_000
    with pytest.raises(InputError, match=r"1\.\dB parameters.*CUDA"):
        load_pipeline(str(tmp_path), settings=Settings(), diffusion=DiffusionSettings(device="cpu"))


@pytest.mark.parametrize("family", ["ltx", "wan"])
def test_load_pipeline_once_per_process_with_cache_hooks(tiny_models, family):
    settings = Settings(model=str(tiny_models[family]))
    pipe = load_pipeline(settings=settings, diffusion=FAST)
    assert load_pipeline(settings=settings, diffusion=FAST) is pipe
    assert pipe.transformer.is_cache_enabled
    assert pipe.transformer.device.type == "cpu"


@pytest.mark.parametrize("family", ["ltx", "wan"])
def test_generate_shot_writes_an_mp4_and_records_how(tiny_models, photo, tmp_path, family):
    settings = settings_for(tiny_models[family], tmp_path)
    shot = Shot(kind="generated", prompt="a red mug turning slowly in soft light", negative_prompt="text", seed=7)
    result = generate_shot(shot, width=32, height=32, fps=8, duration=0.1, settings=settings,
                           image_path=photo, diffusion=FAST, product="mug", market="us")
    assert not result.fallback and result.video.is_file()
    stream = ffprobe(result.video)
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 32, 32)
    assert int(stream["nb_read_frames"]) == result.metadata["frames"] >= 2
    meta = result.metadata
    assert meta["prompt"] == shot.prompt and meta["negative_prompt"] == "text" and meta["seed"] == 7
    assert meta["steps"] == 2 and meta["family"] == family
    assert meta["model"] == str(tiny_models[family]) and meta["revision"].startswith("local-")
    assert meta["fidelity"]["method"] == "ssim-histogram" and 0.0 <= meta["fidelity"]["score"] <= 1.0
    assert [a["seed"] for a in meta["attempts"]] == [7]
    assert json.loads(result.video.with_suffix(".json").read_text())["seed"] == 7

    again = generate_shot(shot, width=32, height=32, fps=8, duration=0.1, settings=settings,
                          image_path=photo, diffusion=FAST)
    assert again.video == result.video and again.metadata["attempts"][0]["cached"] is True


def test_fidelity_guard_retries_other_seeds_then_falls_back(tiny_models, photo, tmp_path):
    settings = settings_for(tiny_models["ltx"], tmp_path)
    strict = DiffusionSettings(fidelity_threshold=1.01, fidelity_retries=2)
    result = generate_shot(Shot(kind="generated", prompt="a mug", seed=100), width=32, height=32, fps=8,
                           duration=0.1, settings=settings, image_path=photo, diffusion=strict, product="mug")
    assert result.fallback and result.video is None
    assert result.finding.rule == "GEN-FIDELITY" and result.finding.severity == "WARN"
    assert [a["seed"] for a in result.finding.evidence["attempts"]] == [100, 101, 102]
    assert result.finding.evidence["product"] == "mug"


def test_same_size_shots_share_one_pipeline_call(tiny_models, photo, tmp_path, monkeypatch):
    calls = []
    real_call = diffusion._call
    monkeypatch.setattr(diffusion, "_call", lambda pipe, jobs, *a: calls.append(len(jobs)) or real_call(pipe, jobs, *a))
    settings = settings_for(tiny_models["ltx"], tmp_path)
    requests = [
        ShotRequest(shot=Shot(kind="generated", prompt=f"mug {i}", seed=i), width=32, height=32, fps=8,
                    duration=0.1, image_path=photo)
        for i in range(3)
    ]
    results = generate_shots(requests, settings=settings, diffusion=FAST)
    assert calls == [3]
    assert len({r.video for r in results}) == 3 and [r.metadata["seed"] for r in results] == [0, 1, 2]


def test_text_to_video_background_without_a_photo(tiny_models, tmp_path):
    settings = settings_for(tiny_models["ltx"], tmp_path)
    result = generate_shot(Shot(kind="generated", prompt="warm kitchen table", seed=1), width=32, height=32,
                           fps=8, duration=0.1, settings=settings, diffusion=FAST)
    assert result.metadata["pipeline"] == "LTXPipeline" and result.metadata["fidelity"] is None
    with pytest.raises(InputError, match="image-to-video only"):
        load_pipeline(settings=settings_for(tiny_models["wan"], tmp_path), diffusion=FAST, task="t2v")


class _FakePipe:
    """Raises CUDA out-of-memory for batches above ``fits``."""

    def __init__(self, fits: int, offload: str = "none"):
        self.fits, self.calls, self._productreel_offload = fits, [], offload
        self.vae = type("Vae", (), {"config": type("C", (), {"timestep_conditioning": False})()})()

    def enable_model_cpu_offload(self):
        self.fits = 99

    def __call__(self, **kwargs):
        import torch

        batch = len(kwargs["prompt"])
        self.calls.append(batch)
        if batch > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return type("Out", (), {"frames": np.zeros((batch, 5, 32, 32, 3), dtype=np.float32)})()


def _jobs(n: int) -> list:
    return [diffusion._Job(i, ShotRequest(shot=Shot(kind="generated"), width=32, height=32), "t2v", "p", "n",
                           32, 32, 5, None, None, i) for i in range(n)]


def test_out_of_memory_halves_the_batch_then_offloads_then_is_transient(tiny_models, tmp_path):
    resolved = resolve_model(str(tiny_models["wan"]), settings=Settings())
    plan = {"steps": 2, "guidance": 1.0, "fps": 8}
    pipe = _FakePipe(fits=1)
    assert len(diffusion._call(pipe, _jobs(4), resolved, plan)) == 4
    assert pipe.calls == [4, 2, 1, 1, 2, 1, 1]
    pipe = _FakePipe(fits=0)
    assert len(diffusion._call(pipe, _jobs(1), resolved, plan)) == 1 and pipe._productreel_offload == "model"
    with pytest.raises(TransientError, match="out of memory"):
        diffusion._call(_FakePipe(fits=0, offload="group"), _jobs(1), resolved, plan)


def test_model_key_names_model_revision_and_settings(tiny_models):
    settings = Settings(model=str(tiny_models["wan"]), backend="diffusion")
    key = model_key(settings, FAST)
    assert key["family"] == "wan" and key["revision"].startswith("local-") and key["steps"] == 2
    assert model_key(settings, DiffusionSettings(steps=4))["steps"] == 4


def test_sizes_and_frame_counts():
    assert generation_size(1080, 1920, 768 * 512, 32) == (480, 832)
    assert generation_size(32, 32, 4096, 32) == (32, 32)
    assert frame_count(2.0, 24, 8, 161) == 49
    assert frame_count(0.1, 8, 4, 17) == 5
    assert frame_count(60, 24, 8, 161) == 161


def test_fit_frames_cover_crops_without_distortion_and_converts_frame_rate(tmp_path):
    # 8 frames at 8 fps, 64x32: red | green | blue bands, brightness marks the frame number.
    frames = np.zeros((8, 32, 64, 3), dtype=np.uint8)
    frames[:, :, :16, 0] = 200
    frames[:, :, 16:48, 1] = 200
    frames[:, :, 48:, 2] = 200
    video = write_mp4(frames, 8, tmp_path / "bands.mp4")
    fitted = fit_frames(video, 16, 16, 24, 1.0)
    assert fitted.shape == (24, 16, 16, 3) and fitted.dtype == np.uint8
    mean = fitted.reshape(-1, 3).mean(axis=0)
    assert mean[1] > 150 and mean[0] < 40 and mean[2] < 40  # only the centre band: no squeeze
    assert source_indices(8, 8, 24, 24) == [i // 3 for i in range(24)]
    assert source_indices(4, 8, 6, 3) == [0, 0, 1, 2, 2, 3]  # shorter source: stretched evenly
    assert fit_frames(video, 16, 16, 30, 0.5).shape[0] == 15


def test_fidelity_scores_the_photo_above_noise(photo):
    still = np.asarray(Image.open(photo).convert("RGB").resize((32, 32)))
    same = fidelity(np.stack([still] * 3), photo)
    noise = fidelity(np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8), photo)
    assert same["score"] > 0.6 > noise["score"]
    assert [f["frame"] for f in same["frames"]] == [0, 1, 2]


def test_fidelity_with_a_local_vision_model(photo, tmp_path):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTextConfig, CLIPVisionConfig

    torch.manual_seed(0)
    text = CLIPTextConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                          vocab_size=100, max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=8)
    CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=8)).save_pretrained(
        tmp_path / "clip")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(tmp_path / "clip")
    still = np.asarray(Image.open(photo).convert("RGB"))
    result = fidelity(np.stack([still] * 2), photo, model=str(tmp_path / "clip"))
    assert result["method"] == "embedding" and result["score"] > 0.99
    noise = fidelity(np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8), photo,
                     model=str(tmp_path / "clip"))
    assert noise["score"] < result["score"]


def _storyboard(photo: Path) -> "Storyboard":
    from productreel.models import Scene, Storyboard, TextOverlay

    label = TextOverlay(role="disclosure", text="Made with AI")
    return Storyboard(
        job_key="k", product_handle="mug", market="de", locale="de-DE", kind="ad", format="1:1",
        width=32, height=32, fps=8, metadata={"ai_label": "Made with AI"},
        scenes=[
            Scene(duration=0.2, shot=Shot(kind="generated", image=photo, prompt="a red mug", seed=3), overlays=[label]),
            Scene(duration=0.2, shot=Shot(kind="image", image=photo), overlays=[label]),
        ],
    )


def test_fill_generated_shots_sets_video_and_provenance(tiny_models, photo, tmp_path):
    filled, findings = diffusion.fill_generated_shots(
        _storyboard(photo), settings=settings_for(tiny_models["ltx"], tmp_path), diffusion=FAST)
    assert findings == [] and filled.has_generated and filled.scenes[0].shot.video.is_file()
    assert filled.metadata.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    assert filled.metadata.c2pa_assets[0]["seed"] == 3
    assert filled.metadata.diffusion["model"]["family"] == "ltx"
    assert fit_frames(filled.scenes[0].shot.video, 32, 32, 8, 0.2).shape == (2, 32, 32, 3)


def test_fill_generated_shots_falls_back_to_the_photo(tiny_models, photo, tmp_path):
    strict = DiffusionSettings(fidelity_threshold=1.01, fidelity_retries=0)
    filled, findings = diffusion.fill_generated_shots(
        _storyboard(photo), settings=settings_for(tiny_models["ltx"], tmp_path), diffusion=strict)
    assert [f.rule for f in findings] == ["GEN-FIDELITY"]
    assert not filled.has_generated and filled.scenes[0].shot.image == photo
    assert all(o.role != "disclosure" for s in filled.scenes for o in s.overlays)
    assert "digital_source_type" not in filled.metadata


def test_pipeline_errors_become_one_line_render_errors(tiny_models):
    from productreel.errors import RenderError

    class Broken(_FakePipe):
        def __call__(self, **kwargs):
            raise ValueError("`height` and `width` have to be divisible by 32 but are 30 and 30.\nmore detail")

    resolved = resolve_model(str(tiny_models["ltx"]), settings=Settings())
    with pytest.raises(RenderError, match=r"divisible by 32 but are 30 and 30\.$") as info:
        diffusion._call(Broken(fits=1), _jobs(1), resolved, {"steps": 2, "guidance": 1.0, "fps": 8})
    assert info.value.where == "diffusion"


def test_same_seed_same_frames_in_a_fresh_cache(tiny_models, photo, tmp_path):
    from clips.diffusion_video import read_frames

    shot = Shot(kind="generated", prompt="a red mug", seed=11)
    videos = [
        generate_shot(shot, width=32, height=32, fps=8, duration=0.1, image_path=photo, diffusion=FAST,
                      settings=settings_for(tiny_models["wan"], tmp_path / str(i))).video
        for i in range(2)
    ]
    assert videos[0] != videos[1] and np.array_equal(read_frames(videos[0])[0], read_frames(videos[1])[0])


def test_custom_timesteps_for_distilled_ltx(tiny_models):
    resolved = resolve_model(str(tiny_models["ltx"]), settings=Settings())
    tuned = DiffusionSettings(timesteps=[1000, 993, 987, 0.03])
    plan = diffusion._plan_defaults(resolved, tuned)
    kwargs = diffusion._call_kwargs(load_pipeline(str(tiny_models["ltx"]), settings=Settings(), diffusion=FAST),
                                    _jobs(1), resolved, plan)
    assert plan["steps"] == 4 and kwargs["timesteps"] == [1000, 993, 987, 0.03] and "num_inference_steps" not in kwargs
    assert model_key(Settings(model=str(tiny_models["ltx"])), tuned)["timesteps"] == [1000, 993, 987, 0.03]


def test_mp4_round_trip_keeps_colours_and_is_byte_exact(tmp_path):
    from clips.diffusion_video import read_frames

    image = np.zeros((50, 66, 3), np.uint8)
    image[:, :22], image[:, 22:44], image[:, 44:], image[:10] = (220, 30, 30), (30, 200, 60), (40, 60, 210), (250, 250, 250)
    first = write_mp4(np.stack([image] * 3), 8, tmp_path / "a.mp4")
    second = write_mp4(np.stack([image] * 3), 8, tmp_path / "b.mp4")
    assert first.read_bytes() == second.read_bytes()
    back, fps = read_frames(first)
    assert back.shape == (3, 50, 66, 3) and fps == 8
    assert np.abs(back.astype(int) - image).mean() < 2.0
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


@pytest.mark.slow
def test_generated_hero_shot_end_to_end_through_the_compose_renderer(tiny_models, product, lp, script, market, tmp_path):
    from clips.compose import render
    from clips.storyboard import build_storyboard

    script = script.model_copy(update={"prompt": "a blue stoneware mug turning slowly on a wooden table",
                                       "negative_prompt": "text, watermark"})
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="gen-1", profile="tiny", generated=True)
    assert sb.scenes[0].shot.kind == "generated"
    filled, findings = diffusion.fill_generated_shots(sb, settings=settings_for(tiny_models["ltx"], tmp_path),
                                                      diffusion=FAST)
    assert findings == [] and filled.scenes[0].shot.video.is_file()
    assert filled.metadata.diffusion["shots"][0]["prompt"] == script.prompt
    clip = render(filled, tmp_path / "out")
    assert clip.has_generated and clip.video.is_file()
    stream = ffprobe(clip.video)
    assert (stream["width"], stream["height"]) == (filled.width, filled.height)
    assert any(o.text == market.ai_label for o in filled.scenes[0].overlays)
    sidecar = json.loads(clip.metadata.read_text())["storyboard"]["metadata"]["diffusion"]["shots"][0]
    assert {"prompt", "seed", "steps", "guidance", "model", "revision"} <= set(sidecar)


@pytest.mark.parametrize("vae,expected", [("AutoencoderKLLTXVideo", 8), ("AutoencoderKLWan", 4)])
def test_temporal_ratio_of_real_configs_without_weights(tmp_path, vae, expected):
    pipeline = "LTXImageToVideoPipeline" if "LTX" in vae else "WanImageToVideoPipeline"
    (tmp_path / "vae").mkdir()
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": pipeline, "vae": ["diffusers", vae]}))
    (tmp_path / "vae" / "config.json").write_text(json.dumps({"_class_name": vae}))
    assert diffusion.temporal_ratio(resolve_model(str(tmp_path), settings=Settings())) == expected


def test_a_rerun_from_the_shot_cache_loads_no_weights(tiny_models, photo, tmp_path, monkeypatch):
    settings = settings_for(tiny_models["wan"], tmp_path)
    shot = Shot(kind="generated", prompt="a red mug", seed=5)
    first = generate_shot(shot, width=32, height=32, fps=8, duration=0.1, settings=settings, image_path=photo, diffusion=FAST)

    def no_loading(*args, **kwargs):
        raise AssertionError("the pipeline was loaded for a cached shot")

    monkeypatch.setattr(diffusion, "_load", no_loading)
    again = generate_shot(shot, width=32, height=32, fps=8, duration=0.1, settings=settings, image_path=photo, diffusion=FAST)
    assert again.video == first.video and again.metadata["fidelity"] == first.metadata["fidelity"]


def test_a_hugging_face_id_resolves_from_the_local_cache_only(tiny_models, tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-ltx"
    shutil.copytree(tiny_models["ltx"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    resolved = resolve_model("acme/tiny-ltx", settings=Settings())
    assert resolved.revision == commit and resolved.family == "ltx"
    assert model_key(Settings(model="acme/tiny-ltx"), FAST)["revision"] == commit
    with pytest.raises(InputError, match="acme/other not found locally"):
        resolve_model("acme/other", settings=Settings())


def test_the_other_task_shares_modules_and_keeps_their_dtypes(tiny_models):
    import torch

    settings = Settings(model=str(tiny_models["ltx"]))
    i2v = load_pipeline(settings=settings, diffusion=FAST)
    i2v.transformer.to(torch.bfloat16)  # as on CUDA; the VAE stays float32
    try:
        t2v = load_pipeline(settings=settings, diffusion=FAST, task="t2v")
        assert type(t2v).__name__ == "LTXPipeline" and t2v.transformer is i2v.transformer
        assert t2v.transformer.dtype == torch.bfloat16 and t2v.vae.dtype == torch.float32
    finally:
        i2v.transformer.to(torch.float32)


def test_loading_another_model_replaces_the_loaded_one(tiny_models):
    ltx = load_pipeline(settings=Settings(model=str(tiny_models["ltx"])), diffusion=FAST)
    load_pipeline(settings=Settings(model=str(tiny_models["wan"])), diffusion=FAST)
    assert all(p is not ltx for p in diffusion._PIPELINES.values())


@pytest.mark.parametrize("free_bytes,expected", [(10**12, "none"), (200_000, "model"), (10_000, "group")])
def test_offload_is_chosen_by_free_gpu_memory(tiny_models, monkeypatch, free_bytes, expected):
    import torch

    pipe = load_pipeline(settings=Settings(model=str(tiny_models["wan"])), diffusion=FAST)
    sizes = sorted(sum(p.numel() * p.element_size() for p in m.parameters())
                   for m in pipe.components.values() if isinstance(m, torch.nn.Module))
    assert sum(sizes) > 0.75 * 200_000 >= sizes[-1]  # the case "model" is real: all > budget >= largest
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (free_bytes, 10**12))
    assert diffusion._choose_offload(pipe, DiffusionSettings()) == expected
    assert diffusion._choose_offload(pipe, DiffusionSettings(offload="group")) == "group"


def test_ltx_condition_checkpoints_make_one_shot_per_call(tiny_models, photo, tmp_path, monkeypatch):
    # LTX-Video 0.9.5+ (and the distilled 2B) ship as LTXConditionPipeline: same components.
    model = tmp_path / "ltx-condition"
    shutil.copytree(tiny_models["ltx"], model)
    index = json.loads((model / "model_index.json").read_text())
    (model / "model_index.json").write_text(json.dumps({**index, "_class_name": "LTXConditionPipeline"}))
    calls = []
    real_call = diffusion._call
    monkeypatch.setattr(diffusion, "_call", lambda pipe, jobs, *a: calls.append(len(jobs)) or real_call(pipe, jobs, *a))
    requests = [ShotRequest(shot=Shot(kind="generated", prompt="mug", seed=i), width=32, height=32, fps=8,
                            duration=0.1, image_path=photo) for i in range(2)]
    results = generate_shots(requests, settings=settings_for(model, tmp_path), diffusion=FAST)
    assert calls == [1, 1] and all(r.metadata["pipeline"] == "LTXConditionPipeline" for r in results)
    assert all(r.video.is_file() for r in results)


def test_a_missing_fidelity_model_is_named(photo, tmp_path):
    frames = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="fidelity model .*nothing-here is not available locally"):
        fidelity(frames, photo, model=str(tmp_path / "nothing-here"))
