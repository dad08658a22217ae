"""Tiny fixture clips for compliance tests: Pillow frames piped to ffmpeg (imageio-ffmpeg's binary)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def font(size: int, cjk: bool = False) -> ImageFont.FreeTypeFont:
    """A bundled system font (Noto CJK for Chinese/Japanese text, DejaVu otherwise)."""
    return ImageFont.truetype(CJK if cjk or not Path(LATIN).exists() else LATIN, size)


# A text element: (text, (x, y) in pixels, size px, fill, start s, end s, background box fill or None)
Text = tuple


def frame(width: int, height: int, t: float, texts: Sequence[Text], bg=(30, 40, 60)) -> Image.Image:
    """One frame with the texts visible at time ``t``."""
    img = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(img)
    for item in texts:
        text, (x, y), size, fill, start, end = item[:6]
        box = item[6] if len(item) > 6 else None
        if not (start <= t < end):
            continue
        f = font(size, cjk=any(ord(c) > 0x2E80 for c in text))
        if box is not None:
            x0, y0, x1, y1 = d.textbbox((x, y), text, font=f)
            d.rectangle((x0 - 6, y0 - 6, x1 + 6, y1 + 6), fill=box)
        d.text((x, y), text, font=f, fill=fill)
    return img


def make_clip(
    path: Path,
    *,
    width: int = 270,
    height: int = 480,
    fps: int = 10,
    duration: float = 2.0,
    texts: Sequence[Text] = (),
    frame_fn: Callable[[float], Image.Image] | None = None,
    audio_db: float | None = -14.0,
    extra_args: Sequence[str] = (),
) -> Path:
    """Write an H.264/yuv420p MP4 (+faststart) with the texts; a sine tone at about ``audio_db`` LUFS, or no audio."""
    from imageio_ffmpeg import get_ffmpeg_exe

    n = int(round(duration * fps))
    cmd = [get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
    if audio_db is not None:
        # A 1 kHz sine at amplitude a measures about 20·log10(a) - 0.7 + 3 LUFS (stereo); solve for the target.
        amp = 10 ** ((audio_db + 3.0 - 3.0) / 20)
        cmd += ["-f", "lavfi", "-i", f"aevalsrc={amp:.6f}*sin(2*PI*1000*t):s=48000:c=stereo:d={duration}"]
        cmd += ["-c:a", "aac", "-b:a", "128k", "-ar", "48000"]
    cmd += ["-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-movflags", "+faststart", "-shortest", *extra_args, str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    for i in range(n):
        t = i / fps
        img = frame_fn(t) if frame_fn else frame(width, height, t, texts)
        proc.stdin.write(np.asarray(img.convert("RGB"), dtype=np.uint8).tobytes())
    proc.stdin.close()
    err = proc.stderr.read().decode()
    if proc.wait() != 0:
        raise RuntimeError(err)
    return path
