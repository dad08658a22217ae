"""Bad rows in a Shopify CSV become one-line problems; the rest of the catalog is read."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from catalog_adapters import ingest_to, open_catalog
from productreel.errors import InputError

LAMP = {"Handle": "lamp", "Title": "Lamp", "Variant SKU": "LAMP-1", "Variant Price": "30.00"}


def read(path, **options):
    adapter = open_catalog(path, **options)
    products = list(adapter.products())
    return products, [str(p) for p in adapter.problems]


def test_price_that_is_not_a_number_skips_the_variant_only(write_csv, mug_rows):
    rows = mug_rows()
    rows[1]["Variant Price"] = "abc"
    products, problems = read(write_csv(rows + [LAMP]))
    assert problems == ["catalog.csv:3: product mug: price 'abc' is not a number; variant skipped"]
    assert [p.handle for p in products] == ["mug", "lamp"]
    assert [v.sku for v in products[0].variants] == ["MUG-W"]


def test_unknown_currency_leaves_out_that_market_price(write_csv):
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Price / Europe", "Currency / Europe", "Price / Japan"]
    path = write_csv(
        [
            {"Handle": "mug", "Title": "Mug", "Variant SKU": "M", "Variant Price": "5", "Price / Europe": "4.50",
             "Currency / Europe": "EUX", "Price / Japan": "700"},
            {"Handle": "cup", "Title": "Cup", "Variant SKU": "C", "Variant Price": "6", "Price / Europe": "5.50",
             "Currency / Europe": "eur"},
        ],
        header=header,
    )
    products, problems = read(path)
    assert problems == ["catalog.csv:2: product mug: unknown currency 'EUX'; market price left out"]
    assert products[0].prices["japan"].currency == "JPY" and "europe" not in products[0].prices
    assert products[1].prices["europe"].currency == "EUR"


def test_market_without_a_known_currency_is_a_problem(write_csv):
    path = write_csv([{"Handle": "mug", "Title": "Mug", "Variant Price": "5", "Price / Europe": "4"}],
                     header=["Handle", "Title", "Variant Price", "Price / Europe"])
    products, problems = read(path)
    assert len(products) == 1 and products[0].prices == {}
    assert "no currency known for market 'Europe'" in problems[0]


def test_rows_whose_handle_has_no_title_row_are_skipped(write_csv, mug_rows):
    rows = mug_rows()
    orphan = {"Handle": "ghost", "Variant SKU": "G-1", "Variant Price": "3"}
    products, problems = read(write_csv([orphan, {**orphan, "Variant SKU": "G-2"}] + rows))
    assert problems == [
        "catalog.csv:2: product ghost: handle has no title row (the first row of a product needs a Title); product skipped"
    ]
    assert [p.handle for p in products] == ["mug"]


def test_duplicate_sku_skips_the_second_variant(write_csv, mug_rows):
    lamp = {**LAMP, "Variant SKU": "MUG-W"}
    products, problems = read(write_csv(mug_rows() + [lamp, {"Handle": "lamp", "Variant SKU": "LAMP-2", "Variant Price": "31"}]))
    assert problems == ["catalog.csv:4: product lamp: duplicate SKU 'MUG-W' (first on line 2); variant skipped"]
    assert [v.sku for v in products[1].variants] == ["LAMP-2"]


def test_invalid_utf8_row_is_reported_and_the_rest_read(write_csv, mug_rows):
    path = write_csv(mug_rows() + [LAMP])
    data = path.read_bytes().replace(b"Blue", b"Bl\xff\xfee")
    path.write_bytes(data)
    products, problems = read(path)
    assert problems == ["catalog.csv:3: product mug: row is not valid UTF-8; row skipped"]
    assert [p.handle for p in products] == ["mug", "lamp"] and len(products[0].variants) == 1


def test_empty_file_is_one_problem_and_exit_zero(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"")
    out, err = io.StringIO(), io.StringIO()
    assert ingest_to(out, err, path, "shopify-csv") == 0
    assert out.getvalue() == "" and err.getvalue() == "catalog.csv:1: file is empty\n"


def test_missing_file_is_exit_two(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert ingest_to(out, err, tmp_path / "nope.csv") == 2
    assert "catalog file not found" in err.getvalue()
    with pytest.raises(InputError):
        open_catalog(tmp_path / "nope.csv")


def test_rows_of_a_handle_must_be_contiguous(write_csv, mug_rows):
    rows = mug_rows()
    products, problems = read(write_csv([rows[0], LAMP, rows[1]]))
    assert [p.handle for p in products] == ["mug", "lamp"]
    assert problems == ["catalog.csv:4: product mug: rows of this handle must follow its first row (line 2); rows skipped"]


def test_current_headers_are_read(write_csv):
    header = ["Title", "URL handle", "Description", "Vendor", "Product category", "Type", "Tags", "SKU", "Barcode",
              "Option1 name", "Option1 value", "Price", "Compare-at price", "Product image URL", "Image alt text",
              "Price / Japan", "Compare-at price / Japan", "Description (de)"]
    path = write_csv(
        [
            {"Title": "Mug", "URL handle": "mug", "Description": "<p>Hi</p>", "Vendor": "V",
             "Product category": "Home & Garden > Kitchen & Dining > Mugs", "SKU": "M1", "Barcode": "123",
             "Option1 name": "Size", "Option1 value": "S", "Price": "10.00", "Compare-at price": "12.00",
             "Product image URL": "https://cdn.example.com/m.jpg", "Image alt text": "mug",
             "Price / Japan": "1500", "Compare-at price / Japan": "1800", "Description (de)": "<p>Hallo</p>"},
            {"URL handle": "mug", "SKU": "M2", "Option1 value": "L", "Price": "11.00", "Price / Japan": "1600"},
        ],
        header=header,
    )
    products, problems = read(path, currency="eur")
    assert problems == []
    (mug,) = products
    assert mug.category == "Mugs" and mug.description == "Hi" and mug.translations["de"].description == "Hallo"
    assert [(v.sku, v.options, v.price, v.currency) for v in mug.variants] == [
        ("M1", {"Size": "S"}, Decimal("10.00"), "EUR"), ("M2", {"Size": "L"}, Decimal("11.00"), "EUR")]
    assert mug.compare_at_price == Decimal("12.00")
    assert mug.prices["japan"].amount == Decimal("1500") and mug.prices["japan"].compare_at == Decimal("1800")
    assert mug.images[0].src == "https://cdn.example.com/m.jpg"


def test_html_becomes_lines_and_any_script_survives(write_csv, mug_rows):
    body = "<p>ملعقة خشبية 🥄</p><ul><li>木製スプーン</li><li>Ø 5&nbsp;cm &amp; more</li></ul>"
    products, _ = read(write_csv(mug_rows(**{"Body (HTML)": body})))
    assert products[0].description == "ملعقة خشبية 🥄\n木製スプーン\nØ 5 cm & more"
    assert products[0].description_html == body


def test_content_hash_follows_only_what_a_video_shows(write_csv, mug_rows):
    def hash_of(**first):
        (product,), _ = read(write_csv(mug_rows(**first)))
        return product.content_hash

    base = hash_of()
    assert hash_of(**{"Variant Grams": "999"}) == base
    assert hash_of(**{"Tags": "other"}) == base
    for change in ({"Title": "Big mug"}, {"Variant Price": "18.50"}, {"Image Src": "images/other.jpg"},
                   {"Title (ja)": "大きいマグ"}, {"Price / Germany": "16.90"}, {"Body (HTML)": "<p>New</p>"}):
        assert hash_of(**change) != base, change


def test_ingest_prints_json_lines_and_problems(write_csv, mug_rows):
    rows = mug_rows()
    rows[1]["Variant Price"] = "x"
    out, err = io.StringIO(), io.StringIO()
    assert ingest_to(out, err, write_csv(rows + [LAMP])) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [p["handle"] for p in lines] == ["mug", "lamp"]
    mug = lines[0]
    assert mug["variants"][0] == {"sku": "MUG-W", "title": "White", "options": {"Color": "White"}, "price": "18.00",
                                  "currency": "USD", "compare_at_price": None, "gtin": "4006381000079"}
    assert mug["translations"]["ja"]["title"] == "マグカップ"
    assert mug["prices"]["germany"] == {"amount": "17.90", "currency": "EUR", "compare_at": None}
    assert mug["description"] == "A mug.\n350 ml\nStoneware"
    assert err.getvalue() == "catalog.csv:3: product mug: price 'x' is not a number; variant skipped\n"


def test_fast_hash_matches_the_model(sample_catalog):
    from catalog_adapters.output import fast_content_hash

    products = list(open_catalog(sample_catalog).products())
    assert products  # the loop below must have something to check
    for product in products:
        assert fast_content_hash(product) == product.content_hash


def test_fast_record_path_matches_the_models(sample_catalog, write_csv, mug_rows):
    from catalog_adapters.output import _model_json, record_json
    from productreel.models import Product

    rows = mug_rows(**{"Variant Compare At Price": "20.00", "Price / Germany": " 17.9 "})
    for path in (sample_catalog, write_csv(rows)):
        records = list(open_catalog(path).records())
        assert records, path  # the loop below must have something to check
        for record in records:
            assert record_json(record) == _model_json(Product.model_validate(record))


def test_price_text_is_the_canonical_decimal_text():
    from catalog_adapters.shopify_csv import price_text

    for cell in ("18.00", "0", "0.50", "2400", " 18.5 ", "018", "1e3", "0.0000001", "123456789012345678", "3."):
        assert price_text(cell) == str(Decimal(cell.strip())), cell
    assert price_text("") is None


def test_market_not_included_has_no_market_price(write_csv):
    header = ["Handle", "Title", "Variant Price", "Included / Japan", "Price / Japan", "Compare At Price / Japan"]
    path = write_csv([{"Handle": "a", "Title": "A", "Variant Price": "5", "Included / Japan": "FALSE", "Price / Japan": "700"},
                      {"Handle": "b", "Title": "B", "Variant Price": "5", "Included / Japan": "TRUE", "Price / Japan": "700",
                       "Compare At Price / Japan": "900"}], header=header)
    (a, b), problems = read(path)
    assert problems == [] and a.prices == {}
    assert b.prices["japan"].amount == Decimal("700") and b.prices["japan"].compare_at == Decimal("900")


def test_broken_quoting_and_a_truncated_last_row_are_problems(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text('Handle,Title,Variant Price\nmug,Mug,5\nbad,"Bad"x,5\ncup,Cup,6\nlamp,"Lamp\n', encoding="utf-8")
    products, problems = read(path)
    assert [p.handle for p in products] == ["mug", "cup"]
    assert problems == ["catalog.csv:3: row is not valid CSV: ',' expected after '\"'",
                        "catalog.csv:5: row is not valid CSV: unexpected end of data"]


def test_market_currencies_from_names(write_csv):
    header = ["Handle", "Title", "Variant Price", "Price / International", "Price / Hong Kong", "Price / United States"]
    (product,), problems = read(write_csv([{"Handle": "a", "Title": "A", "Variant Price": "5", "Price / International": "6",
                                            "Price / Hong Kong": "40", "Price / United States": "5"}], header=header),
                                currency="CAD")
    assert problems == []
    assert {k: p.currency for k, p in product.prices.items()} == {"international": "CAD", "hong kong": "HKD",
                                                                  "united states": "USD"}


def test_drafts_are_left_out_unless_asked_for(write_csv):
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Status"]
    rows = [{"Handle": "a", "Title": "A", "Variant SKU": "A1", "Variant Price": "5", "Status": "active"},
            {"Handle": "b", "Title": "B", "Variant SKU": "B1", "Variant Price": "5", "Status": "draft"},
            {"Handle": "b", "Variant SKU": "B2", "Variant Price": "6"},
            {"Handle": "c", "Title": "C", "Variant SKU": "C1", "Variant Price": "5", "Status": "archived"}]
    path = write_csv(rows, header=header)
    products, problems = read(path)
    assert [p.handle for p in products] == ["a"] and problems == []
    products, _ = read(path, statuses="active,draft")
    assert [p.handle for p in products] == ["a", "b"] and len(products[1].variants) == 2


def test_repeated_price_cells_read_like_the_first_and_bad_ones_are_said_each_time(write_csv):
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Variant Compare At Price", "Price / Germany",
              "Compare-at price / Germany"]
    rows = []
    for n in range(3):  # three products whose cells repeat: the remembered answers must equal the first ones
        rows += [
            {"Handle": f"p{n}", "Title": "P", "Variant SKU": f"A{n}", "Variant Price": " 18.5 ", "Variant Compare At Price": "20",
             "Price / Germany": "017.90", "Compare-at price / Germany": "x"},
            {"Handle": f"p{n}", "Variant SKU": f"B{n}", "Variant Price": "abc", "Price / Germany": "16.90"},
            {"Handle": f"p{n}", "Variant SKU": f"C{n}", "Variant Price": "18.5", "Variant Compare At Price": " ",
             "Price / Germany": "017.90", "Compare-at price / Germany": "20"},
        ]
    products, problems = read(write_csv(rows, header))
    assert [[(str(v.price), v.compare_at_price) for v in p.variants] for p in products] == [
        [("18.5", Decimal("20")), ("18.5", None)]
    ] * 3
    assert [(str(p.prices["germany"].amount), p.prices["germany"].compare_at) for p in products] == [("17.90", Decimal("20"))] * 3
    assert problems == [
        line
        for n, first in enumerate((2, 5, 8))
        for line in (
            f"catalog.csv:{first}: product p{n}: market Germany: compare-at price 'x' is not a number; market price left out",
            f"catalog.csv:{first + 1}: product p{n}: price 'abc' is not a number; variant skipped",
        )
    ]


def test_tags_are_dropped_as_the_two_regexes_drop_them():
    """html_to_text's split on '<' equals _TAG.sub("", _BREAK.sub("\\n", text)), stray '<' and '>' included."""
    import random

    from catalog_adapters.base import _BREAK, _TAG, _drop_tags

    atoms = ["<", ">", "/", " ", "p", "P", "br", "li", "UL", "b", "h1", "h7", "div", "span", "\n", "\t", "x", "é", "=", '"',
             "<p>", "</p>", "<br/>", "< p >", "<a href='x'>", "<P class=x>", "-",
             "<li>", "</ul>", "<h2>", "</br>", "<div>", "<h7>", "<pre>"]  # the plain block tags _drop_tags substitutes at once, and near misses
    rng = random.Random(19)
    for _ in range(5000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 16)))
        assert _drop_tags(text) == _TAG.sub("", _BREAK.sub("\n", text)), text


def test_ingest_leaves_the_garbage_collector_as_it_found_it(sample_catalog):
    import gc

    out, err = io.StringIO(), io.StringIO()
    assert gc.get_freeze_count() == 0
    assert ingest_to(out, err, sample_catalog) == 0
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.freeze()  # a caller's own frozen objects stay frozen
    try:
        frozen = gc.get_freeze_count()
        again = io.StringIO()
        assert ingest_to(again, io.StringIO(), sample_catalog) == 0
        # Not unfrozen (0) and nothing more frozen; a frozen object freed meanwhile leaves the count, so it may drop.
        assert 0 < gc.get_freeze_count() <= frozen
        assert again.getvalue() == out.getvalue()
    finally:
        gc.unfreeze()
