"""Design checks on drawn frames: LAYOUT-1 text over the product, -2 overlapping text, -3 product too small,
-4 empty band, CAP-2 captions that cut a number; and the segmentation they stand on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from compliance.design import flat_band, product_region
from compliance.engine import run_checks
from compliance.report import repair_hints
from productreel.models import Cue

from .clipmaker import font, make_clip
from .helpers import market

SIZES = {"9:16": (270, 480), "4:5": (288, 360), "1:1": (320, 320), "16:9": (480, 270)}
BACKDROP = (222, 214, 200)
INK = (20, 24, 32)


def _product(img: Image.Image, box: tuple[int, int, int, int]) -> None:
    """A textured 'bottle': a dark rounded body with a lighter label band and a cap, inside ``box``."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    d.rounded_rectangle((x0 + w * 0.3, y0, x1 - w * 0.3, y0 + h * 0.12), radius=4, fill=(180, 60, 40))
    d.rounded_rectangle((x0, y0 + h * 0.1, x1, y1), radius=int(w * 0.2), fill=(40, 90, 70))
    d.rectangle((x0, y0 + h * 0.45, x1, y0 + h * 0.65), fill=(235, 200, 90))
    rng = np.random.default_rng(1)
    arr = np.asarray(img).copy()
    ys, xs = slice(int(y0 + h * 0.15), int(y1 - 2)), slice(int(x0 + 3), int(x1 - 3))
    arr[ys, xs] = np.clip(arr[ys, xs].astype(int) + rng.integers(-12, 12, arr[ys, xs].shape), 0, 255)
    img.paste(Image.fromarray(arr.astype(np.uint8)))


def _text(img: Image.Image, text: str, xy: tuple[int, int], size: int, badge=None) -> None:
    d = ImageDraw.Draw(img)
    f = font(size)
    if badge is not None:
        x0, y0, x1, y1 = d.textbbox(xy, text, font=f)
        d.rounded_rectangle((x0 - 8, y0 - 6, x1 + 8, y1 + 6), radius=6, fill=badge)
        d.text(xy, text, font=f, fill=(255, 255, 255))
    else:
        d.text(xy, text, font=f, fill=INK)


def _gradient(w: int, h: int) -> Image.Image:
    """A backdrop shaded top to bottom with a soft floor: smooth, so it is no edge, but never one flat colour for long."""
    y = np.linspace(0, 1, h)[:, None, None]
    top, floor = np.array([236, 226, 210]), np.array([170, 150, 130])
    arr = (top * (1 - y) + floor * y) * np.ones((1, w, 1))
    return Image.fromarray(arr.astype(np.uint8))


def product_first(fmt: str) -> Image.Image:
    """A good layout: the product large on a shaded backdrop, title and price beside it, never on it."""
    w, h = SIZES[fmt]
    img = _gradient(w, h)
    if fmt == "16:9":
        _product(img, (40, int(h * 0.12), 40 + int(h * 0.42), int(h * 0.9)))
        _text(img, "Steel Bottle", (int(w * 0.5), int(h * 0.3)), 26)
        _text(img, "$18.00", (int(w * 0.5), int(h * 0.55)), 26, badge=(150, 30, 30))
    else:
        top, bottom = int(h * 0.18), int(h * 0.80)
        pw = int((bottom - top) * 0.5)
        _product(img, ((w - pw) // 2, top, (w + pw) // 2, bottom))
        _text(img, "Steel Bottle", (int(w * 0.18), int(h * 0.05)), 24)
        _text(img, "$18.00", (int(w * 0.3), int(h * 0.86)), 24, badge=(150, 30, 30))
    return img


def today(fmt: str) -> Image.Image:
    """Today's layout: a small product card in the middle, the price badge and the caption over the product,
    flat bands of backdrop above and below."""
    w, h = SIZES[fmt]
    img = Image.new("RGB", (w, h), BACKDROP)
    ph = int(h * (0.45 if fmt == "16:9" else 0.3))
    pw = int(ph * 0.5)
    x0, y0 = (w - pw) // 2, int(h * (0.3 if fmt == "16:9" else 0.4))
    _product(img, (x0, y0, x0 + pw, y0 + ph))
    _text(img, "$18.00", (x0 - 10, y0 + ph // 3), 22, badge=(150, 30, 30))
    return img


def crowded(fmt: str) -> Image.Image:
    """A second text on its badge drawn over the title beside a large product."""
    img = product_first(fmt)
    w, h = SIZES[fmt]
    x, y = (int(w * 0.18), int(h * 0.05)) if fmt != "16:9" else (int(w * 0.5), int(h * 0.3))
    _text(img, "Keeps cold", (x + 70, y + 20), 20, badge=(30, 60, 150))
    return img


def _clip(tmp_path: Path, name: str, draw, duration: float = 1.0) -> Path:
    img = draw()
    return make_clip(tmp_path / f"{name}.mp4", width=img.width, height=img.height, duration=duration, frame_fn=lambda t: img, audio_db=None)


def _rules(path: Path, only: set[str], **kw) -> dict[str, list]:
    report, _ = run_checks(path, market("us"), only=only, **kw)
    return {rid: [f for f in report.findings if f.rule == rid] for rid in only}


LAYOUT = {"LAYOUT-1", "LAYOUT-2", "LAYOUT-3", "LAYOUT-4"}


@pytest.mark.parametrize("fmt", list(SIZES))
def test_a_product_first_layout_passes(tmp_path, fmt):
    got = _rules(_clip(tmp_path, "good", lambda: product_first(fmt)), LAYOUT)
    assert all(not v for v in got.values()), {k: [f.message for f in v] for k, v in got.items()}


@pytest.mark.parametrize("fmt", list(SIZES))
def test_todays_layout_is_flagged(tmp_path, fmt):
    got = _rules(_clip(tmp_path, "today", lambda: today(fmt)), LAYOUT)
    assert got["LAYOUT-1"] and got["LAYOUT-3"] and got["LAYOUT-4"], {k: [f.message for f in v] for k, v in got.items()}
    assert all(f.severity == "FIX" for v in got.values() for f in v)
    # More room around the product moves text off it or apart; it cannot make the product larger or fill a band.
    assert all(f.evidence.get("fix") == ("layout" if f.rule in ("LAYOUT-1", "LAYOUT-2") else None)
               for v in got.values() for f in v)
    assert got["LAYOUT-3"][0].evidence["measured"] < got["LAYOUT-3"][0].evidence["expected"]


@pytest.mark.parametrize("fmt", ["9:16", "16:9"])
def test_overlapping_text_is_flagged(tmp_path, fmt):
    got = _rules(_clip(tmp_path, "crowded", lambda: crowded(fmt)), {"LAYOUT-2"})
    assert got["LAYOUT-2"], fmt


def test_layout_findings_become_one_relayout_hint(tmp_path):
    report, _ = run_checks(_clip(tmp_path, "today", lambda: today("9:16")), market("us"), only=LAYOUT)
    hints = repair_hints(report)
    assert "LAYOUT-1" in hints["layout"] and not {"LAYOUT-3", "LAYOUT-4"} & set(hints["layout"])
    assert hints["layout"]["LAYOUT-1"]["expected"] == 0.05
    too_small = next(f for f in report.findings if f.rule == "LAYOUT-3")
    assert too_small.evidence["expected"] == 0.45  # still said, with what was measured


@pytest.mark.parametrize("share,fmt,ok", [(0.50, "9:16", True), (0.40, "9:16", False), (0.47, "4:5", True),
                                          (0.55, "1:1", False), (0.65, "1:1", True), (0.62, "16:9", True), (0.50, "16:9", False)])
def test_product_size_threshold_per_format(tmp_path, share, fmt, ok):
    w, h = SIZES[fmt]

    def draw():
        img = _gradient(w, h)
        ph = int(h * share)
        _product(img, (int(w * 0.1), (h - ph) // 2, int(w * 0.1) + max(20, ph // 2), (h - ph) // 2 + ph))
        return img

    got = _rules(_clip(tmp_path, "size", draw), {"LAYOUT-3"})
    assert (not got["LAYOUT-3"]) is ok, [f.message for f in got["LAYOUT-3"]]


def test_segmentation_finds_the_product_and_ignores_text_and_gradients():
    img = _gradient(120, 213)
    _product(img, (35, 40, 85, 170))
    rgb = np.asarray(img)
    text = np.zeros(rgb.shape[:2], bool)
    region = product_region(rgb, text)
    ys, xs = np.nonzero(region)
    assert abs(ys.min() - 40) <= 3 and abs(ys.max() - 170) <= 3 and abs(xs.min() - 35) <= 3 and abs(xs.max() - 85) <= 3
    assert flat_band(rgb, region) < 0.15  # the shaded backdrop is no flat band


def test_a_full_bleed_photo_says_nothing_about_the_product():
    rng = np.random.default_rng(0)
    busy = (rng.integers(0, 255, (54, 30, 3))).astype(np.uint8)
    rgb = np.asarray(Image.fromarray(busy).resize((120, 213), Image.NEAREST))
    assert product_region(rgb, np.zeros(rgb.shape[:2], bool)) is None


def _write_srt(path: Path, cues: list[tuple[float, float, str]]) -> None:
    from localization.subtitles import srt_text

    path.write_text(srt_text([Cue(start=a, end=b, text=t) for a, b, t in cues]), encoding="utf-8")


@pytest.mark.parametrize("cues,ok", [
    ([(0.0, 1.0, "Only $18."), (1.1, 2.0, "00. Shop now.")], False),
    ([(0.0, 1.0, "Only $19."), (1.1, 2.0, "99. Shop now.")], False),
    ([(0.0, 1.0, "Jetzt für 49,"), (1.1, 2.0, "99 € inkl. MwSt.")], False),
    ([(0.0, 1.0, "Only $18.00.\nShop now.")], True),
    ([(0.0, 1.0, "Only $\n18.00. Shop now.")], False),
    ([(0.0, 1.0, "Only $18.00."), (1.1, 2.0, "Shop now.")], True),
    ([(0.0, 1.0, "今だけ¥7,480。"), (1.1, 2.0, "今すぐ購入！")], True),
])
def test_cap2_caption_cuts_a_number(tmp_path, cues, ok):
    clip = make_clip(tmp_path / "c.mp4", duration=2.0, audio_db=None)
    _write_srt(clip.with_suffix(".srt"), cues)
    got = _rules(clip, {"CAP-2"})["CAP-2"]
    assert (not got) is ok, [f.message for f in got]
    assert all(f.severity == "FIX" and f.evidence["fix"] == "captions" for f in got)


def test_cap2_reads_burned_in_captions(tmp_path):
    white, black = (255, 255, 255), (0, 0, 0)
    texts = [("Only $18.", (20, 380), 30, white, 0.0, 1.0, black), ("00. Shop now.", (20, 380), 30, white, 1.0, 2.0, black)]
    clip = make_clip(tmp_path / "burned.mp4", duration=2.0, texts=texts, audio_db=None)
    got = _rules(clip, {"CAP-2"})["CAP-2"]
    assert got and got[0].evidence["input"] == "ocr", [f.message for f in got]


def test_one_parser_and_one_reading_speed_for_srt_and_vtt(tmp_path):
    from compliance import captions
    from localization import subtitles

    assert captions.read_cues is subtitles.read_cues
    srt = tmp_path / "a.srt"
    srt.write_text("1\r\n00:00:00,500 --> 00:00:02,500\r\n\u200fمرحبا بكم\r\n\r\n", encoding="utf-8-sig")
    vtt = tmp_path / "a.vtt"
    vtt.write_text("WEBVTT\n\n00:00.500 --> 00:02.500\nمرحبا بكم\n", encoding="utf-8")
    a, b = subtitles.read_cues(srt), subtitles.read_cues(vtt)
    assert a == b and a[0].start == 0.5 and a[0].end == 2.5 and a[0].text == "مرحبا بكم"
    assert subtitles.reading_speed(a[0]) == pytest.approx(9 / 2.0)
    assert captions.display_width("ab\ncd\u200f") == 4
    assert subtitles.read_cues(tmp_path / "missing.srt") == []


@pytest.mark.parametrize("spacing", [1.15, 1.3])
def test_lines_of_one_paragraph_are_no_overlap(tmp_path, spacing):
    def draw():
        img = product_first("9:16")
        d = ImageDraw.Draw(img)
        d.rectangle((0, 0, 270, 80), fill=BACKDROP)
        for k, line in enumerate(["Kaffeebecher", "aus Steinzeug"]):
            _text(img, line, (30, 8 + int(k * 24 * spacing)), 24)
        return img

    got = _rules(_clip(tmp_path, "para", draw), {"LAYOUT-2"})
    assert not got["LAYOUT-2"], [f.message for f in got["LAYOUT-2"]]


def test_a_letter_read_twice_is_no_overlap():
    from compliance.design import _fragment
    from compliance.ocr import OcrItem

    title, letter = OcrItem("Keramikbecher Alba", 0.9, (80, 336, 1040, 464)), OcrItem("a", 0.6, (992, 372, 1064, 432))
    assert _fragment(title, letter, 0.67) and not _fragment(OcrItem("Jetzt kaufen", 0.9, (0, 0, 1, 1)), OcrItem("Jetzt für", 0.9, (0, 0, 1, 1)), 0.14)


def test_cap2_reads_the_caption_file_not_the_storyboard(tmp_path):
    from .helpers import storyboard

    clip = make_clip(tmp_path / "c.mp4", duration=2.0, audio_db=None)
    _write_srt(clip.with_suffix(".srt"), [(0.0, 1.0, "Only $18."), (1.1, 2.0, "00. Shop now.")])
    sb = storyboard("us", captions=[Cue(start=0.0, end=2.0, text="Only $18.00. Shop now.")])
    report, _ = run_checks(clip, market("us"), storyboard=sb, only={"CAP-2"})
    assert [f.rule for f in report.findings] == ["CAP-2"]


def test_the_renderers_stated_zone_only_rules_out_pixels_where_no_product_can_be():
    from types import SimpleNamespace

    import numpy as np

    from compliance.design import _within_stated_zone

    found = np.zeros((100, 60), bool)
    found[10:30, 0:60] = True  # a colour block at the top, taken for product by the segmentation
    found[50:90, 15:45] = True  # the product
    ctx = SimpleNamespace(sidecar={"products": [{"start": 0.0, "end": 5.0, "zone": [150, 500, 450, 900]}]})
    kept = _within_stated_zone(ctx, 1.0, found, 0.1)
    assert kept[50:90, 15:45].all() and not kept[10:30].any()
    assert _within_stated_zone(ctx, 6.0, found, 0.1) is found  # a scene the sidecar says nothing about
    assert _within_stated_zone(SimpleNamespace(sidecar=None), 1.0, found, 0.1) is found  # a bare MP4
