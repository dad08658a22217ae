"""A contact sheet of a clip: six frames spread over it in one JPEG beside the video, the whole ad at a glance."""

from __future__ import annotations

import io
from pathlib import Path

from productreel import atomic

FRAMES = 6
COLUMNS = 3


def sheet_path(clip: Path | str) -> Path:
    """Where a clip's contact sheet lives: ``<clip>.sheet.jpg`` beside it."""
    clip = Path(clip)
    return clip.with_name(f"{clip.stem}.sheet.jpg")


def frame_times(duration: float, n: int = FRAMES) -> list[float]:
    """``n`` times spread evenly over the clip, each in the middle of its share (never the black first frame)."""
    return [duration * (i + 0.5) / n for i in range(n)]


def contact_sheet(clip: Path | str, *, n: int = FRAMES, columns: int = COLUMNS, thumb_height: int = 240) -> Path | None:
    """Write (or reuse, when newer than the clip) the contact sheet of ``clip``; None when the clip cannot be read.

    One decoding pass with PyAV; the frames nearest to ``frame_times`` are scaled to ``thumb_height`` and laid
    out ``columns`` wide with their time in the corner.
    """
    import av
    from PIL import Image, ImageDraw

    clip = Path(clip)
    out = sheet_path(clip)
    try:
        if out.exists() and out.stat().st_mtime >= clip.stat().st_mtime:
            return out
    except OSError:
        return None
    picked: list[tuple[float, Image.Image]] = []
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = float(container.duration / 1_000_000) if container.duration else float(stream.duration * stream.time_base if stream.duration else 0)
            width, height = stream.codec_context.width, stream.codec_context.height
            tw = max(2, int(round(thumb_height * width / max(1, height))))
            todo = frame_times(duration, n) if duration > 0 else [0.0]
            tb = float(stream.time_base or 0) or 1 / 30
            for frame in container.decode(stream):
                t = float(frame.pts * tb) if frame.pts is not None else 0.0
                while todo and t + 1e-6 >= todo[0]:
                    picked.append((t, frame.to_image(width=tw, height=thumb_height)))
                    todo.pop(0)
                if not todo:
                    break
    except (av.error.FFmpegError, OSError, IndexError, ValueError):
        if not picked:
            return None
    if not picked:
        return None
    cols = min(columns, len(picked))
    rows = -(-len(picked) // cols)
    gap = 6
    tw, th = picked[0][1].size
    sheet = Image.new("RGB", (cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap), (28, 28, 30))
    draw = ImageDraw.Draw(sheet)
    for i, (t, img) in enumerate(picked):
        x, y = gap + (i % cols) * (tw + gap), gap + (i // cols) * (th + gap)
        sheet.paste(img, (x, y))
        label = f"{t:.1f} s"
        box = draw.textbbox((0, 0), label)
        draw.rectangle((x, y, x + box[2] + 8, y + box[3] + 6), fill=(0, 0, 0))
        draw.text((x + 4, y + 2), label, fill=(255, 255, 255))
    jpeg = io.BytesIO()
    sheet.save(jpeg, "JPEG", quality=82, optimize=True)
    try:
        atomic.write_bytes(out, jpeg.getvalue())
    except OSError:
        return None
    return out
