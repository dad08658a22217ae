"""AUD-1: integrated loudness (ITU-R BS.1770 via pyloudnorm) and true peak against the destination's target."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compliance.context import Context, finding
from compliance.rules import Rule
from productreel.models import Finding


class AudioUnreadable(ValueError):
    """The audio stream is damaged."""


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
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
        except (av.error.FFmpegError, ValueError) as exc:
            raise AudioUnreadable(f"audio decoding stopped after {sum(c.shape[1] for c in chunks) / rate:.2f} s: {exc}") from exc
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if not chunks:
        return None
    data = np.concatenate(chunks, axis=1).T.astype(np.float64)
    return data, rate


def true_peak_dbtp(data: np.ndarray, max_windows: int = 256) -> float:
    """True peak in dBTP: the signal oversampled 4× (BS.1770 Annex 2) around its loudest samples.

    Inter-sample peaks exceed the sample peak by at most a few dB, so only windows around samples within
    6 dB of the sample peak can hold the true peak; oversampling just those keeps a 15 s clip cheap.
    """
    from scipy.signal import resample_poly

    mono_abs = np.max(np.abs(data), axis=1) if data.ndim == 2 else np.abs(data)
    if mono_abs.size == 0 or float(mono_abs.max()) <= 0:
        return -float("inf")
    peak = float(mono_abs.max())
    idx = np.flatnonzero(mono_abs >= peak * 0.5)
    if idx.size > max_windows:
        idx = idx[np.argsort(mono_abs[idx])[-max_windows:]]
    half = 16
    # All windows oversampled in one call: the filter is designed once, not once per window.
    chans = data if data.ndim == 2 else data[:, None]
    padded = np.pad(chans, ((half, half), (0, 0)))
    windows = np.stack([padded[i: i + 2 * half] for i in idx])  # [windows, 2*half, channels]
    # Only the middle of each window, around its candidate sample: the ends carry the filter's edge ringing.
    up = resample_poly(windows, 4, 1, axis=1)[:, 4 * half - 8: 4 * half + 8]
    best = max(peak, float(np.max(np.abs(up))) if up.size else peak)
    return 20 * np.log10(best)


def measure(path: Path) -> dict[str, float] | None:
    """Integrated loudness (LUFS) and true peak (dBTP) of the clip's audio; None without audio."""
    got = read_audio(path)
    return loudness(*got) if got is not None else None


def loudness(data: np.ndarray, rate: int) -> dict[str, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of float samples [N, channels]."""
    import pyloudnorm

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
    try:
        got = read_audio(ctx.path)
    except AudioUnreadable as exc:
        spec = ctx.book.get("SPEC-1")
        return [Finding(rule="SPEC-1", severity="BLOCK", message="unreadable: the audio cannot be decoded to the end",
                        evidence={"error": str(exc), "destination": ctx.destination}, source=spec.source if spec else "")]
    finally:
        ctx.timings["audio-decode"] = ctx.timings.get("audio-decode", 0.0) + time.perf_counter() - t
    if got is None:
        return []
    m = loudness(*got)
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
