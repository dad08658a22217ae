"""Fonts: family names resolve to installed files; coverage is checked before drawing."""

from __future__ import annotations

from pathlib import Path

import pytest

from localization.fonts import covers, face_index, fonts_for, installed_faces, resolve_family, suggest_font
from productreel.errors import RenderError


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("jp", "トラベルマグ ￥7,480（税込）AI生成"),
        ("cn", "旅行杯 ¥49.99 人工智能生成合成"),
        ("kr", "여행용 머그 ₩9,900 AI 생성"),
        ("sa", "\u200fكوب السفر ٤٩٫٩٩\u00a0ر.س.\u200f Acme"),
        ("in", "यात्रा मग ₹49.99 Acme"),
        ("de", "Reisebecher 44,99\u00a0€ inkl. MwSt."),
    ],
)
def test_fonts_for_covers_every_character(markets, code, text):
    market = markets[code]
    fonts = fonts_for(text, market)
    assert fonts[0] == resolve_family(market.fonts[0]).path  # the market's own font first
    for ch in text:
        assert any(covers(p, ch, market.language) for p in fonts) or not ch.strip() or ch in "\u200f", ch


def test_cjk_collection_face_per_language():
    path = resolve_family("Noto Sans CJK JP").path
    assert path.suffix == ".ttc"
    faces = {f.family: f.index for f in installed_faces() if f.path == path}
    assert face_index(path, "ja") == faces["Noto Sans CJK JP"]
    assert face_index(path, "zh") == faces["Noto Sans CJK SC"]
    assert face_index(path, "ko") == faces["Noto Sans CJK KR"]
    assert face_index(path, "zh-Hant-TW") == faces["Noto Sans CJK TC"]
    assert face_index(Path("/x/NotoSans-Regular.ttf"), "ja") == 0


def test_bold_weight_resolves_bold_files(markets):
    assert "Bold" in fonts_for("Mug", markets["us"], weight="bold")[0].name


def test_a_character_no_font_has_fails_with_the_font_to_install(markets):
    with pytest.raises(RenderError) as info:
        fonts_for("Mug \U0001f9ff", markets["us"], product="mug")
    message = str(info.value)
    assert "U+1F9FF" in message and "Noto Color Emoji" in message and "market us" in message


def test_fallback_fonts_are_added_only_when_needed(markets):
    fonts = fonts_for("Mug 旅行", markets["us"])
    assert any(p.suffix == ".ttc" for p in fonts)
    assert not any(p.suffix == ".ttc" for p in fonts_for("Mug", markets["us"]))


def test_suggestions_name_the_script():
    assert "Noto Sans CJK" in suggest_font("旅")
    assert "Noto Sans Tamil" in suggest_font("த")


def test_fonts_are_found_without_fontconfig(tmp_path: Path, monkeypatch):
    import shutil

    from localization import fonts

    source = resolve_family("DejaVu Sans").path
    shutil.copy(source, tmp_path / source.name)
    monkeypatch.setenv("PRODUCTREEL_FONT_DIRS", str(tmp_path))
    monkeypatch.setattr(fonts, "FONT_DIRS", [])
    fonts.installed_faces.cache_clear()
    try:
        face = resolve_family("DejaVu Sans")
        assert face is not None and face.path == tmp_path / source.name
    finally:
        monkeypatch.undo()
        fonts.installed_faces.cache_clear()
