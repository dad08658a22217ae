"""Several destinations in one command: one render, published to each in order."""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.slow


def test_run_publishes_to_folder_and_merchant_center_in_one_command(prefect_harness, sample_catalog, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "run", "--catalog", str(sample_catalog), "--markets", "us", "--kinds", "ad", "--limit", "1",
        "--out", str(out), "--publish", "folder,merchant-center", "-o", "base_url=https://videos.example.com/clips"])
    assert result.exit_code == 0, result.output
    jobs = [j for j in json.loads((out / "summary.json").read_text())["jobs"] if j["kind"]]
    passed = [j for j in jobs if j["verdict"] == "publish"]
    assert passed, jobs
    feed = out / "published" / "merchant-center" / "us" / "videos.tsv"
    rows = list(csv.DictReader(feed.open(encoding="utf-8"), delimiter="\t"))
    for job in passed:
        assert job["publish"] == "folder: published, merchant-center: published", job["publish"]
        assert (out / "published" / "us" / job["handle"] / "ad-9x16.mp4").is_file()
    links = " ".join(" ".join(row.values()) for row in rows)
    assert all(f"https://videos.example.com/clips/us/{j['handle']}/ad-9x16.mp4" in links for j in passed), rows
