"""Frames in and out of MP4 for generated shots: atomic writes, cover-crop and frame-rate conversion."""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from productreel.errors import RenderError


def to_uint8(frames) -> np.ndarray:
    """Pipeline output (float in [0, 1], or uint8) as a [N, H, W, 3] uint8 array."""
    array = np.asarray(frames)
    if array.ndim == 5:  # [batch, frames, H, W, C]: one video only
        array = array[0]
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise RenderError(f"generated frames have shape {array.shape}, expected [frames, height, width, 3]")
    return array


def write_mp4(frames: np.ndarray, fps: int, path: Path) -> Path:
    """Write [N, H, W, 3] uint8 frames as an H.264 MP4, atomically (temp name, then rename)."""
    import av

    frames = to_uint8(frames)
    # yuv420p needs even sides; drop the odd last row/column rather than stretch.
    height = frames.shape[1] - frames.shape[1] % 2
    width = frames.shape[2] - frames.shape[2] % 2
    if height < 2 or width < 2:
        raise RenderError(f"generated frames are too small to encode: {frames.shape[2]}x{frames.shape[1]}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(int(fps), 1))
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            # Near-lossless: these frames are re-encoded by the compose renderer later.
            stream.options = {"crf": "12", "preset": "veryfast"}
            for frame in frames:
                picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
                for packet in stream.encode(picture):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, RenderError):
            raise
        raise RenderError(f"could not write {path.name}: {exc}", where=str(path)) from exc
    return path


def read_frames(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a video as [N, H, W, 3] uint8, and its frame rate."""
    import av

    path = Path(path)
    if not path.is_file():
        raise RenderError(f"generated shot not found: {path}", where=str(path))
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 24)
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    except av.error.FFmpegError as exc:
        raise RenderError(f"cannot read generated shot {path.name}: {exc}", where=str(path)) from exc
    if not frames:
        raise RenderError(f"generated shot {path.name} has no frames", where=str(path))
    return np.stack(frames), rate


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover width x height keeping its aspect ratio, then crop the centre."""
    from PIL import Image

    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    resized = Image.fromarray(image).resize((new_w, new_h), Image.Resampling.LANCZOS)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)))


def source_indices(src_count: int, src_fps: float, out_count: int, out_fps: float) -> list[int]:
    """Which source frame shows at each output frame.

    A source at least as long as the scene is resampled in real time (frame-rate conversion,
    trimmed at the end); a shorter one is stretched evenly over the scene (slow motion), which
    reads better for a product shot than a freeze or a loop.
    """
    src_duration = src_count / src_fps
    out_duration = out_count / out_fps
    if src_duration + 1e-6 >= out_duration:
        return [min(src_count - 1, int(i * src_fps / out_fps + 1e-6)) for i in range(out_count)]
    return [min(src_count - 1, int(i * src_count / out_count)) for i in range(out_count)]


def fit_frames(video_path: Path, width: int, height: int, fps: int, duration: float) -> np.ndarray:
    """A generated shot's frames fitted to an output: [N, H, W, 3] uint8, cover-cropped, at ``fps``."""
    if width <= 0 or height <= 0 or fps <= 0 or duration <= 0:
        raise RenderError(f"cannot fit frames to {width}x{height} at {fps} fps for {duration} s")
    frames, src_fps = read_frames(video_path)
    count = max(1, round(duration * fps))
    picks = source_indices(len(frames), src_fps, count, fps)
    fitted: dict[int, np.ndarray] = {}
    out = np.empty((count, height, width, 3), dtype=np.uint8)
    for i, index in enumerate(picks):
        if index not in fitted:
            fitted[index] = cover(frames[index], width, height)
        out[i] = fitted[index]
    return out
