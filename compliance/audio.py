"""AUD-1: integrated loudness (ITU-R BS.1770 via pyloudnorm) and true peak against the destination's target."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compliance.context import Context, finding
from compliance.rules import Rule
from productreel.models import Finding


def read_audio(path: Path) -> tuple[np.ndarray, int] | None:
    """The first audio stream as float32 samples [N, channels] and its rate; None when the clip has no audio."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or 48000
        resampler = av.AudioResampler(format="fltp", layout="stereo" if (stream.codec_context.channels or 1) > 1 else "mono", rate=rate)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if not chunks:
        return None
    data = np.concatenate(chunks, axis=1).T.astype(np.float64)
    return data, rate


def true_peak_dbtp(data: np.ndarray) -> float:
    """True peak in dBTP, estimated on the signal oversampled 4× (BS.1770 Annex 2)."""
    from scipy.signal import resample_poly

    up = resample_poly(data, 4, 1, axis=0)
    peak = float(np.max(np.abs(up))) if up.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else -float("inf")


def measure(path: Path) -> dict[str, float] | None:
    """Integrated loudness (LUFS) and true peak (dBTP) of the clip's audio; None without audio."""
    import pyloudnorm

    got = read_audio(path)
    if got is None:
        return None
    data, rate = got
    meter = pyloudnorm.Meter(rate)
    # pyloudnorm needs at least one 400 ms gating block.
    if data.shape[0] < int(0.4 * rate):
        data = np.concatenate([data, np.zeros((int(0.4 * rate) - data.shape[0], data.shape[1]))])
    lufs = float(meter.integrated_loudness(data))
    return {"lufs": lufs, "true_peak_dbtp": true_peak_dbtp(data), "duration": data.shape[0] / rate}


def check_loudness(rule: Rule, ctx: Context) -> list[Finding]:
    """FIX when the integrated loudness is off the target by more than the tolerance or the true peak is too high."""
    if ctx.info is None or ctx.info.get("audio_codec") is None:
        return []
    import time

    t = time.perf_counter()
    m = measure(ctx.path)
    ctx.timings["audio-decode"] = time.perf_counter() - t
    if m is None:
        return []
    prof = ctx.book.profile(ctx.destination)
    target = float(prof.get("loudness_lufs", -14.0))
    if ctx.storyboard is not None and ctx.destination not in ("broadcast-eu", "broadcast-us"):
        target = float(ctx.storyboard.loudness_target)
    tol = float(rule.params.get("tolerance_lu", 2.0))
    max_tp = float(prof.get("true_peak_dbtp", -1.0))
    out: list[Finding] = []
    lufs = m["lufs"]
    if lufs == -float("inf") or lufs < rule.params.get("silence_lufs", -70):
        out.append(finding(rule, ctx, "audio track is silent", measured="silence", expected=target, fix="loudness"))
    elif abs(lufs - target) > tol:
        word = "quiet" if lufs < target else "loud"
        out.append(finding(rule, ctx, f"too {word}: {lufs:.1f} LUFS, target {target:g} ±{tol:g}", measured=round(lufs, 2), expected=target, fix="loudness"))
    if m["true_peak_dbtp"] > max_tp + 0.05:
        out.append(finding(rule, ctx, f"true peak {m['true_peak_dbtp']:.1f} dBTP over {max_tp:g} dBTP", measured=round(m["true_peak_dbtp"], 2), expected=max_tp, fix="loudness"))
    return out
