"""Text for overlays: drawn at output resolution through localization.textdraw (fonts, CJK, RTL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from productreel.errors import RenderError

DEFAULT_FONTS = [
    Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
]


def render_text(
    text: str,
    *,
    fonts: list[Path],
    size: int,
    color,
    max_width: int,
    max_lines: int = 2,
    min_size: int | None = None,
    align: str = "center",
    rtl: bool = False,
    lang: str = "en",
    stroke: int = 0,
    stroke_color=None,
) -> Image.Image:
    """Text as a tight RGBA image; localization.textdraw does the shaping when it is installed."""
    fonts = [Path(f) for f in fonts if Path(f).exists()] or [f for f in DEFAULT_FONTS if f.exists()]
    try:
        from localization.textdraw import render_text as shaped
    except ImportError:
        shaped = None
    if shaped is not None:
        return shaped(
            text, fonts=fonts, size=size, color=color, max_width=max_width, max_lines=max_lines,
            min_size=min_size, align=align, rtl=rtl, lang=lang, stroke=stroke, stroke_color=stroke_color,
        )
    return _pillow_text(text, fonts, size, color, max_width, max_lines, min_size, align, stroke, stroke_color)


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    # Scripts without spaces (CJK) wrap per character; others per word.
    units = text.split() if " " in text.strip() else list(text)
    joiner = " " if " " in text.strip() else ""
    lines: list[str] = []
    cur = ""
    for u in units:
        trial = f"{cur}{joiner}{u}" if cur else u
        if font.getlength(trial) <= max_width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = u
    if cur:
        lines.append(cur)
    return lines


def _pillow_text(text, fonts, size, color, max_width, max_lines, min_size, align, stroke, stroke_color):
    """Plain Pillow fallback used until localization.textdraw is available: shrink, then wrap."""
    path = str(fonts[0])
    min_size = min_size or max(8, int(size * 0.7))
    s = size
    lines = [text]
    while True:
        font = _font(path, s)
        if font.getlength(text) <= max_width:
            lines = [text]
            break
        if s > min_size:
            s = max(min_size, int(s * 0.92))
            continue
        lines = _wrap(text, font, max_width)
        if len(lines) <= max_lines and all(font.getlength(ln) <= max_width for ln in lines):
            break
        raise RenderError(f"text too long for {max_lines} lines at {s}px: {text[:40]!r}", where="overlay")
    font = _font(path, s)
    ascent, descent = font.getmetrics()
    line_h = int((ascent + descent) * 1.08)
    widths = [int(font.getlength(ln)) + 2 * stroke for ln in lines]
    w = max(widths) + 2
    h = line_h * len(lines) + 2 * stroke
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for i, (ln, lw) in enumerate(zip(lines, widths)):
        x = {"left": 0, "right": w - lw}.get(align, (w - lw) // 2)
        draw.text(
            (x + stroke, i * line_h + stroke), ln, font=font, fill=tuple(color),
            stroke_width=stroke, stroke_fill=tuple(stroke_color) if stroke_color else None,
        )
    bbox = img.getbbox()
    return img.crop(bbox) if bbox else img
