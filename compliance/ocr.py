"""On-screen text read back from the sampled frames with RapidOCR (its models ship in the wheel)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from compliance.frames import Decoded


@dataclass
class OcrItem:
    """One line of text read on a frame, with its box in original-frame pixels (x0, y0, x1, y1)."""

    text: str
    score: float
    box: tuple[int, int, int, int]

    @property
    def height(self) -> int:
        """Box height in original pixels."""
        return self.box[3] - self.box[1]


@dataclass
class OcrFrame:
    """All text read on one sampled frame."""

    t: float
    items: list[OcrItem] = field(default_factory=list)
    index: int = 0

    @property
    def text(self) -> str:
        """The frame's lines joined top to bottom."""
        return " ".join(i.text for i in sorted(self.items, key=lambda i: (i.box[1], i.box[0])))


@lru_cache(maxsize=1)
def engine():
    """One RapidOCR engine per process (loading the ONNX models costs ~1 s)."""
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    # The classifier only matters for upside-down text, which a product clip never shows; skipping it saves time.
    return RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False})


def read_frame(rgb: np.ndarray, scale: float = 1.0, min_score: float = 0.5) -> list[OcrItem]:
    """Text lines on one RGB frame; boxes mapped back to original pixels by ``1/scale``."""
    res = engine()(rgb)
    items: list[OcrItem] = []
    if res is None or res.txts is None:
        return items
    for txt, score, box in zip(res.txts, res.scores, res.boxes):
        if score < min_score or not str(txt).strip():
            continue
        pts = np.asarray(box, dtype=np.float32) / scale
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        items.append(OcrItem(str(txt), float(score), (int(x0), int(y0), int(round(x1)), int(round(y1)))))
    return items


def read_clip(decoded: Decoded) -> list[OcrFrame]:
    """OCR of every sampled frame; unchanged frames reuse the last reading instead of running OCR again."""
    frames: list[OcrFrame] = []
    last: list[OcrItem] = []
    for s in decoded.samples:
        if s.changed or not frames:
            last = read_frame(s.rgb, decoded.scale)
        frames.append(OcrFrame(t=s.t, items=list(last), index=s.index))
    return frames
