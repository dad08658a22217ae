"""Prices, numbers, dates and units as locals write them, with Babel (CLDR)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.units import format_unit

from productreel.errors import InputError
from productreel.models import Market

# Babel formats numbers with a numbering system's symbols but always writes ASCII digits,
# so native digits (Arabic-Indic, Devanagari) are transliterated here.
_NATIVE_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "deva": "०१२३४५६७८९",
    "beng": "০১২৩৪৫৬৭৮৯",
    "thai": "๐๑๒๓๔๕๖๗๘๙",
}


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """The Babel Locale for a BCP 47 tag such as ``de-DE`` or ``zh-Hans-CN``."""
    try:
        return Locale.parse(locale.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError) as exc:
        raise InputError(f"unknown locale {locale!r}") from exc


def numbering_system(market: Market) -> str:
    """The CLDR numbering system a market's file asks for (``latn`` or the locale's native one)."""
    if market.numbering != "native":
        return "latn"
    loc = babel_locale(market.locale)
    native = loc.other_numbering_systems.get("native", "latn")
    return native if native in _NATIVE_DIGITS else "latn"


def _digits(text: str, system: str) -> str:
    digits = _NATIVE_DIGITS.get(system)
    if not digits:
        return text
    return text.translate(str.maketrans("0123456789", digits))


def format_price(amount: Decimal, currency: str, market: Market) -> str:
    """A price as the market writes it: ``$49.99``, ``49,99 €``, ``￥7,480``, ``٤٩٫٩٩ ر.س.``."""
    loc = babel_locale(market.locale)
    system = numbering_system(market)
    text = format_currency(Decimal(amount), currency, locale=loc, numbering_system=system)
    return _digits(text, system)


def format_number(value: Decimal | float | int, market: Market, *, digits: int | None = None) -> str:
    """A plain number with the market's grouping, decimal sign and digits."""
    loc = babel_locale(market.locale)
    system = numbering_system(market)
    fmt = None
    if digits is not None:
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
    text = format_decimal(value, format=fmt, locale=loc, numbering_system=system)
    return _digits(text, system)


def format_date(value: date | datetime, market: Market, *, length: str = "medium") -> str:
    """A date in the market's CLDR format (``Nov 25, 2026``, ``25.11.2026``, ``2026/11/25``)."""
    if isinstance(value, datetime):
        value = value.date()
    return _digits(_babel_format_date(value, format=length, locale=babel_locale(market.locale)), numbering_system(market))


# Metric -> imperial factors for the units catalogs carry.
_TO_CM = {"mm": Decimal("0.1"), "cm": Decimal(1), "m": Decimal(100), "in": Decimal("2.54")}
_TO_G = {"g": Decimal(1), "kg": Decimal(1000), "oz": Decimal("28.349523125"), "lb": Decimal("453.59237")}


def _round_sensibly(value: Decimal) -> Decimal:
    """One decimal below 10, halves up to 100, whole numbers above: what a shopper reads."""
    if value < 10:
        step = Decimal("0.1")
    elif value < 100:
        step = Decimal("0.5")
    else:
        step = Decimal(1)
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).normalize()


def _fmt_plain(value: Decimal, market: Market) -> str:
    value = value.normalize()
    places = max(0, -value.as_tuple().exponent)
    return format_number(value, market, digits=places)


def format_dimensions(dims: list[float | Decimal] | tuple, unit: str, market: Market) -> str:
    """Product dimensions in the market's system: ``30 × 20 × 10 cm`` or ``11.8 × 7.9 × 3.9 in`` for us."""
    if unit not in _TO_CM:
        raise InputError(f"unknown length unit {unit!r}")
    cms = [Decimal(str(d)) * _TO_CM[unit] for d in dims]
    if market.measurement == "imperial" and len(cms) == 1 and cms[0] >= 100:
        values, cldr = [_round_sensibly(cms[0] / Decimal("30.48"))], "length-foot"  # a 2 m cable is 6.6 ft
    elif market.measurement == "imperial":
        values, cldr = [_round_sensibly(c / Decimal("2.54")) for c in cms], "length-inch"
    else:
        # Metric stays in the unit a shopper expects for the size: mm for small parts, m for furniture.
        values, cldr = [_round_sensibly(c) for c in cms], "length-centimeter"
    parts = [_fmt_plain(v, market) for v in values[:-1]]
    return " × ".join(parts + [_unit(values[-1], cldr, market)])


def _unit(value: Decimal, cldr: str, market: Market) -> str:
    """``value`` with its CLDR unit, in the market's digits (Babel's unit patterns only know latn)."""
    loc = babel_locale(market.locale)
    places = max(0, -value.normalize().as_tuple().exponent)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    text = format_unit(value, cldr, length="short", locale=loc, format=pattern)
    latn = format_decimal(value, format=pattern, locale=loc)
    return text.replace(latn, _fmt_plain(value, market), 1)


def format_weight(value: float | Decimal, unit: str, market: Market) -> str:
    """A weight in the market's system: ``450 g``/``1.2 kg`` metric, ``15.9 oz``/``2.6 lb`` imperial."""
    if unit not in _TO_G:
        raise InputError(f"unknown weight unit {unit!r}")
    grams = Decimal(str(value)) * _TO_G[unit]
    if market.measurement == "imperial":
        pounds = grams / _TO_G["lb"]
        amount, cldr = (grams / _TO_G["oz"], "mass-ounce") if pounds < 1 else (pounds, "mass-pound")
    else:
        amount, cldr = (grams, "mass-gram") if grams < 1000 else (grams / 1000, "mass-kilogram")
    amount = _round_sensibly(amount)
    return _unit(amount, cldr, market)


def round_price(amount: Decimal, currency: str, rule: str = "0.99") -> Decimal:
    """A converted price rounded the way the market prices things.

    rules: ``0.99`` (nearest whole minus a cent: 45.99), ``0.90`` (R$ 49,90), ``whole`` (whole units:
    ¥7,480), ``whole10``/``whole100`` (nearest 10/100: ₩12,900), ``0.00`` (plain cents).
    """
    amount = Decimal(amount)
    precision = get_currency_precision(currency)
    if rule in ("0.99", "0.90", "0.95") and precision >= 2:
        whole = amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        ending = Decimal(1) - Decimal(rule)
        result = whole - ending
        # Never round a price to zero or below.
        return result if result > 0 else Decimal(rule)
    if rule.startswith("whole"):
        step = Decimal(rule[5:] or 1)
        result = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
        return result if result > 0 else step
    quantum = Decimal(1).scaleb(-precision)
    result = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    return result if result > 0 else quantum


_NUM = r"\d+(?:[.,]\d+)?"
_UNIT_RE = re.compile(
    rf"(?<![\w.,])(?P<dims>{_NUM}(?:\s*[×xX]\s*{_NUM}){{0,2}})\s*(?P<unit>mm|cm|m|kg|g|ml|mL)(?![\w/²³])"
)
_ML_PER_FL_OZ = Decimal("29.5735295625")


def _to_decimal(text: str) -> Decimal:
    # "1,500" is fifteen hundred; "1,5" is one and a half.
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        return Decimal(text.replace(",", ""))
    return Decimal(text.replace(",", "."))


def localize_units(text: str, market: Market) -> str:
    """Metric sizes, weights and volumes in catalog text, rewritten for imperial markets (us).

    ``45 × 30 cm`` -> ``17.5 × 12 in``, ``2 m`` -> ``6.6 ft``, ``450 g`` -> ``16 oz``, ``350 ml`` ->
    ``12 fl oz``. Litres stay (backpacks and coolers are sold in litres in the US too); compound
    units (``600 g/m²``) and metric markets are left as written.
    """
    if market.measurement != "imperial" or not text:
        return text

    def convert(match: re.Match) -> str:
        unit = match.group("unit")
        values = [_to_decimal(v) for v in re.split(r"\s*[×xX]\s*", match.group("dims"))]
        if unit in _TO_CM:
            return format_dimensions(values, unit, market)
        if unit in ("g", "kg") and len(values) == 1:
            return format_weight(values[0], unit, market)
        if unit.lower() == "ml" and len(values) == 1:
            return f"{_fmt_plain(_round_sensibly(values[0] / _ML_PER_FL_OZ), market)} fl oz"
        return match.group(0)

    return _UNIT_RE.sub(convert, text)
