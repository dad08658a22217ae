"""Catalogs as sellers export them: each export recognised from its header, Shopify Markets inclusion, `ingest` with no mapping.

(test_woocommerce_csv.py and test_adobe_commerce_csv.py test each reader.) The fixtures in data/ follow the exporters' documented columns (WooCommerce's product
exporter, Magento 2's product export, Shopify's current product CSV with Markets columns).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from catalog_adapters import guess_kind, open_catalog

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
WOO = DATA / "woocommerce_export.csv"
ADOBE = DATA / "adobe_commerce_export.csv"
SHOPIFY = DATA / "shopify_markets_export.csv"


def read(path: Path, **options):
    adapter = open_catalog(path, **options)
    products = {p.handle: p for p in adapter.products()}
    return products, [str(p) for p in adapter.problems]


@pytest.mark.parametrize("path, kind", [(WOO, "woocommerce-csv"), (ADOBE, "adobe-commerce-csv"), (SHOPIFY, "shopify-csv")])
def test_the_kind_is_recognised_from_the_header(path, kind):
    assert guess_kind(path) == kind


# ---- Shopify Markets ---------------------------------------------------------------------------

def test_shopify_included_false_means_not_sold_there():
    products, problems = read(SHOPIFY)
    assert problems == ["shopify_markets_export.csv:4: product tea-towel: price 'abc' is not a number; variant skipped"]
    mug, apron, board = products["ceramic-mug"], products["linen-apron"], products["bread-board"]
    assert mug.not_sold_in == ["japan"] and "japan" not in mug.prices and mug.prices["germany"].amount == Decimal("17.90")
    assert apron.not_sold_in == ["germany"] and apron.prices["japan"].amount == Decimal("4800")
    assert board.not_sold_in == [] and board.sold_in("jp")


def test_plan_jobs_skips_the_markets_a_shopify_export_excludes():
    from jobs.plan import plan_jobs

    products, _ = read(SHOPIFY)
    lines: list[str] = []
    jobs = plan_jobs(list(products.values()), ["us", "jp", "de"], ["ad"], not_sold=lines)
    planned = {(j.handle, j.market) for j, _ in jobs}
    assert ("ceramic-mug", "jp") not in planned and ("ceramic-mug", "de") in planned
    assert ("linen-apron", "de") not in planned and ("linen-apron", "jp") in planned
    assert lines == ["product ceramic-mug: not sold in jp", "product linen-apron: not sold in de"]


# ---- productreel ingest, no mapping ------------------------------------------------------------

@pytest.mark.parametrize("path, count, first_problem", [
    (WOO, 8, "woocommerce_export.csv:18: product woo-cap: regular price 'abc' is not a number; product skipped"),
    (ADOBE, 3, "adobe_commerce_export.csv:15: product 24-BAD: price 'abc' is not a number; product skipped"),
    (SHOPIFY, 4, "shopify_markets_export.csv:4: product tea-towel: price 'abc' is not a number; variant skipped"),
])
def test_ingest_prints_each_export_without_a_mapping(path, count, first_problem):
    done = subprocess.run([sys.executable, "-m", "flows.cli", "ingest", str(path)], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    products = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(products) == count
    assert all(p["images"] and p["content_hash"] for p in products)
    assert first_problem in done.stderr.splitlines()
    assert "mapping" not in done.stderr
