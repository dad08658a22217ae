"""FIX findings are repaired by re-rendering with hints and checked again."""

from __future__ import annotations

from .helpers import market

from compliance.repair import check_with_repairs
from productreel.models import RenderedClip


def rc(path):
    return RenderedClip(job_key="k", product_handle="mug", market="us", kind="ad", format="9:16", video=path)


def test_too_quiet_clip_is_rerendered_louder_and_passes(clip_factory):
    quiet = clip_factory("quiet.mp4", audio_db=-32.0)
    calls = []

    def rerender(hints):
        calls.append(hints)
        return rc(clip_factory("fixed.mp4", audio_db=hints["loudness"]))

    clip, report, history = check_with_repairs(rc(quiet), market("us"), rerender=rerender)
    assert calls == [{"loudness": -14.0}] and history == calls
    assert clip.video.name == "fixed.mp4"
    assert not [f for f in report.findings if f.rule == "AUD-1"]


def test_no_rerender_when_nothing_to_repair_or_block_is_unfixable(clip_factory):
    clean = clip_factory("clean.mp4")

    def boom(hints):
        raise AssertionError("must not re-render")

    _, report, history = check_with_repairs(rc(clean), market("us"), rerender=boom)
    assert history == []
    quiet = clip_factory("quiet.mp4", audio_db=-32.0)
    _, report, history = check_with_repairs(rc(quiet), market("us"), rerender=boom, script_text="Made in USA")
    assert history == [] and not report.passed


def test_a_rerender_that_returns_its_storyboard_is_checked_against_that_storyboard(clip_factory, monkeypatch):
    import compliance.repair as repair

    seen = []
    real = repair.check_clip

    def spy(clip, market_, **kw):
        seen.append(kw.get("storyboard"))
        return real(clip, market_, **{k: v for k, v in kw.items() if k != "storyboard"})

    monkeypatch.setattr(repair, "check_clip", spy)
    quiet = clip_factory("quiet.mp4", audio_db=-32.0)
    repaired_board = object()

    def rerender(hints):
        return rc(clip_factory("fixed.mp4", audio_db=hints["loudness"])), repaired_board

    clip, report, history = check_with_repairs(rc(quiet), market("us"), rerender=rerender, storyboard="original")
    assert seen == ["original", repaired_board]
    assert clip.video.name == "fixed.mp4" and history


def test_hints_the_renderer_cannot_act_on_cost_no_render(clip_factory):
    quiet = clip_factory("quiet.mp4", audio_db=-32.0)

    def boom(hints):
        raise AssertionError("a render that would come out the same")

    _, report, history = check_with_repairs(rc(quiet), market("us"), rerender=boom, repairable={"contrast_box"})
    assert history == [] and any(f.rule == "AUD-1" for f in report.findings)  # still said, as a finding
