"""WooCommerce's product CSV export (fixture data/woocommerce_export.csv follows the exporter's documented columns)."""

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


WOO = DATA / "woocommerce_export.csv"
WOO_IMG = "https://woo.example/wp-content/uploads/2017/12/"


@pytest.fixture(scope="module")
def woo():
    return read(WOO, today="2025-06-01")


def test_woocommerce_reads_what_is_for_sale_and_says_why_the_rest_is_not(woo):
    products, problems = woo
    assert list(products) == ["woo-vneck-tee", "hoodie-50", "woo-beanie", "woo-belt", "wp-pennant", "woo-album",
                              "woo-gift-wrap", "woo-formula"]
    assert sorted(problems) == sorted([
        "woocommerce_export.csv:19: product woo-orphan: variation's parent 'woo-missing' is not in the file; row skipped",
        "woocommerce_export.csv:12: product logo-collection: grouped product (no price of its own; "
        "its products are read on their own rows); left out",
        "woocommerce_export.csv:14: product woo-secret: hidden from the catalog (Visibility in catalog: hidden); left out",
        "woocommerce_export.csv:17: product woo-draft: not published (draft); left out",
        "woocommerce_export.csv:18: product woo-cap: regular price 'abc' is not a number; product skipped",
    ])


@pytest.mark.parametrize(
    "handle, skus, options, prices, compare",
    [
        # variations fold into their parent whichever comes first, in Position order; 'any Size' is no option
        ("woo-vneck-tee", ["woo-vneck-tee-red", "woo-vneck-tee-green", "woo-vneck-tee-blue"],
         [{"Color": "Red"}, {"Color": "Green"}, {"Color": "Blue"}], ["20", "20", "18"], [None, None, "20"]),
        # a parent without SKU is named id:50; the disabled variation is no variant
        ("hoodie-50", ["woo-hoodie-blue-logo", "woo-hoodie-blue"],
         [{"Color": "Blue", "Logo": "Yes"}, {"Color": "Blue", "Logo": "No"}], ["42", "45"], ["45", None]),
        ("woo-beanie", ["woo-beanie"], [{}], ["18"], ["20"]),  # sale price is the price, regular the compare-at
        ("woo-belt", ["woo-belt"], [{}], ["65"], [None]),  # the sale ended in 2020
        ("wp-pennant", ["wp-pennant"], [{}], ["11.05"], [None]),
        ("woo-album", ["woo-album"], [{}], ["15"], [None]),  # simple, downloadable, virtual
        ("woo-gift-wrap", ["woo-gift-wrap"], [{}], ["3.50"], [None]),  # simple, virtual
    ],
)
def test_woocommerce_variants_and_prices(woo, handle, skus, options, prices, compare):
    product = woo[0][handle]
    assert [v.sku for v in product.variants] == skus
    assert [v.options for v in product.variants] == options
    assert [v.price for v in product.variants] == [Decimal(p) for p in prices]
    assert [v.compare_at_price for v in product.variants] == [None if c is None else Decimal(c) for c in compare]
    assert {v.currency for v in product.variants} == {"USD"}


def test_woocommerce_product_fields(woo):
    products = woo[0]
    tee = products["woo-vneck-tee"]
    assert (tee.id, tee.title, tee.brand, tee.category) == ("44", "V-Neck T-Shirt", "Woo", "Tshirts")
    assert tee.tags == ["Cotton, organic", "Summer"]  # the exporter's escaped comma stays inside its tag
    assert tee.description == "Soft cotton tee.\nMachine washable."  # a literal \n in the export is a line break
    assert [i.src for i in tee.images] == [WOO_IMG + n for n in ("vneck-tee-2.jpg", "vnech-tee-green-1.jpg", "vnech-tee-blue-1.jpg")]
    assert tee.variants[0].gtin == "4006381333931" and tee.source == "woocommerce_export.csv:3"
    hoodie = products["hoodie-50"]  # a variation's own image follows the parent's list, once
    assert [i.src for i in hoodie.images] == [WOO_IMG + n for n in ("hoodie-2.jpg", "hoodie-blue-1.jpg", "hoodie-with-logo-2.jpg")]
    pennant = products["wp-pennant"]
    assert pennant.link == "https://mercantile.wordpress.org/product/wordpress-pennant/"
    assert pennant.cta == "Buy on the WordPress swag store!"
    assert products["woo-beanie"].link == products["woo-beanie"].cta == ""
    assert products["woo-beanie"].description == "A warm beanie."  # Short description when there is no Description
    assert products["woo-formula"].title == "=Sum Mug"  # the exporter's formula guard is undone


def test_a_call_to_action_changes_the_content_hash_only_when_there_is_one(woo):
    pennant = woo[0]["wp-pennant"]
    assert pennant.model_copy(update={"cta": "Buy elsewhere"}).content_hash != pennant.content_hash
    beanie = woo[0]["woo-beanie"]
    assert beanie.model_copy(update={"link": "https://x.example"}).content_hash == beanie.content_hash


@pytest.mark.parametrize("published, visibility, expected", [
    ("1", "visible", None), ("1", "catalog", None), ("1", "search", None),
    ("0", "visible", "not published (private); left out"), ("-1", "visible", "not published (draft); left out"),
    ("1", "hidden", "hidden from the catalog (Visibility in catalog: hidden); left out"),
])
def test_woocommerce_published_and_visibility(tmp_path, published, visibility, expected):
    path = tmp_path / "wc.csv"
    path.write_text("ID,Type,SKU,Name,Published,Visibility in catalog,Regular price,Images\n"
                    f"9,simple,cup,Cup,{published},{visibility},4,https://x.example/cup.jpg\n", encoding="utf-8")
    products, problems = read(path)
    assert (list(products), problems) == ((["cup"], []) if expected is None else ([], [f"wc.csv:2: product cup: {expected}"]))


def test_woocommerce_variation_before_parent_equals_parent_first(tmp_path):
    head = "ID,Type,SKU,Name,Published,Visibility in catalog,Sale price,Regular price,Parent,Position,Attribute 1 name,Attribute 1 value(s)\n"
    parent = "1,variable,tee,Tee,1,visible,,,,0,Size,\"S, M\"\n"
    small = "2,variation,tee-s,Tee - S,1,visible,,10,tee,1,Size,S\n"
    medium = "3,variation,tee-m,Tee - M,1,visible,9,12,id:1,2,Size,M\n"
    orders = {"parent-first": parent + small + medium, "variations-first": medium + small + parent}
    read_back = {}
    for name, body in orders.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(head + body, encoding="utf-8")
        products, problems = read(path)
        assert problems == []
        read_back[name] = [(v.sku, v.options, v.price, v.compare_at_price) for v in products["tee"].variants]
    assert read_back["parent-first"] == read_back["variations-first"] == [
        ("tee-s", {"Size": "S"}, Decimal("10"), None), ("tee-m", {"Size": "M"}, Decimal("9"), Decimal("12"))]


def test_woocommerce_variable_without_variations_and_a_variation_of_a_simple_product(tmp_path):
    path = tmp_path / "wc.csv"
    path.write_text("ID,Type,SKU,Name,Published,Regular price,Parent\n"
                    "1,variable,tee,Tee,1,,\n2,simple,cup,Cup,1,4,\n3,variation,cup-red,Cup - Red,1,4,cup\n", encoding="utf-8")
    products, problems = read(path)
    assert list(products) == ["cup"]
    assert problems == ["wc.csv:4: product cup-red: variation's parent 'cup' is a simple product, not a variable one; row skipped",
                        "wc.csv:2: product tee: variable product has no variations for sale in the file; left out"]


def test_the_ingest_hash_matches_the_model_for_every_product(woo):
    from catalog_adapters.output import fast_content_hash

    products = woo[0].values()
    assert any(p.cta for p in products)  # the external product's call to action is hashed on both sides
    for product in products:
        assert fast_content_hash(product) == product.content_hash, product.handle
