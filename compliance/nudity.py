"""NUD-1: exposed nudity on sampled frames with NudeNet (its 320n ONNX model ships in the wheel)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from compliance.context import Context, finding
from compliance.frames import Decoded, Sample
from compliance.rules import Rule
from productreel.models import Finding


_DETECTORS: dict[int, object] = {}
_LOCK = threading.Lock()


def detector():
    """One NudeDetector per process and ONNX Runtime thread count, shared by threads: its calls keep no state
    (ONNX Runtime sessions run concurrently), and the thread beside the decoder uses the one loaded before."""
    from compliance.ocr import session_threads

    n = session_threads()
    det = _DETECTORS.get(n)
    if det is None:
        with _LOCK:
            det = _DETECTORS.get(n)
            if det is None:
                det = _DETECTORS[n] = _new_detector()
    return det


def _new_detector():
    import os

    import nudenet
    import onnxruntime
    from nudenet import NudeDetector

    det = NudeDetector()
    # Same reason as OCR: one ORT thread per session; the flow checks clips in parallel.
    opts = onnxruntime.SessionOptions()
    from compliance.ocr import session_threads

    opts.intra_op_num_threads = session_threads()
    opts.inter_op_num_threads = 1
    model = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
    if os.path.exists(model):
        det.onnx_session = onnxruntime.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    return det


def _detect(det, bgr, min_score: float) -> list[dict]:
    """NudeNet's detections, or none without running its per-row Python post-processing when no candidate
    scores ``min_score``: a detection's score is its row's best class score, so none could be a finding."""
    try:
        from nudenet.nudenet import _postprocess, _read_image
    except ImportError:  # another nudenet layout: its own call
        return det.detect(bgr)
    if not all(hasattr(det, a) for a in ("onnx_session", "input_name", "input_width", "input_height")):
        return det.detect(bgr)  # a stand-in detector
    blob, x_ratio, y_ratio, x_pad, y_pad, width, height = _read_image(bgr, det.input_width)
    outputs = det.onnx_session.run(None, {det.input_name: blob})
    raw = np.squeeze(outputs[0])  # [4 + classes, candidates]
    if raw.ndim == 2 and raw.shape[0] > 4 and float(raw[4:].max(initial=0.0)) < min_score:
        return []
    return _postprocess(outputs, x_pad, y_pad, x_ratio, y_ratio, width, height, det.input_width, det.input_height)


def _bgr(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # NudeNet takes a BGR array (it reads files with OpenCV)


def detect_stream(samples: Iterable[tuple[Decoded, Sample]], min_scores: list[float]) -> dict[tuple[int, float], list[dict]]:
    """NudeNet's detections on every changed sample as the decoder hands it over (frames.decode_with), by
    (sample index, min_score): what check_nudity would work out for each of the rules' minimum scores."""
    import time

    out: dict[tuple[int, float], list[dict]] = {}
    cpu, dec = time.thread_time(), None
    for dec, s in samples:
        if s.changed:
            bgr = _bgr(s.rgb)
            for m in min_scores:
                out[(s.index, m)] = _detect(detector(), bgr, m)
    if dec is not None:
        dec.thread_cpu["nudity"] = dec.thread_cpu.get("nudity", 0.0) + time.thread_time() - cpu
    return out


def check_nudity(rule: Rule, ctx: Context) -> list[Finding]:
    """BLOCK on the exposed classes at score ≥ 0.5 on any changed sampled frame."""
    classes = set(rule.params.get("classes", []))
    min_score = float(rule.params.get("min_score", 0.5))
    dec = ctx.decoded
    out: list[Finding] = []
    for s in dec.samples:
        if not s.changed:
            continue
        dets = dec.detections.get((s.index, min_score))
        if dets is None:  # not worked out beside the decoder
            dets = _detect(detector(), _bgr(s.rgb), min_score)
        for d in dets:
            if d.get("class") in classes and float(d.get("score", 0)) >= min_score:
                x, y, w, h = (int(v / dec.scale) for v in d.get("box", [0, 0, 0, 0]))
                out.append(finding(rule, ctx, f"{d['class']} at {s.t:.1f} s (score {d['score']:.2f})", time=round(s.t, 2), box=[x, y, x + w, y + h], measured=round(float(d["score"]), 3), label=d["class"]))
                break
    return out
