"""ACC-7: general flashes (WCAG 2.3.1) counted on the luminance track of every frame."""

from __future__ import annotations

import numpy as np

from compliance.context import Context, finding
from compliance.rules import Rule
from productreel.models import Finding


def _regions(luma: np.ndarray) -> list[np.ndarray]:
    """Mean luminance series of the whole frame and of its quadrants (each a quarter of the screen)."""
    n, h, w = luma.shape
    out = [luma.reshape(n, -1).mean(axis=1)]
    for ys in (slice(0, h // 2), slice(h // 2, h)):
        for xs in (slice(0, w // 2), slice(w // 2, w)):
            out.append(luma[:, ys, xs].reshape(n, -1).mean(axis=1))
    # The centre quarter too: a flashing product shot is rarely aligned to the quadrants.
    out.append(luma[:, h // 4: 3 * h // 4, w // 4: 3 * w // 4].reshape(n, -1).mean(axis=1))
    return out


def transitions(series: np.ndarray, times: np.ndarray, min_delta: float = 0.1, dark_limit: float = 0.8) -> list[float]:
    """Times of luminance swings of ≥ ``min_delta`` whose darker end is below ``dark_limit`` (alternating in direction)."""
    out: list[float] = []
    if series.size < 2:
        return out
    lo = hi = float(series[0])
    direction = 0  # +1 rising, -1 falling; ext is the extreme reached in that direction
    ext = lo
    for i in range(1, series.size):
        v = float(series[i])
        if direction == 0:
            lo, hi = min(lo, v), max(hi, v)
            if hi - v >= min_delta and v < dark_limit:
                out.append(float(times[i]))
                direction, ext = -1, v
            elif v - lo >= min_delta and lo < dark_limit:
                out.append(float(times[i]))
                direction, ext = 1, v
        elif direction > 0:
            if v > ext:
                ext = v
            elif ext - v >= min_delta and v < dark_limit:
                out.append(float(times[i]))
                direction, ext = -1, v
        else:
            if v < ext:
                ext = v
            elif v - ext >= min_delta and ext < dark_limit:
                out.append(float(times[i]))
                direction, ext = 1, v
    return out


def max_flashes_per_second(times_of_transitions: list[float]) -> tuple[float, float]:
    """The most flashes (pairs of opposite transitions) in any 1 s window, and when that window starts."""
    t = np.asarray(times_of_transitions)
    best, at = 0, 0.0
    for i in range(t.size):
        n = int(np.searchsorted(t, t[i] + 1.0 - 1e-9) - i)
        if n > best:
            best, at = n, float(t[i])
    return best / 2.0, at


def check_flashes(rule: Rule, ctx: Context) -> list[Finding]:
    """BLOCK when any 1 s window holds more than 3 general flashes in any quarter of the screen."""
    dec = ctx.decoded
    if dec.luma.shape[0] < 3:
        return []
    p = rule.params
    worst, at = 0.0, 0.0
    for series in _regions(dec.luma):
        tr = transitions(series, dec.luma_times, p.get("min_delta", 0.1), p.get("dark_limit", 0.8))
        n, t = max_flashes_per_second(tr)
        if n > worst:
            worst, at = n, t
    limit = float(p.get("max_per_second", 3))
    if worst > limit:
        return [finding(rule, ctx, f"{worst:g} flashes in one second (at {at:.2f} s), over {limit:g}", time=round(at, 2), measured=worst, expected=limit)]
    return []
