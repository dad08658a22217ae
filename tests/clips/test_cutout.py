"""Finding the product in a photo, and the input-quality gate on product photos."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from PIL import Image, ImageDraw

from productreel.models import LocalizedProduct, LocalizedText, Market, Product, ProductImage, Script, Variant

from clips.cutout import cutout, mask_image

from .test_layout_product_first import PRODUCT_RGB, draw_product


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_studio_photo_is_cut_out_with_its_box_and_a_feathered_mask(tmp_path, cache):
    photo = draw_product(tmp_path / "p.jpg", "bottle", size=600)
    cut = cutout(photo)
    assert cut.kind == "studio" and cut.method == "grabcut"
    x0, y0, x1, y1 = cut.box
    drawn = (int(600 * 0.36), int(600 * 0.12), int(600 * 0.64), int(600 * 0.86))
    assert max(abs(a - b) for a, b in zip(cut.box, drawn)) <= 8, (cut.box, drawn)
    mask = np.asarray(mask_image(cut))
    assert mask[300, 300] == 255 and mask[20, 20] == 0
    assert ((mask > 0) & (mask < 255)).any()  # a feathered edge, not a hard one
    # The contact shadow below the product is not product.
    assert mask[int(600 * 0.86) + 12, 300] < 128
    assert cut.palette and np.abs(np.array(cut.palette[0]) - PRODUCT_RGB).sum() < 40


def test_cutouts_are_cached_by_image_hash(tmp_path, cache):
    photo = draw_product(tmp_path / "p.jpg", "box", size=400)
    first = cutout(photo)
    assert list(cache.rglob("*.json")) and first.mask is not None and first.mask.exists()
    copy = tmp_path / "same.jpg"
    copy.write_bytes(photo.read_bytes())
    again = cutout(copy)  # same bytes, other name: the cached cutout, pointed at this file
    assert again.sha256 == first.sha256 and again.box == first.box and str(again.image) == str(copy)
    assert len(list(cache.rglob("*.json"))) == 1


def test_transparent_png_keeps_its_alpha(tmp_path, cache):
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((100, 50, 200, 250), fill=(20, 120, 200, 255))
    img.save(tmp_path / "t.png")
    cut = cutout(tmp_path / "t.png")
    assert cut.kind == "alpha" and cut.box == (100, 50, 201, 251)


def test_busy_photo_gets_a_salient_box_and_is_shown_whole(tmp_path, cache):
    rng = np.random.default_rng(1)
    arr = (rng.random((400, 400, 3)) * 80 + 60).astype(np.uint8)  # a busy, textured scene
    img = Image.fromarray(arr)
    ImageDraw.Draw(img).ellipse((150, 140, 260, 250), fill=(250, 240, 40))
    img.save(tmp_path / "busy.jpg")
    cut = cutout(tmp_path / "busy.jpg")
    assert cut.kind == "lifestyle" and cut.mask is None and cut.method == "saliency"
    x0, y0, x1, y1 = cut.box
    assert x0 <= 170 and x1 >= 240 and y0 <= 160 and y1 >= 230  # the bright object is inside the box


# -- the input-quality gate --------------------------------------------------------------------


def _storyboard(photo, fmt="9:16"):
    from clips.storyboard import build_storyboard

    market = Market(code="us", name="US", locale="en-US", language="en", currency="USD", cta="Shop now")
    product = Product(id="p", handle="odd-photo", title="Odd", variants=[Variant(price=Decimal("9"))],
                      images=[ProductImage(src=str(photo))])
    lp = LocalizedProduct(product_id="p", handle="odd-photo", market="us", locale="en-US", title=LocalizedText(text="Odd"),
                          description=LocalizedText(text=""), price_text="$9.00")
    return build_storyboard(product, lp, Script(kind="ad", voiceover="Odd."), market, "ad", fmt, job_key="k")


@pytest.mark.parametrize("size,rules", [
    ((1, 1), {("INPUT-1", "BLOCK"), ("INPUT-4", "WARN")}),
    ((4000, 40), {("INPUT-1", "BLOCK"), ("INPUT-3", "WARN")}),
])
def test_unusable_photos_get_blocking_findings_naming_product_and_image(tmp_path, cache, size, rules):
    photo = tmp_path / f"odd-{size[0]}x{size[1]}.png"
    Image.new("RGB", size, (200, 90, 40)).save(photo)
    sb = _storyboard(photo)
    got = {(f.rule, f.severity) for f in sb.metadata.findings}
    assert rules <= got, got
    for f in sb.metadata.findings:
        assert f.evidence["product"] == "odd-photo" and f.evidence["image"] == str(photo) and f.evidence["reason"]
    # The job still renders (the findings, not a crash, stop the publish).
    from clips.compose import Renderer

    r = Renderer(sb.model_copy(update={"width": 180, "height": 320}))
    assert r.frame(0).width == 180


def test_small_product_in_a_photo_is_flagged_as_upscaled(tmp_path, cache):
    img = Image.new("RGB", (400, 400), (235, 232, 228))
    ImageDraw.Draw(img).rectangle((170, 150, 230, 250), fill=PRODUCT_RGB)  # 100 px tall: ~8.6x at hero size
    img.save(tmp_path / "small.jpg")
    sb = _storyboard(tmp_path / "small.jpg")
    up = [f for f in sb.metadata.findings if f.rule == "INPUT-2"]
    assert up and up[0].severity == "WARN" and up[0].evidence["upscale"] > 2


def test_a_good_studio_photo_passes_the_gate(tmp_path, cache):
    photo = draw_product(tmp_path / "good.jpg", "bottle", size=1600)
    assert _storyboard(photo).metadata.findings == []
