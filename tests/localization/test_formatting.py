"""Golden CLDR formats: prices of every market, numbers, dates and units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from localization.formatting import format_date, format_dimensions, format_number, format_price, format_weight, round_price

NBSP, NNBSP, RLM = "\u00a0", "\u202f", "\u200f"

# (market, 1299.00 in the market currency, 49.99 in the market currency)
GOLDEN = [
    ("us", "$1,299.00", "$49.99"),
    ("ca", "$1,299.00", "$49.99"),
    ("ca-fr", f"1{NBSP}299,00{NBSP}$", f"49,99{NBSP}$"),
    ("gb", "£1,299.00", "£49.99"),
    ("de", f"1.299,00{NBSP}€", f"49,99{NBSP}€"),
    ("fr", f"1{NNBSP}299,00{NBSP}€", f"49,99{NBSP}€"),
    ("es", f"1.299,00{NBSP}€", f"49,99{NBSP}€"),
    ("it", f"1.299,00{NBSP}€", f"49,99{NBSP}€"),
    ("nl", f"€{NBSP}1.299,00", f"€{NBSP}49,99"),
    ("br", f"R${NBSP}1.299,00", f"R${NBSP}49,90"),
    ("mx", "$1,299.00", "$49.99"),
    ("jp", "￥1,299", "￥50"),
    ("cn", "¥1,299.00", "¥49.99"),
    ("kr", "₩1,299", "₩50"),
    ("sa", f"{RLM}1,299.00{NBSP}ر.س.{RLM}", f"{RLM}49.99{NBSP}ر.س.{RLM}"),
    ("in", "₹1,299.00", "₹49.99"),
]


@pytest.mark.parametrize(("code", "big", "small"), GOLDEN)
def test_price_formats_of_every_market(markets, code, big, small):
    market = markets[code]
    amount = Decimal("49.90") if code == "br" else Decimal("49.99")
    assert format_price(Decimal("1299.00"), market.currency, market) == big
    assert format_price(amount, market.currency, market) == small


def test_golden_table_covers_every_market_file(markets):
    assert {code for code, _, _ in GOLDEN} == set(markets)


def test_issue_examples(markets):
    assert format_price(Decimal("7480"), "JPY", markets["jp"]) == "￥7,480"
    assert format_price(Decimal("49.99"), "USD", markets["us"]) == "$49.99"
    assert format_price(Decimal("49.99"), "EUR", markets["de"]) == f"49,99{NBSP}€"


def test_native_digits_when_the_market_file_chooses_them(markets):
    native = markets["sa"].model_copy(update={"numbering": "native"})
    assert format_price(Decimal("49.99"), "SAR", native) == f"{RLM}٤٩٫٩٩{NBSP}ر.س.{RLM}"
    assert format_price(Decimal("1299"), "SAR", native) == f"{RLM}١٬٢٩٩٫٠٠{NBSP}ر.س.{RLM}"
    assert format_number(1234567, markets["in"].model_copy(update={"numbering": "native"})) == "१२,३४,५६७"


def test_numbers_and_dates(markets):
    assert format_number(Decimal("1234.5"), markets["de"], digits=2) == "1.234,50"
    assert format_number(1234567, markets["in"]) == "12,34,567"  # Indian grouping
    assert format_date(date(2026, 11, 25), markets["de"]) == "25.11.2026"
    assert format_date(date(2026, 11, 25), markets["jp"]) == "2026/11/25"
    assert format_date(date(2026, 11, 25), markets["us"]) == "Nov 25, 2026"


def test_dimensions_convert_to_inches_for_us(markets):
    assert format_dimensions([30, 20, 10.5], "cm", markets["us"]) == "12 × 7.9 × 4.1 in"
    assert format_dimensions([30, 20, 10.5], "cm", markets["de"]) == "30 × 20 × 10,5 cm"
    assert format_dimensions([300, 200, 100], "mm", markets["gb"]) == "30 × 20 × 10 cm"
    native = markets["sa"].model_copy(update={"numbering": "native"})
    assert format_dimensions([30, 20, 10.5], "cm", native) == "٣٠ × ٢٠ × ١٠٫٥ سم"


def test_weights_convert_to_ounces_and_pounds_for_us(markets):
    assert format_weight(450, "g", markets["us"]) == "16 oz"
    assert format_weight(1.2, "kg", markets["us"]) == "2.6 lb"
    assert format_weight(1.2, "kg", markets["de"]) == "1,2 kg"
    assert format_weight(450, "g", markets["de"]) == "450 g"


@pytest.mark.parametrize(
    ("amount", "currency", "rule", "expected"),
    [
        ("45.60", "EUR", "0.99", "45.99"),
        ("45.20", "EUR", "0.99", "44.99"),
        ("49.70", "BRL", "0.90", "49.90"),
        ("7477.3", "JPY", "whole", "7477"),
        ("12934", "KRW", "whole100", "12900"),
        ("0.2", "EUR", "0.99", "0.99"),
        ("45.555", "CNY", "0.00", "45.56"),
    ],
)
def test_round_price_rules(amount, currency, rule, expected):
    assert round_price(Decimal(amount), currency, rule) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45 × 30 cm", "17.5 × 12 in"),
        ("Holds 350 ml", "Holds 12 fl oz"),
        ("Weighs 1.2 kg", "Weighs 2.6 lb"),
        ("A 2 m cable", "A 6.6 ft cable"),
        ("1,500 g of flour", "3.3 lb of flour"),
        ("600 g/m² cotton terry", "600 g/m² cotton terry"),
        ("Trail Backpack 28 L", "Trail Backpack 28 L"),
        ("Machine washable at 60 °C", "Machine washable at 60 °C"),
    ],
)
def test_metric_copy_is_converted_for_us(markets, text, expected):
    from localization.formatting import localize_units

    assert localize_units(text, markets["us"]) == expected
    assert localize_units(text, markets["gb"]) == text


def test_localize_converts_feature_sizes_for_us_only(product, markets, settings):
    from localization import localize

    product.features = ["45 × 30 cm", "Holds 350 ml"]
    assert [f.text for f in localize(product, markets["us"], settings=settings).features] == ["17.5 × 12 in", "Holds 12 fl oz"]
    assert [f.text for f in localize(product, markets["ca"], settings=settings).features] == ["45 × 30 cm", "Holds 350 ml"]
