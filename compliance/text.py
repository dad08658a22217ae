"""Claim patterns on text: NFKC, case-insensitive, word boundaries for spaced scripts, allow-lists."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


def normalize(text: str) -> str:
    """NFKC and casefold, with runs of whitespace made one space (OCR and captions break lines anywhere)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern compiled case-insensitively, NFKC-normalised like the text it runs on."""
    return re.compile(unicodedata.normalize("NFKC", pattern), re.IGNORECASE)


def _spaced_word_char(ch: str) -> bool:
    # Letters and digits of scripts that separate words with spaces; CJK/Thai run on without boundaries.
    if not ch or not (ch.isalnum() or ch == "_"):
        return False
    if ch.isdigit():
        return True
    name = unicodedata.name(ch, "")
    return not any(s in name for s in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "IDEOGRAPH"))


@dataclass
class TextSource:
    """A piece of text to check and where it was seen (evidence travels with the text)."""

    kind: str  # script | ocr | captions | metadata
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    """One pattern match in one text source."""

    match: str
    start: int
    end: int
    source: TextSource


def find_hits(pattern: str, text: str, *, allow: list[str] | tuple[str, ...] = ()) -> list[tuple[int, int, str]]:
    """Matches of ``pattern`` in normalised ``text``, skipping word-internal hits and allow-listed spans."""
    norm = normalize(text)
    rx = compile_pattern(pattern)
    allowed: list[tuple[int, int]] = []
    for a in allow:
        allowed += [(m.start(), m.end()) for m in compile_pattern(a).finditer(norm)]
    hits: list[tuple[int, int, str]] = []
    pos = 0
    while pos <= len(norm):
        m = rx.search(norm, pos)
        if not m:
            break
        s, e = m.start(), m.end()
        if e == s:
            pos = s + 1
            continue
        # A Latin-script match must not sit inside a longer word ("free" in "freedom"), but CJK may.
        inside_word = (
            (_spaced_word_char(norm[s]) and s > 0 and _spaced_word_char(norm[s - 1]))
            or (_spaced_word_char(norm[e - 1]) and e < len(norm) and _spaced_word_char(norm[e]))
        )
        if inside_word or any(a0 <= s and e <= a1 for a0, a1 in allowed):
            pos = s + 1
            continue
        hits.append((s, e, norm[s:e]))
        pos = e
    return hits


def search_sources(pattern: str, sources: list[TextSource], *, allow=(), inputs: list[str] | None = None) -> list[Hit]:
    """Every hit of ``pattern`` in the sources whose kind is one of ``inputs``."""
    out: list[Hit] = []
    for src in sources:
        if inputs and src.kind not in inputs:
            continue
        for s, e, txt in find_hits(pattern, src.text, allow=allow):
            out.append(Hit(txt, s, e, src))
    return out


# What OCR confuses in Latin text: I/l/1/|, O/0. Folding both readings to one lets a label read as "Kl-generiert" match.
_OCR_FOLD = str.maketrans({"l": "i", "1": "i", "|": "i", "!": "i", "0": "o"})


def fold_ocr(text: str) -> str:
    """The normalised text with OCR look-alikes folded (l, 1, |, ! → i; 0 → o)."""
    return normalize(text).translate(_OCR_FOLD)


def fuzzy_contains(text: str, literal: str, threshold: float = 0.8) -> bool:
    """True when ``literal`` appears in ``text`` exactly or as a near match (OCR noise), compared folded."""
    from difflib import SequenceMatcher

    t, lit = fold_ocr(text), fold_ocr(literal)
    if not lit:
        return False
    if lit in t:
        return True
    n = len(lit)
    for size in (n - 1, n, n + 1):
        if size <= 0:
            continue
        for i in range(0, max(1, len(t) - size + 1)):
            if SequenceMatcher(None, t[i:i + size], lit).ratio() >= threshold:
                return True
    return False


def ocr_hits(pattern: str, text: str, *, allow=()) -> list[tuple[int, int, str]]:
    """Hits on an OCR reading: as read, else with look-alike characters folded."""
    return find_hits(pattern, text, allow=allow) or find_hits(pattern, fold_ocr(text), allow=allow)
