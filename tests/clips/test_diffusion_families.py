"""The family table (clips/diffusion_families.yaml) against diffusers, and the LTX-2, HunyuanVideo-1.5, SkyReels-V2 and SANA-Video families on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clips import diffusion
from clips.diffusion import FAMILIES, PIPELINE_TABLE, DiffusionSettings, build_tiny_pipeline
from clips.diffusion_tiny import FAMILIES as TINY_FAMILIES
from clips.diffusion_video import read_frames
from productreel.errors import InputError
from productreel.models import Shot
from productreel.settings import Settings

FAST = DiffusionSettings(fidelity_threshold=0.0)
NEW = ["ltx2", "hunyuanvideo15", "skyreels_v2", "sana_video", "wan22"]


def test_every_pipeline_class_and_family_is_in_diffusers():
    import diffusers

    for name, entry in PIPELINE_TABLE.items():
        assert hasattr(diffusers, name), name
        assert entry["family"] in FAMILIES and entry["task"] in ("i2v", "t2v")
    for name, family in FAMILIES.items():
        assert hasattr(diffusers, family["transformer"]["class"]), name
        for task, cls in (family.get("pipelines") or {}).items():
            assert PIPELINE_TABLE[cls] == {**PIPELINE_TABLE[cls], "family": name, "task": task}
        assert family["cache"] in [*family["caches"], "none"] and set(family["caches"]) <= set(diffusion.CACHE_METHODS)
        assert family["tiny"] is (name in TINY_FAMILIES)
    assert set(TINY_FAMILIES) - set(FAMILIES) == {"wan22"}  # a Wan 2.2 TI2V-style checkpoint of the wan family


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_cache_and_compile_columns_match_the_transformer(name):
    """FirstBlockCache/MagCache need the block in diffusers' registry; regional compile needs _repeated_blocks."""
    import diffusers
    from diffusers.hooks._helpers import TransformerBlockRegistry

    family = FAMILIES[name]
    cls = getattr(diffusers, family["transformer"]["class"])
    TransformerBlockRegistry._register()  # diffusers fills the registry on first use
    registered = {c.__name__ for c in TransformerBlockRegistry._registry}
    from diffusers.models.cache_utils import CacheMixin

    assert bool(family["caches"]) is issubclass(cls, CacheMixin), name  # enable_cache is where every cache goes in
    block_caches = {"first_block", "mag"} & set(family["caches"])
    assert bool(block_caches) is (family["transformer"]["block"] in registered), name
    assert (family["compile"] == "regional") is bool(getattr(cls, "_repeated_blocks", None)), name


def test_an_unsupported_cache_is_refused_naming_the_family():
    with pytest.raises(InputError, match=r"'first_block' does not apply to ltx2 models: use auto, taylorseer, none"):
        diffusion.cache_method(DiffusionSettings(cache_method="first_block"), "ltx2")
    assert diffusion.cache_method(DiffusionSettings(), "ltx2") == "taylorseer"
    assert diffusion.cache_method(DiffusionSettings(), "ltx") == "first_block"


@pytest.fixture(scope="module")
def new_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {family: build_tiny_pipeline(root / f"tiny-{family}", family, seed=0) for family in NEW}


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    image = np.full((48, 64, 3), 235, dtype=np.uint8)
    image[10:40, 20:44] = (190, 40, 30)
    path = tmp_path_factory.mktemp("photos") / "mug.png"
    Image.fromarray(image).save(path)
    return path


@pytest.mark.parametrize("family,pipeline", [("ltx2", "LTX2ImageToVideoPipeline"),
                                             ("hunyuanvideo15", "HunyuanVideo15ImageToVideoPipeline"),
                                             ("skyreels_v2", "SkyReelsV2ImageToVideoPipeline"),
                                             ("sana_video", "SanaImageToVideoPipeline")])
def test_tiny_pipeline_loads_through_the_real_code_with_its_family_cache(new_models, family, pipeline):
    settings = Settings(model=str(new_models[family]))
    resolved = diffusion.resolve_model(settings.model, settings=settings)
    assert json.loads((new_models[family] / "model_index.json").read_text())["_class_name"] == pipeline
    assert (resolved.family, resolved.task, resolved.tiny) == (family, "i2v", True)
    pipe = diffusion.load_pipeline(settings=settings, diffusion=FAST)
    assert type(pipe).__name__ == pipeline and pipe is diffusion.load_pipeline(settings=settings, diffusion=FAST)
    # The family's cache under cache_method=auto (TaylorSeer; SANA-Video has none to enable).
    assert getattr(pipe.transformer, "is_cache_enabled", False) is (FAMILIES[family]["cache"] != "none")
    # The frames-per-latent-frame read from the config (no weights) is the loaded VAE's.
    assert diffusion.temporal_ratio(resolved) == diffusion._temporal_ratio(pipe)


@pytest.mark.parametrize("family", NEW)
def test_generate_shot_writes_an_mp4_from_the_photo(new_models, photo, tmp_path, family):
    settings = Settings(model=str(new_models[family]), backend="diffusion", cache_dir=tmp_path / "cache")
    shot = diffusion.generate_shot(Shot(kind="generated", image=photo, prompt="a red mug turning slowly", seed=5),
                                   width=64, height=64, fps=8, duration=1.0, settings=settings, diffusion=FAST)
    assert shot.video is not None and shot.video.is_file() and not shot.fallback
    frames, _ = read_frames(shot.video)
    assert frames.shape[0] == shot.metadata["frames"] and frames.shape[-1] == 3
    table = {"wan22": "wan"}.get(family, family)  # wan22 is a checkpoint of the wan family
    assert (shot.metadata["family"], shot.metadata["cache_method"], shot.metadata["seed"]) == (table, FAMILIES[table]["cache"], 5)
    assert shot.metadata["digital_source_type"].endswith("/trainedAlgorithmicMedia")


def test_two_shots_of_a_single_shot_family_make_two_calls(new_models, photo, tmp_path, monkeypatch):
    settings = Settings(model=str(new_models["hunyuanvideo15"]), backend="diffusion", cache_dir=tmp_path / "cache")
    calls = []
    real = diffusion._call

    def counting(pipe, jobs, resolved, plan):
        calls.append(len(jobs))
        return real(pipe, jobs, resolved, plan)

    monkeypatch.setattr(diffusion, "_call", counting)
    requests = [diffusion.ShotRequest(shot=Shot(kind="generated", image=photo, prompt=p, seed=1), width=64, height=64,
                                      fps=8, duration=0.5) for p in ("a red mug", "a blue mug")]
    shots = diffusion.generate_shots(requests, settings=settings, diffusion=FAST)
    assert calls == [1, 1] and all(s.video.is_file() for s in shots)


def test_guidance_of_a_guider_family_goes_to_its_guider(new_models):
    settings = Settings(model=str(new_models["hunyuanvideo15"]))
    resolved = diffusion.resolve_model(settings.model, settings=settings)
    pipe = diffusion.load_pipeline(settings=settings, diffusion=FAST)
    job = diffusion._Job(0, diffusion.ShotRequest(shot=Shot(kind="generated"), width=64, height=64), "i2v", "p", "n",
                         64, 64, 9, Image.new("RGB", (64, 64)), "h", 0)
    kwargs = diffusion._call_kwargs(pipe, [job], resolved, {"steps": 2, "guidance": 4.5, "fps": 8})
    assert "guidance_scale" not in kwargs and "width" not in kwargs and pipe.guider.guidance_scale == 4.5
    assert kwargs["image"] is job.image


def test_sana_video_batches_shots_of_one_photo_and_names_its_length_frames(new_models, photo, tmp_path, monkeypatch):
    settings = Settings(model=str(new_models["sana_video"]), backend="diffusion", cache_dir=tmp_path / "cache")
    seen = []
    real = diffusion._call_kwargs

    def spying(pipe, jobs, resolved, plan):
        kwargs = real(pipe, jobs, resolved, plan)
        seen.append(kwargs)
        return kwargs

    monkeypatch.setattr(diffusion, "_call_kwargs", spying)
    requests = [diffusion.ShotRequest(shot=Shot(kind="generated", image=photo, prompt=p, seed=1), width=64, height=64,
                                      fps=8, duration=0.5) for p in ("a red mug", "a blue mug")]
    shots = diffusion.generate_shots(requests, settings=settings, diffusion=FAST)
    assert len(seen) == 1 and len(seen[0]["prompt"]) == 2  # one call for both: one photo conditions the batch
    assert "frames" in seen[0] and "num_frames" not in seen[0] and seen[0]["use_resolution_binning"] is False
    assert all(s.video.is_file() for s in shots)


def test_a_wan22_ti2v_checkpoint_makes_both_shots_from_one_model(new_models, photo, tmp_path):
    settings = Settings(model=str(new_models["wan22"]), backend="diffusion", cache_dir=tmp_path / "cache")
    resolved = diffusion.resolve_model(settings.model, settings=settings)
    assert (resolved.family, resolved.index["expand_timesteps"]) == ("wan", True)
    assert diffusion._pipeline_class(resolved, "t2v") == "WanPipeline"
    from_photo = diffusion.generate_shot(Shot(kind="generated", image=photo, prompt="a red mug", seed=2),
                                         width=64, height=64, fps=8, duration=0.5, settings=settings, diffusion=FAST)
    background = diffusion.generate_shot(Shot(kind="generated", prompt="a wooden table in soft light", seed=2),
                                         width=64, height=64, fps=8, duration=0.5, settings=settings, diffusion=FAST)
    assert (from_photo.metadata["pipeline"], background.metadata["pipeline"]) == ("WanImageToVideoPipeline", "WanPipeline")
    assert from_photo.video.is_file() and background.video.is_file()
