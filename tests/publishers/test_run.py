"""publish_run: publishing a finished run from its summary.json and ledger."""

from __future__ import annotations

import json

import pytest

from productreel.errors import InputError
from productreel.ledger import Ledger

import publishers


@pytest.fixture
def finished_run(tmp_path, clip_files):
    """An output folder with a summary.json of four jobs and a catalog problem, and its ledger."""
    out = tmp_path / "run"
    out.mkdir()
    common = {"clip": str(clip_files["video"]), "srt": str(clip_files["srt"]), "vtt": str(clip_files["vtt"]),
              "poster": str(clip_files["poster"]), "duration": 1.0, "publish": "", "error": "", "findings_count": 0}
    jobs = [
        {"handle": "mug", "market": "us", "kind": "ad", "format": "9:16", "status": "rendered", "job_key": "k-us", "verdict": "publish", **common},
        {"handle": "mug", "market": "de", "kind": "ad", "format": "9:16", "status": "blocked", "job_key": "k-de", "verdict": "blocked", **common},
        {"handle": "mug", "market": "jp", "kind": "ad", "format": "9:16", "status": "skipped", "job_key": "k-jp", "verdict": "publish", **common},
        {"handle": "mug", "market": "fr", "kind": "ad", "format": "9:16", "status": "rendered", "job_key": "k-fr", "verdict": "publish", **common},
        {"handle": "?", "market": "", "kind": "", "format": "", "status": "failed", "error": "price 'abc' is not a number"},
    ]
    (out / "summary.json").write_text(json.dumps({"out": str(out), "counts": {}, "jobs": jobs}))
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    ledger.record_approval("k-fr", "rejected", who="ana", why="wrong colour")
    return out, ledger


def test_publishes_what_passed_and_says_why_the_rest_did_not(finished_run):
    out, ledger = finished_run
    results = publishers.publish_run(out, "folder", ledger=ledger, require_approval=False)
    by_market = {r.market: r for r in results}
    assert set(by_market) == {"us", "de", "jp", "fr"}
    assert by_market["us"].status == "published" and by_market["jp"].status == "published"
    assert by_market["de"].status == "skipped" and "compliance" in by_market["de"].receipt.detail
    assert by_market["fr"].status == "skipped" and "ana" in by_market["fr"].receipt.detail
    assert (out / "published" / "us" / "mug" / "ad-9x16.mp4").is_file()
    assert not (out / "published" / "de").exists()
    report = json.loads((out / "publish-folder.json").read_text())
    assert report["counts"] == {"published": 2, "skipped": 2}
    again = publishers.publish_run(out, "folder", ledger=ledger, require_approval=False)
    assert {r.market: r.status for r in again}["us"] == "unchanged"


def test_a_run_with_recorded_decisions_needs_approval(finished_run):
    out, ledger = finished_run  # k-fr was rejected by a reviewer: this run went through approval
    ledger.record_approval("k-us", "approved", who="ana")
    statuses = {r.market: r.status for r in publishers.publish_run(out, "folder", ledger=ledger)}
    assert statuses == {"us": "published", "jp": "skipped", "de": "skipped", "fr": "skipped"}


def test_dry_run_and_approval_required(finished_run):
    out, ledger = finished_run
    dry = publishers.publish_run(out, "folder", ledger=ledger, dry_run=True, require_approval=False)
    assert {r.market: r.status for r in dry}["us"] == "dry-run"
    assert not (out / "published").exists()
    ledger.record_approval("k-us", "approved", who="ana")
    gated = {r.market: r for r in publishers.publish_run(out, "folder", ledger=ledger, require_approval=True)}
    assert gated["us"].status == "published"
    assert gated["jp"].status == "skipped" and gated["jp"].receipt.detail == "awaiting approval"


def test_shopify_failure_is_a_row_not_a_crash(finished_run, monkeypatch):
    out, ledger = finished_run
    monkeypatch.delenv("SHOPIFY_STORE_URL", raising=False)
    results = publishers.publish_run(out, "shopify", ledger=ledger, require_approval=False)
    us = {r.market: r for r in results}["us"]
    assert us.status == "failed" and "SHOPIFY_STORE_URL" in us.receipt.detail


def test_publish_run_to_the_fake_shopify_store(finished_run, shop, shop_env, monkeypatch):
    out, ledger = finished_run
    for name, value in shop_env.items():
        monkeypatch.setenv(name, value)
    results = publishers.publish_run(out, "shopify", ledger=ledger, options={"poll_interval": 0.01},
                                     require_approval=False)
    statuses = {r.market: r.status for r in results}
    assert statuses == {"us": "published", "jp": "published", "de": "skipped", "fr": "skipped"}
    assert "ProductByHandle" in shop.ops  # no metadata sidecar: the product is found by its handle
    assert sorted(m["alt"].split()[-1] for m in shop.ours()) == ["k-jp]", "k-us]"]
    calls = len(shop.ops)
    assert {r.status for r in publishers.publish_run(out, "shopify", ledger=ledger, require_approval=False)} == {
        "unchanged", "skipped"}
    assert len(shop.ops) == calls


def test_product_rebuilt_from_the_metadata_sidecar(tmp_path, make_clip, clip_files):
    import shutil

    from publishers.run import product_from_clip

    video = tmp_path / "ad-9x16.mp4"
    shutil.copy(clip_files["video"], video)
    video.with_suffix(".json").write_text(json.dumps({"storyboard": {
        "metadata": {"product_id": "gid://shopify/Product/1001"},
        "scenes": [{"overlays": [{"role": "price", "text": "$12"}]}, {"overlays": [{"role": "title", "text": "Blue Mug"}]}]}}))
    product = product_from_clip(make_clip({**clip_files, "video": video}, "k1"))
    assert (product.id, product.handle, product.title) == ("gid://shopify/Product/1001", "mug", "Blue Mug")


def test_missing_summary_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="summary.json"):
        publishers.publish_run(tmp_path, "folder", ledger=Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}"))


def test_parse_options():
    from publishers.run import parse_options

    assert parse_options(["formats=9:16,1:1", "poll_interval=0.5", "base_url=https://cdn.example.com/a,b", "meta_key=video"]) == {
        "formats": ["9:16", "1:1"], "poll_interval": 0.5, "base_url": "https://cdn.example.com/a,b", "meta_key": "video"}
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_options(["nonsense"])
