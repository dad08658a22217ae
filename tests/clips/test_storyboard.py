"""Storyboards: sizes, lengths, overlays and labels for ads and tutorials."""

from __future__ import annotations

import pytest

from productreel.errors import InputError
from productreel.models import FORMATS, Script

from clips.storyboard import build_storyboard, frame_size


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_tiny_frame_size_is_a_sixth_and_even(fmt):
    w, h = frame_size(fmt, "tiny")
    W, H = FORMATS[fmt]
    assert w % 2 == 0 and h % 2 == 0
    assert abs(w - W / 6) <= 1 and abs(h - H / 6) <= 1


@pytest.mark.parametrize("seconds,scenes", [(6, 2), (15, 3), (30, 5)])
def test_ad_lengths(product, lp, script, market, seconds, scenes):
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="k", duration=seconds)
    assert sb.duration == pytest.approx(seconds)
    assert len(sb.scenes) == scenes
    assert (sb.width, sb.height) == (1080, 1920)
    roles = {o.role for s in sb.scenes for o in s.overlays}
    assert {"title", "price", "compare_at", "prior_price", "tax", "cta", "label"} <= roles
    assert sb.burn_captions and sb.captions
    assert sb.metadata.templates == {"ad/default.j2": "abc123"}
    assert sb.metadata.product_content_hash == product.content_hash


def test_ad_uses_fetched_path_and_close_ups(product, lp, script, market):
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="k", duration=30)
    images = [s.shot.image for s in sb.scenes]
    assert images[1] == product.images[1].path  # fetched file, not the remote src
    assert all(s.shot.crop is not None for s in sb.scenes[3:])  # repeated photos are shown as close-ups


def test_tutorial_has_numbered_steps_and_fits_30_to_90_seconds(product, lp, market):
    sc = Script(kind="tutorial", steps=["Rinse the mug with warm water.", "Pour in coffee.", "Enjoy it hot."], cta="Shop now")
    sb = build_storyboard(product, lp, sc, market, "tutorial", "16:9", job_key="k")
    assert 30 <= round(sb.duration, 6) <= 90
    steps = [s for s in sb.scenes if s.step]
    assert [s.step for s in steps] == [1, 2, 3]
    assert [o.text for s in steps for o in s.overlays if o.role == "step"] == sc.steps
    assert all(s.shot.crop for s in steps)  # close-ups of the photo
    assert not any(o.role == "label" for s in sb.scenes for o in s.overlays)  # a tutorial is not an ad


def test_tiny_profile_is_short(product, lp, script, market):
    sb = build_storyboard(product, lp, script, market, "ad", "1:1", job_key="k", profile="tiny")
    assert 1.0 <= sb.duration <= 2.0
    assert (sb.width, sb.height) == (180, 180)


def test_generated_shot_carries_the_ai_label(product, lp, script, market):
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="k", generated=True)
    assert sb.has_generated
    first = sb.scenes[0]
    assert any(o.role == "disclosure" and o.text == "KI-generiert" and o.start == 0 for o in first.overlays)
    assert sb.metadata.ai_label_required is True


def test_no_local_image_is_an_input_error(product, lp, script, market):
    remote_only = product.model_copy(update={"images": [product.images[1].model_copy(update={"path": None})]})
    with pytest.raises(InputError, match="no local product image"):
        build_storyboard(remote_only, lp, script, market, "ad", "9:16", job_key="k")


def test_unknown_format_is_an_input_error(product, lp, script, market):
    with pytest.raises(InputError, match="unknown format"):
        build_storyboard(product, lp, script, market, "ad", "3:2", job_key="k")


def test_tiny_tutorial_scenes_are_long_enough_not_to_flash(product, lp, market):
    """Squeezed for smoke runs, a tutorial still changes scene at most ~2 times a second (ACC-7 allows 3 flashes)."""
    steps = [f"Step number {i}." for i in range(1, 9)]
    sc = Script(kind="tutorial", steps=steps, cta="Shop now")
    sb = build_storyboard(product, lp, sc, market, "tutorial", "16:9", job_key="k", profile="tiny")
    assert len(sb.scenes) >= 8
    assert min(s.duration for s in sb.scenes) >= 0.4
