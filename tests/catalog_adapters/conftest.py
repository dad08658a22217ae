"""Fixtures for catalog adapter tests: small catalog files written on the fly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

LEGACY = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Option1 Name", "Option1 Value",
    "Variant SKU", "Variant Grams", "Variant Price", "Variant Compare At Price", "Variant Barcode",
    "Image Src", "Image Alt Text", "Price / Germany", "Compare-at price / Germany", "Title (ja)",
]


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write rows (dicts keyed by header) as a CSV file and return its path."""

    def write(rows: list[dict], header: list[str] = LEGACY, name: str = "catalog.csv") -> Path:
        buf = io.StringIO()
        w = csv.DictWriter(buf, header, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow(row)
        path = tmp_path / name
        path.write_text(buf.getvalue(), encoding="utf-8")
        return path

    return write


def _mug_rows(**first: str) -> list[dict]:
    """Two variants and two images of one product, the first row overridable."""
    row1 = {
        "Handle": "mug", "Title": "Mug", "Body (HTML)": "<p>A mug.</p><ul><li>350 ml</li><li>Stoneware</li></ul>",
        "Vendor": "Fieldhouse", "Type": "Kitchen", "Tags": "mug, coffee", "Option1 Name": "Color",
        "Option1 Value": "White", "Variant SKU": "MUG-W", "Variant Grams": "400", "Variant Price": "18.00",
        "Variant Barcode": "4006381000079", "Image Src": "images/mug-white.jpg", "Image Alt Text": "White mug",
        "Price / Germany": "17.90", "Title (ja)": "マグカップ",
    }
    row1.update(first)
    row2 = {"Handle": "mug", "Option1 Value": "Blue", "Variant SKU": "MUG-B", "Variant Price": "19.00",
            "Image Src": "images/mug-blue.jpg", "Price / Germany": "18.90"}
    return [row1, row2]


@pytest.fixture
def mug_rows():
    """A function making the rows of a two-variant mug, the first row overridable."""
    return _mug_rows
