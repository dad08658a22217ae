"""ingest reads a large Shopify CSV's second half in a forked worker: same output as one process, or the worker's part is dropped."""

from __future__ import annotations

import io
import sys

import pytest

import catalog_adapters.shopify_csv as shopify_csv
from catalog_adapters import ingest_to

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the worker is forked on Linux only")

HEADER = ["Handle", "Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Variant SKU", "Variant Price",
          "Image Src", "Price / Germany", "Features (product.metafields.custom.features)", "Title (de)"]


def _product(n: int, sku: str | None = None, price: str = "18.00") -> list[dict]:
    first = {"Handle": f"p{n}", "Title": f"Product {n}", "Body (HTML)": f"<p>Item {n}</p><ul><li>a</li></ul>",
             "Option1 Name": "Color", "Option1 Value": "Red", "Variant SKU": sku or f"S{n}-1", "Variant Price": price,
             "Image Src": f"https://cdn.example.com/{n}.jpg", "Price / Germany": "17.90",
             # quoted cells over several lines: a line break inside quotes is no place to split
             "Features (product.metafields.custom.features)": "Holds 350 ml\nDishwasher safe\n\"Glazed\"",
             "Title (de)": f"Becher {n}"}
    second = {"Handle": f"p{n}", "Option1 Value": "Blue", "Variant SKU": f"S{n}-2", "Variant Price": "19.00",
              "Price / Germany": "x" if n % 7 == 3 else "18.90"}
    return [first, second]


def _ingest(path, **options) -> tuple[str, str]:
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    assert ingest_to(out, err, path, "shopify-csv", **options) == 0
    out.flush()
    return out.buffer.getvalue().decode(), err.getvalue()


@pytest.fixture
def taken(monkeypatch):
    """Every file is large enough for a worker; records whether each worker's part was used."""
    monkeypatch.setattr(shopify_csv, "_PARALLEL_MIN_BYTES", 0)
    # a daemon thread another test left (a local HTTP server) holds no lock the worker takes
    monkeypatch.setattr(shopify_csv, "_fork_is_safe", lambda: True)
    results: list[bool] = []
    take = shopify_csv._Tail.take

    def spy(self, seen, skus):
        got = take(self, seen, skus)
        results.append(got is not None)
        return got

    monkeypatch.setattr(shopify_csv._Tail, "take", spy)
    return results


def test_the_worker_reads_the_second_half_with_the_same_output(write_csv, taken):
    rows = [row for n in range(40) for row in _product(n, price="abc" if n in (5, 30) else "18.00")]
    path = write_csv(rows, header=HEADER)
    one = _ingest(path, workers=1)
    assert taken == []
    two = _ingest(path)
    assert taken == [True]  # the worker's part was used
    assert two == one
    out, err = two
    assert out.count("\n") == 40
    # each product takes 4 lines (its features cell 3): the worker's line numbers go on from the first half's
    assert "catalog.csv:122: product p30: price 'abc' is not a number; variant skipped" in err.splitlines()


@pytest.mark.parametrize("case", ["sku", "handle"])
def test_the_worker_part_is_dropped_when_it_depends_on_the_first_half(write_csv, taken, case):
    rows = [row for n in range(40) for row in _product(n)]
    if case == "sku":  # the last product reuses the first one's SKU: a duplicate only the whole file shows
        rows[-2]["Variant SKU"] = "S0-1"
        said = "catalog.csv:158: product p39: duplicate SKU 'S0-1' (first on line 2); variant skipped"
    else:  # rows of the first product again at the end: they must follow its first row
        rows.append({"Handle": "p0", "Option1 Value": "Green", "Variant SKU": "S0-3", "Variant Price": "20.00"})
        said = "catalog.csv:162: product p0: rows of this handle must follow its first row (line 2); rows skipped"
    path = write_csv(rows, header=HEADER)
    one = _ingest(path, workers=1)
    two = _ingest(path)
    assert taken == [False]
    assert two == one
    assert said in two[1].splitlines()


def test_a_shaped_record_is_trusted_only_in_the_models_key_order(sample_catalog):
    """ingest writes the reader's JSON-shaped records as they are after the first products matched the model's bytes."""
    import orjson

    from catalog_adapters import open_catalog
    from catalog_adapters.output import _Encoder

    adapter = open_catalog(sample_catalog, workers=1)
    records = [r for r in adapter.ingest_items(lambda *a: None) if isinstance(r, dict)]
    assert len(records) > _Encoder.CHECKS
    encode = _Encoder()
    first = [encode.shaped(r) for r in records[: _Encoder.CHECKS]]
    assert encode.fast and [orjson.dumps(r) for r in first] == [orjson.dumps(r) for r in records[: _Encoder.CHECKS]]
    assert encode.shaped(records[-1]) is records[-1]  # trusted from here on
    swapped = _Encoder()
    moved = {k: records[0][k] for k in reversed(list(records[0]))}  # equal as dicts, not as JSON Lines
    assert orjson.dumps(swapped.shaped(moved)) == orjson.dumps(records[0]) and not swapped.fast


def test_no_worker_beside_another_thread():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert shopify_csv._fork_is_safe() is False  # it could hold a lock the forked worker needs
    finally:
        stop.set()
        thread.join()
