"""A run's outputs from its job outcomes: <out>/summary.json and the review page <out>/index.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from productreel.atomic import write_json
from productreel.models import JobOutcome, JobStatus

ORDER = {JobStatus.FAILED: 0, JobStatus.BLOCKED: 1, JobStatus.RENDERED: 2, JobStatus.SKIPPED: 3}


def summary(out_dir: Path, outcomes: list[JobOutcome], seconds: float, notes: list[str] | None = None) -> dict[str, Any]:
    """The summary of a run: counts per status, one row per outcome (failures first), and notes (what was not planned)."""
    ordered = sorted(outcomes, key=lambda o: (ORDER.get(o.status, 9), o.handle, o.market, o.kind, o.format))
    counts: dict[str, int] = {}
    for outcome in ordered:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return {"out": str(out_dir), "seconds": round(seconds, 1), "counts": counts,
            "jobs": [o.model_dump(mode="json") for o in ordered], "notes": list(notes or [])}


def write_outputs(out_dir: Path, outcomes: list[JobOutcome], seconds: float, notes: list[str] | None = None) -> dict[str, Any]:
    """Write <out>/summary.json and <out>/index.html atomically; return the summary."""
    from productreel.review import write_review_page

    data = summary(out_dir, outcomes, seconds, notes)
    write_json(out_dir / "summary.json", data, default=str)
    write_review_page(data, out_dir / "index.html")
    return data


def read_outcomes(out_dir: Path) -> list[JobOutcome]:
    """The outcomes of a finished run, read back from its summary.json as they were written."""
    data = json.loads((Path(out_dir) / "summary.json").read_text(encoding="utf-8"))
    return [JobOutcome.model_validate(row) for row in data.get("jobs") or []]
