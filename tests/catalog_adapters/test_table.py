"""Generic tables (CSV, JSON Lines, Parquet) read with pandas and a YAML column mapping."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd

from catalog_adapters import guess_kind, open_catalog

MAPPING = """
handle: slug
title: name
description: body
brand: maker
tags: keywords
variant:
  sku: sku
  price: price
  compare_at_price: was
  options: {Color: colour}
images: [image]
features: features
translations:
  de: {title: name_de}
prices:
  germany: {amount: price_eur, currency: EUR}
updated_at: modified
"""

ROWS = [
    {"slug": "mug", "name": "Mug", "body": "<p>Big</p>", "maker": "Acme", "keywords": "mug, cup", "sku": "M-1",
     "price": "10.00", "was": "12.00", "colour": "Red", "image": "https://s/m1.jpg|https://s/m2.jpg",
     "features": "350 ml|Stoneware", "name_de": "Becher", "price_eur": "9.50", "modified": "2025-03-01T00:00:00Z"},
    {"slug": "mug", "name": "", "body": "", "maker": "", "keywords": "", "sku": "M-2", "price": "11.00", "was": "",
     "colour": "Blue", "image": "https://s/m3.jpg", "features": "", "name_de": "", "price_eur": "9.00", "modified": ""},
    {"slug": "lamp", "name": "Lamp ランプ", "body": "Warm", "maker": "Acme", "keywords": "", "sku": "L-1", "price": "30",
     "was": "", "colour": "", "image": "https://s/l.jpg", "features": "", "name_de": "", "price_eur": "", "modified": "2024-01-01T00:00:00Z"},
]


def read(path, **options):
    adapter = open_catalog(path, **options)
    products = list(adapter.products())
    return products, [str(p) for p in adapter.problems]


def check(products):
    mug, lamp = products
    assert mug.title == "Mug" and mug.description == "Big" and mug.tags == ["mug", "cup"]
    assert [(v.sku, v.options, v.price) for v in mug.variants] == [
        ("M-1", {"Color": "Red"}, Decimal("10.00")), ("M-2", {"Color": "Blue"}, Decimal("11.00"))]
    assert mug.compare_at_price == Decimal("12.00")
    assert [i.src for i in mug.images] == ["https://s/m1.jpg", "https://s/m2.jpg", "https://s/m3.jpg"]
    assert mug.features == ["350 ml", "Stoneware"] and mug.translations["de"].title == "Becher"
    assert mug.prices["germany"].amount == Decimal("9.00") and mug.prices["germany"].currency == "EUR"
    assert lamp.title == "Lamp ランプ"


def test_csv_with_mapping_beside_it(tmp_path):
    path = tmp_path / "items.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    (tmp_path / "items.mapping.yaml").write_text(MAPPING)
    assert guess_kind(path) == "table"
    products, problems = read(path)
    assert problems == []
    check(products)


def test_parquet_and_since(tmp_path):
    path = tmp_path / "items.parquet"
    pd.DataFrame(ROWS).to_parquet(path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING)
    products, _ = read(path, mapping=mapping)
    check(products)
    recent, _ = read(path, mapping=mapping, since="2025-01-01")
    assert [p.handle for p in recent] == ["mug"]


def test_jsonl_bad_lines_are_problems(tmp_path):
    path = tmp_path / "items.jsonl"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in ROWS]
    bad_price = json.dumps({**ROWS[2], "slug": "desk", "sku": "D-1", "price": "abc"}).encode()
    dup = json.dumps({**ROWS[2], "slug": "chair", "sku": "M-1"}).encode()
    unknown = json.dumps({**ROWS[2], "slug": "stool", "sku": "S-1", "price": "5 XYZ"}).encode()
    path.write_bytes(b"\n".join([lines[0], b"{not json", lines[1], b'{"slug": "x\xff"}', lines[2], bad_price, dup, unknown]) + b"\n")
    products, problems = read(path, mapping={**__import__("yaml").safe_load(MAPPING)})
    assert [p.handle for p in products] == ["mug", "lamp", "desk", "chair", "stool"]
    assert problems[0].startswith("items.jsonl:2: line is not valid JSON")
    assert problems[1] == "items.jsonl:4: line is not valid UTF-8; line skipped"
    assert "items.jsonl:6: product desk: price 'abc' is not a number; variant skipped" in problems
    assert "items.jsonl:7: product chair: duplicate SKU 'M-1' (first on line 1); variant skipped" in problems
    assert "items.jsonl:8: product stool: unknown currency 'XYZ'; variant skipped" in problems


def test_empty_table(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("")
    assert read(path, kind="table") == ([], ["items.csv:1: file is empty"])


def test_columns_named_after_fields_need_no_mapping(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("handle,title,description,sku,price,currency,image\n"
                    "mug,Mug,<p>Big</p>,M1,5.00,EUR,https://s/m.jpg\nmug,,,M2,6.00,EUR,\n", encoding="utf-8")
    (mug,), problems = read(path, kind="table")
    assert problems == [] and mug.description == "Big" and [i.src for i in mug.images] == ["https://s/m.jpg"]
    assert [(v.sku, v.price, v.currency) for v in mug.variants] == [("M1", Decimal("5.00"), "EUR"), ("M2", Decimal("6.00"), "EUR")]
    (tmp_path / "plain.mapping.yaml").write_text("title: title\n")
    assert guess_kind(path) == "table"
