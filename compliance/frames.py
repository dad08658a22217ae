"""Decode a clip once with PyAV: frames sampled at 2 fps (downscaled for OCR) and a coarse luminance track of every frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

LUMA_W = 48  # coarse grid for the flash scan: WCAG counts area, not detail


@dataclass
class Sample:
    """One sampled frame: time, RGB pixels at analysis scale, and whether it differs from the previous sample."""

    t: float
    rgb: np.ndarray  # H×W×3 uint8 at ``scale`` of the original
    changed: bool = True
    index: int = 0


@dataclass
class Decoded:
    """What the frame checks read: samples, the luminance track and the original geometry."""

    width: int
    height: int
    fps: float
    duration: float
    scale: float  # analysis pixels per original pixel
    samples: list[Sample] = field(default_factory=list)
    luma_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    luma: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1)))  # relative luminance 0..1, per frame
    error: str | None = None  # why decoding stopped early (a damaged file), with what was read until then


def _relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (0..1)."""
    c = rgb.astype(np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


@lru_cache(maxsize=16)
def _cell_index(cells: int, size: int) -> np.ndarray:
    """Indices of every other pixel inside each of ``cells`` cells of ``size`` pixels."""
    return (np.arange(cells)[:, None] * size + np.arange(0, size, 2)[None, :]).ravel()


def _frame_luma(frame, lw: int, lh: int) -> np.ndarray:
    """Coarse relative luminance of a frame, read from its Y plane when it has one (no colour conversion)."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12")):
        import cv2

        plane = frame.planes[0]
        h, w = frame.height, frame.width
        y = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[:h, :w]
        sy, sx = max(1, h // lh), max(1, w // lw)
        # Every other row and column of each cell, then the cell means by an area resize: the means of the
        # strided view (to 1e-5 of a grey level) at half the cost; this runs on every frame of the clip.
        sub = np.take(np.take(y, _cell_index(lh, sy), axis=0), _cell_index(lw, sx), axis=1)
        y = cv2.resize(sub.astype(np.float32), (lw, lh), interpolation=cv2.INTER_AREA)
        full = frame.format.name.startswith("yuvj") or getattr(frame, "color_range", 1) == 2
        yn = y / 255.0 if full else np.clip((y - 16.0) / 219.0, 0.0, 1.0)
        # Y' is gamma-encoded luma: the sRGB curve brings it close to relative luminance.
        return np.where(yn <= 0.04045, yn / 12.92, ((yn + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return _relative_luminance(frame.to_ndarray(width=lw, height=lh, format="rgb24"))


def decode(path: Path, *, sample_fps: float = 2.0, short_side: int = 540, diff_threshold: float = 2.0, luma: bool = True,
           extra_times: list[float] | None = None, min_short_side: int = 360) -> Decoded:
    """Sample frames at ``sample_fps`` (plus ``extra_times``) scaled to ``short_side``, and every frame's coarse luminance.

    Frames larger than ``short_side`` are scaled down (OCR cost grows with pixels); small ones are scaled up
    to ``min_short_side`` so that text in a low-resolution preview is still large enough to read.
    """
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        short = max(1, min(width, height))
        scale = short_side / short if short > short_side else max(1.0, min_short_side / short)
        sw, sh = max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)
        lw = LUMA_W if width <= height else int(LUMA_W * width / height)
        lh = max(2, int(round(lw * height / width)))
        out = Decoded(width, height, fps, duration, sw / width)
        times: list[float] = []
        lumas: list[np.ndarray] = []
        next_t = 0.0
        extras = sorted(t for t in (extra_times or []) if t >= 0)
        prev_small: np.ndarray | None = None
        kept: np.ndarray | None = None
        step = 1.0 / sample_fps
        tb = float(stream.time_base) if stream.time_base else 1.0 / fps
        n = 0
        last_t = 0.0
        frames = container.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.error.FFmpegError, ValueError) as exc:
                # Damaged data: keep what was decoded and say where it stopped (a SPEC-1 finding).
                out.error = f"decoding stopped after {n} frames: {exc}"
                break
            t = float(frame.pts * tb) if frame.pts is not None else n / fps
            n += 1
            last_t = t
            if luma:
                lumas.append(_frame_luma(frame, lw, lh))
                times.append(t)
            due_extra = bool(extras) and t + 1e-6 >= extras[0]
            while extras and t + 1e-6 >= extras[0]:
                extras.pop(0)
            if t + 1e-6 >= next_t or due_extra:
                rgb = frame.to_ndarray(width=sw, height=sh, format="rgb24")
                # Only frames that changed go to OCR: a still title card read 30 times tells nothing new.
                thumb = rgb[::8, ::8].astype(np.int16)
                changed = prev_small is None or float(np.abs(thumb - prev_small).mean()) > diff_threshold
                if changed:
                    prev_small, kept = thumb, rgb
                # An unchanged sample shares the pixels of the last changed one, whose OCR it reuses too:
                # memory grows with what changes, not with the length of the clip.
                out.samples.append(Sample(t=t, rgb=kept, changed=changed, index=len(out.samples)))
                while next_t <= t + 1e-6:
                    next_t += step
        last = last_t
        if not out.duration and n:
            out.duration = last + 1.0 / fps
        elif out.error is None and out.duration - last > max(0.5, 3.0 / fps):
            # The container promises more than the stream holds: a cut-off download or copy.
            out.error = f"the stream ends at {last:.2f} s of {out.duration:.2f} s (truncated)"
        out.luma_times = np.array(times, dtype=np.float32)
        out.luma = np.stack(lumas) if lumas else np.zeros((0, lh, lw), dtype=np.float32)
    return out
