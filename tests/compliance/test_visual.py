"""Checks on rendered fixtures: labels (AI, ad), safe zones, contrast, text size, flashes and nudity."""

from __future__ import annotations

import pytest
from .helpers import market, storyboard
from PIL import Image

from compliance.engine import run_checks


def findings(clip, code, rule_id, **kw):
    report, _ = run_checks(clip, market(code), only={rule_id}, **kw)
    return [f for f in report.findings if f.rule == rule_id]


WHITE_ON_DARK = "white"


def test_eu_clip_with_generated_shot_and_no_ai_label_is_blocked(clip_factory):
    clip = clip_factory(texts=[("Becher", (40, 200), 30, WHITE_ON_DARK, 0, 2)])
    (f,) = findings(clip, "de", "AI-EU-2", storyboard=storyboard("de", generated=True))
    assert f.severity == "BLOCK" and f.evidence["expected"] == "KI-generiert"


def test_eu_clip_with_ai_label_in_first_two_seconds_passes(clip_factory):
    clip = clip_factory(texts=[("KI-generiert", (40, 100), 28, WHITE_ON_DARK, 0, 2)])
    assert findings(clip, "de", "AI-EU-2", storyboard=storyboard("de", generated=True)) == []


def test_photo_only_clip_needs_no_ai_label(clip_factory):
    clip = clip_factory(texts=[("Becher", (40, 200), 30, WHITE_ON_DARK, 0, 2)])
    assert findings(clip, "de", "AI-EU-2", storyboard=storyboard("de", generated=False)) == []


@pytest.mark.parametrize(
    "texts,problem",
    [
        ([("人工智能生成", (20, 100), 30, "white", 0, 2)], None),
        ([("人工智能生成", (20, 100), 30, "white", 0, 1)], "missing"),  # gone after 1 s
        ([("人工智能生成", (20, 100), 10, "white", 0, 2)], "short side"),  # under 5 % of 270 px
        ([("人工智能生成", (20, 100), 30, (70, 70, 80), 0, 2)], "contrast"),  # grey on dark blue
        ([("杯子", (20, 100), 30, "white", 0, 2)], "not read"),
    ],
)
def test_cn_ai_label_presence_size_duration_and_contrast(clip_factory, texts, problem):
    clip = clip_factory(texts=texts)
    found = findings(clip, "cn", "AI-CN-1", storyboard=storyboard("cn", generated=True))
    if problem is None:
        assert found == []
    else:
        assert any(problem in f.message for f in found), [f.message for f in found]
        assert all(f.severity == "BLOCK" for f in found)


@pytest.mark.parametrize("code,label,ok", [("cn", "广告", True), ("cn", "杯子", False), ("br", "Publicidade", True), ("br", "Caneca", False)])
def test_ad_labels(clip_factory, code, label, ok):
    clip = clip_factory(texts=[(label, (30, 100), 30, "white", 0, 2)])
    rule = {"cn": "CL-CN-3", "br": "CL-BR-1"}[code]
    found = findings(clip, code, rule, storyboard=storyboard(code, kind="ad"))
    assert (found == []) is ok


def test_text_in_reels_bottom_zone_is_a_fix(clip_factory):
    clip = clip_factory(texts=[("Shop now", (40, 400), 26, "white", 0, 2), ("Mug", (80, 150), 30, "white", 0, 2)])
    found = findings(clip, "us", "SAFE-1", destination="reels")
    assert len(found) == 1 and found[0].severity == "FIX" and "bottom" in found[0].message
    assert found[0].evidence["text"] == "Shop now" and found[0].evidence["fix"] == "safe_zone"


@pytest.mark.parametrize("fill,ok", [("white", True), ((60, 72, 92), False)])
def test_text_contrast(clip_factory, fill, ok):
    clip = clip_factory(texts=[("SPECIAL MUG", (30, 200), 28, fill, 0, 2, (40, 50, 70))])
    found = findings(clip, "us", "ACC-2")
    assert (found == []) is ok
    if not ok:
        assert found[0].evidence["measured"] < 4.5


@pytest.mark.parametrize("size,ok", [(24, True), (11, False)])
def test_text_size(clip_factory, size, ok):
    clip = clip_factory(width=540, height=960, texts=[("ceramic mug 350 ml", (60, 300), size, "white", 0, 2)])
    found = findings(clip, "us", "ACC-3")
    assert (found == []) is ok


def _flash(rate_hz: float):
    def frame_at(t: float) -> Image.Image:
        on = int(t * rate_hz * 2) % 2 == 0
        return Image.new("RGB", (120, 160), (255, 255, 255) if on else (0, 0, 0))

    return frame_at


@pytest.mark.parametrize("rate,ok", [(5.0, False), (1.0, True)])
def test_flashing_clip(clip_factory, rate, ok):
    clip = clip_factory(width=120, height=160, fps=20, frame_fn=_flash(rate), audio_db=None)
    found = findings(clip, "us", "ACC-7")
    assert (found == []) is ok
    if not ok:
        assert found[0].severity == "BLOCK" and found[0].evidence["measured"] > 3


def test_slow_fade_is_not_a_flash(clip_factory):
    clip = clip_factory(width=120, height=160, fps=20, audio_db=None,
                        frame_fn=lambda t: Image.new("RGB", (120, 160), (int(255 * t / 2),) * 3))
    assert findings(clip, "us", "ACC-7") == []


def test_nudity_policy_blocks_exposed_classes_only(clip_factory, monkeypatch):
    clip = clip_factory(texts=[("Mug", (80, 150), 30, "white", 0, 2)])
    # The real detector on a product frame finds nothing to block.
    assert findings(clip, "us", "NUD-1") == []

    from compliance import nudity

    class Fake:
        def __init__(self, dets):
            self.dets = dets

        def detect(self, img):
            return self.dets

    monkeypatch.setattr(nudity, "detector", lambda: Fake([{"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 10, 10]}, {"class": "FEMALE_BREAST_EXPOSED", "score": 0.4, "box": [0, 0, 10, 10]}]))
    assert findings(clip, "us", "NUD-1") == []
    monkeypatch.setattr(nudity, "detector", lambda: Fake([{"class": "BUTTOCKS_EXPOSED", "score": 0.7, "box": [10, 20, 30, 40]}]))
    (f,) = findings(clip, "us", "NUD-1")
    assert f.severity == "BLOCK" and f.evidence["label"] == "BUTTOCKS_EXPOSED"


def test_logo_text_is_exempt_from_contrast(clip_factory):
    from productreel.models import TextOverlay

    clip = clip_factory(texts=[("ACME", (30, 200), 28, (60, 72, 92), 0, 2, (40, 50, 70))])
    sb = storyboard("us")
    assert findings(clip, "us", "ACC-2", storyboard=sb)
    sb.scenes[0].overlays.append(TextOverlay(role="logo", text="ACME"))
    assert findings(clip, "us", "ACC-2", storyboard=sb) == []


@pytest.mark.parametrize(
    "destination,xy,flagged",
    [
        ("tiktok", (200, 200), True),  # right 15 % of the frame is TikTok's button rail
        ("reels", (200, 200), False),  # Reels keeps only 6 % clear on the right: the same text stays (mostly) inside
        ("reels", (60, 20), True),  # top 14 %
        ("youtube-shorts", (60, 440), True),  # bottom title area
        ("shopify", (60, 200), False),
    ],
)
def test_safe_zones_per_destination(clip_factory, destination, xy, flagged):
    clip = clip_factory(texts=[("Mug", xy, 26, "white", 0, 2)])
    assert bool(findings(clip, "us", "SAFE-1", destination=destination)) is flagged
