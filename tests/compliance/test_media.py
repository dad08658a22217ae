"""File spec (SPEC-1 by a PyAV probe), loudness (AUD-1 by pyloudnorm) and captions (ACC-4/5) on fixture clips."""

from __future__ import annotations

from pathlib import Path

import pytest
from .helpers import market, storyboard

from compliance.engine import run_checks
from productreel.models import Cue


def findings(clip, code, rule_id, **kw):
    report, _ = run_checks(clip, market(code), only={rule_id}, **kw)
    return [f for f in report.findings if f.rule == rule_id]


def test_good_file_passes_spec(clip_factory):
    assert findings(clip_factory(), "us", "SPEC-1") == []


@pytest.mark.parametrize(
    "kw,destination,words,severity",
    [
        ({"extra_args": ["-pix_fmt", "yuv444p", "-profile:v", "high444"]}, "folder", "pixel format", "FIX"),
        ({"extra_args": ["-movflags", "-faststart"]}, "folder", "faststart", "FIX"),
        ({}, "tiktok", "duration", "BLOCK"),  # 2 s, TikTok wants ≥ 5 s
        ({}, "amazon", "resolution", "BLOCK"),
        ({"audio_db": None}, "tiktok", "no audio", "FIX"),
    ],
)
def test_spec_violations(clip_factory, kw, destination, words, severity):
    found = findings(clip_factory(**kw), "us", "SPEC-1", destination=destination)
    hits = [f for f in found if words in f.message]
    assert hits, [f.message for f in found]
    assert hits[0].severity == severity and hits[0].evidence["destination"] == destination


def test_wrong_codec_is_a_fix(tmp_path: Path):
    import subprocess

    from imageio_ffmpeg import get_ffmpeg_exe

    out = tmp_path / "mpeg4.mp4"
    subprocess.run([get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=160x284:d=1:r=10", "-c:v", "mpeg4", str(out)], check=True)
    found = findings(out, "us", "SPEC-1")
    assert any("video codec mpeg4" in f.message and f.severity == "FIX" for f in found)


def test_truncated_file_is_unreadable_not_a_crash(clip_factory, tmp_path: Path):
    clip = clip_factory()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:300])
    report, _ = run_checks(cut, market("us"))
    spec = [f for f in report.findings if f.rule == "SPEC-1"]
    assert spec[0].severity == "BLOCK" and spec[0].message.startswith("unreadable")
    assert not report.passed


@pytest.mark.parametrize("db,ok", [(-14.0, True), (-32.0, False), (-3.0, False)])
def test_loudness(clip_factory, db, ok):
    found = findings(clip_factory(audio_db=db), "us", "AUD-1")
    assert (found == []) is ok
    if not ok:
        assert found[0].severity == "FIX" and found[0].evidence["fix"] == "loudness"
        assert ("quiet" in found[0].message) == (db < -14) or "peak" in found[0].message


def test_too_quiet_clip_reports_measured_loudness(clip_factory):
    (f, *_) = findings(clip_factory(audio_db=-32.0), "de", "AUD-1")
    assert "too quiet" in f.message and f.evidence["measured"] < -25 and f.evidence["expected"] == -14.0


def test_clip_without_audio_has_no_loudness_finding(clip_factory):
    assert findings(clip_factory(audio_db=None), "us", "AUD-1") == []


def _srt(path: Path, cues: list[tuple[float, float, str]]) -> None:
    def ts(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    path.write_text("\n\n".join(f"{i + 1}\n{ts(a)} --> {ts(b)}\n{t}" for i, (a, b, t) in enumerate(cues)) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    "cues,rule,ok",
    [
        ([(0.0, 2.0, "A mug that keeps coffee hot")], "ACC-4", True),
        ([(0.0, 2.0, "one\ntwo\nthree")], "ACC-4", False),  # 3 lines
        ([(0.0, 2.0, "x" * 50)], "ACC-4", False),  # 50 chars on a line, over 42
        ([(0.0, 9.0, "long")], "ACC-4", False),  # shown 9 s
        ([(0.0, 0.5, "hi")], "ACC-4", False),  # shown under 5/6 s
        ([(0.0, 1.0, "a"), (1.05, 2.0, "b")], "ACC-4", False),  # gap of 1 frame at 20 fps... under 2 frames
        ([(0.0, 2.0, "A mug that keeps coffee hot")], "ACC-5", True),  # 13.5 cps
        ([(0.0, 1.0, "A mug that keeps coffee hot all day")], "ACC-5", False),  # 35 cps
    ],
)
def test_caption_rules_on_srt_sidecar(clip_factory, cues, rule, ok):
    clip = clip_factory(fps=20)
    _srt(clip.with_suffix(".srt"), cues)
    found = findings(clip, "us", rule)
    assert (found == []) is ok, [f.message for f in found]


def test_reading_speed_uses_the_market_limit(clip_factory):
    clip = clip_factory()
    sb = storyboard("jp", captions=[Cue(start=0.0, end=2.0, text="保温できるマグカップ")])  # 5 chars/s, JA limit 4
    assert findings(clip, "jp", "ACC-5", storyboard=sb)
    sb = storyboard("us", captions=[Cue(start=0.0, end=2.0, text="A mug that keeps coffee")])
    assert findings(clip, "us", "ACC-5", storyboard=sb) == []


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_damaged_video_is_unreadable_block_not_a_crash(clip_factory, tmp_path: Path, damage):
    data = bytearray(clip_factory(duration=2.0).read_bytes())
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    else:
        for i in range(len(data) // 2, len(data) // 2 + 3000):
            data[i] = 0xAB
    bad = tmp_path / f"{damage}.mp4"
    bad.write_bytes(bytes(data))
    report, _ = run_checks(bad, market("us"))
    spec = [f for f in report.findings if f.rule == "SPEC-1" and f.severity == "BLOCK"]
    assert spec and all(f.message.startswith("unreadable") for f in spec)
    assert not [f for f in report.findings if "check failed" in f.message]


def test_file_must_match_its_storyboard(clip_factory):
    clip = clip_factory(width=270, height=480, fps=10, duration=2.0)
    assert findings(clip, "us", "SPEC-1", storyboard=storyboard("us", width=270, height=480, duration=2.0)) == []
    found = findings(clip, "us", "SPEC-1", storyboard=storyboard("us", width=1080, height=1920, duration=6.0))
    messages = " ".join(f.message for f in found)
    assert "frame size 270x480" in messages and "duration" in messages


def test_true_peak_finds_the_peak_between_samples():
    import numpy as np

    from compliance.audio import true_peak_dbtp

    t = np.arange(48000) / 48000
    x = 0.9 * np.sin(2 * np.pi * 12000 * t + np.pi / 4)  # every sample at ±0.64, the wave peaks at 0.9
    tp = true_peak_dbtp(np.stack([x, x], axis=1))
    assert abs(tp - 20 * np.log10(0.9)) < 0.1
    assert 20 * np.log10(np.abs(x).max()) < tp - 2.5
