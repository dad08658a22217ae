"""`productreel ingest` end to end: JSON Lines on stdout, one line per problem on stderr, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ingest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", "ingest", *args], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_ingest_sample_and_bad_rows(tmp_path, sample_catalog):
    bad = tmp_path / "bad.csv"
    text = sample_catalog.read_text(encoding="utf-8").replace(",MUG-BLU,420,40,18.00,", ",MUG-BLU,420,40,abc,", 1)
    bad.write_text(text, encoding="utf-8")
    done = ingest(str(bad))
    assert done.returncode == 0, done.stderr
    products = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(products) == 15
    for product in products:
        assert {"id", "handle", "title", "description", "brand", "category", "tags", "variants", "images",
                "translations", "prices", "content_hash"} <= set(product)
    # line 9: the first product spans lines 2-8 (multi-line feature cells)
    assert done.stderr.strip() == "bad.csv:9: product ceramic-mug: price 'abc' is not a number; variant skipped"


def test_ingest_unreadable_source_exits_2(tmp_path):
    done = ingest(str(tmp_path / "missing.csv"))
    assert done.returncode == 2 and "catalog file not found" in done.stderr and done.stdout == ""
    done = ingest(str(ROOT / "samples" / "catalog.csv"), "--source", "nope")
    assert done.returncode == 2 and "unknown catalog kind 'nope'" in done.stderr


def test_adapter_options_from_the_command_line():
    from catalog_adapters import parse_options

    assert parse_options(["markets=germany=DE,japan=JP", "page-size=10", "strict=true", "market=us"]) == {
        "markets": "germany=DE,japan=JP", "page_size": 10, "strict": True, "market": "us"}
    done = ingest(str(ROOT / "samples" / "merchant_center.xml"), "-o", "market=us")
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[0])["prices"]["us"]["currency"] == "USD"


def test_is_remote():
    from catalog_adapters import is_remote

    assert is_remote("https://shop.example/feed.xml") and is_remote("shopify://x.myshopify.com")
    assert is_remote("store", "woocommerce") and not is_remote(ROOT / "samples" / "catalog.csv")
