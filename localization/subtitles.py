"""Captions people can read: cues of at most two lines, paced by the market's reading speed.

Characters per line and per second come from the market file (about 42 and 17 for Latin
scripts, 16 and 9 for Chinese, 13 and 4 for Japanese). Cues split at sentence, then clause,
then word (or, for Japanese and Chinese, character) boundaries. With voice-over segments the
cues follow the voice; without, they are paced by reading speed within the clip.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from productreel import atomic
from productreel.models import Cue, Market

from .linebreak import atoms, clauses, is_cjk_breakable, join, sentences, wrap

MAX_LINES = 2
MIN_CUE = 5 / 6  # seconds (Netflix TTSG minimum event duration)
MAX_CUE = 7.0
GAP = 2 / 25  # two frames between cues


def _chars_per_line(market: Market) -> int:
    """The market's characters per line; one fewer for RTL, whose caption files start lines with RLM."""
    return max(4, int(market.caption_chars_per_line) - (1 if market.rtl else 0))


def _fits_cue(text: str, cpl: int) -> bool:
    return wrap(text, lambda line: len(line) <= cpl, MAX_LINES) is not None


def chunk_text(text: str, market: Market) -> list[str]:
    """``text`` cut into caption-sized chunks at sentence, clause and word boundaries."""
    cpl = _chars_per_line(market)
    chunks: list[str] = []
    for sentence in sentences(re.sub(r"[^\S\u00a0\u202f]+", " ", text).strip(), market.locale):
        if _fits_cue(sentence, cpl):
            chunks.append(sentence)
            continue
        current = ""
        for clause in clauses(sentence):
            sep = "" if not current or _no_space_join(current, clause) else " "
            trial = current + sep + clause
            if _fits_cue(trial, cpl):
                current = trial
                continue
            if current:
                chunks.append(current)
            if _fits_cue(clause, cpl):
                current = clause
            else:
                parts = _split_long(clause, cpl)
                chunks += parts[:-1]
                current = parts[-1]
        if current:
            chunks.append(current)
    return chunks


def _no_space_join(left: str, right: str) -> bool:
    """True when two pieces join without a space (Japanese and Chinese text)."""
    return bool(left and right) and (is_cjk_breakable(left[-1]) or is_cjk_breakable(right[0]))


def _split_long(text: str, cpl: int) -> list[str]:
    """A clause longer than one cue, cut into cues of whole words (or characters for CJK)."""
    out: list[str] = []
    current: list = []
    for atom in atoms(text):
        trial = current + [atom]
        if _fits_cue(join(trial), cpl):
            current = trial
            continue
        if current:
            out.append(join(current))
            current = [atom]
        if not _fits_cue(join(current), cpl):
            # A single word longer than two lines: hard-cut it.
            word = join(current)
            while len(word) > 2 * cpl:
                out.append(word[: 2 * cpl])
                word = word[2 * cpl :]
            current = [type(atom)(word, False)] if word else []
    if current:
        out.append(join(current))
    return out


def layout_cue(text: str, market: Market) -> str:
    """The cue text broken into at most two balanced lines."""
    cpl = _chars_per_line(market)
    lines = wrap(text, lambda line: len(line) <= cpl, MAX_LINES)
    if lines is None:
        # A word longer than a line (a URL, a long compound): cut it where the line ends.
        flat = text.replace("\n", " ")
        lines = [flat[i : i + cpl].strip() for i in range(0, len(flat), cpl)][:MAX_LINES]
    return "\n".join(lines)


def caption_chars(text: str) -> int:
    """Characters a reader reads: NFC, without line breaks and invisible marks (RLM), a CJK character counting one.

    The one count behind chars per line and reading speed, here and in the compliance checks (ACC-4/5).
    """
    return sum(1 for ch in unicodedata.normalize("NFC", text) if ch not in "\r\n" and unicodedata.category(ch) != "Cf")


_count = caption_chars


def make_cues(
    text: str,
    duration: float,
    market: Market,
    segments: list[tuple[float, float, str]] | None = None,
) -> list[Cue]:
    """Caption cues for ``text`` over ``duration`` seconds; voice ``segments`` (start, end, text) set the timing."""
    if segments:
        cues: list[Cue] = []
        for start, end, seg_text in _merge_short(segments, market):
            # A segment that fits one cue stays one cue, even when it holds short sentences.
            chunks = [seg_text] if _fits_cue(seg_text, _chars_per_line(market)) else chunk_text(seg_text, market)
            cues += _pace(chunks, float(start), float(min(end, duration) if duration else end), market)
        return _tidy(cues, duration)
    chunks = chunk_text(text, market)
    if not chunks or duration <= 0:
        return []
    return _tidy(_pace(chunks, 0.0, float(duration), market), duration)


def _merge_short(segments: list[tuple[float, float, str]], market: Market) -> list[tuple[float, float, str]]:
    """Voice segments shorter than a cue may last, joined with their neighbours while the text fits one cue."""
    cpl = _chars_per_line(market)
    out: list[list] = []
    for start, end, text in sorted(segments, key=lambda s: s[0]):
        text = text.strip()
        if not text:
            continue
        if out and out[-1][1] - out[-1][0] < MIN_CUE:
            joined = out[-1][2] + ("" if _no_space_join(out[-1][2], text) else " ") + text
            if _fits_cue(joined, cpl):
                out[-1][1], out[-1][2] = end, joined
                continue
        out.append([start, end, text])
    return [(float(a), float(b), t) for a, b, t in out]


def _pace(chunks: list[str], start: float, end: float, market: Market) -> list[Cue]:
    """Cues for ``chunks`` between ``start`` and ``end``: reading-speed durations, fitted to the span."""
    if not chunks or end <= start:
        return []
    cps = max(1.0, float(market.caption_chars_per_second))
    need = [min(MAX_CUE, max(MIN_CUE, _count(c) / cps)) for c in chunks]
    span = end - start
    total = sum(need)
    if total > span:
        # Too much text for the time: share the span by length (the fastest even pace there is).
        weights = [max(1, _count(c)) for c in chunks]
        scale = span / sum(weights)
        need = [w * scale for w in weights]
    elif len(chunks) > 1:
        # Spare time: spread it over the cues, up to the longest a cue should stay.
        spare = (span - total) / len(chunks)
        need = [min(MAX_CUE, n + spare) for n in need]
    else:
        need = [min(MAX_CUE, span)]
    cues = []
    t = start
    for chunk, length in zip(chunks, need, strict=True):
        cues.append(Cue(start=round(t, 3), end=round(min(end, t + length), 3), text=layout_cue(chunk, market)))
        t += length
    return cues


def _tidy(cues: list[Cue], duration: float) -> list[Cue]:
    """Cues in order, clipped to the clip, with a two-frame gap between neighbours."""
    cues = sorted((c for c in cues if c.text.strip()), key=lambda c: c.start)
    out: list[Cue] = []
    for i, cue in enumerate(cues):
        end = cue.end
        if duration:
            end = min(end, float(duration))
        if i + 1 < len(cues) and end > cues[i + 1].start - GAP:
            end = max(cue.start + 0.04, cues[i + 1].start - GAP)
        if end > cue.start:
            out.append(Cue(start=cue.start, end=round(end, 3), text=cue.text))
    return out


def reading_speed(cue: Cue) -> float:
    """Characters per second a cue asks of a reader (``caption_chars`` over the time it is shown)."""
    return caption_chars(cue.text) / max(1e-3, cue.end - cue.start)


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


RLM = "\u200f"


def _mark_rtl(text: str) -> str:
    """Lines written mostly right to left start with RLM, so players that guess the direction from
    the first strong character (a brand name, a number) still lay them out right to left."""
    out = []
    for line in text.split("\n"):
        kinds = [unicodedata.bidirectional(ch) for ch in line]
        rtl = sum(k in ("R", "AL") for k in kinds)
        if rtl and rtl >= kinds.count("L") and not line.startswith(RLM):
            line = RLM + line
        out.append(line)
    return "\n".join(out)


def srt_text(cues: list[Cue]) -> str:
    """Cues as SubRip text."""
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_mark_rtl(c.text)}\n" for i, c in enumerate(cues, start=1)]
    return "\n".join(blocks)


def vtt_text(cues: list[Cue]) -> str:
    """Cues as WebVTT text."""
    blocks = ["WEBVTT\n"]
    # "-->" may not appear in a cue payload; it never does in caption copy, but be safe.
    blocks += [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_mark_rtl(c.text).replace('-->', '→')}\n" for c in cues]
    return "\n".join(blocks)


def write_srt(cues: list[Cue], path: Path) -> Path:
    """Write ``cues`` as an SRT file (atomically)."""
    return atomic.write_text(path, srt_text(cues))


def write_vtt(cues: list[Cue], path: Path) -> Path:
    """Write ``cues`` as a WebVTT file (atomically)."""
    return atomic.write_text(path, vtt_text(cues))


# SRT "00:00:01,500" and WebVTT "00:01.500" (hours optional), any number of fraction digits.
_STAMP = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d+)"
_TIMING = re.compile(rf"{_STAMP}\s*-->\s*{_STAMP}")


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac) / 10 ** len(frac)


def read_cues(path: Path) -> list[Cue]:
    """Cues of an SRT or WebVTT file, the one parser the checks and tests use ([] when it cannot be read).

    Text lines keep their line breaks; the RLM marks ``srt_text`` adds for RTL lines are dropped.
    """
    try:
        raw = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []
    cues = []
    for block in re.split(r"\n\s*\n", raw.replace("\r\n", "\n").strip()):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        for i, line in enumerate(lines):
            match = _TIMING.search(line)
            if match:
                g = match.groups()
                text = "\n".join(ln.removeprefix(RLM) for ln in lines[i + 1 :])
                cues.append(Cue(start=_seconds(*g[:4]), end=_seconds(*g[4:]), text=text))
                break
    return cues
