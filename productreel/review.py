"""The static review page of a run: a player and poster per clip, its findings and captions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from productreel.atomic import write_text
from productreel.settings import ROOT


def _relative(path: str, base: Path) -> str:
    if not path:
        return ""
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8") if path else ""
    except OSError:
        return ""


def _grouped(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings of one rule and severity folded into one line with a count, most severe first."""
    order = {"BLOCK": 0, "WARN": 1, "FIX": 2, "INFO": 3}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        key = (f.get("severity", ""), f.get("rule", ""))
        if key not in groups:
            groups[key] = {**f, "count": 0}
        groups[key]["count"] += 1
    return sorted(groups.values(), key=lambda g: (order.get(g["severity"], 9), g["rule"]))


ORIGIN_LABELS = {"catalog": "catalog", "source": "catalog (same language)", "glossary": "glossary",
                 "machine": "machine", "fallback": "fallback (untranslated)"}


def _origins(strings: list[dict[str, Any]]) -> str:
    """The copy's origins in one line: "3 machine (opus-mt-en-de), 2 glossary, 1 fallback (untranslated)"."""
    counts: dict[str, int] = {}
    models: dict[str, set[str]] = {}
    for s in strings:
        origin = s.get("origin", "")
        counts[origin] = counts.get(origin, 0) + 1
        if s.get("model"):
            models.setdefault(origin, set()).add(str(s["model"]))
    parts = []
    for origin in ("machine", "fallback", "glossary", "catalog", "source"):
        if origin in counts:
            named = f" ({', '.join(sorted(models[origin]))})" if origin in models else ""
            parts.append(f"{counts[origin]} {ORIGIN_LABELS[origin]}{named}")
    return ", ".join(parts)


def _sheet(clip: str) -> str:
    """The clip's six-frame contact sheet (made once beside it), or "" when there is no readable clip."""
    if not clip or not Path(clip).is_file():
        return ""
    from productreel.contact_sheet import contact_sheet

    sheet = contact_sheet(clip)
    return str(sheet) if sheet else ""


def write_review_page(summary: dict[str, Any], target: Path) -> Path:
    """Render templates/review.html.j2 for a run summary into ``target`` (every value HTML-escaped)."""
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    base = target.parent
    jobs = []
    for row in summary["jobs"]:
        jobs.append(
            {
                **row,
                "clip_rel": _relative(row.get("clip", ""), base),
                "poster_rel": _relative(row.get("poster", ""), base),
                "sheet_rel": _relative(_sheet(row.get("clip", "")), base),
                "vtt_rel": _relative(row.get("vtt", ""), base),
                "log_rel": _relative(row.get("log", ""), base),
                "captions": _read(row.get("srt", "")),
                "grouped": _grouped(row.get("findings") or []),
                "origins": _origins(row.get("strings") or []),
            }
        )
    html = env.get_template("review.html.j2").render(summary=summary, jobs=jobs)
    return write_text(target, html)
