"""Gates on a report: BLOCK stops publishing; WARN needs an approval in the ledger (who, when, why)."""

from __future__ import annotations

from typing import Literal

from productreel.errors import ComplianceBlock
from productreel.models import ComplianceReport, Finding

Gate = Literal["publish", "needs-approval", "rejected", "blocked"]


def warnings(report: ComplianceReport) -> list[Finding]:
    """The WARN findings a person must approve before the clip is published."""
    return [f for f in report.findings if f.severity == "WARN"]


def approvals_needed(report: ComplianceReport, ledger, job_key: str) -> list[Finding]:
    """WARN findings still waiting for a person: empty when there are none or the job is approved."""
    pending = warnings(report)
    if not pending:
        return []
    rec = ledger.approval(job_key)
    if rec and rec.get("decision") == "approved":
        return []
    return pending


def gate(report: ComplianceReport, ledger, job_key: str) -> Gate:
    """What may happen to the clip now: publish, wait for approval, or never (blocked / rejected)."""
    if not report.passed:
        return "blocked"
    rec = ledger.approval(job_key) if ledger is not None else None
    if rec and rec.get("decision") == "rejected":
        return "rejected"
    if warnings(report) and not (rec and rec.get("decision") == "approved"):
        return "needs-approval"
    return "publish"


def require_publishable(report: ComplianceReport, ledger, job_key: str, *, product: str | None = None) -> None:
    """Raise ComplianceBlock unless the clip may be published now (a BLOCK, a rejection or a missing approval)."""
    state = gate(report, ledger, job_key)
    if state == "publish":
        return
    if state == "blocked":
        blocks = [f for f in report.findings if f.severity == "BLOCK"]
        msg = "; ".join(f"{f.rule}: {f.message}" for f in blocks[:3])
        raise ComplianceBlock(f"blocked by {len(blocks)} finding(s): {msg}", product=product, market=report.market, where=report.clip)
    if state == "rejected":
        raise ComplianceBlock("rejected by a reviewer", product=product, market=report.market, where=report.clip)
    rules = sorted({f.rule for f in warnings(report)})
    raise ComplianceBlock(f"needs approval for {', '.join(rules)}", product=product, market=report.market, where=report.clip)


def record_approval(ledger, job_key: str, *, who: str, why: str, report: ComplianceReport | None = None, decision: str = "approved") -> None:
    """Record a person's decision on a clip's warnings (the rule ids go into ``why`` so the ledger says what was approved)."""
    if not who.strip() or not why.strip():
        from productreel.errors import InputError

        raise InputError("an approval needs who and why", where="approval")
    if decision not in ("approved", "rejected"):
        from productreel.errors import InputError

        raise InputError(f"decision must be approved or rejected, not {decision!r}", where="approval")
    rules = sorted({f.rule for f in warnings(report)}) if report is not None else []
    text = f"{why} [{', '.join(rules)}]" if rules else why
    ledger.record_approval(job_key, decision, who=who, why=text)
