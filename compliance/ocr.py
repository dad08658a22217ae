"""On-screen text read back from the sampled frames with RapidOCR (its models ship in the wheel)."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from compliance.frames import Decoded, Sample


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


DET_LONG_SIDE = 640
MAX_LINE_SHARE = 0.3  # of the short side


_LOCAL = threading.local()


def engine():
    """One RapidOCR engine per thread (the flow checks clips on worker threads; loading costs ~1 s)."""
    eng = getattr(_LOCAL, "engine", None)
    if eng is None:
        eng = _LOCAL.engine = _new_engine()
    return eng


_THREADS: int | None = None  # ONNX Runtime threads for sessions made now (see one_clip_threads)


def session_threads() -> int:
    """ONNX Runtime threads per OCR/NudeNet session: a one-clip check's override, else Settings().ocr_threads."""
    from productreel.settings import get_settings

    return _THREADS or get_settings().ocr_threads


@contextlib.contextmanager
def one_clip_threads(n: int):
    """Let sessions made inside the block use ``n`` threads, unless PRODUCTREEL_OCR_THREADS was set explicitly.

    `productreel check` on one clip may use every core; a flow checks clips in
    parallel and keeps one thread per session.
    """
    from productreel.settings import get_settings

    global _THREADS
    old = _THREADS
    if "ocr_threads" not in get_settings().model_fields_set:
        _THREADS = n
    try:
        yield
    finally:
        _THREADS = old


def _new_engine():
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    # The classifier only matters for upside-down text, which a product clip never shows; skipping it saves time.
    # Detection runs on the frame scaled to 640 px on its long side (the default upscales to 736 on the short
    # side, 3× the work); recognition still reads the crops from the 540 px sample.
    # One ONNX Runtime thread: clips are checked in parallel by the flow's workers, and ORT's spinning thread
    # pool loses more than it gains when cores are shared (measured: 0.29 s vs 0.43 s a frame under load).
    threads = session_threads()
    eng = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False,
                           "Det.limit_side_len": DET_LONG_SIDE, "Det.limit_type": "max",
                           "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                           "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    # rapidocr 3 opens its detector and recogniser on first use (~0.3 s): open them here, with the engine, so a
    # check does not pay it in the middle of its first clip (and bench/check.py's model load counts it).
    for load in ("_load_det_model", "_load_rec_model"):
        if callable(getattr(eng, load, None)):
            getattr(eng, load)()
    return eng


def read_frame(rgb: np.ndarray, scale: float = 1.0, min_score: float = 0.5) -> list[OcrItem]:
    """Text lines on one RGB frame; boxes mapped back to original pixels by ``1/scale``."""
    res = engine()(np.ascontiguousarray(rgb[..., ::-1]))  # RapidOCR takes arrays as OpenCV BGR
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


def channel_mean(rgb: np.ndarray) -> np.ndarray:
    """The mean of the three channels as float32: ``rgb.mean(axis=2, dtype=np.float32)`` to the bit (sums of
    three uint8 are exact in float32), without NumPy's slow reduction over an axis three long."""
    out = rgb[..., 0].astype(np.float32)
    out += rgb[..., 1]
    out += rgb[..., 2]
    out /= 3
    return out


def _iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _same_pixels(a: np.ndarray, b: np.ndarray, box: tuple, pbox: tuple, limit: float) -> bool:
    """True when two boxes of one line differ by jitter only and two grey frames hold the same pixels where they
    overlap: the mean absolute
    difference of every column strip (half the box high) stays under ``limit``.

    The detector's box reaches past the glyphs by about a third of its height on every side (its unclip
    margin), where a moving background shows; the overlap is compared less a sixth of its height on each
    side, which keeps every glyph and leaves most of that margin out.
    """
    h, w = a.shape
    if max(abs(box[i] - pbox[i]) for i in range(4)) > max(2.0, (box[3] - box[1]) / 6):
        return False  # more than jitter: a line grown or cut by a glyph is read again
    x0, y0 = max(box[0], pbox[0]), max(box[1], pbox[1])
    x1, y1 = min(box[2], pbox[2]), min(box[3], pbox[3])
    m = (y1 - y0) / 6
    x0, y0, x1, y1 = max(0, int(x0 + m)), max(0, int(y0 + m)), min(w, int(round(x1 - m))), min(h, int(round(y1 - m)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    cols = np.abs(a[y0:y1, x0:x1] - b[y0:y1, x0:x1]).mean(axis=0)
    strip = max(2, (y1 - y0) // 2)
    return max(float(cols[i:i + strip].mean()) for i in range(0, len(cols), strip)) < limit


class _DetInput:
    """RapidOCR's text detector fed from the RGB sample without its BGR copy and float64 arithmetic.

    TextDetector turns a BGR frame into its input by a resize and ``(float32(v) * (1/255) - mean) / std`` per
    channel in float64, then float32. Here the RGB sample is resized (the resize works channel by channel, so
    it is the BGR resize with the channels turned) and each uint8 value is looked up in a 256-entry table per
    channel made by those same operations: the same tensor to the bit (tests/compliance/test_ocr_reuse.py),
    without a full-size copy and two float64 passes per sample. The session, the box post-processing and the
    sort are the detector's own.
    """

    def __init__(self, det, pre, table: np.ndarray) -> None:
        self.det = det
        self.pre = pre  # the detector's DetPreProcess (it makes a new one per call, from the same settings)
        self.tables = [np.ascontiguousarray(table[:, c]) for c in range(3)]  # 256 float32 values per BGR channel

    @classmethod
    def of(cls, det) -> _DetInput | None:
        """For a rapidocr TextDetector of the layout this was written against; None for another (its own call)."""
        try:
            pre = det.get_preprocess()
            values = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]  # 1 x 256 x 3, BGR
            table = pre.normalize(values)[0].astype(np.float32)
            if not (callable(pre.resize) and callable(det.session) and callable(det.postprocess_op) and callable(det.sorted_boxes)):
                return None
        except (AttributeError, TypeError, ValueError):
            return None
        return cls(det, pre, table)

    def tensor(self, rgb: np.ndarray) -> np.ndarray | None:
        """The detector's input for an RGB frame (1 x 3 x H x W float32, channels in BGR order), or None when the
        frame scales to nothing."""
        import cv2

        small = self.pre.resize(rgb)
        if small is None:
            return None
        planes = cv2.split(small)  # R, G, B; BGR channel c is RGB channel 2 - c
        return np.stack([cv2.LUT(planes[2 - c], self.tables[c]) for c in range(3)])[None]

    def detect(self, rgb: np.ndarray):
        """What ``TextDetector.__call__`` returns for the BGR copy of ``rgb`` (its ``img`` left out: unused here)."""
        from rapidocr.ch_ppocr_det.utils import TextDetOutput

        x = self.tensor(rgb)
        if x is None:
            return TextDetOutput()
        boxes, scores = self.det.postprocess_op(self.det.session(x), rgb.shape[:2])
        if len(boxes) < 1:
            return TextDetOutput()
        return TextDetOutput(None, self.det.sorted_boxes(boxes), scores)


class _Reader:
    """Detection on every changed sample, recognition only for text boxes whose pixels changed since the last sample.

    Overlays stay put while the background zooms or pans, so most boxes of a sample were read one sample ago.
    Uses RapidOCR's detector and recogniser directly; falls back to a plain call if those internals change.
    """

    def __init__(self, min_score: float = 0.5, max_diff: float = 6.0, strip_diff: float = 3.0) -> None:
        self.eng = engine()
        self.min_score = min_score
        self.max_diff = max_diff
        self.strip_diff = strip_diff
        self.prev: list[tuple[tuple, np.ndarray, str, float]] = []
        self.prev_gray: np.ndarray | None = None
        try:
            from rapidocr.utils.process_img import get_rotate_crop_image

            self.det = self.eng._load_det_model()
            self.crop = get_rotate_crop_image
            self.rec = self.eng.recognize_txt
        except (AttributeError, ImportError):  # another rapidocr layout: whole-frame calls
            self.det = None
        self.det_input = _DetInput.of(self.det) if self.det is not None else None

    def __call__(self, rgb: np.ndarray, scale: float) -> list[OcrItem]:
        if self.det is None:
            return read_frame(rgb, scale, self.min_score)
        return self.read(*self.detect(rgb), scale)

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, object, np.ndarray]:
        """The detector's boxes on one RGB sample, with the RGB and grey pixels that ``read`` needs.

        Keeps no state: read_stream runs it on a thread of its own, a sample ahead of ``read``.
        """
        if self.det_input is None:  # RapidOCR's own call takes arrays as OpenCV BGR
            return rgb, self.det(np.ascontiguousarray(rgb[..., ::-1])), channel_mean(rgb)
        return rgb, self.det_input.detect(rgb), channel_mean(rgb)

    def read(self, rgb: np.ndarray, res, gray: np.ndarray, scale: float) -> list[OcrItem]:
        """Recognise the detected boxes of one RGB sample, reusing unchanged lines of the last."""
        prev_gray, self.prev_gray = self.prev_gray, gray
        if res is None or res.boxes is None or len(res.boxes) == 0:
            self.prev = []
            return []
        entries: list[tuple[tuple, np.ndarray, str | None, float]] = []
        todo: list[int] = []
        for box in res.boxes:
            pts = np.asarray(box, dtype=np.float32)
            aligned = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
            crop = self.crop(rgb, pts.copy())
            text, score = None, 0.0
            for pbox, pcrop, ptext, pscore in self.prev:
                if _iou(aligned, pbox) <= 0.8:
                    continue
                if pcrop.shape == crop.shape and float(np.abs(pcrop.astype(np.int16) - crop).mean()) < self.max_diff:
                    text, score = ptext, pscore
                    break
                # The detector's box jitters by a pixel while the text stands still: then the frame's pixels
                # under both boxes are what is compared, column strip by strip, so one changed glyph re-reads.
                if prev_gray is not None and _same_pixels(prev_gray, gray, aligned, pbox, self.strip_diff):
                    text, score = ptext, pscore
                    break
            if text is None:
                todo.append(len(entries))
            entries.append((aligned, crop, text, score))
        if todo:
            # RapidOCR's recogniser reads OpenCV BGR: each crop's channels turned (a crop of the RGB frame turned is
            # the crop of its BGR copy to the bit: the warp works channel by channel).
            rec = self.rec([np.ascontiguousarray(entries[i][1][..., ::-1]) for i in todo])
            for i, txt, sc in zip(todo, rec.txts or (), rec.scores or ()):
                entries[i] = (entries[i][0], entries[i][1], str(txt), float(sc))
        self.prev = [e for e in entries if e[2] is not None]
        items = []
        tallest = MAX_LINE_SHARE * min(rgb.shape[:2])
        for (x0, y0, x1, y1), _crop, text, score in sorted(entries, key=lambda e: (e[0][1], e[0][0])):
            if text is None or score < self.min_score or not text.strip():
                continue
            if y1 - y0 > tallest:
                continue  # a "line" a third of the screen high is a shape read as a glyph (a square as 回), not text
            items.append(OcrItem(text, score, (int(x0 / scale), int(y0 / scale), int(round(x1 / scale)), int(round(y1 / scale)))))
        return items


def read_clip(decoded: Decoded) -> list[OcrFrame]:
    """OCR of every sampled frame; unchanged frames reuse the last reading, unchanged text boxes their text."""
    return read_stream((decoded, s) for s in decoded.samples)


def read_stream(samples: Iterable[tuple[Decoded, Sample]]) -> list[OcrFrame]:
    """``read_clip`` over samples as the decoder hands them over (frames.decode_with), in sample order.

    Detection runs on a helper thread a sample ahead of recognition (the two ONNX Runtime sessions overlap on
    two cores); recognition reuses the last sample's lines, so it stays in order on this thread.
    """
    frames: list[OcrFrame] = []
    last: list[OcrItem] = []
    reader = _Reader()
    if reader.det is None:  # another rapidocr layout: whole-frame calls on this thread
        for decoded, s in samples:
            if s.changed or not frames:
                last = reader(s.rgb, decoded.scale)
            frames.append(OcrFrame(t=s.t, items=list(last), index=s.index))
        return frames
    detected: queue.SimpleQueue = queue.SimpleQueue()
    failed: list[BaseException] = []

    def detect() -> None:
        cpu, decoded = time.thread_time(), None
        try:
            for n, (decoded, s) in enumerate(samples):
                detected.put((decoded, s, reader.detect(s.rgb) if (s.changed or n == 0) else None))
        except BaseException as exc:  # raised again on the reading thread
            failed.append(exc)
        finally:
            if decoded is not None:
                decoded.thread_cpu["ocr detect"] = decoded.thread_cpu.get("ocr detect", 0.0) + time.thread_time() - cpu
            detected.put(None)

    worker = threading.Thread(target=detect, name="ocr-detect", daemon=True)
    worker.start()
    cpu, decoded = time.thread_time(), None
    try:
        while (item := detected.get()) is not None:
            decoded, s, found = item
            if found is not None:
                last = reader.read(*found, decoded.scale)
            frames.append(OcrFrame(t=s.t, items=list(last), index=s.index))
    finally:
        if decoded is not None:
            decoded.thread_cpu["ocr recognise"] = decoded.thread_cpu.get("ocr recognise", 0.0) + time.thread_time() - cpu
        worker.join()
    if failed:
        raise failed[0]
    return frames
