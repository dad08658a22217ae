"""The price a market shows: the catalog's own market price, else a converted one, else none."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from productreel.errors import InputError
from productreel.models import Finding, Market, MarketPrice, Product

from .formatting import round_price


@dataclass
class MarketPriceChoice:
    """The price chosen for a market and how it was found."""

    amount: Decimal | None
    currency: str
    compare_at: Decimal | None = None
    origin: str = "none"  # "market" (catalog's market price), "catalog" (base price), "converted", "none"
    findings: list[Finding] = field(default_factory=list)


def load_exchange_rates(path: Path) -> dict[tuple[str, str], Decimal]:
    """Rates from the seller's file, keyed (from, to).

    Accepts YAML/JSON ``{base: USD, rates: {EUR: 0.92}}`` or ``{USD: {EUR: 0.92}}``, or CSV with
    columns ``from,to,rate`` (or ``base,currency,rate``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"exchange-rate file not found: {path}")
    rates: dict[tuple[str, str], Decimal] = {}

    def put(src: str, dst: str, value, where: str) -> None:
        try:
            rate = Decimal(str(value))
        except InvalidOperation as exc:
            raise InputError(f"exchange rate {value!r} is not a number", where=where) from exc
        if rate <= 0:
            raise InputError(f"exchange rate {value!r} must be positive", where=where)
        rates[(src.strip().upper(), dst.strip().upper())] = rate

    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for line_no, row in enumerate(csv.DictReader(fh), start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                src = row.get("from") or row.get("base")
                dst = row.get("to") or row.get("currency")
                if not (src and dst and row.get("rate")):
                    raise InputError("exchange-rate row needs from,to,rate", where=f"{path}:{line_no}")
                put(src, dst, row["rate"], f"{path}:{line_no}")
        return rates
    try:
        data = (json.loads if path.suffix.lower() == ".json" else yaml.safe_load)(path.read_text(encoding="utf-8"))
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError(f"exchange-rate file cannot be read: {exc}", where=str(path)) from exc
    if not isinstance(data, dict):
        raise InputError("exchange-rate file must hold a mapping", where=str(path))
    if "rates" in data:
        base = str(data.get("base", "")).upper()
        if not base:
            raise InputError("exchange-rate file with 'rates' needs a 'base' currency", where=str(path))
        for dst, value in data["rates"].items():
            put(base, dst, value, str(path))
    else:
        for src, table in data.items():
            if not isinstance(table, dict):
                raise InputError(f"rates for {src} must be a mapping", where=str(path))
            for dst, value in table.items():
                put(src, dst, value, str(path))
    return rates


def _direct(rates: dict[tuple[str, str], Decimal], src: str, dst: str) -> Decimal | None:
    if (src, dst) in rates:
        return rates[(src, dst)]
    if (dst, src) in rates:
        return Decimal(1) / rates[(dst, src)]
    return None


def find_rate(rates: dict[tuple[str, str], Decimal], src: str, dst: str) -> Decimal | None:
    """The rate from ``src`` to ``dst``: direct, inverse, or through one common currency; never invented."""
    src, dst = src.upper(), dst.upper()
    if src == dst:
        return Decimal(1)
    rate = _direct(rates, src, dst)
    if rate is not None:
        return rate
    for via in sorted({c for pair in rates for c in pair} - {src, dst}):
        first, second = _direct(rates, src, via), _direct(rates, via, dst)
        if first is not None and second is not None:
            return first * second
    return None


def catalog_market_price(product: Product, market: Market) -> MarketPrice | None:
    """The catalog's own price for this market (``Price / Germany`` etc.), or None."""
    keys = [k.lower() for k in market.catalog_markets] + [market.code.lower()]
    for key in keys:
        if key in product.prices:
            return product.prices[key]
    lowered = {k.lower(): v for k, v in product.prices.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def choose_price(product: Product, market: Market, *, exchange_rates: Path | None = None) -> MarketPriceChoice:
    """The price to show in ``market``, in the market's currency, with findings saying how."""
    findings: list[Finding] = []
    own = catalog_market_price(product, market)
    if own is not None:
        if own.currency.upper() == market.currency:
            compare = own.compare_at if own.compare_at is not None and own.compare_at > own.amount else None
            return MarketPriceChoice(own.amount, market.currency, compare, "market", findings)
        findings.append(
            Finding(
                rule="PRICE-CURRENCY",
                severity="WARN",
                message=f"catalog price for market {market.code} is in {own.currency}, not {market.currency}; not shown as is",
                evidence={"amount": str(own.amount), "currency": own.currency},
                source=product.source,
            )
        )
    base = product.price
    if base is None:
        findings.append(
            Finding(
                rule="PRICE-MISSING",
                severity="WARN",
                message=f"product has no price; price overlay left out for market {market.code}",
                source=product.source,
            )
        )
        return MarketPriceChoice(None, market.currency, None, "none", findings)
    if product.currency.upper() == market.currency:
        return MarketPriceChoice(base, market.currency, product.compare_at_price, "catalog", findings)
    rates = load_exchange_rates(exchange_rates) if exchange_rates else {}
    rate = find_rate(rates, product.currency, market.currency) if rates else None
    if rate is None:
        why = "no exchange-rate file configured" if not exchange_rates else f"no {product.currency}->{market.currency} rate in {exchange_rates}"
        findings.append(
            Finding(
                rule="PRICE-MISSING",
                severity="WARN",
                message=f"no {market.currency} price for market {market.code} ({why}); price overlay left out",
                evidence={"catalog_currency": product.currency, "market_currency": market.currency},
                source=product.source,
            )
        )
        return MarketPriceChoice(None, market.currency, None, "none", findings)
    rule = str(getattr(market, "price_rounding", "0.99"))
    amount = round_price(base * rate, market.currency, rule)
    compare = product.compare_at_price
    compare_conv = round_price(compare * rate, market.currency, rule) if compare is not None else None
    if compare_conv is not None and compare_conv <= amount:
        compare_conv = None  # rounding ate the reduction: showing it would be false
    findings.append(
        Finding(
            rule="PRICE-CONVERTED",
            severity="WARN",
            message=(
                f"price for market {market.code} converted from {base} {product.currency} at {rate.normalize()} "
                f"and rounded ({rule}): {amount} {market.currency}; set a catalog price for this market"
            ),
            evidence={"from": str(base), "currency": product.currency, "rate": str(rate), "to": str(amount), "rounding": rule},
            source=product.source,
        )
    )
    return MarketPriceChoice(amount, market.currency, compare_conv, "converted", findings)
