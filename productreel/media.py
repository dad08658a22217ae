"""Media probing with PyAV: a file's container and streams, in the shape of ffprobe's JSON.

PyAV is a Python dependency, so ``pip install`` alone can probe: no system
``ffprobe`` binary is needed. The result keeps ffprobe's field names and value
types (strings for rates, sizes and durations) so code and tests written
against ffprobe's JSON read it unchanged.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any


class ProbeError(ValueError):
    """The file cannot be read as media (missing, not a container, no streams)."""


def probe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"format": {...}, "streams": [...]}`` for a media file, as ffprobe shows them; ProbeError if unreadable."""
    import av

    path = Path(path)
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise ProbeError(f"cannot read {path.name}: {exc}") from exc
    with container:
        streams = [_stream(s) for s in container.streams]
        if not streams:
            raise ProbeError(f"{path.name} has no streams")
        fmt: dict[str, Any] = {
            "filename": str(path),
            "nb_streams": len(streams),
            "format_name": container.format.name,
            "size": str(path.stat().st_size),
            "tags": dict(container.metadata),
        }
        if container.duration is not None:
            fmt["duration"] = f"{container.duration / 1_000_000:.6f}"  # AV_TIME_BASE units
        if container.bit_rate:
            fmt["bit_rate"] = str(container.bit_rate)
    return {"streams": streams, "format": fmt}


def _stream(s: Any) -> dict[str, Any]:
    cc = s.codec_context
    out: dict[str, Any] = {
        "index": s.index,
        "codec_type": s.type,
        "codec_name": cc.name if cc is not None else "",
        "tags": dict(s.metadata),
    }
    if cc is not None and cc.profile:
        out["profile"] = cc.profile
    if s.duration is not None and s.time_base:
        out["duration"] = f"{float(s.duration * s.time_base):.6f}"
    if s.frames:
        out["nb_frames"] = str(s.frames)
    if cc is not None and cc.bit_rate:
        out["bit_rate"] = str(cc.bit_rate)
    if s.type == "video":
        out.update(
            width=cc.width, height=cc.height, pix_fmt=cc.pix_fmt or "",
            r_frame_rate=_ratio(s.base_rate), avg_frame_rate=_ratio(s.average_rate),
        )
        if s.time_base:
            out["time_base"] = _ratio(s.time_base)
    elif s.type == "audio":
        out.update(sample_rate=str(cc.sample_rate or 0), channels=cc.channels)
    return out


def _ratio(value: Fraction | None) -> str:
    """A rate as ffprobe writes it ("30/1"; "0/0" when unknown)."""
    if not value:
        return "0/0"
    value = Fraction(value)
    return f"{value.numerator}/{value.denominator}"
