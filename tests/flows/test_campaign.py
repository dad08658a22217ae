"""The campaign flow: its approval form, decisions recorded in the ledger, and a local run answered from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.campaign import CampaignApproval, ClipDecision, apply_decisions, approval_form, select_products
from productreel.ledger import Ledger
from productreel.models import Finding, JobOutcome, JobStatus, Product


def _result(handle: str, verdict: str = "publish", status: str = "rendered") -> JobOutcome:
    return JobOutcome(handle=handle, market="us", kind="ad", format="9:16", status=JobStatus(status),
                      job_key=f"key-{handle}", verdict=verdict,
                      findings=[Finding(severity="WARN", rule="ACC-2", message="contrast 4.2:1")])


def test_select_products_by_tag():
    products = [Product(id="1", handle="mug", title="Mug", tags=["Summer", "coffee"]),
                Product(id="2", handle="cap", title="Cap", tags=["winter"])]
    assert [p.handle for p in select_products(products, "summer")] == ["mug"]
    assert len(select_products(products, "")) == 2


def test_approval_form_offers_passing_clips_and_shows_findings(tmp_path):
    waiting = _result("hat", verdict="needs-approval")
    results = [_result("mug"), _result("cap", verdict="blocked", status="blocked"), waiting]
    form = approval_form(results, tmp_path / "index.html")
    assert [d.clip for d in form().clips] == ["mug/us/ad/9:16", "hat/us/ad/9:16"]
    description = form._description
    assert "index.html" in description and "ACC-2" in description and "cap/us/ad/9:16` blocked" in description
    assert "hat/us/ad/9:16` needs approval" in description


def test_decisions_go_to_the_ledger_and_silence_is_a_rejection(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    waiting = _result("hat", verdict="needs-approval")
    results = [_result("mug"), _result("cap"), waiting, _result("bag", verdict="blocked", status="blocked")]
    approval = CampaignApproval(reviewer="ann", comment="summer copy only", clips=[
        ClipDecision(clip="mug/us/ad/9:16", approve=True),
        ClipDecision(clip="cap/us/ad/9:16", approve=False, comment="logo too small"),
    ])
    decided, approved = apply_decisions(results, approval, ledger)
    rejected = [r for r in decided if r.verdict == "rejected"]
    assert [r.handle for r in approved] == ["mug"] and [r.handle for r in rejected] == ["cap", "hat"]
    assert [r.handle for r in decided] == ["mug", "cap", "hat", "bag"] and not any(r.passed for r in rejected)
    assert ledger.approval("key-mug")["decision"] == "approved"
    assert ledger.approval("key-cap")["why"] == "logo too small" and ledger.approval("key-cap")["who"] == "ann"
    assert ledger.approval("key-hat")["why"] == "summer copy only"
    assert ledger.approval("key-bag") is None
    assert rejected[0].publish == "rejected: logo too small"


@pytest.mark.slow
def test_cli_campaign_runs_locally_and_publishes_the_approved_clips(prefect_harness, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path / "campaign"
    result = CliRunner().invoke(app, ["campaign", "--tag", "coffee", "--markets", "us", "--kinds", "ad",
                                      "--formats", "9:16", "--profile", "tiny", "--out", str(out), "--yes", "--local"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    jobs = [j for j in summary["jobs"] if j["kind"]]
    assert {j["handle"] for j in jobs} == {"ceramic-mug", "pour-over-coffee-set"}
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    for job in jobs:
        if job["status"] == "rendered":
            assert job["publish"] == "published"
            assert ledger.approval(job["job_key"])["decision"] == "approved"
            assert Path(out / "published" / "us" / job["handle"] / "ad-9x16.mp4").is_file()
