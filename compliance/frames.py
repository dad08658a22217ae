"""Decode a clip once with PyAV: frames sampled at 2 fps (downscaled for OCR) and a coarse luminance track of every frame.

``decode_with`` decodes on a helper thread and hands each sample to the checks that read it (OCR, NudeNet)
as soon as it is decoded, so they work beside the decoder instead of after it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    # NudeNet's detections worked out beside the decoder, by (sample index, min_score); see nudity.detect_stream
    detections: dict[tuple[int, float], list[dict]] = field(default_factory=dict)
    thread_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of each thread of decode_with, by part


def _linear(c: np.ndarray) -> np.ndarray:
    """sRGB channel values (float32, 0..1) to linear light."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# The linear light of each of the 256 channel values, by the same float32 operations: looking a uint8 image up
# in it gives the computed values exactly (tests/compliance/test_frames_pipeline.py), without a power per pixel.
_LINEAR = _linear(np.arange(256, dtype=np.float32) / 255.0).astype(np.float32)


def _relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (0..1)."""
    lin = _LINEAR[rgb] if rgb.dtype == np.uint8 else _linear(rgb.astype(np.float32) / 255.0)
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


def _frame_luma(frame, lw: int, lh: int) -> np.ndarray:
    """Coarse relative luminance of a frame, read from its Y plane when it has one (no colour conversion)."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12")):
        plane = frame.planes[0]
        h, w = frame.height, frame.width
        y = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[:h, :w]
        sy, sx = max(1, h // lh), max(1, w // lw)
        # The mean of every other row and column of each cell (this runs on every frame of the clip): exact
        # integer sums over strided views, no gathered copy; within 3e-7 of the area resize it replaces.
        # The sums in 16 bits when a cell's sum fits (1080x1920: 11 x 11 x 255), else 32: the same integers, and
        # the narrower accumulator takes about 0.2 ms less a frame.
        count = ((sy + 1) // 2) * ((sx + 1) // 2)
        acc = np.uint16 if count * 255 <= np.iinfo(np.uint16).max else np.uint32
        rows = y[:lh * sy, :lw * sx].reshape(lh, sy, lw * sx)[:, ::2].sum(axis=1, dtype=acc)
        sums = rows.reshape(lh, lw, sx)[:, :, ::2].sum(axis=2, dtype=acc)
        y = (sums / float(count)).astype(np.float32)
        full = frame.format.name.startswith("yuvj") or getattr(frame, "color_range", 1) == 2
        yn = y / 255.0 if full else np.clip((y - 16.0) / 219.0, 0.0, 1.0)
        # Y' is gamma-encoded luma: the sRGB curve brings it close to relative luminance.
        return np.where(yn <= 0.04045, yn / 12.92, ((yn + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return _relative_luminance(frame.to_ndarray(width=lw, height=lh, format="rgb24"))


def decode(path: Path, *, sample_fps: float = 2.0, short_side: int = 540, diff_threshold: float = 2.0, luma: bool = True,
           extra_times: list[float] | None = None, min_short_side: int = 360,
           on_sample: Callable[[Decoded, Sample], None] | None = None, thread_type: str = "AUTO") -> Decoded:
    """Sample frames at ``sample_fps`` (plus ``extra_times``) scaled to ``short_side``, and every frame's coarse luminance.

    Frames larger than ``short_side`` are scaled down (OCR cost grows with pixels); small ones are scaled up
    to ``min_short_side`` so that text in a low-resolution preview is still large enough to read.
    ``on_sample`` is called with each sample as soon as it is decoded. ``thread_type`` is PyAV's: "AUTO"
    decodes on every core, "NONE" on the calling thread only (less CPU when other work shares the cores).
    """
    import av
    from av.video.reformatter import VideoReformatter

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = thread_type
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
        reformatter = VideoReformatter()
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
                # One reformatter for every sample: frame.to_ndarray(width=, height=, format=) makes a new scaler
                # (and its threads) per call, ~1 CPU-ms and 3-5 ms of this thread more; the same pixels.
                rgb = reformatter.reformat(frame, width=sw, height=sh, format="rgb24").to_ndarray()
                # Only frames that changed go to OCR: a still title card read 30 times tells nothing new.
                thumb = rgb[::8, ::8].astype(np.int16)
                changed = prev_small is None or float(np.abs(thumb - prev_small).mean()) > diff_threshold
                if changed:
                    prev_small, kept = thumb, rgb
                # An unchanged sample shares the pixels of the last changed one, whose OCR it reuses too:
                # memory grows with what changes, not with the length of the clip.
                out.samples.append(Sample(t=t, rgb=kept, changed=changed, index=len(out.samples)))
                if on_sample is not None:
                    on_sample(out, out.samples[-1])
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


_END = object()


def _drain(feed: queue.SimpleQueue) -> Iterator[tuple[Decoded, Sample]]:
    while (item := feed.get()) is not _END:
        yield item


def decode_with(path: Path, consumers: list[Callable[[Iterator[tuple[Decoded, Sample]]], Any]],
                **decode_kw: Any) -> tuple[Decoded | None, BaseException | None, list[tuple[Any, BaseException | None]]]:
    """Decode ``path`` on a helper thread while each consumer reads its samples as they come.

    Every consumer gets an iterator of (decoded-so-far, sample) in sample order; the first runs on the calling
    thread (its models, loaded per thread, stay loaded), the others on helper threads. Returns the Decoded (or
    None and the exception that stopped decoding) and each consumer's (result, exception); one consumer's
    failure stops neither the decoder nor the others.
    """
    feeds = [queue.SimpleQueue() for _ in consumers]
    out: dict[str, Any] = {}
    results: list[tuple[Any, BaseException | None]] = [(None, None)] * len(consumers)

    def push(dec: Decoded, sample: Sample) -> None:
        for feed in feeds:
            feed.put((dec, sample))

    def produce() -> None:
        cpu = time.thread_time()
        try:
            out["decoded"] = decode(path, on_sample=push, **decode_kw)
            out["decoded"].thread_cpu["decode"] = time.thread_time() - cpu
        except BaseException as exc:  # handed to the caller, which decides what a failed decode means
            out["error"] = exc
        finally:
            for feed in feeds:
                feed.put(_END)

    def consume(i: int) -> None:
        it = _drain(feeds[i])
        try:
            results[i] = (consumers[i](it), None)
        except Exception as exc:  # a failed consumer is recomputed (and fails) where its check asks for it
            results[i] = (None, exc)
        finally:
            for _ in it:  # let the decoder finish into a queue nobody reads any more
                pass

    threads = [threading.Thread(target=produce, name="decode", daemon=True)]
    threads += [threading.Thread(target=consume, args=(i,), name=f"decode-consumer-{i}", daemon=True) for i in range(1, len(consumers))]
    for th in threads:
        th.start()
    if consumers:
        consume(0)
    for th in threads:
        th.join()
    return out.get("decoded"), out.get("error"), results
