"""The `productreel` command's own behaviour: exit codes, tables, approvals, the tiny model writer."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app
from productreel.ledger import Ledger
from productreel.models import Finding, JobOutcome, JobStatus

runner = CliRunner()


def test_missing_catalog_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["run", "--catalog", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "catalog file not found" in result.output and "Traceback" not in result.output


def test_diffusion_backend_without_a_model_is_refused(tmp_path, sample_catalog, monkeypatch):
    monkeypatch.delenv("PRODUCTREEL_MODEL", raising=False)
    result = runner.invoke(app, ["run", "--catalog", str(sample_catalog), "--backend", "diffusion"])
    assert result.exit_code == 2
    assert "needs --model" in result.output


def test_markets_lists_all_fifteen(tmp_path):
    result = runner.invoke(app, ["markets"])
    assert result.exit_code == 0
    for code in ("us", "ca", "gb", "de", "fr", "es", "it", "nl", "br", "mx", "jp", "cn", "kr", "sa", "in"):
        assert f" {code} " in result.output


def _run_with_a_warning(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    warn = Finding(rule="L10N-UNTRANSLATED", severity="WARN", message="untranslated copy for market de: title")
    outcomes = [
        JobOutcome(handle="mug", market="de", kind="ad", format="9:16", job_key="k1", status=JobStatus.RENDERED,
                   clip="mug.mp4", findings=[warn], verdict="needs-approval"),
        JobOutcome(handle="cup", market="de", kind="ad", format="9:16", job_key="k2", status=JobStatus.RENDERED,
                   clip="cup.mp4", verdict="publish"),
    ]
    for outcome in outcomes:
        ledger.record_outcome(outcome)
    rows = [o.model_dump(mode="json") for o in outcomes]
    (out / "summary.json").write_text(json.dumps({"jobs": rows}), encoding="utf-8")
    return out, ledger


def test_approve_records_who_and_why_for_clips_awaiting_approval_only(tmp_path):
    out, ledger = _run_with_a_warning(tmp_path)
    result = runner.invoke(app, ["approve", "--out", str(out), "--who", "ana", "--why", "brand name stays English"])
    assert result.exit_code == 0, result.output
    decision = ledger.approval("k1")
    assert decision["decision"] == "approved" and decision["who"] == "ana"
    assert decision["why"] == "brand name stays English [L10N-UNTRANSLATED]"  # the ledger says what was approved
    assert ledger.approval("k2") is None  # nothing to approve there


def test_reject_a_named_job(tmp_path):
    out, ledger = _run_with_a_warning(tmp_path)
    result = runner.invoke(app, ["approve", "--out", str(out), "mug/de/ad/9:16", "--who", "ben", "--why", "wrong color", "--reject"])
    assert result.exit_code == 0, result.output
    assert ledger.approval("k1")["decision"] == "rejected"


def test_approve_without_a_run_exits_2(tmp_path):
    result = runner.invoke(app, ["approve", "--out", str(tmp_path), "--who", "a", "--why", "b"])
    assert result.exit_code == 2


def test_models_tiny_writes_a_loadable_pipeline_folder(tmp_path):
    result = runner.invoke(app, ["models", "tiny", str(tmp_path / "tiny-ltx"), "--family", "ltx"])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "tiny-ltx" / "model_index.json").read_text())
    assert index["_class_name"].startswith("LTX")
    assert runner.invoke(app, ["models", "tiny", str(tmp_path / "x"), "--family", "sora"]).exit_code == 2


def test_summary_says_what_to_do_about_clips_waiting_for_approval():
    from flows.cli import _next_steps

    untranslated = {"rule": "L10N-UNTRANSLATED", "severity": "WARN",
                    "message": "untranslated copy for market de: title (no machine-translation model configured)"}
    jobs = [{"publish": "awaiting approval (L10N-UNTRANSLATED)", "needs_approval": True, "findings": [untranslated]},
            {"publish": "published", "needs_approval": False, "findings": []}]
    lines = _next_steps({"out": "out/demo", "jobs": jobs})
    assert lines[0].startswith("1 clip(s) wait for approval") and "productreel approve --out out/demo" in lines[0]
    assert "PRODUCTREEL_MT_MODEL" in lines[1]
    assert _next_steps({"out": "out/demo", "jobs": jobs[1:]}) == []


def test_summary_names_the_pull_that_translates_waiting_copy():
    from flows.cli import _next_steps

    def waiting(code: str, *findings: dict) -> dict:
        return {"market": code, "needs_approval": True, "publish": "awaiting approval", "findings": list(findings)}

    hint = "no machine-translation model for en->{0} in the local model cache: run `productreel models pull mt --markets {1}`"
    untranslated = [{"rule": "L10N-UNTRANSLATED", "severity": "WARN", "evidence": {"market": code},
                     "message": f"untranslated copy for market {code}: title ({hint.format(lang, code)})"}
                    for code, lang in (("jp", "ja"), ("de", "de"))]
    lines = _next_steps({"out": "out", "jobs": [waiting("jp", untranslated[0]), waiting("de", untranslated[1])]})
    assert "`productreel models pull mt --markets de,jp`" in lines[1]
    machine = {"rule": "L10N-MT", "severity": "WARN", "message": "machine-translated copy for market de (...)"}
    lines = _next_steps({"out": "out", "jobs": [waiting("de", machine)]})
    assert len(lines) == 2 and "machine-translated" in lines[1] and "machine_translation_needs_approval" in lines[1]
    waived = dict(machine, severity="INFO")
    assert _next_steps({"out": "out", "jobs": [{"needs_approval": False, "findings": [waived]}]}) == []


def test_product_changed_renders_one_product_then_finds_it_unchanged(tmp_path, sample_catalog):
    args = ["product-changed", "ceramic-mug", "--catalog", str(sample_catalog), "--markets", "us", "--kinds", "ad",
            "--profile", "tiny", "--out", str(tmp_path / "out")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 rendered" in first.output and "ceramic-mug" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 rendered, 1 unchanged" in again.output


def test_product_changed_for_an_unknown_product_is_one_line(tmp_path, sample_catalog):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "flows.cli", "product-changed", "no-such-product", "--catalog", str(sample_catalog),
                          "--markets", "us", "--profile", "tiny", "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert res.returncode == 2
    assert "'no-such-product' is not in the catalog" in " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr + res.stdout


def test_styles_are_listed_and_an_unknown_one_is_one_line(tmp_path, sample_catalog):
    listed = runner.invoke(app, ["styles"])
    assert listed.exit_code == 0
    for name in ("studio", "sale", "minimal", "social"):
        assert f" {name} " in listed.output
    bad = runner.invoke(app, ["run", "--catalog", str(sample_catalog), "--style", "neon", "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "unknown style 'neon'" in bad.output and "Traceback" not in bad.output
    assert runner.invoke(app, ["demo", "--formats", "3:2", "--out", str(tmp_path / "d")]).exit_code == 2
