"""Decoding beside the checks (frames.decode_with, engine.prefetch): the same samples, readings and findings as
decoding first and reading after, and nothing computed that no rule reads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from compliance import engine, frames, nudity, ocr
from compliance.engine import run_checks

from .clipmaker import font
from .helpers import market


def _moving_price(t: float) -> Image.Image:
    """A drifting background under a price that changes half way and a small label that stays."""
    img = Image.new("RGB", (270, 480), (int(40 + 40 * t), 50, 70))
    d = ImageDraw.Draw(img)
    d.text((20 + int(8 * t), 200), "49,99 €" if t < 1.0 else "48,99 €", font=font(30), fill="white")
    d.text((20, 420), "Anzeige", font=font(12), fill="white")
    return img


@pytest.fixture
def moving(clip_factory):
    return clip_factory("moving.mp4", frame_fn=_moving_price, duration=2.0)


def test_every_consumer_gets_every_sample_in_order_and_the_same_decode(moving):
    plain = frames.decode(moving)
    decoded, error, results = frames.decode_with(moving, [lambda it: [(s.index, s.t, s.changed) for _d, s in it]] * 2,
                                                 thread_type="NONE")
    assert error is None
    expected = [(s.index, s.t, s.changed) for s in plain.samples]
    assert results == [(expected, None), (expected, None)]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(plain.samples, decoded.samples))
    assert np.array_equal(plain.luma, decoded.luma) and np.array_equal(plain.luma_times, decoded.luma_times)


def test_a_failed_consumer_stops_neither_the_decoder_nor_the_others(moving):
    def broken(it):
        next(iter(it))
        raise ValueError("boom")

    decoded, error, results = frames.decode_with(moving, [broken, lambda it: sum(1 for _ in it)])
    assert error is None and len(decoded.samples) == results[1][0] == 4
    assert results[0][0] is None and isinstance(results[0][1], ValueError)


def test_a_file_that_cannot_be_opened_is_reported_and_the_consumers_see_no_samples(tmp_path):
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"not a video")
    decoded, error, results = frames.decode_with(bad, [lambda it: list(it)])
    assert decoded is None and error is not None and results == [([], None)]


def test_detection_on_its_own_thread_reads_what_one_thread_reads(moving):
    dec = frames.decode(moving)
    sequential, last, reader = [], [], ocr._Reader()
    for s in dec.samples:
        if s.changed or not sequential:
            last = reader(s.rgb, dec.scale)
        sequential.append([(i.text, i.box, round(i.score, 4)) for i in last])
    threaded = [[(i.text, i.box, round(i.score, 4)) for i in fr.items] for fr in ocr.read_clip(dec)]
    assert threaded == sequential
    texts = " ".join(t for fr in threaded for t, _b, _s in fr)
    # The changed price is read again, and the small label is kept on every sample.
    assert "48,99" in texts and "49,99" in texts
    assert all(any("Anzeige" in t for t, _b, _s in fr) for fr in threaded)


def test_a_failed_detection_is_raised_on_the_reading_thread(moving, monkeypatch):
    dec = frames.decode(moving)

    def broken(self, rgb):
        raise RuntimeError("detector broke")

    monkeypatch.setattr(ocr._Reader, "detect", broken)
    with pytest.raises(RuntimeError, match="detector broke"):
        ocr.read_clip(dec)


def test_prefetched_findings_are_the_lazy_ones(moving, monkeypatch):
    """The whole de rule set on a clip that trips price, size and contrast rules: prefetch changes nothing."""
    now, ctx = run_checks(moving, market("de"), destination="reels")
    assert ctx._decoded.detections, "NudeNet ran beside the decoder"
    assert set(ctx._decoded.thread_cpu) == {"decode", "ocr detect", "ocr recognise", "nudity"}
    monkeypatch.setattr(engine, "prefetch", lambda ctx, rules: None)
    lazy, _ = run_checks(moving, market("de"), destination="reels")
    key = lambda r: sorted((f.rule, f.severity, f.message) for f in r.findings)  # noqa: E731
    assert key(now) == key(lazy) and key(now)


def test_nudity_worked_out_beside_the_decoder_still_blocks(moving, monkeypatch):
    class Fake:
        def detect(self, img):
            return [{"class": "BUTTOCKS_EXPOSED", "score": 0.7, "box": [10, 20, 30, 40]}]

    monkeypatch.setattr(nudity, "detector", lambda: Fake())
    report, ctx = run_checks(moving, market("us"), only={"NUD-1"})
    changed = sum(s.changed for s in ctx._decoded.samples)
    assert [f.rule for f in report.findings if f.severity == "BLOCK"] == ["NUD-1"] * changed  # one per changed sample
    assert ctx._decoded.detections and ctx._ocr is None  # no rule read OCR: none was run


def test_work_no_rule_reads_is_skipped(moving):
    # A text-size rule reads OCR, not the luminance track: no flash rule, no track.
    _, ctx = run_checks(moving, market("de"), only={"ACC-3"})
    assert ctx._ocr is not None and ctx._decoded.luma.shape[0] == 0 and not ctx._decoded.detections
    # With the flash rule the track covers every frame, as lazy decoding gives it.
    _, ctx = run_checks(moving, market("de"), only={"ACC-3", "ACC-7"})
    assert ctx._decoded.luma.shape[0] == 20


@pytest.mark.parametrize("size", [(1080, 1920), (1280, 720), (270, 480), (1000, 1000)])
def test_the_luminance_grid_is_the_mean_of_every_other_pixel_of_each_cell(size, tmp_path):
    """The strided integer sums give the old gathered area means (to float rounding), odd cells included."""
    import av
    import cv2

    w, h = size
    rng = np.random.default_rng(1)
    frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), format="rgb24").reformat(format="yuv420p")
    lw = frames.LUMA_W if w <= h else int(frames.LUMA_W * w / h)
    lh = max(2, int(round(lw * h / w)))
    y = frame.to_ndarray()[:h, :w]
    sy, sx = max(1, h // lh), max(1, w // lw)
    rows = (np.arange(lh)[:, None] * sy + np.arange(0, sy, 2)[None, :]).ravel()
    cols = (np.arange(lw)[:, None] * sx + np.arange(0, sx, 2)[None, :]).ravel()
    old = cv2.resize(y[rows][:, cols].astype(np.float32), (lw, lh), interpolation=cv2.INTER_AREA)
    yn = np.clip((old - 16.0) / 219.0, 0.0, 1.0)
    expected = np.where(yn <= 0.04045, yn / 12.92, ((yn + 0.055) / 1.055) ** 2.4)
    assert np.abs(frames._frame_luma(frame, lw, lh) - expected).max() < 1e-6


def test_the_luminance_table_gives_the_computed_values_exactly():
    """Contrast is measured on every OCR box: the 256-value table must equal the per-pixel power exactly."""
    rng = np.random.default_rng(2)
    every = np.stack([np.arange(256), np.arange(256)[::-1], np.roll(np.arange(256), 7)], axis=-1)[None].astype(np.uint8)
    for rgb in (every, rng.integers(0, 256, (64, 500, 3), dtype=np.uint8)[3:50, 5:333]):
        c = rgb.astype(np.float32) / 255.0
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        computed = lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722
        looked_up = frames._relative_luminance(rgb)
        assert looked_up.dtype == computed.dtype and np.array_equal(looked_up, computed)


@pytest.mark.parametrize("size", [(1080, 1920), (2160, 3840)])
def test_the_luminance_sums_are_exact_in_the_narrow_accumulator(size):
    """1080x1920 sums in 16 bits, 4K in 32: both equal float64 sums of the same pixels."""
    import av

    w, h = size
    frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), 255, dtype=np.uint8), format="rgb24").reformat(format="yuvj420p")
    lw = frames.LUMA_W
    lh = max(2, int(round(lw * h / w)))
    assert np.allclose(frames._frame_luma(frame, lw, lh), 1.0, atol=1e-6)  # all white: no 16-bit wrap-around


@pytest.mark.parametrize("size", [(270, 480), (720, 1280)])
def test_samples_are_the_frames_own_rgb_at_analysis_scale(size, clip_factory):
    """The shared reformatter gives each sample the pixels frame.to_ndarray gives it (scaled up, scaled down)."""
    import av

    w, h = size
    moving = clip_factory("moving.mp4", width=w, height=h, duration=1.0,
                          frame_fn=lambda t: _moving_price(t).resize((w, h), Image.BILINEAR))
    dec = frames.decode(moving)
    sh, sw = dec.samples[0].rgb.shape[:2]
    assert (sw, sh) != (dec.width, dec.height)
    with av.open(str(moving)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        want = {round(float(f.pts * tb), 3): f.to_ndarray(width=sw, height=sh, format="rgb24") for f in container.decode(stream)}
    changed = [s for s in dec.samples if s.changed]
    assert len(changed) >= 2
    for s in changed:
        assert np.array_equal(s.rgb, want[round(s.t, 3)])
