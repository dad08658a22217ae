"""Adobe Commerce (Magento 2) product export CSV (fixture data/adobe_commerce_export.csv: a configurable product, two store views)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog_adapters import open_catalog

DATA = Path(__file__).parent / "data"


def read(path: Path, **options):
    adapter = open_catalog(path, **options)
    products = {p.handle: p for p in adapter.products()}
    return products, [str(p) for p in adapter.problems]


ADOBE = DATA / "adobe_commerce_export.csv"


@pytest.fixture(scope="module")
def adobe():
    return read(ADOBE, today="2025-06-01", media_url="https://shop.example/media/catalog/product/")


def test_adobe_commerce_reads_what_is_for_sale_and_says_why_the_rest_is_not(adobe):
    products, problems = adobe
    assert list(products) == ["chaz-kangeroo-hoodie", "joust-duffle-bag", "gift-wrap"]
    assert problems == [
        "adobe_commerce_export.csv:6: product MH01: variation 'MH01-L-Gone' is not in the file; variant skipped",
        "adobe_commerce_export.csv:12: product 24-SET: grouped product (no single price of its own); left out",
        "adobe_commerce_export.csv:13: product 24-BUNDLE: bundle product (no single price of its own); left out",
        "adobe_commerce_export.csv:14: product 24-OFF: disabled (product_online 0); left out",
        "adobe_commerce_export.csv:15: product 24-BAD: price 'abc' is not a number; product skipped",
    ]


def test_adobe_commerce_configurable_with_its_children_and_two_store_views(adobe):
    hoodie = adobe[0]["chaz-kangeroo-hoodie"]
    assert (hoodie.id, hoodie.title, hoodie.brand, hoodie.category) == ("MH01", "Chaz Kangeroo Hoodie", "Chaz", "Hoodies & Sweatshirts")
    assert hoodie.description == "Ideal for cold-weather training.\nTwo-tone gray\nPouch pocket"
    assert [(v.sku, v.options, v.price, v.compare_at_price) for v in hoodie.variants] == [
        ("MH01-XS-Black", {"Size": "XS", "Color": "Black"}, Decimal("52.00"), None),
        ("MH01-S-Black", {"Size": "S", "Color": "Black"}, Decimal("45.00"), Decimal("52.00")),  # special price
        ("MH01-XS-Gray", {"Size": "XS", "Color": "Gray"}, Decimal("54.00"), None),  # MH01-M-Gray is disabled
    ]
    assert hoodie.variants[0].gtin == "4006381333948"
    media = "https://shop.example/media/catalog/product/m/h/"
    assert [(i.src, i.alt) for i in hoodie.images] == [
        (media + "mh01-gray_main.jpg", "Gray hoodie"), (media + "mh01-gray_alt1.jpg", "Side"),
        (media + "mh01-gray_back.jpg", "Back"), (media + "mh01-black_main.jpg", "Black hoodie")]
    assert {k: (t.title, t.description) for k, t in hoodie.translations.items()} == {
        "de": ("Chaz Känguru-Kapuzenpullover", "Ideal für das Training bei Kälte."),
        "fr-fr": ("Sweat à capuche Chaz Kangourou", ""),
    }


def test_adobe_commerce_store_views_and_media_paths_by_option(tmp_path):
    products, _ = read(ADOBE, today="2025-06-01", store_views="fr_fr=fr-FR")
    hoodie = products["chaz-kangeroo-hoodie"]
    assert sorted(hoodie.translations) == ["de", "fr-FR"]
    assert hoodie.images[0].src == "m/h/mh01-gray_main.jpg"  # no media_url: relative to the export's folder
    assert products["gift-wrap"].images[0].src == "https://cdn.example/gift.jpg"
    assert products["joust-duffle-bag"].translations["de"].title == "Joust Sporttasche"


@pytest.mark.parametrize("special_from, special_to, price, compare", [
    ("", "", "45.00", "52.00"), ("1/1/25", "12/31/25", "45.00", "52.00"), ("2025-07-01", "", "52.00", None),
    ("", "5/31/25, 11:59 PM", "52.00", None),
])
def test_adobe_commerce_special_price_dates(tmp_path, special_from, special_to, price, compare):
    path = tmp_path / "export.csv"
    path.write_text("sku,store_view_code,product_type,name,product_online,visibility,price,special_price,"
                    "special_price_from_date,special_price_to_date\n"
                    f'S1,,simple,Bottle,1,"Catalog, Search",52.00,45.00,{special_from},"{special_to}"\n', encoding="utf-8")
    products, problems = read(path, today="2025-06-01")
    variant = products["S1"].variants[0]
    assert problems == [] and (variant.price, variant.compare_at_price) == (Decimal(price), compare and Decimal(compare))
