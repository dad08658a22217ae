"""Line breaking shared by on-screen text and captions.

Spaced scripts (Latin, Cyrillic, Arabic, Devanagari, Hangul) break at spaces. Japanese and
Chinese break between any two characters, following kinsoku shori (JIS X 4051): no line starts
with closing brackets, small kana, the prolonged sound mark or CJK punctuation; no line ends with
an opening bracket. Latin words and numbers inside CJK text (``AI生成``, ``￥7,480``) stay whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# Characters that must not start a line (行頭禁則) and must not end one (行末禁則).
NO_START = set(
    "、。，．,.:;：；？！?!‼⁇⁈⁉・ー―〜～…‥）)]｝}〕〉》」』】〙〗〟’”»ゝゞヽヾ々〻"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ%％‰℃°"
)
NO_END = set("（([｛{〔〈《「『【〘〖〝‘“«￥$£€＄")


def is_cjk_breakable(ch: str) -> bool:
    """True for characters a line may break around without a space: Han, kana and CJK punctuation."""
    cp = ord(ch)
    return (
        0x3000 <= cp <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x31F0 <= cp <= 0x31FF  # katakana extensions
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= cp <= 0xFF60  # full-width forms
        or 0xFFE0 <= cp <= 0xFFE6  # full-width signs (￥)
        or 0x20000 <= cp <= 0x2FA1F
    )


def has_cjk(text: str) -> bool:
    """True when ``text`` holds Japanese or Chinese characters."""
    return any(is_cjk_breakable(ch) for ch in text)


@dataclass
class Atom:
    """An unbreakable piece of text and whether a space precedes it."""

    text: str
    space_before: bool = False


def atoms(text: str) -> list[Atom]:
    """``text`` cut into pieces a line may break between (kinsoku applied)."""
    out: list[Atom] = []
    word = ""
    space = False

    def flush() -> None:
        nonlocal word, space
        if word:
            out.append(Atom(word, space))
            word, space = "", False

    for ch in text:
        if ch.isspace() and ch not in "\u00a0\u202f":  # no-break spaces join, like in "49,99 €"
            flush()
            space = True
            continue
        if is_cjk_breakable(ch):
            flush()
            out.append(Atom(ch, space))
            space = False
        elif unicodedata.category(ch).startswith("M") and not word and out:
            out[-1].text += ch  # a combining mark never starts a piece
        else:
            word += ch
    flush()
    # Kinsoku: glue a no-start piece to the one before, and a no-end piece to the one after.
    merged: list[Atom] = []
    for atom in out:
        if merged and not atom.space_before and (atom.text[0] in NO_START or merged[-1].text[-1] in NO_END):
            merged[-1].text += atom.text
        else:
            merged.append(atom)
    return merged


def join(pieces: list[Atom]) -> str:
    """The text of a line made of ``pieces`` (the space before the first one dropped)."""
    return "".join((" " if a.space_before and i else "") + a.text for i, a in enumerate(pieces))


def wrap(
    text: str,
    fits: Callable[[str], bool],
    max_lines: int | None = None,
    *,
    balance: bool = True,
    measure: Callable[[str], float] | None = None,
) -> list[str] | None:
    """Lines of ``text`` that each satisfy ``fits``, or None when it cannot be done in ``max_lines``.

    Explicit newlines are kept. With ``balance``, the lines of a paragraph are made as even as
    the break points allow (a two-line title reads better as two halves than as one full line),
    by ``measure`` (pixels) when given, else by characters.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        pieces = atoms(paragraph)
        if not pieces:
            lines.append("")
            continue
        got = _greedy(pieces, fits)
        if got is None:
            return None
        if balance and len(got) > 1:
            got = _balanced(pieces, fits, len(got), measure or len) or got
        lines += [join(line) for line in got]
    if max_lines is not None and len(lines) > max_lines:
        return None
    return lines


def _greedy(pieces: list[Atom], fits: Callable[[str], bool]) -> list[list[Atom]] | None:
    lines: list[list[Atom]] = []
    current: list[Atom] = []
    for atom in pieces:
        trial = current + [atom]
        if fits(join(trial)):
            current = trial
            continue
        if not current:
            return None  # one piece wider than the box on its own
        lines.append(current)
        current = [atom]
        if not fits(join(current)):
            return None
    if current:
        lines.append(current)
    return lines


_GOOD_AFTER = set("、。，,;；:：!！?？)）」』】〕〉》")


def _break_quality(before: Atom, after: Atom) -> int:
    """0 for a natural break (at a space, after punctuation), 1 for a break inside a CJK word."""
    return 0 if after.space_before or before.text[-1] in _GOOD_AFTER else 1


def _balanced(
    pieces: list[Atom], fits: Callable[[str], bool], count: int, measure: Callable[[str], float] = len
) -> list[list[Atom]] | None:
    """The split into ``count`` lines at the most natural break, then the most even one."""
    best: tuple[tuple, list[list[Atom]]] | None = None
    if count == 2:
        for cut in range(1, len(pieces)):
            a, b = pieces[:cut], pieces[cut:]
            ta, tb = join(a), join(b)
            if fits(ta) and fits(tb):
                # Prefer the shorter top line on ties (a bottom-heavy pyramid reads easier).
                wa, wb = measure(ta), measure(tb)
                score = (_break_quality(pieces[cut - 1], pieces[cut]), max(wa, wb), wa > wb)
                if best is None or score < best[0]:
                    best = (score, [a, b])
        return best[1] if best else None
    return None


def breaks_naturally(text: str, lines: list[str]) -> bool:
    """True when every break between ``lines`` (a wrap of ``text``) falls at a space, a newline or after punctuation,
    not inside a word (a Japanese or Chinese word may be broken anywhere, but reads better whole)."""
    pos = 0
    for line in lines[:-1]:
        start = text.find(line, pos)
        if start < 0:
            return False
        end = start + len(line)
        if line and not (end < len(text) and text[end].isspace()) and line[-1] not in _GOOD_AFTER:
            return False
        pos = end
    return True


# Latin-style marks end a clause only before a space ("$49.99", "7,480" stay whole);
# full-width CJK marks end one wherever they are.
_CLAUSE_END = re.compile(r"(?<=[,;:،—–])[^\S\u00a0\u202f]+|(?<=[、，；：])[^\S\u00a0\u202f]*")


def sentences(text: str, locale: str | None = None) -> list[str]:
    """``text`` as sentences (ICU's sentence breaks for ``locale``; prices and abbreviations stay whole)."""
    from .segment import sentences as segment

    return segment(text, locale)


def clauses(text: str) -> list[str]:
    """``text`` split after clause punctuation (commas, semicolons, 、，، …)."""
    return [s.strip() for s in _CLAUSE_END.split(text) if s.strip()]
