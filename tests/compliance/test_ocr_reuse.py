"""OCR reuses a line's reading only when its box moved by jitter and the pixels under it are the same."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from compliance.ocr import _same_pixels

from .clipmaker import font


def gray(text: str, shift: int = 0, noise: int = 0) -> np.ndarray:
    img = Image.new("RGB", (360, 120), (30, 40, 60))
    ImageDraw.Draw(img).text((20, 30), text, font=font(40), fill="white")
    a = np.asarray(img).mean(axis=2).astype(np.float32)
    if shift:  # a moving background above and below the line, where the detector's margin reaches
        a[:22] += shift
        a[-20:] += shift
    if noise:
        a += np.random.default_rng(0).normal(0, noise, a.shape).astype(np.float32)
    return a


BOX = (14.0, 22.0, 250.0, 100.0)


def test_jittered_box_over_the_same_line_is_the_same():
    assert _same_pixels(gray("49,99 €"), gray("49,99 €", shift=40, noise=1), (15.0, 23.0, 251.0, 99.0), BOX, 3.0)


def test_one_changed_glyph_is_read_again():
    assert not _same_pixels(gray("49,99 €"), gray("48,99 €"), (15.0, 23.0, 251.0, 99.0), BOX, 3.0)


def test_a_line_cut_short_is_read_again():
    # The pixels where the boxes overlap may agree; a box that lost a glyph's width is not jitter.
    assert not _same_pixels(gray("49,99 €"), gray("49,99"), (14.0, 22.0, 200.0, 100.0), BOX, 3.0)


def test_the_grey_frame_is_numpys_channel_mean_to_the_bit():
    from compliance.ocr import channel_mean

    rgb = np.random.default_rng(3).integers(0, 256, (97, 131, 3), dtype=np.uint8)
    for a in (rgb, rgb[::-1, ::2], np.full((4, 4, 3), 255, np.uint8)):
        assert np.array_equal(channel_mean(a), a.mean(axis=2, dtype=np.float32))


def test_the_detector_input_from_the_rgb_sample_is_rapidocrs_from_the_bgr_copy_to_the_bit():
    """_DetInput skips the BGR copy and the float64 normalisation: same tensor, same boxes and scores."""
    from compliance.ocr import _Reader

    reader = _Reader()
    if reader.det_input is None:  # another rapidocr layout: its own call runs, nothing to compare
        return
    img = Image.new("RGB", (540, 960), (30, 40, 60))
    d = ImageDraw.Draw(img)
    d.text((40, 200), "Jetzt 49,99 €", font=font(60), fill="white")
    d.text((60, 700), "KI-generiert", font=font(28), fill=(250, 200, 40))
    noisy = np.asarray(img).astype(np.int16) + np.random.default_rng(4).integers(-20, 21, (960, 540, 3))
    for rgb in (np.asarray(img), np.clip(noisy, 0, 255).astype(np.uint8), np.zeros((20, 10, 3), np.uint8)):
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        want = reader.det.get_preprocess()(bgr)
        got = reader.det_input.tensor(rgb)
        assert (want is None and got is None) or (got.dtype == want.dtype and np.array_equal(got, want))
        old, new = reader.det(bgr), reader.det_input.detect(rgb)
        assert (old.boxes is None) == (new.boxes is None)
        if old.boxes is not None:
            assert np.array_equal(old.boxes, new.boxes) and list(old.scores) == list(new.scores)
    assert len(reader.det_input.detect(np.asarray(img)).boxes) >= 2
