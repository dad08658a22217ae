"""`productreel check VIDEO --market M [--destination D] [--script FILE] [--json]`: the logic behind the command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from productreel.errors import InputError
from productreel.models import ComplianceReport, Finding, Market

EXIT_OK = 0
EXIT_BAD_ARGS = 2


def _market(code: str) -> Market:
    from localization.markets import get_market

    return get_market(code)


def cli_check(
    video: str | Path,
    market: str | Market,
    *,
    destination: str = "folder",
    script: str | Path | None = None,
    as_json: bool = False,
    rules: Path | None = None,
    echo=print,
    err=None,
) -> tuple[ComplianceReport | None, int]:
    """Check any MP4 and print the result (JSON with ``as_json``); exit 0 when the checks ran, 2 on bad arguments."""
    from compliance.engine import check_clip
    from compliance.report import report_to_json
    from compliance.rules import load_rules

    if err is None:
        err = echo if echo is not print else (lambda m: print(m, file=sys.stderr))

    try:
        m = market if isinstance(market, Market) else _market(market)
        book = load_rules(extra=[Path(rules)]) if rules else load_rules()
    except InputError as exc:
        err(f"error: {exc}")
        return None, EXIT_BAD_ARGS
    known = set(book.destinations) - {"defaults"} | {"folder", "amazon"}
    from compliance.rules import DESTINATION_ALIASES

    if destination not in known and destination not in DESTINATION_ALIASES:
        err(f"error: unknown destination {destination!r}; known: {', '.join(sorted(known))}")
        return None, EXIT_BAD_ARGS
    if not Path(video).exists():
        err(f"error: no such file: {video}")
        return None, EXIT_BAD_ARGS
    script_text = ""
    if script:
        try:
            script_text = Path(script).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            err(f"error: cannot read script {script}: {exc}")
            return None, EXIT_BAD_ARGS
    # One clip checked on its own: OCR and NudeNet may use every core (PRODUCTREEL_OCR_THREADS, when set, wins;
    # the flow, which checks clips in parallel, keeps its one thread per session).
    from compliance.ocr import one_clip_threads

    with one_clip_threads(min(4, os.cpu_count() or 1)):
        report = check_clip(Path(video), m, destination=destination, script_text=script_text, rules=book)
    if as_json:
        echo(json.dumps(report_to_json(report), ensure_ascii=False, indent=2, default=str))
    else:
        echo(format_text(report))
    return report, EXIT_OK


def format_text(report: ComplianceReport) -> str:
    """A human summary: one line per finding, the worst first, then PASSED/BLOCKED."""
    from compliance.report import report_to_json

    data = report_to_json(report)
    lines = [f"{data['clip']}  market {data['market']}  destination {data['destination']}"]
    for f in data["findings"]:
        lines.append(f"  {f['severity']:<5} {f['rule']:<9} {f['message']}{_where(f['evidence'])}")
    c = data["counts"]
    verdict = "PASSED" if data["passed"] else "BLOCKED"
    lines.append(f"{verdict}: {c['BLOCK']} block, {c['FIX']} fix, {c['WARN']} warn, {c['INFO']} info")
    return "\n".join(lines)


def _where(ev: dict[str, Any]) -> str:
    t = ev.get("time")
    if t is None:
        return ""
    if isinstance(t, list):
        return f"  @ {t[0]}–{t[1]} s"
    return f"  @ {t} s"


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as the CLI's JSON prints it."""
    return {"rule": f.rule, "severity": f.severity, "message": f.message, "evidence": f.evidence}
