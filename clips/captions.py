"""Caption sidecars: localization.subtitles writes them; a small fallback keeps the renderer working without it."""

from __future__ import annotations

from pathlib import Path

from productreel import atomic
from productreel.models import Cue


def simple_cues(text: str, duration: float, chars_per_line: int = 42) -> list[Cue]:
    """Split text into cues of at most two lines, timed in proportion to their length."""
    words = text.split() if " " in text.strip() else list(text.strip())
    joiner = " " if " " in text.strip() else ""
    limit = chars_per_line * 2
    chunks: list[str] = []
    cur = ""
    for w in words:
        trial = f"{cur}{joiner}{w}" if cur else w
        if len(trial) > limit and cur:
            chunks.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        chunks.append(cur)
    total = sum(len(c) for c in chunks) or 1
    cues, t = [], 0.0
    for c in chunks:
        d = duration * len(c) / total
        cues.append(Cue(start=round(t, 3), end=round(t + d, 3), text=c))
        t += d
    return cues


def _stamp(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def write_captions(cues: list[Cue], srt: Path, vtt: Path) -> None:
    """Write SRT and WebVTT sidecars (through localization.subtitles when it is installed)."""
    try:
        from localization.subtitles import write_srt, write_vtt
    except ImportError:
        write_srt = write_vtt = None
    if write_srt is not None and write_vtt is not None:
        write_srt(cues, srt)
        write_vtt(cues, vtt)
        return
    atomic.write_text(srt, "".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n\n" for i, c in enumerate(cues, 1)))
    atomic.write_text(vtt, "WEBVTT\n\n" + "".join(f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n\n" for c in cues))
