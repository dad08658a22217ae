"""Fonts that have every glyph: family names from the market file resolved to installed files.

Coverage is checked against each font's cmap with fontTools before anything is drawn; a
character no installed font covers fails the clip with a RenderError naming the characters and
the font to install (never tofu boxes). Fonts come from Debian's fonts-noto-core and
fonts-noto-cjk (deploy/system-deps.sh). NotoSansCJK-*.ttc holds several faces (JP, KR, SC, TC,
HK); the face for a language is picked with :func:`face_index`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from productreel.errors import RenderError
from productreel.models import Market
from productreel.settings import get_settings

FONT_DIRS = [
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local" / "share" / "fonts",
    Path.home() / ".fonts",
]
# Tried after the market's own fonts, in order.
FALLBACK_FAMILIES = [
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans Arabic",
    "Noto Sans Devanagari",
    "Noto Sans Hebrew",
    "Noto Sans Thai",
    "Noto Sans Bengali",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
    "Noto Sans Math",
    "DejaVu Sans",
]
# CJK collection faces per language (Noto Sans CJK: JP, KR, SC, TC, HK).
CJK_FACE = {"ja": "JP", "ko": "KR", "zh": "SC", "zh-hant": "TC", "zh-tw": "TC", "zh-hk": "HK"}


@dataclass(frozen=True)
class FontFace:
    """One face of an installed font file (``index`` selects the face of a .ttc collection)."""

    path: Path
    index: int
    family: str
    style: str


def _font_dirs() -> list[Path]:
    extra = get_settings().font_dirs
    return [Path(p) for p in extra.split(os.pathsep) if p] + FONT_DIRS


@lru_cache(maxsize=1)
def installed_faces() -> tuple[FontFace, ...]:
    """Every installed font face: from fontconfig when present, else by reading the font files."""
    faces: list[FontFace] = []
    if shutil.which("fc-list") and not get_settings().font_dirs:
        out = subprocess.run(
            ["fc-list", "--format", "%{file}|%{index}|%{family}|%{style}\n"],
            capture_output=True, text=True, check=False, timeout=30,
        ).stdout
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) != 4 or not parts[0]:
                continue
            for family in parts[2].split(","):
                faces.append(FontFace(Path(parts[0]), int(parts[1] or 0), family.strip(), parts[3].split(",")[0].strip()))
    if not faces:
        faces = _scan_files()
    return tuple(faces)


def _scan_files() -> list[FontFace]:
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    faces = []
    for folder in _font_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            suffix = path.suffix.lower()
            if suffix not in (".ttf", ".otf", ".ttc", ".otc"):
                continue
            try:
                fonts = TTCollection(str(path), lazy=True).fonts if suffix in (".ttc", ".otc") else [TTFont(str(path), lazy=True)]
            except (TTLibError, OSError, AssertionError):
                continue
            for index, font in enumerate(fonts):
                name = font["name"]
                family = str(name.getBestFamilyName() or path.stem)
                style = str(name.getBestSubFamilyName() or "Regular")
                faces.append(FontFace(path, index, family, style))
    return faces


def _style_rank(style: str, weight: str) -> int:
    style = style.lower()
    if weight == "bold":
        return 0 if style == "bold" else 1 if "bold" in style and "italic" not in style else 3
    return 0 if style in ("regular", "book", "normal") else 1 if style == "medium" else 3


def resolve_family(family: str, weight: str = "regular") -> FontFace | None:
    """The installed face for a family name (or a font file path), preferring the asked weight."""
    as_path = Path(family).expanduser()
    if as_path.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc"):
        return FontFace(as_path, 0, as_path.stem, "Regular") if as_path.is_file() else None
    wanted = family.strip().lower()
    matches = [f for f in installed_faces() if f.family.lower() == wanted]
    if not matches:
        return None
    return min(matches, key=lambda f: (_style_rank(f.style, weight), str(f.path)))


def face_index(path: Path, lang: str = "") -> int:
    """The face of a font collection for a language (Noto Sans CJK: ja->JP, ko->KR, zh->SC, zh-Hant->TC)."""
    path = Path(path)
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    lang = (lang or "").lower().replace("_", "-")
    key = "zh-hant" if lang.startswith("zh") and ("hant" in lang or lang.endswith(("-tw", "-mo"))) else lang.split("-")[0]
    if lang.endswith("-hk"):
        key = "zh-hk"
    suffix = CJK_FACE.get(key)
    faces = [f for f in installed_faces() if f.path == path]
    if suffix:
        for face in sorted(faces, key=lambda f: f.index):
            if face.family.endswith(f" {suffix}") and "Mono" not in face.family:
                return face.index
    return 0


@lru_cache(maxsize=64)
def cmap(path: Path, index: int = 0) -> frozenset[int]:
    """The code points a font face maps to glyphs."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=index, lazy=True) if Path(path).suffix.lower() in (".ttc", ".otc") else TTFont(str(path), lazy=True)
    try:
        best = font.getBestCmap() or {}
        return frozenset(best)
    finally:
        font.close()


def needs_glyph(ch: str) -> bool:
    """False for characters drawn as nothing: spaces, controls, bidi marks, joiners, variation selectors."""
    if ch.isspace():
        return False
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Zs", "Zl", "Zp"):
        return False
    return not (0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF)


def covers(path: Path, text: str, lang: str = "") -> bool:
    """True when the font file (face for ``lang``) has a glyph for every character of ``text``."""
    points = cmap(Path(path), face_index(Path(path), lang))
    return all(ord(ch) in points for ch in text if needs_glyph(ch))


def suggest_font(ch: str) -> str:
    """The font (and Debian package) to install for a character."""
    cp = ord(ch)
    name = unicodedata.name(ch, "")
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF:
        return "Noto Color Emoji (Debian fonts-noto-color-emoji)"
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH", "BOPOMOFO")):
        return "Noto Sans CJK (Debian fonts-noto-cjk)"
    script = name.split(" ")[0].title() if name else ""
    if script and script not in ("Latin", "Digit", "Combining"):
        return f"Noto Sans {script} (Debian fonts-noto-core or fonts-noto-extra)"
    return "Noto Sans (Debian fonts-noto-core)"


def _by_charset(ch: str) -> FontFace | None:
    """Any installed face covering ``ch``, asked of fontconfig (last resort)."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(
        ["fc-list", f":charset={ord(ch):x}", "--format", "%{file}|%{index}|%{family}|%{style}\n"],
        capture_output=True, text=True, check=False, timeout=30,
    ).stdout
    for line in sorted(out.splitlines()):
        parts = line.split("|")
        if len(parts) == 4 and parts[0].lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            return FontFace(Path(parts[0]), int(parts[1] or 0), parts[2].split(",")[0], parts[3].split(",")[0])
    return None


def market_faces(market: Market, weight: str = "regular") -> list[FontFace]:
    """The market's fonts then the fallback families, resolved to installed faces, without repeats."""
    faces: list[FontFace] = []
    seen: set[Path] = set()
    for family in list(market.fonts) + FALLBACK_FAMILIES:
        face = resolve_family(family, weight)
        if face and face.path not in seen:
            seen.add(face.path)
            faces.append(face)
    return faces


def fonts_for(text: str, market: Market, *, weight: str = "regular", product: str | None = None) -> list[Path]:
    """Font files, in order of preference, that together cover every character of ``text``.

    The market's fonts come first (all of them, so the renderer draws in the market's style),
    then any fallback needed for characters they lack. RenderError names the characters no
    installed font covers and the font to install.
    """
    faces = market_faces(market, weight)
    primary = [f for f in faces if f.family in market.fonts or str(f.path) in market.fonts]
    chosen: list[Path] = [f.path for f in primary]
    missing: list[str] = []
    for ch in dict.fromkeys(text):
        if not needs_glyph(ch):
            continue
        if any(covers(p, ch, market.language) for p in chosen):
            continue
        face = next((f for f in faces if covers(f.path, ch, market.language)), None) or _by_charset(ch)
        if face is None:
            missing.append(ch)
        elif face.path not in chosen:
            chosen.append(face.path)
    if missing:
        listed = " ".join(f"{c!r} U+{ord(c):04X}" for c in missing[:8])
        install = "; ".join(dict.fromkeys(suggest_font(c) for c in missing))
        raise RenderError(f"no installed font has the characters {listed}; install {install}", product=product, market=market.code)
    if not chosen:
        raise RenderError(f"none of the market's fonts is installed ({', '.join(market.fonts)}); run deploy/system-deps.sh", market=market.code)
    return chosen
