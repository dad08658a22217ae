"""jobs.plan.select: a storefront's product found by id (numeric or GID), handle or variant SKU, whichever the catalog has."""

from __future__ import annotations

import pytest

from jobs.plan import CatalogRead, ProductRef, problem, select
from productreel.models import Product, Variant


def _product(pid: str, handle: str, *skus: str) -> Product:
    return Product(id=pid, handle=handle, title=handle.title(), variants=[Variant(sku=s) for s in skus])


# What each kind of catalog knows about the same two products.
CSV = [_product("ceramic-mug", "ceramic-mug", "MUG-W", "MUG-B"), _product("canvas-cap", "canvas-cap", "CAP-1")]
SHOPIFY_API = [_product("gid://shopify/Product/1234", "ceramic-mug", "MUG-W"), _product("gid://shopify/Product/99", "canvas-cap")]
WOO_API = [_product("794", "ceramic-mug", "MUG-W"), _product("800", "canvas-cap")]
FEED = [_product("grp-1", "grp-1", "MUG-W", "MUG-B"), _product("grp-2", "grp-2", "CAP-1")]


@pytest.mark.parametrize(("catalog", "ref"), [
    (CSV, ProductRef(id="1234", handle="ceramic-mug", skus=("MUG-W",))),  # a CSV knows handles only
    (SHOPIFY_API, ProductRef(id="1234", handle="", skus=())),  # numeric REST id against the catalog's GID
    (SHOPIFY_API, ProductRef(id="gid://shopify/Product/1234")),  # a GID in the webhook
    (WOO_API, ProductRef(id="794", handle="ceramic-mug")),
    (WOO_API, ProductRef(id="794", skus=("MUG-W-BLUE",))),  # a variation naming its parent
    (FEED, ProductRef(id="1234", handle="ceramic-mug", skus=("MUG-B",))),  # a feed knows SKUs (item ids) only
])
def test_a_storefront_reference_finds_its_product_in_any_catalog(catalog, ref):
    read = select(CatalogRead(list(catalog), []), wanted=[ref.encode()], catalog="cat")
    assert len(read.products) == 1 and read.problems == []
    assert read.products[0] is catalog[0]


def test_id_wins_over_handle_and_handle_over_sku():
    # A product whose handle is another product's id: the id match is the one the storefront meant.
    tricky = [_product("794", "mug"), _product("5", "794", "X"), _product("6", "other", "SKU-9")]
    assert [p.id for p in select(CatalogRead(tricky, []), wanted=[ProductRef(id="794").encode()]).products] == ["794"]
    by_handle = ProductRef(id="1", handle="other", skus=("X",))
    assert [p.id for p in select(CatalogRead(tricky, []), wanted=[by_handle.encode()]).products] == ["6"]


def test_plain_names_still_match_id_handle_gid_or_sku():
    for name in ("ceramic-mug", "1234", "gid://shopify/Product/1234", "MUG-W"):
        read = select(CatalogRead(list(SHOPIFY_API), []), wanted=[name])
        assert [p.handle for p in read.products] == ["ceramic-mug"], name


def test_a_product_really_not_in_the_catalog_is_one_problem_naming_id_and_handle():
    ref = ProductRef(id="4321", handle="ghost-mug", skus=("GHOST-1",))
    read = select(CatalogRead(list(CSV), []), wanted=[ref.encode()], catalog="cat.csv")
    assert read.products == []
    assert [(p.handle, p.error) for p in read.problems] == [
        ("ghost-mug", "product 4321 (handle ghost-mug; SKU GHOST-1) is not in the catalog cat.csv")]


def test_a_product_that_could_not_be_read_is_its_problem_not_a_missing_one():
    read = CatalogRead([CSV[1]], [problem("ceramic-mug", "cat.csv:2", "has no image")])
    out = select(read, wanted=[ProductRef(id="1234", handle="ceramic-mug").encode()], catalog="cat.csv")
    assert out.products == [] and [p.error for p in out.problems] == ["has no image"]


def test_encode_parse_round_trip():
    ref = ProductRef(id="gid://shopify/Product/1", handle="a", skus=("S1", "S2"))
    assert ProductRef.parse(ref.encode()) == ref
    assert ProductRef.parse("mug").plain and ProductRef.parse("mug").label() == "product 'mug'"
