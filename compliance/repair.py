"""FIX findings the renderer can repair (contrast box, text size, safe-zone position, loudness): re-render, check again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compliance.engine import check_clip
from compliance.report import repair_hints
from productreel.models import ComplianceReport, RenderedClip

# A rerender returns the new clip, or the new clip and the storyboard it was made from
# (the checks read captions and overlays from the storyboard, so they must see the repaired one).
Rerender = Callable[[dict[str, Any]], "RenderedClip | tuple[RenderedClip, Any]"]


def check_with_repairs(
    clip: RenderedClip,
    market,
    *,
    rerender: Rerender | None,
    max_rounds: int = 2,
    repairable: frozenset[str] | set[str] | tuple[str, ...] | None = None,
    **check_kw: Any,
) -> tuple[RenderedClip, ComplianceReport, list[dict[str, Any]]]:
    """Check the clip; while it has repairable findings, call ``rerender(hints)`` and check the new clip.

    ``hints`` (see compliance.report.repair_hints) accumulate over rounds so a repair is never undone:
    ``contrast_box: True``, ``text_scale: 1.4``, ``safe_zone: {top, bottom, left, right}``,
    ``loudness: -14.0``, ``labels: [rule ids]``, ``recaption: True``. Returns the last clip, its report and
    the hints of each round. A BLOCK that no hint addresses ends the loop at once. ``repairable`` names
    the hints the caller's renderer acts on; others stay findings and never cost a render that would
    come out the same.
    """
    report = check_clip(clip, market, **check_kw)
    history: list[dict[str, Any]] = []
    applied: dict[str, Any] = {}
    for _ in range(max_rounds):
        hints = repair_hints(report)
        if repairable is not None:
            hints = {k: v for k, v in hints.items() if k in repairable}
        if rerender is None or not hints:
            break
        blocks_unfixable = [f for f in report.findings if f.severity == "BLOCK" and not f.evidence.get("fix")]
        if blocks_unfixable:
            break
        merged = _merge(applied, hints)
        if merged == applied:
            break  # the same repair again would give the same clip
        applied = merged
        history.append(dict(applied))
        made = rerender(dict(applied))
        if isinstance(made, tuple):
            clip, check_kw["storyboard"] = made
        else:
            clip = made
        report = check_clip(clip, market, **check_kw)
    return clip, report, history


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for k, v in new.items():
        if k == "text_scale":
            # Scale on top of the scale already applied: the text measured was rendered at the old scale.
            out[k] = round(min(3.0, old.get(k, 1.0) * v), 2) if k in old else v
        elif k == "labels":
            out[k] = sorted(set(old.get(k, [])) | set(v))
        else:
            out[k] = v
    return out
