"""Reports: the JSON shape for the CLI and the review page, and the hints a re-render repairs FIX findings with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from productreel import atomic
from productreel.models import ComplianceReport

SEVERITY_ORDER = {"BLOCK": 0, "FIX": 1, "WARN": 2, "INFO": 3}


def report_to_json(report: ComplianceReport) -> dict[str, Any]:
    """``{"clip", "market", "destination", "passed", "counts", "findings": [{rule, severity, message, evidence, source}]}``."""
    findings = sorted(report.findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.rule))
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in SEVERITY_ORDER}
    return {
        "clip": report.clip,
        "market": report.market,
        "destination": report.destination,
        "passed": report.passed,
        "counts": counts,
        "findings": [
            {"rule": f.rule, "severity": f.severity, "message": f.message, "evidence": f.evidence, "source": f.source}
            for f in findings
        ],
    }


def report_path(video: Path) -> Path:
    """Where a clip's report lives: ``<video stem>.compliance.json`` beside it."""
    video = Path(video)
    return video.with_name(video.stem + ".compliance.json")


def write_report(report: ComplianceReport, path: Path) -> Path:
    """Write the report JSON atomically (temp name, then rename)."""
    return atomic.write_json(path, report_to_json(report), default=str)


def repair_hints(report: ComplianceReport) -> dict[str, Any]:
    """What a re-render can repair, from the FIX (and fixable) findings: contrast box, text size, safe zone, loudness."""
    hints: dict[str, Any] = {}
    for f in report.findings:
        fix = f.evidence.get("fix")
        if not fix or f.severity == "INFO":
            continue
        if fix == "contrast_box":
            hints["contrast_box"] = True
        elif fix == "text_size":
            need = f.evidence.get("expected") or 0
            got = f.evidence.get("measured") or 0
            scale = (float(need) / float(got)) if got else 1.5
            hints["text_scale"] = round(max(hints.get("text_scale", 1.0), min(3.0, scale * 1.1)), 2)
        elif fix == "safe_zone":
            hints.setdefault("safe_zone", f.evidence.get("zone"))
        elif fix == "loudness":
            hints["loudness"] = f.evidence.get("expected")
        elif fix == "label":
            hints.setdefault("labels", []).append(f.rule)
        elif fix == "captions":
            hints["recaption"] = True
        elif fix == "layout":
            # A re-layout: the rule ids with what was measured (LAYOUT-1 text over the product, -2 overlapping
            # text, -3 product too small, -4 empty band); the renderer decides how to move and scale.
            hints.setdefault("layout", {})[f.rule] = {k: f.evidence[k] for k in ("measured", "expected", "time", "box") if k in f.evidence}
    return hints
