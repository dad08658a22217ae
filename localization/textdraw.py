"""Draw text for video overlays: every glyph from a font that has it, shaped, ordered, fitted.

- Each character is drawn with the first font in ``fonts`` that covers it (fontTools cmap);
  one no font covers is a RenderError naming it, never a tofu box.
- Right-to-left text is ordered with the Unicode bidi algorithm (python-bidi) and shaped by
  Pillow's libraqm layout; where raqm is missing, arabic-reshaper shapes it instead.
- The text first shrinks (down to ``min_size``), then wraps (spaces, or between characters with
  kinsoku rules for Japanese and Chinese), and is a RenderError "too long" when it still does
  not fit in ``max_lines`` lines of ``max_width`` pixels. Nothing is ever clipped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from productreel.errors import RenderError

from .fonts import cmap, face_index, needs_glyph, suggest_font
from .linebreak import breaks_naturally, wrap

BIDI_CONTROLS = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = {"\u200c", "\u200d"}  # ZWNJ and ZWJ change shaping, so they stay in the text
LINE_SPACING = 0.15  # extra space between lines, as a fraction of the font size


# How far below the largest size that fits fit_text goes to break lines at a space instead of inside a word.
NATURAL_BREAK_SHRINK = 0.8


def has_raqm() -> bool:
    """True when Pillow has libraqm (complex shaping and bidi)."""
    return bool(features.check("raqm"))


@lru_cache(maxsize=256)
def _font(path: str, index: int, size: int, raqm: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size=size, index=index, layout_engine=engine)


@dataclass
class Run:
    """A piece of one line drawn with one font in one direction."""

    text: str
    font: int  # index into the fonts list
    level: int  # bidi embedding level: odd is right to left


class Layout:
    """Fonts, language and direction for one render_text call; measures and draws lines."""

    def __init__(self, fonts: list[Path], lang: str, rtl: bool, raqm: bool | None = None) -> None:
        if not fonts:
            raise RenderError("no fonts given to draw text")
        self.paths = [str(p) for p in fonts]
        self.indexes = [face_index(Path(p), lang) for p in fonts]
        self.covered = [cmap(Path(p), i) for p, i in zip(self.paths, self.indexes, strict=True)]
        self.lang = lang.split("-")[0] if lang else None
        self.rtl = rtl
        self.raqm = has_raqm() if raqm is None else raqm

    def font_of(self, ch: str) -> int | None:
        """Index of the first font that has ``ch``."""
        point = ord(ch)
        for i, points in enumerate(self.covered):
            if point in points:
                return i
        return None

    def check(self, text: str) -> None:
        """RenderError naming the characters none of the fonts has."""
        missing = [ch for ch in dict.fromkeys(text) if needs_glyph(ch) and self.font_of(ch) is None]
        if missing:
            listed = " ".join(f"{c!r} U+{ord(c):04X}" for c in missing[:8])
            install = "; ".join(dict.fromkeys(suggest_font(c) for c in missing))
            raise RenderError(f"no font given has {listed}; install {install}")

    def runs(self, line: str) -> list[Run]:
        """The line as runs in visual order (left to right), each with one font and direction."""
        chars = _bidi_levels(line, self.rtl)
        runs: list[Run] = []
        for ch, level in chars:
            if ch in BIDI_CONTROLS or (unicodedata.category(ch) in ("Cf", "Cc") and ch not in JOINERS):
                continue  # bidi marks have done their work in the levels; other format characters draw nothing
            index = self.font_of(ch) if needs_glyph(ch) else None
            # Spaces and combining marks stay in the run they sit in.
            if runs and runs[-1].level == level and (index is None or index == runs[-1].font or _is_mark(ch)):
                runs[-1].text += ch
            else:
                runs.append(Run(ch, index if index is not None else (runs[-1].font if runs else 0), level))
        return _reorder(runs)

    def font(self, run: Run, size: int) -> ImageFont.FreeTypeFont:
        """The Pillow font for a run at ``size``."""
        return _font(self.paths[run.font], self.indexes[run.font], size, self.raqm)

    def _shaped(self, run: Run) -> tuple[str, dict]:
        """Text and keyword arguments for Pillow to draw one run."""
        rtl = run.level % 2 == 1
        if self.raqm:
            return run.text, {"direction": "rtl" if rtl else "ltr", "language": self.lang}
        text = run.text
        if rtl:
            import arabic_reshaper

            text = _mirror(arabic_reshaper.reshape(text))[::-1]
        return text, {}

    def width(self, line: str, size: int) -> float:
        """Advance width of a line in pixels."""
        total = 0.0
        for run in self.runs(line):
            text, kw = self._shaped(run)
            total += self.font(run, size).getlength(text, **kw)
        return total

    def metrics(self, line: str, size: int) -> tuple[int, int]:
        """(ascent, descent) covering every font the line uses."""
        runs = self.runs(line) or [Run(" ", 0, 0)]
        pairs = [self.font(r, size).getmetrics() for r in runs]
        return max(a for a, _ in pairs), max(d for _, d in pairs)

    def draw(self, draw: ImageDraw.ImageDraw, x: float, baseline: float, line: str, size: int, fill, stroke: int, stroke_fill) -> None:
        """Draw a line with its left edge at ``x`` on ``baseline``."""
        for run in self.runs(line):
            text, kw = self._shaped(run)
            font = self.font(run, size)
            draw.text((x, baseline), text, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=stroke_fill, **kw)
            x += font.getlength(text, **kw)


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


_MIRROR = str.maketrans("()[]{}<>«»", ")(][}{><»«")


def _mirror(text: str) -> str:
    return text.translate(_MIRROR)


def _bidi_levels(line: str, rtl: bool) -> list[tuple[str, int]]:
    """(char, resolved bidi level) for each character kept after rule X9 (UAX #9, python-bidi)."""
    from bidi import algorithm as uba

    storage = uba.get_empty_storage()
    base = 1 if rtl else uba.get_base_level(line)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    uba.get_embedding_levels(line, storage)
    uba.explicit_embed_and_overrides(storage)
    uba.calc_level_runs(storage)
    uba.resolve_weak_types(storage)
    uba.resolve_neutral_types(storage, False)
    uba.resolve_implicit_levels(storage, False)
    # Rule X9 dropped controls and boundary neutrals (ZWJ, ZWNJ); joiners still matter to shaping,
    # so every character comes back with the level of the one before it.
    kept = iter(storage["chars"])
    nxt = next(kept, None)
    chars: list[tuple[str, int]] = []
    for ch in line:
        if nxt is not None and nxt["ch"] == ch:
            chars.append((ch, nxt["level"]))
            nxt = next(kept, None)
        else:
            chars.append((ch, chars[-1][1] if chars else base))
    # Rule L1: trailing whitespace takes the paragraph level.
    i = len(chars) - 1
    while i >= 0 and chars[i][0].isspace():
        chars[i] = (chars[i][0], base)
        i -= 1
    return chars


def _reorder(runs: list[Run]) -> list[Run]:
    """Rule L2 on runs: from the highest level down, reverse every sequence at that level or above."""
    if not runs:
        return runs
    highest = max(r.level for r in runs)
    lowest_odd = min((r.level for r in runs if r.level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(runs):
            if runs[i].level >= level:
                j = i
                while j < len(runs) and runs[j].level >= level:
                    j += 1
                runs[i:j] = runs[i:j][::-1]
                i = j
            else:
                i += 1
    return runs


def fit_text(
    text: str,
    layout: Layout,
    *,
    size: int,
    max_width: int,
    max_lines: int,
    min_size: int,
    stroke: int = 0,
) -> tuple[int, list[str]]:
    """(size, lines): the largest size from ``size`` to ``min_size`` on one line, then on two, … ``max_lines``."""
    sizes = []
    s = size
    while s > min_size:
        sizes.append(s)
        s = min(s - 1, int(s * 0.94))
    sizes.append(min_size)
    room = max_width - 2 * stroke
    cache: dict[tuple[str, int], float] = {}

    def width_at(px: int):
        def width(line: str) -> float:
            key = (line, px)
            if key not in cache:
                cache[key] = layout.width(line, px)
            return cache[key]

        return width

    for lines_allowed in range(1, max_lines + 1):
        first: tuple[int, list[str]] | None = None
        for px in sizes:
            if first is not None and px < first[0] * NATURAL_BREAK_SHRINK:
                break
            width = width_at(px)
            lines = wrap(text, lambda line, width=width: width(line) <= room, lines_allowed, measure=width)
            if lines is None:
                continue
            # A break inside a CJK word ("ストーンウェ / ア") when a slightly smaller size breaks at the space: the smaller.
            if breaks_naturally(text, lines):
                return px, lines
            first = first or (px, lines)
        if first is not None:
            return first
    raise RenderError(
        f"text too long for the box: {text[:40]!r}{'…' if len(text) > 40 else ''} needs more than {max_lines} "
        f"line(s) of {max_width}px even at {min_size}px"
    )


def render_text(
    text: str,
    *,
    fonts: list[Path],
    size: int,
    color="white",
    max_width: int,
    max_lines: int = 2,
    min_size: int | None = None,
    align: str = "center",
    rtl: bool = False,
    lang: str = "en",
    stroke: int = 0,
    stroke_color=None,
    raqm: bool | None = None,
) -> Image.Image:
    """The text drawn on a transparent RGBA image of its tight layout box.

    ``fonts`` in order of preference (see localization.fonts.fonts_for); ``lang`` picks the face
    of a CJK collection and the shaping language. RTL text is right aligned unless ``align`` is
    "center" ("left" is read as the start side). ``raqm=False`` forces the python-bidi plus
    arabic-reshaper path used where Pillow lacks libraqm. RenderError when a glyph is missing or the text
    does not fit ``max_lines`` lines of ``max_width`` pixels at ``min_size``.
    """
    text = unicodedata.normalize("NFC", text.strip())
    if not text:
        return Image.new("RGBA", (1, 1), (0, 0, 0, 0))
    if size < 1 or max_width < 1:
        raise RenderError(f"cannot draw text at size {size} in width {max_width}")
    color = tuple(color) if isinstance(color, list) else color
    stroke_color = tuple(stroke_color) if isinstance(stroke_color, list) else stroke_color
    layout = Layout(fonts, lang, rtl, raqm)
    layout.check(text)
    min_size = max(1, min(size, min_size if min_size is not None else max(1, round(size * 0.7))))
    px, lines = fit_text(text, layout, size=size, max_width=max_width, max_lines=max_lines, min_size=min_size, stroke=stroke)
    is_rtl = rtl or _starts_rtl(text)
    if is_rtl and align == "left":
        align = "right"
    widths = [layout.width(line, px) for line in lines]
    metrics = [layout.metrics(line, px) for line in lines]
    gap = round(px * LINE_SPACING)
    width = int(max(widths) + 0.999) + 2 * stroke
    height = sum(a + d for a, d in metrics) + gap * (len(lines) - 1) + 2 * stroke
    image = Image.new("RGBA", (max(1, width), max(1, height)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    y = stroke
    for line, w, (ascent, descent) in zip(lines, widths, metrics, strict=True):
        if align == "right":
            x = width - stroke - w
        elif align == "left":
            x = stroke
        else:
            x = (width - w) / 2
        layout.draw(draw, x, y + ascent, line, px, color, stroke, stroke_color if stroke else None)
        y += ascent + descent + gap
    return image


def _starts_rtl(text: str) -> bool:
    """True when the first strong character of ``text`` is right to left."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False
