"""Frames in and out of MP4 for generated shots: atomic writes, cover-crop and frame-rate conversion."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 [H, W, 3] (even sides) as planar YUV 4:2:0, BT.601 limited range: [H * 3 / 2, W].

    Integer arithmetic on purpose: float and SIMD paths round differently with memory alignment,
    and one seed must give one file run after run (the shot cache and reviews rely on it).
    """
    x = rgb.astype(np.int32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    height, width = r.shape
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16

    def quad(plane: np.ndarray) -> np.ndarray:  # the sum of each 2x2 block
        return plane.reshape(height // 2, 2, width // 2, 2).sum(axis=(1, 3))

    rs, gs, bs = quad(r), quad(g), quad(b)
    u = ((-38 * rs - 74 * gs + 112 * bs + 512) >> 10) + 128
    v = ((112 * rs - 94 * gs - 18 * bs + 512) >> 10) + 128
    flat = np.concatenate([y.ravel(), u.ravel(), v.ravel()])
    return np.clip(flat, 0, 255).astype(np.uint8).reshape(height * 3 // 2, width)


def yuv420p_to_rgb(yuv: np.ndarray, height: int, width: int) -> np.ndarray:
    """Planar YUV 4:2:0 (BT.601 limited range) [H * 3 / 2, W] as RGB uint8 [H, W, 3], in integers."""
    flat = yuv.reshape(-1).astype(np.int32)
    c = flat[: height * width].reshape(height, width) - 16
    quarter = (height // 2) * (width // 2)
    d = flat[height * width : height * width + quarter].reshape(height // 2, width // 2) - 128
    e = flat[height * width + quarter : height * width + 2 * quarter].reshape(height // 2, width // 2) - 128
    d = d.repeat(2, axis=0).repeat(2, axis=1)
    e = e.repeat(2, axis=0).repeat(2, axis=1)
    rgb = np.stack(
        [(298 * c + 409 * e + 128) >> 8, (298 * c - 100 * d - 208 * e + 128) >> 8, (298 * c + 516 * d + 128) >> 8],
        axis=-1,
    )
    return np.clip(rgb, 0, 255).astype(np.uint8)


def ffmpeg_exe() -> str:
    """The FFmpeg binary: imageio-ffmpeg's bundled one, else the system's."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        exe = shutil.which("ffmpeg")
        if not exe:
            raise RenderError("FFmpeg not found: install it (deploy/system-deps.sh) or `pip install imageio-ffmpeg`")
        return exe


def write_mp4(frames: np.ndarray, fps: int, path: Path) -> Path:
    """Write [N, H, W, 3] uint8 frames as an H.264 MP4, atomically (temp name, then rename).

    FFmpeg runs in its own process on YUV converted here in integers: inside a process that has
    run torch, in-process x264 and swscale gave slightly different files for the same frames,
    and one seed must give one file (the shot cache and reviews rely on it).
    """
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
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", str(int(fps)), "-i", "pipe:0",
        # Near-lossless: the compose renderer decodes and re-encodes these frames.
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p",
        "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-color_range", "tv",
        "-an", "-f", "mp4", tmp,
    ]
    raw = b"".join(rgb_to_yuv420p(frame[:height, :width]).tobytes() for frame in frames)
    try:
        done = subprocess.run(command, input=raw, capture_output=True, timeout=600)
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
            raise RenderError(f"could not write {path.name}: FFmpeg: {lines[-1]}", where=str(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _rgb(frame) -> np.ndarray:
    # Our own files are even-sided yuv420p: convert exactly; anything else goes through swscale.
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return yuv420p_to_rgb(frame.to_ndarray(), frame.height, frame.width)
    return frame.to_ndarray(format="rgb24")


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
            frames = [_rgb(frame) for frame in container.decode(stream)]
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
