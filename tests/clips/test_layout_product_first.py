"""Product first, measured: the product large, never under text, no two texts overlapping, no empty band.

Layout-level tests use the layout's boxes over formats x scripts x title lengths; pixel tests render
frames of products drawn here (a saturated colour nothing else in a clip uses) and measure them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from productreel.models import LocalizedProduct, LocalizedText, Product, ProductImage, Script, Variant

from clips.layout import hero_target

PRODUCT_RGB = (226, 38, 150)  # a magenta no style, brand colour or caption uses
FORMATS = ("9:16", "4:5", "1:1", "16:9")
TITLES = {
    "latin": ("us", "Mug", "Hand-forged Damascus Steel Chef's Knife with Walnut Handle and Leather Sheath"),
    "cjk": ("jp", "マグ", "職人が手作業で仕上げたダマスカス鋼の牛刀と胡桃材のハンドル付き本革ケース"),
    "arabic": ("sa", "كوب", "سكين طاهٍ مطروقة يدويًا من فولاذ دمشقي مع مقبض من خشب الجوز وغمد جلدي"),
    "devanagari": ("in", "मग", "हाथ से बना दमिश्क स्टील का शेफ़ चाकू अखरोट की लकड़ी के हैंडल के साथ"),
}


def draw_product(path: Path, kind: str = "bottle", size: int = 1000) -> Path:
    """A studio packshot: a magenta product on a light gradient backdrop with a soft contact shadow."""
    y = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    bg = (np.array([236, 233, 228], np.float32) * (1 - y) + np.array([214, 210, 204], np.float32) * y)
    img = Image.fromarray(np.repeat(bg, size, axis=1).astype(np.uint8), "RGB")
    shadow = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(shadow)
    if kind == "bottle":
        box = (int(size * 0.36), int(size * 0.12), int(size * 0.64), int(size * 0.86))
    else:
        box = (int(size * 0.22), int(size * 0.25), int(size * 0.78), int(size * 0.8))
    d.ellipse((box[0], box[3] - size * 0.02, box[2], box[3] + size * 0.04), fill=120)
    img.paste((150, 146, 140), (0, 0), shadow.filter(ImageFilter.GaussianBlur(size * 0.012)))
    ImageDraw.Draw(img).rounded_rectangle(box, radius=int(size * 0.04), fill=PRODUCT_RGB)
    img.save(path, quality=95)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Cutouts cached under the test's own folder."""
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def storyboard(tmp: Path, script_name: str, fmt: str, long_title: bool, *, kind: str = "bottle", style: str = "studio",
               scale: float = 0.5):
    """An ad for a drawn product in a real market, at `scale` of the format's size."""
    from clips.storyboard import build_storyboard
    from localization.markets import get_market

    code, short, long = TITLES[script_name]
    market = get_market(code)
    photo = tmp / f"{kind}.jpg"
    if not photo.exists():
        draw_product(photo, kind)
    product = Product(id="p1", handle="drawn", title="Drawn", brand="Testhaus",
                      variants=[Variant(price=Decimal("24.00"), compare_at_price=Decimal("32.00"))],
                      images=[ProductImage(src=str(photo))])
    lp = LocalizedProduct(product_id="p1", handle="drawn", market=code, locale=market.locale,
                          title=LocalizedText(text=long if long_title else short), description=LocalizedText(text="x"),
                          price_text="24,00", compare_at_text="32,00", cta=LocalizedText(text=market.cta or "Shop now"))
    script = Script(kind="ad", hook=short, cta=market.cta or "Shop now", voiceover=f"{short}. {market.cta or 'Shop now'}.")
    sb = build_storyboard(product, lp, script, market, "ad", fmt, job_key="t", style=style)
    w, h = sb.width, sb.height
    return sb.model_copy(update={"width": int(w * scale) // 2 * 2, "height": int(h * scale) // 2 * 2})


def _overlap(a, b) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.parametrize("long_title", [False, True], ids=["short", "long"])
@pytest.mark.parametrize("script_name", list(TITLES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_layout_puts_the_product_first(cache, fmt, script_name, long_title):
    from clips.compose import Renderer

    sb = storyboard(cache, script_name, fmt, long_title)
    r = Renderer(sb)
    target = hero_target(sb.width, sb.height)
    shares = [s.arrangement.product_share for s in r.scenes]
    assert max(shares) >= target, (shares, target)
    x0, y0, x1, y1 = r.geo.safe
    for s in r.scenes:
        prod = s.arrangement.product
        texts = [p.box for p, _, _ in s.reports]
        texts += [tl.layer.box for tl in r.globals if tl.start < s.end and s.start < tl.end]
        texts += [tl.layer.box for tl in r.captions if tl.start < s.end and s.start < tl.end]
        for box in texts:
            # Every text inside the safe zone, none over the product (the layout leaves no pixel to chance).
            assert x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1, (box, r.geo.safe)
            assert _overlap(box, prod) == 0, (box, prod)
        scene_texts = [p.box for p, _, _ in s.reports] + [tl.layer.box for tl in r.globals if tl.start < s.end and s.start < tl.end]
        for i, a in enumerate(scene_texts):
            for b in scene_texts[i + 1:]:
                assert _overlap(a, b) == 0, (a, b)


def _product_mask(rgb: np.ndarray) -> np.ndarray:
    d = np.abs(rgb.astype(np.int16) - np.array(PRODUCT_RGB, np.int16)).sum(-1)
    return d < 60


def _flat_band(rgb: np.ndarray) -> float:
    """The tallest run of rows with (almost) one tone across, as a share of the frame height."""
    luma = rgb.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    lo, hi = np.percentile(luma, 1, axis=1), np.percentile(luma, 99, axis=1)
    flat = (hi - lo) < 4.0
    best = run = 0
    for f in flat:
        run = run + 1 if f else 0
        best = max(best, run)
    return best / len(flat)


def _frames(r, fps: float = 2.0, text: bool = True) -> list[np.ndarray]:
    out = []
    n = 0
    while n < r.n_frames:
        out.append(np.asarray(r.frame(n).to_rgb()))
        n += int(round(r.sb.fps / fps))
    return out


def _without_text(r) -> None:
    """The same renderer, its text switched off (same layout): the difference is the text's pixels."""
    for s in r.scenes:
        s.layers = []
        s._bases = {}
    r.globals = []
    r._cues = []


@pytest.mark.parametrize("script_name", ["latin", "cjk", "arabic", "devanagari"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_rendered_frames_keep_the_product_large_and_clear(cache, fmt, script_name):
    from productreel.models import Cue

    from clips.compose import Renderer

    sb = storyboard(cache, script_name, fmt, long_title=True, scale=0.4)
    sb = sb.model_copy(update={"burn_captions": True})
    cues = [Cue(start=0.2, end=3.0, text=TITLES[script_name][1]), Cue(start=3.2, end=sb.duration - 0.2, text=TITLES[script_name][2][:30])]
    with_text = Renderer(sb)
    with_text.set_captions(cues)
    bare = Renderer(sb)
    bare.set_captions(cues)
    _without_text(bare)
    a, b = _frames(with_text), _frames(bare)
    h = sb.height
    heights, covered, bands = [], [], []
    for fa, fb in zip(a, b):
        prod = _product_mask(fb)
        rows = np.nonzero(prod.any(axis=1))[0]
        heights.append((rows.max() - rows.min() + 1) / h if rows.size else 0.0)
        text = np.abs(fa.astype(np.int16) - fb.astype(np.int16)).sum(-1) > 24
        if prod.sum() > 100:
            covered.append((prod & text).sum() / prod.sum())
        bands.append(_flat_band(fa))
    assert max(heights) >= hero_target(sb.width, sb.height) - 0.01, heights
    assert max(covered) <= 0.05, covered
    assert float(np.median(bands)) <= 0.15, bands


@pytest.mark.parametrize("style", ["studio", "sale", "minimal", "social"])
def test_every_style_renders_an_ad_with_the_product_clear(cache, tmp_path, style):
    """A real encoded ad per style (9:16, Latin): frames at 2 fps read back from the MP4."""
    import json

    import av

    from clips.compose import render

    sb = storyboard(cache, "latin", "9:16", long_title=False, style=style, kind="box", scale=0.25)
    clip = render(sb, tmp_path / "out", voice="silent")
    meta = json.loads(Path(clip.metadata).read_text())
    assert meta["style"] == style and meta["products"]
    texts = [o for o in meta["overlays"]]
    with av.open(str(clip.video)) as c:
        frames = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    picked = frames[:: max(1, sb.fps // 2)]
    heights = []
    for t, rgb in picked:
        prod = _product_mask(rgb)
        rows = np.nonzero(prod.any(axis=1))[0]
        heights.append((rows.max() - rows.min() + 1) / sb.height if rows.size else 0.0)
        shown = [o for o in texts if o["start"] <= t < o["end"]]
        for o in shown:
            x0, y0, x1, y1 = o["box"]
            under = prod[y0:y1, x0:x1].sum()
            assert under <= 0.05 * max(1, prod.sum()), (style, t, o["role"], under, prod.sum())
    assert max(heights) >= 0.44, heights


def test_styles_are_data_and_listed():
    from clips.styles import list_styles, load_style

    names = list_styles()
    assert {"studio", "sale", "minimal", "social"} <= set(names)
    assert load_style("social").captions == "highlight" and load_style("sale").price.shape == "burst"
