"""catalog-batch under faults (a bad image) and scaled out (Dask LocalCluster); product-changed from a webhook callback."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from productreel.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def _catalog(tmp_path: Path, good: list[str], broken: list[str]) -> Path:
    """A Shopify CSV with some sample products, the images of ``broken`` ones replaced by bytes that are no image."""
    with open(SAMPLES / "catalog.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = [r for r in reader if r["Handle"] in {*good, *broken}]
    (tmp_path / "images").mkdir(parents=True, exist_ok=True)
    for row in rows:
        if not row["Image Src"]:
            continue
        target = tmp_path / row["Image Src"]
        if row["Handle"] in broken:
            target.write_bytes(b"this is not a JPEG, the upload was cut short")
        else:
            shutil.copy(SAMPLES / row["Image Src"], target)
    path = tmp_path / "catalog.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _artifact(flow_run_id, key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])))
    return found[0]


@pytest.mark.slow
def test_a_bad_image_is_listed_and_does_not_fail_the_batch(prefect_harness, tmp_path, monkeypatch):
    from flows.catalog_batch import catalog_batch

    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    catalog = _catalog(tmp_path / "catalog", good=["pour-over-coffee-set"], broken=["chef-knife"])
    out = tmp_path / "out"
    state = catalog_batch(catalog=str(catalog), markets=["us"], kinds=["ad"], profile="tiny", out=str(out),
                          return_state=True)

    assert state.is_completed(), state.message
    summary = json.loads((out / "summary.json").read_text())
    by_handle = {j["handle"]: j for j in summary["jobs"]}
    assert by_handle["pour-over-coffee-set"]["status"] != "failed"
    assert by_handle["chef-knife"]["status"] == "failed" and by_handle["chef-knife"]["error"]
    review = _artifact(state.state_details.flow_run_id, "catalog-batch-review")
    assert "Failed jobs" in review.data and "chef-knife" in review.data
    table = _artifact(state.state_details.flow_run_id, "catalog-batch-summary")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {(r["handle"], r["status"]) for r in rows} >= {("chef-knife", "failed")}


def test_the_batch_fails_only_when_every_job_failed(prefect_harness, tmp_path, monkeypatch):
    from flows.catalog_batch import catalog_batch

    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    catalog = _catalog(tmp_path / "catalog", good=[], broken=["chef-knife", "pour-over-coffee-set"])
    state = catalog_batch(catalog=str(catalog), markets=["us"], kinds=["ad"], profile="tiny",
                          out=str(tmp_path / "out"), return_state=True)
    assert state.is_failed()
    assert "every job failed (2)" in state.message or "every job failed (2)" in str(state.result(raise_on_failure=False))


@pytest.mark.slow
def test_dask_local_cluster_runs_the_batch(prefect_harness, tmp_path):
    from flows.catalog_batch import catalog_batch

    out = tmp_path / "out"
    summary = catalog_batch(limit=1, markets=["us", "de"], kinds=["ad"], profile="tiny", out=str(out),
                            task_runner="dask")
    jobs = [j for j in summary["jobs"] if j["kind"]]
    assert len(jobs) == 2 and all(j["status"] in {"rendered", "blocked"} for j in jobs), summary
    assert all(Path(j["clip"]).is_file() for j in jobs)
    rows = Ledger(f"sqlite:///{out / 'ledger.sqlite'}").all_jobs()
    assert sorted(r["market"] for r in rows) == ["de", "us"]


@pytest.mark.slow
def test_a_signed_webhook_runs_product_changed_for_that_product_only(prefect_harness, tmp_path):
    from starlette.testclient import TestClient

    from flows.product_changed import make_on_product
    from publishers.webhooks import create_app, sign

    out = tmp_path / "out"
    on_product = make_on_product(markets=["us"], kinds=["ad"], out=str(out), profile="tiny")
    app = create_app(on_product, db_url=f"sqlite:///{tmp_path / 'webhooks.sqlite'}", secret="s3cret")
    body = json.dumps({"id": "ceramic-mug", "updated_at": "2026-06-01T10:00:00Z"}).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign(body, "s3cret"), "X-Shopify-Topic": "products/update",
               "X-Shopify-Webhook-Id": "wh-1", "X-Shopify-Shop-Domain": "demo.myshopify.com"}
    with TestClient(app) as client:
        assert client.post("/webhooks/shopify", content=body, headers=headers).json()["status"] == "accepted"
        assert client.post("/webhooks/shopify", content=body, headers=headers).json()["status"] != "accepted"
    app.state.executor.shutdown(wait=True)  # the receiver hands on in its own threads

    summary = json.loads((out / "summary.json").read_text())
    assert {j["handle"] for j in summary["jobs"]} == {"ceramic-mug"}
    assert [r["job_id"] for r in Ledger(f"sqlite:///{out / 'ledger.sqlite'}").all_jobs()] == ["ceramic-mug/us/ad/9:16"]
