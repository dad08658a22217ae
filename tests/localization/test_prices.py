"""Prices per market: the catalog's market price, else a converted one (WARN), else none."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from localization.prices import choose_price, find_rate, load_exchange_rates
from productreel.errors import InputError
from productreel.models import MarketPrice


def test_the_catalogs_market_price_comes_first(product, markets):
    choice = choose_price(product, markets["de"])
    assert (choice.amount, choice.currency, choice.compare_at, choice.origin) == (Decimal("44.99"), "EUR", Decimal("54.99"), "market")
    assert choice.findings == []


def test_a_base_price_in_the_market_currency_is_used_as_is(product, markets):
    choice = choose_price(product, markets["us"])
    assert (choice.amount, choice.currency, choice.origin) == (Decimal("49.99"), "USD", "catalog")


def test_no_rate_means_no_price_and_a_finding(product, markets):
    choice = choose_price(product, markets["jp"])
    assert choice.amount is None and choice.origin == "none"
    assert choice.findings[0].rule == "PRICE-MISSING" and "JPY" in choice.findings[0].message


def test_conversion_uses_the_sellers_rates_and_the_market_rounding(product, markets, tmp_path: Path):
    rates = tmp_path / "rates.yaml"
    rates.write_text("base: USD\nrates:\n  JPY: 149.6\n  EUR: 0.92\n  BRL: 5.1\n")
    jp = choose_price(product, markets["jp"], exchange_rates=rates)
    assert (jp.amount, jp.currency, jp.origin) == (Decimal("7479"), "JPY", "converted")  # 49.99 * 149.6 = 7478.5 -> whole yen
    assert jp.compare_at == Decimal("8975")
    assert jp.findings[0].severity == "WARN" and jp.findings[0].rule == "PRICE-CONVERTED"
    br = choose_price(product, markets["br"], exchange_rates=rates)
    assert br.amount == Decimal("254.90")  # 254.95 -> .90 ending


def test_a_catalog_price_in_another_currency_is_never_shown(product, markets, tmp_path: Path):
    product.prices["japan"] = MarketPrice(amount=Decimal("50"), currency="USD")
    choice = choose_price(product, markets["jp"])
    assert choice.amount is None
    assert [f.rule for f in choice.findings] == ["PRICE-CURRENCY", "PRICE-MISSING"]


def test_rates_files_in_csv_and_nested_yaml(tmp_path: Path):
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text("from,to,rate\nUSD,EUR,0.92\nEUR,JPY,162.5\n")
    rates = load_exchange_rates(csv_file)
    assert find_rate(rates, "EUR", "USD") == Decimal(1) / Decimal("0.92")
    assert find_rate(rates, "USD", "JPY") == Decimal("0.92") * Decimal("162.5")  # through EUR
    assert find_rate(rates, "USD", "KRW") is None  # never invented
    nested = tmp_path / "rates.json"
    nested.write_text('{"USD": {"GBP": "0.79"}}')
    assert find_rate(load_exchange_rates(nested), "USD", "GBP") == Decimal("0.79")


def test_a_bad_rate_names_the_row(tmp_path: Path):
    bad = tmp_path / "rates.csv"
    bad.write_text("from,to,rate\nUSD,EUR,abc\n")
    with pytest.raises(InputError) as info:
        load_exchange_rates(bad)
    assert "rates.csv:2" in str(info.value)


def test_every_market_shows_its_own_currency_with_the_example_rates(product, markets):
    from localization import localize
    from localization.formatting import format_price
    from productreel.settings import Settings

    example = Path(__file__).resolve().parents[2] / "localization" / "examples" / "exchange-rates.example.yaml"
    settings = Settings(exchange_rates=example)
    assert len(markets) >= 10  # the loop below must have something to check
    for code, market in markets.items():
        lp = localize(product, market, settings=settings)
        assert lp.currency == market.currency and lp.price_amount is not None, code
        assert lp.price_text == format_price(lp.price_amount, market.currency, market)
