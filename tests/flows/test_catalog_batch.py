"""End to end through the catalog-batch flow on a copy of the sample catalog, tiny clips."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from productreel.ledger import Ledger

pytestmark = pytest.mark.slow


def _copy_samples(samples_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "samples"
    shutil.copytree(samples_dir, target, ignore=shutil.ignore_patterns("*.py"))
    return target / "catalog.csv"


def _first_handles(catalog: Path, n: int) -> list[str]:
    with catalog.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    key = "Handle" if "Handle" in rows[0] else "URL handle"
    handles: list[str] = []
    for row in rows:
        if row[key] not in handles:
            handles.append(row[key])
    return handles[:n]


def _change_price(catalog: Path, handle: str) -> None:
    with catalog.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = list(reader)
    key = "Handle" if "Handle" in fields else "URL handle"
    price_col = "Variant Price" if "Variant Price" in fields else "Price"
    for row in rows:
        if row[key] == handle and row[price_col]:
            row[price_col] = f"{float(row[price_col]) + 1:.2f}"
    with catalog.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _probe(path: str) -> dict:
    from productreel.media import probe

    return probe(path)


def test_batch_renders_then_skips_then_rerenders_only_the_changed_product(prefect_harness, samples_dir, tmp_path):
    from flows.catalog_batch import catalog_batch

    catalog = _copy_samples(samples_dir, tmp_path)
    out = tmp_path / "out"
    params = dict(catalog=str(catalog), markets=["us", "jp"], kinds=["ad"], out=str(out), limit=2, profile="tiny")

    first = catalog_batch(**params)
    rendered = [j for j in first["jobs"] if j["status"] == "rendered"]
    assert len(rendered) == 4, first["jobs"]
    for job in rendered:
        streams = {s["codec_type"]: s for s in _probe(job["clip"])["streams"]}
        assert streams["video"]["codec_name"] == "h264"
        assert streams["audio"]["codec_name"] == "aac"
        assert Path(job["srt"]).exists() and Path(job["vtt"]).exists() and Path(job["poster"]).exists()
        assert job["publish"] in {"published", "replaced"}
    assert (out / "index.html").exists()
    assert json.loads((out / "summary.json").read_text())["counts"]["rendered"] == 4

    second = catalog_batch(**params)
    assert second["counts"] == {"skipped": 4}

    changed = _first_handles(catalog, 1)[0]
    _change_price(catalog, changed)
    third = catalog_batch(**params)
    statuses = {(j["handle"], j["market"]): j["status"] for j in third["jobs"]}
    assert {h for (h, _), s in statuses.items() if s == "rendered"} == {changed}
    assert sum(1 for s in statuses.values() if s == "skipped") == 2

    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    assert len(ledger.all_jobs()) == 4
    assert len({r.job_key for r in ledger.all_receipts("folder")}) == 6  # 4 first clips + 2 re-rendered


def test_a_product_with_a_missing_image_fails_alone(prefect_harness, samples_dir, tmp_path):
    from flows.catalog_batch import catalog_batch

    catalog = _copy_samples(samples_dir, tmp_path)
    broken = _first_handles(catalog, 1)[0]
    with catalog.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = list(reader)
    for row in rows:
        if row["Handle"] == broken and row["Image Src"]:
            row["Image Src"] = "images/does-not-exist.jpg"
    with catalog.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    summary = catalog_batch(catalog=str(catalog), markets=["us"], kinds=["ad"], out=str(tmp_path / "out"),
                            limit=3, profile="tiny")
    failed = [j for j in summary["jobs"] if j["status"] == "failed"]
    assert [j["handle"] for j in failed] == [broken]
    assert "does-not-exist.jpg" in failed[0]["error"] and failed[0]["source"]
    assert any(j["status"] == "rendered" for j in summary["jobs"])


def test_a_warning_holds_the_clip_until_a_person_approves_it(prefect_harness, samples_dir, tmp_path):
    from typer.testing import CliRunner

    from flows.catalog_batch import catalog_batch
    from flows.cli import app

    catalog = _copy_samples(samples_dir, tmp_path)
    out = tmp_path / "out"
    summary = catalog_batch(catalog=str(catalog), markets=["de"], kinds=["ad"], out=str(out), profile="tiny")
    held = [j for j in summary["jobs"] if j["needs_approval"]]
    assert held, "the sample catalog has products without German copy: their clips must wait"
    for job in held:
        assert any(f["severity"] == "WARN" for f in job["findings"])
        assert job["publish"].startswith("awaiting approval")
        assert not (out / "published" / "de" / job["handle"]).exists()
    runner = CliRunner()
    result = runner.invoke(app, ["approve", "--out", str(out), "--who", "ana", "--why", "English copy is fine here"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["publish", "--out", str(out), "--to", "folder"])
    assert result.exit_code == 0, result.output
    for job in held:
        assert (out / "published" / "de" / job["handle"] / "ad-9x16.mp4").exists()
