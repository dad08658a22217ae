"""SPEC-1: the file itself, probed with PyAV and read for its MP4 box layout, against a destination profile."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

from productreel.media import probe
from productreel.models import Finding

__all__ = ["check_spec", "probe", "top_level_boxes", "video_info"]


def top_level_boxes(path: Path, limit: int = 64) -> list[str]:
    """The MP4's top-level box types in file order (moov before mdat means faststart)."""
    boxes: list[str] = []
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size_total = fh.tell()
        pos = 0
        while pos < size_total and len(boxes) < limit:
            fh.seek(pos)
            head = fh.read(8)
            if len(head) < 8:
                break
            size, kind = struct.unpack(">I4s", head)
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
            elif size == 0:
                size = size_total - pos
            if size < 8:
                break
            boxes.append(kind.decode("latin-1"))
            pos += size
    return boxes


def _rate(text: str | None) -> float:
    try:
        return float(Fraction(text)) if text and text != "0/0" else 0.0
    except (ValueError, ZeroDivisionError):
        return 0.0


def video_info(data: dict[str, Any]) -> dict[str, Any]:
    """The facts SPEC-1 measures, taken from the probe's (ffprobe-shaped) JSON."""
    streams = data.get("streams", [])
    v = next((s for s in streams if s.get("codec_type") == "video"), {})
    a = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format", {})
    return {
        "container": fmt.get("format_name", ""),
        "duration": float(fmt.get("duration") or v.get("duration") or 0.0),
        "size_bytes": int(fmt.get("size") or 0),
        "bit_rate": int(fmt.get("bit_rate") or 0),
        "video_codec": v.get("codec_name", ""),
        "profile": v.get("profile", ""),
        "pix_fmt": v.get("pix_fmt", ""),
        "width": int(v.get("width") or 0),
        "height": int(v.get("height") or 0),
        "r_frame_rate": _rate(v.get("r_frame_rate")),
        "avg_frame_rate": _rate(v.get("avg_frame_rate")),
        "audio_codec": a.get("codec_name", "") if a else None,
        "sample_rate": int(a.get("sample_rate") or 0) if a else None,
        "audio_bit_rate": int(a.get("bit_rate") or 0) if a else None,
        "tags": fmt.get("tags", {}),
    }


def check_spec(path: Path, profile: dict[str, Any], *, rule_source: str = "", destination: str = "folder") -> tuple[list[Finding], dict[str, Any] | None]:
    """SPEC-1 findings for the file against the destination profile, and the probed facts (None if unreadable)."""
    spec = profile.get("spec", {}) or {}
    src = rule_source

    def f(sev: str, msg: str, **ev) -> Finding:
        return Finding(rule="SPEC-1", severity=sev, message=msg, evidence={"destination": destination, **ev}, source=src)

    if not Path(path).is_file():
        return [f("BLOCK", "unreadable: file not found", path=str(path))], None
    try:
        data = probe(Path(path))
    except ValueError as exc:
        return [f("BLOCK", "unreadable", path=str(path), error=str(exc))], None
    info = video_info(data)
    out: list[Finding] = []
    if not info["video_codec"]:
        return [f("BLOCK", "unreadable: no video stream", path=str(path))], None
    codecs = spec.get("video_codecs", ["h264"])
    if info["video_codec"] not in codecs:
        out.append(f("FIX", f"video codec {info['video_codec']} is not one of {codecs}", measured=info["video_codec"], expected=codecs))
    profiles = spec.get("h264_profiles")
    if profiles and info["video_codec"] == "h264" and info["profile"] not in profiles:
        out.append(f("FIX", f"H.264 profile {info['profile']!r} is not one of {profiles}", measured=info["profile"], expected=profiles))
    pix = spec.get("pix_fmts", ["yuv420p"])
    if info["pix_fmt"] not in pix:
        out.append(f("FIX", f"pixel format {info['pix_fmt']} is not one of {pix}", measured=info["pix_fmt"], expected=pix))
    if "mp4" not in info["container"] and "mov" not in info["container"]:
        out.append(f("BLOCK", f"container {info['container']} is not MP4/MOV", measured=info["container"]))
    dmin, dmax = float(spec.get("min_duration_s", 0)), float(spec.get("max_duration_s", profile.get("max_duration_s", 600)))
    if info["duration"] < dmin or info["duration"] > dmax:
        out.append(f("BLOCK", f"duration {info['duration']:.2f} s outside {dmin:g}–{dmax:g} s", measured=round(info["duration"], 3), expected=[dmin, dmax]))
    max_mb = spec.get("max_size_mb")
    if max_mb and info["size_bytes"] > max_mb * 1024 * 1024:
        out.append(f("BLOCK", f"file is {info['size_bytes'] / 2**20:.1f} MB, over {max_mb} MB", measured=info["size_bytes"]))
    mw, mh = spec.get("min_width", 0), spec.get("min_height", 0)
    short, long_ = sorted((info["width"], info["height"]))
    if mw or mh:
        need_short, need_long = sorted((mw, mh))
        if short < need_short or long_ < need_long:
            out.append(f("BLOCK", f"resolution {info['width']}x{info['height']} below {mw}x{mh}", measured=[info["width"], info["height"]]))
    aspects = spec.get("aspects")
    if aspects and info["height"]:
        ratio = info["width"] / info["height"]
        if not any(_aspect_ok(ratio, a) for a in aspects):
            out.append(f("FIX", f"aspect {info['width']}x{info['height']} is not one of {aspects}", measured=round(ratio, 4), expected=aspects))
    if info["width"] % 2 or info["height"] % 2:
        out.append(f("FIX", "odd frame size (yuv420p needs even dimensions)", measured=[info["width"], info["height"]]))
    if info["r_frame_rate"] and info["avg_frame_rate"] and abs(info["r_frame_rate"] - info["avg_frame_rate"]) > 0.01 * info["r_frame_rate"]:
        out.append(f("FIX", "variable frame rate", measured={"r_frame_rate": info["r_frame_rate"], "avg_frame_rate": info["avg_frame_rate"]}))
    if info["audio_codec"] is None:
        if spec.get("require_audio"):
            out.append(f("FIX", "no audio stream", measured=None))
    else:
        acodecs = spec.get("audio_codecs", ["aac"])
        if info["audio_codec"] not in acodecs:
            out.append(f("FIX", f"audio codec {info['audio_codec']} is not one of {acodecs}", measured=info["audio_codec"]))
        rates = spec.get("sample_rates", [48000])
        if rates and info["sample_rate"] not in rates:
            out.append(f("FIX", f"audio sample rate {info['sample_rate']} Hz is not one of {rates}", measured=info["sample_rate"]))
        min_abr = spec.get("min_audio_kbps")
        if min_abr and info["audio_bit_rate"] and info["audio_bit_rate"] < min_abr * 1000:
            out.append(f("FIX", f"audio bit rate {info['audio_bit_rate'] // 1000} kbps under {min_abr} kbps", measured=info["audio_bit_rate"]))
    try:
        boxes = top_level_boxes(Path(path))
    except OSError:
        boxes = []
    info["boxes"] = boxes
    if "moof" in boxes:
        out.append(f("FIX", "fragmented MP4 (C2PA cannot sign it)", measured=boxes[:8]))
    if spec.get("faststart", True) and "moov" in boxes and "mdat" in boxes and boxes.index("moov") > boxes.index("mdat"):
        out.append(f("FIX", "moov box after mdat: not faststart", measured=boxes[:8]))
    return out, info


def _aspect_ok(ratio: float, aspect: str) -> bool:
    if aspect == "vertical-or-square":
        return ratio <= 1.0 + 1e-3
    w, h = (float(x) for x in aspect.split(":"))
    return abs(ratio - w / h) < 0.02
