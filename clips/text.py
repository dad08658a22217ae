"""Text for overlays: drawn at output resolution through localization.textdraw (fonts, CJK, RTL)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from localization.textdraw import render_text as _shaped

DEFAULT_FONTS = [
    Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
]


def render_text(text: str, *, fonts: list[Path], **style) -> Image.Image:
    """Text as a tight RGBA image in the storyboard's fonts (the shipped defaults when none exist here)."""
    fonts = [Path(f) for f in fonts if Path(f).exists()] or [f for f in DEFAULT_FONTS if f.exists()]
    return _shaped(text, fonts=fonts, **style)
