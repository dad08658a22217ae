"""Merchant Center feeds: TSV with quoted fields, RSS 2.0 and Atom XML, and every bad-row case."""

from __future__ import annotations

from decimal import Decimal

from catalog_adapters import guess_kind, open_catalog

TSV_HEADER = "id\ttitle\tdescription\tlink\timage_link\tadditional_image_link\tprice\tsale_price\tbrand\tgtin\titem_group_id\tcolor\tsize\tproduct_type\n"


def tsv(tmp_path, *rows: str, name: str = "feed.tsv"):
    path = tmp_path / name
    path.write_text(TSV_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def read(path, **options):
    adapter = open_catalog(path, **options)
    products = list(adapter.products())
    return products, [str(p) for p in adapter.problems]


TEE_RED = 'TEE-R\t"Tee, ""red"""\t<p>Soft <b>cotton</b></p>\thttps://s/t\thttps://s/r1.jpg\thttps://s/r2.jpg,https://s/r3.jpg\t15.00 USD\t12.00 USD\tAcme\t0012345678905\tTEE\tRed\tM\tApparel > Shirts'
TEE_BLUE = "TEE-B\tTee\t\thttps://s/t\thttps://s/b1.jpg\t\t15.00 USD\t\tAcme\t\tTEE\tBlue\tM\tApparel > Shirts"
MUG = "MUG-1\tMug\tA mug\thttps://s/m\thttps://s/m.jpg\t\t9.50 EUR\t\tAcme\t\t\t\t\tKitchen"


def test_tsv_groups_variants_and_reads_quoted_fields(tmp_path):
    products, problems = read(tsv(tmp_path, TEE_RED, TEE_BLUE, MUG))
    assert problems == []
    tee, mug = products
    assert tee.id == "TEE" and tee.title == 'Tee, "red"' and tee.description == "Soft cotton"
    assert [(v.sku, v.options, v.price, v.compare_at_price) for v in tee.variants] == [
        ("TEE-R", {"Color": "Red", "Size": "M"}, Decimal("12.00"), Decimal("15.00")),
        ("TEE-B", {"Color": "Blue", "Size": "M"}, Decimal("15.00"), None)]
    assert [i.src for i in tee.images] == ["https://s/r1.jpg", "https://s/r2.jpg", "https://s/r3.jpg", "https://s/b1.jpg"]
    assert tee.category == "Shirts" and tee.variants[0].gtin == "0012345678905"
    assert mug.variants[0].currency == "EUR" and mug.handle == "MUG-1"


def test_tsv_bad_rows_are_problems(tmp_path):
    path = tsv(
        tmp_path,
        MUG.replace("9.50 EUR", "9.50 XYZ"),
        MUG.replace("MUG-1", "MUG-2").replace("9.50 EUR", "nine EUR"),
        MUG.replace("MUG-1", "MUG-3"),
        MUG.replace("MUG-1", "MUG-3"),
        TEE_BLUE,
    )
    products, problems = read(path)
    assert [p.id for p in products] == ["MUG-3", "TEE"]
    assert problems == [
        "feed.tsv:5: product MUG-3: duplicate item id 'MUG-3' (first at 4); item skipped",
        "feed.tsv:2: product MUG-1: unknown currency 'XYZ'; item skipped",
        "feed.tsv:3: product MUG-2: price 'nine EUR' is not an amount with a currency code (e.g. '15.00 USD'); item skipped",
    ]


def test_tsv_invalid_utf8_and_empty_file(tmp_path):
    path = tsv(tmp_path, MUG, TEE_BLUE)
    path.write_bytes(path.read_bytes().replace(b"A mug", b"A m\xffg"))
    products, problems = read(path)
    assert [p.id for p in products] == ["TEE"] and problems == ["feed.tsv:2: row is not valid UTF-8; row skipped"]
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    assert read(empty, kind="merchant-center") == ([], ["empty.tsv:1: file is empty"])


def test_at_most_ten_additional_images(tmp_path):
    links = ",".join(f"https://s/{n}.jpg" for n in range(12))
    products, _ = read(tsv(tmp_path, MUG.replace("https://s/m.jpg\t", f"https://s/m.jpg\t{links}")))
    assert len(products[0].images) == 11


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel><title>S</title><link>https://s</link><description>F</description>
<item><g:id>SKU1</g:id><g:title>Tee</g:title><g:description>&lt;p&gt;Weiches T-Shirt 日本 🎉&lt;/p&gt;</g:description><g:link>https://s/1</g:link>
<g:image_link>https://s/1.jpg</g:image_link><g:additional_image_link>https://s/2.jpg</g:additional_image_link><g:additional_image_link>https://s/3.jpg</g:additional_image_link>
<g:price>15.00 USD</g:price><g:availability>in_stock</g:availability><g:brand>X</g:brand><g:gtin>123</g:gtin><g:condition>new</g:condition></item>
<item><g:id>SKU2</g:id><title>Mug</title><description>Plain</description><g:image_link>https://s/m.jpg</g:image_link><g:price>abc</g:price></item>
<item><g:id>SKU3</g:id><g:title>Cup</g:title><g:image_link>https://s/c.jpg</g:image_link><g:price>4.00 EUR</g:price><g:sale_price>3.00 EUR</g:sale_price></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0"><title>S</title>
<entry><g:id>A1</g:id><title>Lamp</title><summary>Warm light</summary><link href="https://s/a1"/>
<g:image_link>https://s/a1.jpg</g:image_link><g:price>30.00 GBP</g:price><g:brand>Y</g:brand></entry>
</feed>
"""


def test_rss_feed(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_text(RSS, encoding="utf-8")
    assert guess_kind(path) == "merchant-center"
    products, problems = read(path, market="us")
    assert [p.id for p in products] == ["SKU1", "SKU3"]
    tee, cup = products
    assert tee.description == "Weiches T-Shirt 日本 🎉" and [i.src for i in tee.images] == [
        "https://s/1.jpg", "https://s/2.jpg", "https://s/3.jpg"]
    assert tee.prices["us"].amount == Decimal("15.00") and tee.brand == "X"
    assert cup.price == Decimal("3.00") and cup.compare_at_price == Decimal("4.00")
    assert problems == [
        "feed.xml:item SKU2: product SKU2: price 'abc' is not an amount with a currency code (e.g. '15.00 USD'); item skipped"]


def test_atom_feed(tmp_path):
    path = tmp_path / "feed.atom"
    path.write_text(ATOM, encoding="utf-8")
    (lamp,), problems = read(path)
    assert problems == [] and lamp.title == "Lamp" and lamp.description == "Warm light"
    assert lamp.variants[0].currency == "GBP"


def test_truncated_xml_keeps_the_items_before_the_break(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_text(RSS[: RSS.index("<item><g:id>SKU3")] + "<item><g:id>SKU3</g:id><g:tit", encoding="utf-8")
    products, problems = read(path)
    assert [p.id for p in products] == ["SKU1"]
    (broken,) = [p for p in problems if "truncated or not well-formed XML" in p]
    assert broken.startswith("feed.xml:7: ")


def test_invalid_utf8_in_xml_skips_that_item(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS.encode().replace(b"<g:title>Cup", b"<g:title>C\xffp"))
    products, problems = read(path)
    assert [p.id for p in products] == ["SKU1"]
    assert "feed.xml:item SKU3: product SKU3: item is not valid UTF-8; item skipped" in problems


def test_remote_feed_rejects_non_http_images(httpserver):
    body = RSS.replace("https://s/c.jpg", "file:///etc/passwd")
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type="application/xml")
    products, problems = read(httpserver.url_for("/feed.xml"))
    assert [p.id for p in products] == ["SKU1"]
    assert any("SKU3" in p and "not an http(s) URL" in p for p in problems)
