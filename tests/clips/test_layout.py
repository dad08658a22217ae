"""Layout: every text box of every format stays inside the destination's safe zone."""

from __future__ import annotations

import pytest

from productreel.models import FORMATS, Script

from clips.compose import Renderer
from clips.profiles import destination_profile, load_brand, safe_box
from clips.storyboard import build_storyboard


def test_reels_and_tiktok_safe_zones_come_from_the_data_file():
    reels = destination_profile("reels", "9:16").safe
    tiktok = destination_profile("tiktok", "9:16").safe
    assert (reels.top, reels.bottom, reels.left, reels.right) == (0.14, 0.35, 0.06, 0.06)
    assert (tiktok.bottom, tiktok.right) == (0.28, 0.15)
    assert safe_box("reels", "9:16", 1080, 1920) == (66, 270, 1014, 1248)
    assert destination_profile("broadcast-eu", "16:9").loudness_lufs == -23.0


def test_default_brand_kit_resolves_colors_and_fonts():
    kit = load_brand("default")
    assert kit.color("accent")[3] == 255 and kit.color("caption_bg")[3] < 255
    assert kit.font_files("heading")
    assert kit.music


@pytest.mark.parametrize("destination", ["folder", "reels", "tiktok"])
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("kind", ["ad", "tutorial"])
def test_all_text_inside_safe_zone(product, lp, script, market, fmt, destination, kind):
    if kind == "tutorial":
        script = Script(kind="tutorial", steps=["Rinse the mug with warm water before the first use.", "Pour in coffee.", "Enjoy."], cta="Jetzt kaufen")
    sb = build_storyboard(product, lp, script, market, kind, fmt, job_key="k", profile="tiny", destination=destination,
                          generated=(kind == "ad"))
    # Full-size layout (text is drawn at output resolution), without encoding anything.
    W, H = FORMATS[fmt]
    sb = sb.model_copy(update={"width": W, "height": H})
    r = Renderer(sb)
    x0, y0, x1, y1 = safe_box(destination, fmt, W, H)
    boxes = r.overlay_boxes()
    assert {"title", "price"} <= {b["role"] for b in boxes}
    for b in boxes:
        bx0, by0, bx1, by1 = b["box"]
        assert x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1, (b["role"], b["box"], (x0, y0, x1, y1))


def test_ai_label_is_at_least_five_percent_of_the_short_side(product, lp, script, market):
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="k", generated=True)
    r = Renderer(sb)
    label = next(b for b in r.overlay_boxes() if b["role"] == "disclosure")
    assert label["start"] == 0 and label["end"] >= 2.0
    assert label["box"][3] - label["box"][1] >= 0.05 * 1080


def test_right_to_left_markets_mirror_the_layout(product, lp, script, market):
    ar = market.model_copy(update={"code": "sa", "locale": "ar-SA", "language": "ar", "rtl": True, "ad_label": "إعلان",
                                   "fonts": ["Noto Sans Arabic"]})
    ar_lp = lp.model_copy(update={"title": lp.title.model_copy(update={"text": "كوب قهوة من الخزف الحجري"}),
                                  "compare_at_text": None, "prior_price_text": None, "tax_text": ""})
    sb = build_storyboard(product, ar_lp, script, ar, "ad", "16:9", job_key="k", profile="tiny")
    sb = sb.model_copy(update={"width": 1920, "height": 1080})
    r = Renderer(sb)
    product = r.scenes[0].arrangement.product
    assert (product[0] + product[2]) / 2 < 1920 / 2  # the product on the left, text on the reading (right) side
    boxes = r.overlay_boxes()
    label = next(b for b in boxes if b["role"] == "label")
    assert label["box"][2] > 1920 * 0.9
    title = next(b for b in boxes if b["role"] == "title")
    assert title["box"][0] >= product[2]


def test_brand_kit_file_with_logo_and_colors(product, lp, script, market, tmp_path):
    from PIL import Image

    Image.new("RGBA", (200, 100), (200, 30, 30, 255)).save(tmp_path / "logo.png")
    kit = tmp_path / "acme.yaml"
    kit.write_text("name: acme\ncolors: {accent: '#0A7F5A'}\nlogo: logo.png\nmusic: bright-pluck\n")
    sb = build_storyboard(product, lp, script, market, "ad", "9:16", job_key="k", profile="tiny", brand=str(kit))
    assert sb.music == "bright-pluck"
    sb = sb.model_copy(update={"width": 1080, "height": 1920})
    r = Renderer(sb)
    assert r.brand.color("accent") == (10, 127, 90, 255) and r.brand.color("primary") == load_brand("default").color("primary")
    logo = next(b for b in r.overlay_boxes() if b["role"] == "logo")
    x0, y0, x1, y1 = safe_box("folder", "9:16", 1080, 1920)
    assert x0 <= logo["box"][0] and logo["box"][2] <= x1 and logo["box"][1] >= y0


def test_an_overlong_title_is_cut_with_an_ellipsis_not_failed(product, lp, script, market):
    long_title = " ".join(["Handcrafted stoneware coffee mug with a speckled ocean glaze"] * 6)
    sb = build_storyboard(product, lp.model_copy(update={"title": lp.title.model_copy(update={"text": long_title})}),
                          script, market, "ad", "9:16", job_key="k", profile="tiny")
    sb = sb.model_copy(update={"width": 1080, "height": 1920})
    r = Renderer(sb)
    assert r.designer.truncated and r.designer.truncated[0]["shown"].endswith("…")
    title = next(b for b in r.overlay_boxes() if b["role"] == "title")
    x0, y0, x1, y1 = safe_box("folder", "9:16", 1080, 1920)
    assert x0 <= title["box"][0] and title["box"][2] <= x1
