"""The review page's contact sheet: six frames of a clip, one JPEG beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from productreel.contact_sheet import contact_sheet, frame_times, sheet_path
from productreel.review import write_review_page


def _clip(path: Path, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (90, 160)) -> Path:
    """A clip whose frame colour says its time: red rises over the clip."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        n = int(seconds * fps)
        for i in range(n):
            arr = np.zeros((h, w, 3), np.uint8)
            arr[..., 0] = int(255 * i / (n - 1))
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_six_frames_spread_over_the_clip(tmp_path):
    clip = _clip(tmp_path / "a.mp4")
    sheet = contact_sheet(clip, thumb_height=80)
    assert sheet == sheet_path(clip) and sheet.name == "a.sheet.jpg"
    img = np.asarray(Image.open(sheet).convert("RGB"))
    gap, tw, th = 6, 45, 80
    assert img.shape == (2 * th + 3 * gap, 3 * tw + 4 * gap, 3)
    reds = [int(img[gap + (i // 3) * (th + gap) + th // 2, gap + (i % 3) * (tw + gap) + tw // 2, 0]) for i in range(6)]
    assert reds == sorted(reds) and reds[0] < 60 and reds[-1] > 190, reds
    assert frame_times(3.0) == [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]


def test_a_sheet_is_made_once_and_an_unreadable_clip_has_none(tmp_path):
    clip = _clip(tmp_path / "a.mp4")
    first = contact_sheet(clip)
    stamp = first.stat().st_mtime_ns
    assert contact_sheet(clip).stat().st_mtime_ns == stamp
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    assert contact_sheet(bad) is None


def test_the_review_page_shows_the_sheet_beside_the_player(tmp_path):
    clip = _clip(tmp_path / "clips" / "a.mp4") if (tmp_path / "clips").mkdir() is None else None
    row = {"handle": "mug", "market": "de", "kind": "ad", "format": "9:16", "status": "rendered", "clip": str(clip),
           "poster": "", "srt": "", "vtt": "", "publish": "", "error": "", "source": "", "findings": []}
    html = write_review_page({"out": str(tmp_path), "seconds": 1.0, "counts": {"rendered": 1}, "jobs": [row]}, tmp_path / "index.html").read_text()
    assert 'src="clips/a.sheet.jpg"' in html and html.index("<video") < html.index("a.sheet.jpg")
    assert (tmp_path / "clips" / "a.sheet.jpg").is_file()
