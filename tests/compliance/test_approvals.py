"""BLOCK stops publishing; WARN needs an approval recorded in the ledger (who, when, why)."""

from __future__ import annotations

import pytest

from compliance.approvals import approvals_needed, gate, record_approval, require_publishable
from productreel.errors import ComplianceBlock, InputError
from productreel.ledger import Ledger
from productreel.models import ComplianceReport, Finding


def report(*sev):
    return ComplianceReport(clip="c.mp4", market="de", findings=[Finding(rule=f"R-{i}", severity=s, message="m") for i, s in enumerate(sev)])


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


def test_gate_states(ledger):
    assert gate(report("FIX", "INFO"), ledger, "k1") == "publish"
    assert gate(report("BLOCK", "WARN"), ledger, "k1") == "blocked"
    assert gate(report("WARN"), ledger, "k1") == "needs-approval"
    with pytest.raises(ComplianceBlock, match="needs approval for R-0"):
        require_publishable(report("WARN"), ledger, "k1")


def test_recorded_approval_lets_warned_clip_publish_and_names_rules(ledger):
    r = report("WARN", "FIX")
    record_approval(ledger, "k2", who="ana@example.com", why="claim backed by survey S-12", report=r)
    assert approvals_needed(r, ledger, "k2") == []
    assert gate(r, ledger, "k2") == "publish"
    rec = ledger.approval("k2")
    assert rec["who"] == "ana@example.com" and "R-0" in rec["why"] and rec["created_at"]
    require_publishable(r, ledger, "k2")


def test_approval_cannot_lift_a_block_and_needs_who_and_why(ledger):
    r = report("BLOCK", "WARN")
    record_approval(ledger, "k3", who="ana", why="ok", report=r)
    with pytest.raises(ComplianceBlock, match="blocked"):
        require_publishable(r, ledger, "k3")
    with pytest.raises(InputError):
        record_approval(ledger, "k3", who="", why="x")
    record_approval(ledger, "k4", who="ana", why="no", decision="rejected")
    assert gate(report("WARN"), ledger, "k4") == "rejected"
