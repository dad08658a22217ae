"""NUD-1: exposed nudity on sampled frames with NudeNet (its 320n ONNX model ships in the wheel)."""

from __future__ import annotations

import threading

from compliance.context import Context, finding
from compliance.rules import Rule
from productreel.models import Finding


_LOCAL = threading.local()


def detector():
    """One NudeDetector per thread (the flow checks clips on worker threads)."""
    det = getattr(_LOCAL, "detector", None)
    if det is None:
        det = _LOCAL.detector = _new_detector()
    return det


def _new_detector():
    import os

    import nudenet
    import onnxruntime
    from nudenet import NudeDetector

    det = NudeDetector()
    # Same reason as OCR: one ORT thread per session; the flow checks clips in parallel.
    opts = onnxruntime.SessionOptions()
    from productreel.settings import get_settings

    opts.intra_op_num_threads = get_settings().ocr_threads
    opts.inter_op_num_threads = 1
    model = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
    if os.path.exists(model):
        det.onnx_session = onnxruntime.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    return det


def check_nudity(rule: Rule, ctx: Context) -> list[Finding]:
    """BLOCK on the exposed classes at score ≥ 0.5 on any changed sampled frame."""
    import cv2

    classes = set(rule.params.get("classes", []))
    min_score = float(rule.params.get("min_score", 0.5))
    dec = ctx.decoded
    out: list[Finding] = []
    for s in dec.samples:
        if not s.changed:
            continue
        # NudeNet takes a BGR array (it reads files with OpenCV).
        dets = detector().detect(cv2.cvtColor(s.rgb, cv2.COLOR_RGB2BGR))
        for d in dets:
            if d.get("class") in classes and float(d.get("score", 0)) >= min_score:
                x, y, w, h = (int(v / dec.scale) for v in d.get("box", [0, 0, 0, 0]))
                out.append(finding(rule, ctx, f"{d['class']} at {s.t:.1f} s (score {d['score']:.2f})", time=round(s.t, 2), box=[x, y, x + w, y + h], measured=round(float(d["score"]), 3), label=d["class"]))
                break
    return out
