"""The Shopify product CSV reader on the bundled sample and on hand-made bad rows."""

from __future__ import annotations

from decimal import Decimal

from catalog_adapters import open_catalog, product_json


def test_sample_catalog_reads_every_product(sample_catalog):
    adapter = open_catalog(sample_catalog)
    products = list(adapter.products())
    assert adapter.problems == []
    assert len(products) >= 12
    assert len({p.category for p in products}) >= 3
    mug = next(p for p in products if p.handle == "ceramic-mug")
    assert [v.options for v in mug.variants] == [{"Color": "White"}, {"Color": "Blue"}, {"Color": "Sage"}]
    assert mug.variants[0].price == Decimal("18.00")
    assert mug.translations["ja"].title == "ストーンウェア マグカップ"
    assert mug.prices["germany"].currency == "EUR"
    assert mug.prices["japan"].amount == Decimal("2400")
    assert "<" not in mug.description and "Dishwasher and microwave safe" in mug.description.splitlines()


def test_sample_has_a_reduction_and_steps(sample_catalog):
    products = {p.handle: p for p in open_catalog(sample_catalog).products()}
    knife = products["chef-knife"]
    assert knife.compare_at_price == Decimal("89.00") and knife.price == Decimal("69.00")
    assert products["pour-over-coffee-set"].steps[0] == "Rinse the paper filter with hot water"
    assert len(products["pour-over-coffee-set"].translations["de"].steps) == 5


def test_sample_images_resolve_against_the_csv_folder(sample_catalog, tmp_path):
    from catalog_adapters.images import fetch_image

    images = [image for product in open_catalog(sample_catalog).products() for image in product.images]
    assert len(images) >= 5  # the loop below must have something to check
    for image in images:
        path = fetch_image(image.src, base_dir=sample_catalog.parent, cache_dir=tmp_path)
        assert path.is_file() and path.stat().st_size <= 150_000


def test_product_json_has_the_ingest_shape(sample_catalog):
    product = next(iter(open_catalog(sample_catalog).products()))
    data = product_json(product)
    for key in ("id", "handle", "title", "description", "brand", "category", "tags", "variants", "images",
                "translations", "prices", "content_hash"):
        assert key in data
    assert data["variants"][0]["price"] == "18.00"
    assert data["prices"]["germany"] == {"amount": "17.90", "currency": "EUR", "compare_at": None}


def test_the_other_sample_kinds_hold_the_same_products(samples_dir):
    csv_products = {p.handle: p for p in open_catalog(samples_dir / "catalog.csv").products()}
    feed = open_catalog(samples_dir / "merchant_center.xml")
    table = open_catalog(samples_dir / "products.jsonl")
    feed_products, table_products = list(feed.products()), list(table.products())
    assert feed.problems == [] and table.problems == []
    assert [p.handle for p in table_products] == list(csv_products)
    for product in feed_products:  # Merchant Center knows colour and size, not every option name
        source = csv_products[product.handle]
        assert [(v.price, v.compare_at_price) for v in product.variants] == [
            (v.price, v.compare_at_price) for v in source.variants]
    for product in table_products:
        source = csv_products[product.handle]
        assert [(v.sku, v.price, v.compare_at_price, v.options) for v in product.variants] == [
            (v.sku, v.price, v.compare_at_price, v.options) for v in source.variants]
    for product in table_products:
        source = csv_products[product.handle]
        assert product.translations == source.translations and product.prices == source.prices
        assert product.features == source.features and product.steps == source.steps
