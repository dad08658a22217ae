"""`productreel publish`: the thin CLI over publish_run, with its summary table."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app


def make_run(out, clip_files):
    out.mkdir(parents=True)
    jobs = [
        {"handle": "mug", "market": "us", "kind": "ad", "format": "9:16", "status": "rendered", "job_key": "k1",
         "verdict": "publish", "clip": str(clip_files["video"]), "srt": str(clip_files["srt"]), "vtt": "", "poster": "", "duration": 1.0},
        {"handle": "mug", "market": "de", "kind": "ad", "format": "9:16", "status": "blocked", "job_key": "k2",
         "verdict": "blocked", "clip": str(clip_files["video"])},
    ]
    (out / "summary.json").write_text(json.dumps({"jobs": jobs}))


def test_publish_folder_then_unchanged(tmp_path, clip_files, monkeypatch):
    monkeypatch.delenv("PRODUCTREEL_LEDGER_URL", raising=False)
    out = tmp_path / "run"
    make_run(out, clip_files)
    first = CliRunner().invoke(app, ["publish", "--out", str(out), "--to", "folder"])
    assert first.exit_code == 0, first.output
    assert "published" in first.output and "blocked by compliance" in first.output
    assert (out / "published" / "us" / "mug" / "ad-9x16.mp4").is_file()
    second = CliRunner().invoke(app, ["publish", "--out", str(out), "--to", "folder"])
    assert second.exit_code == 0 and "1 unchanged" in second.output


def test_publish_failure_exits_1_with_the_reason(tmp_path, clip_files, monkeypatch):
    monkeypatch.delenv("SHOPIFY_STORE_URL", raising=False)
    monkeypatch.delenv("PRODUCTREEL_LEDGER_URL", raising=False)
    out = tmp_path / "run"
    make_run(out, clip_files)
    result = CliRunner().invoke(app, ["publish", "--out", str(out), "--to", "shopify"])
    assert result.exit_code == 1 and "SHOPIFY_STORE_URL" in result.output


def test_dry_run_changes_nothing(tmp_path, clip_files, monkeypatch):
    monkeypatch.delenv("PRODUCTREEL_LEDGER_URL", raising=False)
    out = tmp_path / "run"
    make_run(out, clip_files)
    result = CliRunner().invoke(app, ["publish", "--out", str(out), "--to", "folder", "--dry-run"])
    assert result.exit_code == 0 and "dry-run" in result.output
    assert not (out / "published").exists()
