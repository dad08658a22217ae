"""Text on screen: every script drawn with real glyphs, shaped, ordered, fitted; read back by OCR."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from localization.fonts import fonts_for, resolve_family
from localization.linebreak import NO_END, NO_START
from localization.textdraw import Layout, fit_text, has_raqm, render_text
from productreel.errors import RenderError


def _on_white(image: Image.Image, pad: int = 24) -> np.ndarray:
    canvas = Image.new("RGB", (image.width + 2 * pad, image.height + 2 * pad), "white")
    canvas.paste(image, (pad, pad), image)
    return np.array(canvas)


def _ink(image: Image.Image) -> np.ndarray:
    return np.array(image)[:, :, 3] > 128


def _components(mask: np.ndarray) -> int:
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    return int((sizes > 0.02 * mask.sum()).sum())  # ignore specks


def _draw(markets, code: str, text: str, **kw) -> Image.Image:
    market = markets[code]
    options = dict(size=56, color=(0, 0, 0, 255), max_width=900, rtl=market.rtl, lang=market.language)
    options.update(kw)
    return render_text(text, fonts=fonts_for(text, market), **options)


@pytest.fixture(scope="module")
def ocr():
    """rapidocr with the models its wheel ships (no download)."""
    from rapidocr import RapidOCR

    return RapidOCR()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "title", "price"),
    [("jp", "トラベルマグ", "￥7,480"), ("cn", "旅行杯", "¥49.99"), ("us", "Travel Mug", "$49.99"), ("de", "Reisebecher", "44,99\u00a0€")],
)
def test_title_and_price_read_back_by_ocr(markets, ocr, code, title, price):
    image = _draw(markets, code, f"{title}\n{price}")
    result = ocr(_on_white(image))
    read = unicodedata.normalize("NFKC", "".join(result.txts or ())).replace(" ", "")
    assert unicodedata.normalize("NFKC", title).replace(" ", "") in read
    assert unicodedata.normalize("NFKC", price).replace(" ", "") in read


def test_korean_is_drawn_with_real_glyphs(markets):
    market = markets["kr"]
    fonts = fonts_for("여행용 머그 ₩9,900", market)
    layout = Layout(fonts, "ko", False)
    layout.check("여행용 머그 ₩9,900")  # every character has a glyph in the chosen faces
    # Each Hangul syllable draws differently from the font's missing-glyph box.
    font = ImageFont.truetype(str(fonts[0]), 56, index=layout.indexes[0])
    tofu = np.array(font.getmask("\u0378"))
    for ch in "여행용머그":
        glyph = np.array(font.getmask(ch))
        assert glyph.shape != tofu.shape or (glyph != tofu).any(), ch


def test_arabic_letters_are_joined(markets):
    word = "محمد"  # every letter joins the next, and none has dots
    shaped = _draw(markets, "sa", word, size=80)
    assert _components(_ink(shaped)) == 1
    # The same letters in their isolated forms are four pieces: what unshaped text looks like.
    font = ImageFont.truetype(str(resolve_family("Noto Sans Arabic").path), 80, layout_engine=ImageFont.Layout.BASIC)
    isolated = Image.new("L", (600, 200), 0)
    ImageDraw.Draw(isolated).text((20, 20), " ".join(word[::-1]), font=font, fill=255)
    assert _components(np.array(isolated) > 128) == 4


def test_arabic_without_raqm_is_shaped_by_arabic_reshaper(markets):
    word = "محمد"
    fallback = _draw(markets, "sa", word, size=80, raqm=False)
    assert _components(_ink(fallback)) == 1
    if has_raqm():
        shaped = _draw(markets, "sa", word, size=80)
        a, b = _ink(shaped), _ink(fallback)
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        overlap = (a[:h, :w] & b[:h, :w]).sum() / max(1, (a[:h, :w] | b[:h, :w]).sum())
        assert overlap > 0.8


def test_arabic_is_ordered_right_to_left_and_right_aligned(markets):
    # Two lines at a fixed size; the start of the text is at the right end of the first line.
    text = "سعر خاص اليوم فقط لهذا الكوب الرائع"
    image = _draw(markets, "sa", text, size=40, min_size=40, max_width=420, align="left")
    ink = _ink(image)
    first = _ink(_draw(markets, "sa", "سعر", size=40, min_size=40))
    height, width = first.shape
    top, bottom = ink[:height], ink[height:]
    right_edges = [np.where(part.any(axis=0))[0].max() for part in (top, bottom)]
    left_edges = [np.where(part.any(axis=0))[0].min() for part in (top, bottom)]
    assert abs(right_edges[0] - right_edges[1]) <= 4  # right aligned
    assert abs(left_edges[0] - left_edges[1]) > 10

    # Compare ink to ink, aligned on the word's own ink columns.
    cols = np.where(first.any(axis=0))[0]
    word = first[:, cols.min() : cols.max() + 1]

    def overlap(right: int) -> float:
        window = top[:, right - word.shape[1] + 1 : right + 1]
        return (window & word).sum() / max(1, (window | word).sum())

    assert overlap(right_edges[0]) > 0.85
    assert overlap(left_edges[0] + word.shape[1] - 1) < 0.5


def test_devanagari_is_shaped(markets):
    if not has_raqm():
        pytest.skip("Devanagari shaping needs libraqm")
    font_path = fonts_for("क्ष", markets["in"])[0]
    shaped = Layout([font_path], "hi", False, raqm=True)
    plain = Layout([font_path], "hi", False, raqm=False)
    # The conjunct क्ष is one ligature glyph, narrower than क + virama + ष side by side.
    assert shaped.width("क्ष", 60) < 0.8 * plain.width("क्ष", 60)
    # The i-matra is drawn before its consonant: the shaped image differs from the unshaped one.
    a = _ink(render_text("कि", fonts=[font_path], size=60, max_width=400, lang="hi"))
    b = _ink(render_text("कि", fonts=[font_path], size=60, max_width=400, lang="hi", raqm=False))
    assert a.shape != b.shape or (a != b).mean() > 0.05


def test_devanagari_and_price_render_for_india(markets):
    image = _draw(markets, "in", "यात्रा मग\n₹49.99")
    assert image.mode == "RGBA" and _ink(image).any()


def test_text_shrinks_before_it_wraps(markets):
    fonts = fonts_for("Acme Travel Mug", markets["us"])
    wide = render_text("Acme Travel Mug", fonts=fonts, size=60, max_width=2000)
    narrow = render_text("Acme Travel Mug", fonts=fonts, size=60, max_width=int(wide.width * 0.85), min_size=40)
    assert narrow.height < wide.height  # one smaller line, not two lines
    wrapped = render_text("Acme Travel Mug", fonts=fonts, size=60, max_width=int(wide.width * 0.6), min_size=50)
    assert wrapped.height > wide.height * 1.8  # two lines


def test_text_too_long_is_an_error_never_clipped(markets):
    fonts = fonts_for("x", markets["us"])
    with pytest.raises(RenderError) as info:
        render_text("A very long product title that cannot fit " * 3, fonts=fonts, size=60, max_width=300, max_lines=2, min_size=40)
    assert "too long" in str(info.value)
    image = render_text("Mug", fonts=fonts, size=60, max_width=300)
    assert image.width <= 300


def test_missing_glyphs_are_an_error_not_tofu(markets):
    fonts = fonts_for("Mug", markets["us"])[:1]  # Noto Sans alone has no kana
    with pytest.raises(RenderError) as info:
        render_text("Mug マグ", fonts=fonts, size=40, max_width=600)
    assert "U+30DE" in str(info.value) and "Noto Sans CJK" in str(info.value)


def test_japanese_breaks_by_character_with_kinsoku(markets):
    text = "トラベルマグ「アクメ」は、コーヒーを六時間温かく保ちます。"
    fonts = fonts_for(text, markets["jp"])
    layout = Layout(fonts, "ja", False)
    size, lines = fit_text(text, layout, size=40, max_width=330, max_lines=4, min_size=40)
    assert len(lines) >= 2 and "".join(lines) == text
    for line in lines[1:]:
        assert line[0] not in NO_START, lines
    for line in lines[:-1]:
        assert line[-1] not in NO_END, lines


def test_mixed_scripts_use_a_fallback_font_per_run(markets):
    text = "Acme 旅行杯 ¥49.99"
    image = _draw(markets, "us", text)
    assert _ink(image).any()
    layout = Layout(fonts_for(text, markets["us"]), "en", False)
    assert len({run.font for run in layout.runs(text)}) == 2


def test_stroke_and_alignment_options(markets):
    fonts = fonts_for("Mug", markets["us"])
    plain = render_text("Mug", fonts=fonts, size=40, max_width=400)
    stroked = render_text("Mug", fonts=fonts, size=40, max_width=400, stroke=3, stroke_color=(0, 0, 0, 255), color=(255, 255, 255, 255))
    assert stroked.width == plain.width + 6 and stroked.height == plain.height + 6


def test_runs_are_in_visual_order_for_mixed_right_to_left_lines(markets):
    text = "كوب Acme Mug الجديد"
    layout = Layout(fonts_for(text, markets["sa"]), "ar", True)
    runs = [r for r in layout.runs(text) if r.text.strip()]
    # Left to right on screen: the last Arabic word, then the Latin name in reading order, then the first word.
    assert [r.text.strip() for r in runs] == ["الجديد", "Acme Mug", "كوب"]
    assert [r.level % 2 for r in runs] == [1, 0, 1]


def test_a_title_breaks_at_its_space_rather_than_inside_a_word(markets):
    """ "ストーンウェ / ア マグカップ" fits at the largest size, "ストーンウェア / マグカップ" a size or two below: the latter."""
    text = "ストーンウェア マグカップ"
    layout = Layout(fonts_for(text, markets["jp"]), "ja", False)
    width = int(layout.width("ストーンウェア", 40) * 0.95)  # the first word does not fit on a line at 40 px
    size, lines = fit_text(text, layout, size=40, max_width=width, max_lines=2, min_size=30)  # one line needs ~20 px
    assert lines == ["ストーンウェア", "マグカップ"] and 40 * 0.8 <= size < 40
    # When no smaller size is allowed, a break inside the word still beats not fitting at all.
    size, lines = fit_text(text, layout, size=40, max_width=width, max_lines=2, min_size=40)
    assert size == 40 and len(lines) == 2 and "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert lines[0] != "ストーンウェア"
