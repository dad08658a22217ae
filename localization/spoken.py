"""Prices as people say them: "$18.00" is voiced "18 dollars", "49,99 €" "49 Euro 99", "￥7,480" "7480えん".

A text-to-speech engine reads the written form badly: espeak-ng says "$18.00" as "dollar eighteen point
zero zero" and "49,99 €" as "neunundvierzig Komma neun neun Euro". The voice-over keeps the written price
in its captions and speaks this form instead. Digits stay digits without grouping (every engine says
"1299" in its own language); currency words are the market's own (Japanese in kana, since espeak-ng
reads no kanji).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .segment import language_of

# Currencies the markets use; a sign is read as the locale's own currency first ("$" is pesos in es-MX).
CURRENCIES = ("USD", "CAD", "MXN", "EUR", "GBP", "BRL", "JPY", "CNY", "KRW", "SAR", "INR")
# Signs as shops write them, beyond Babel's symbols for the locale.
_EXTRA_SIGNS = {
    "USD": ["US$", "$", "USD"], "CAD": ["CA$", "C$", "$", "CAD"], "MXN": ["MX$", "$", "MXN"], "EUR": ["€", "EUR"],
    "GBP": ["£", "GBP"], "BRL": ["R$", "BRL"], "JPY": ["￥", "¥", "円", "JPY"], "CNY": ["¥", "￥", "元", "CNY", "RMB"],
    "KRW": ["₩", "원", "KRW"], "SAR": ["ر.س.", "ر.س", "SAR"], "INR": ["₹", "Rs.", "Rs", "INR"],
}
# The currency a bare "$" or "¥" means in a language whose locale carries no region (a voice name).
_LANGUAGE_CURRENCY = {"en": "USD", "es": "MXN", "fr": "EUR", "de": "EUR", "it": "EUR", "nl": "EUR", "pt": "BRL",
                      "ja": "JPY", "zh": "CNY", "ko": "KRW", "ar": "SAR", "hi": "INR"}

# Per language and currency: (unit for 1, unit for many, what joins the minor part, minor unit or "").
# "19 dollars 99", "49 Euro 99", "49 euros con 99", "49 reais e 90 centavos", "49 ريال و99 هللة".
_SAY: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "en": {"USD": ("dollar", "dollars", " ", ""), "CAD": ("dollar", "dollars", " ", ""), "MXN": ("peso", "pesos", " ", ""),
           "EUR": ("euro", "euros", " ", ""), "GBP": ("pound", "pounds", " ", ""), "INR": ("rupee", "rupees", " and ", "paise"),
           "JPY": ("yen", "yen", " ", ""), "CNY": ("yuan", "yuan", " ", ""), "KRW": ("won", "won", " ", ""),
           "SAR": ("riyal", "riyals", " and ", "halalas"), "BRL": ("real", "reais", " ", "")},
    "de": {"EUR": ("Euro", "Euro", " ", ""), "USD": ("Dollar", "Dollar", " ", ""), "GBP": ("Pfund", "Pfund", " ", "")},
    "fr": {"EUR": ("euro", "euros", " ", ""), "CAD": ("dollar", "dollars", " ", ""), "USD": ("dollar", "dollars", " ", "")},
    "es": {"EUR": ("euro", "euros", " con ", ""), "MXN": ("peso", "pesos", " con ", "centavos"), "USD": ("dólar", "dólares", " con ", "")},
    "it": {"EUR": ("euro", "euro", " e ", "")},
    "nl": {"EUR": ("euro", "euro", " ", "")},
    "pt": {"BRL": ("real", "reais", " e ", "centavos"), "EUR": ("euro", "euros", " e ", "")},
    "ja": {"JPY": ("えん", "えん", "", "")},
    "ko": {"KRW": ("원", "원", "", "")},
    "ar": {"SAR": ("ريال", "ريال", " و", "هللة")},
    "hi": {"INR": ("रुपया", "रुपये", " ", "पैसे")},
}
_NO_SPACE = {"ja", "zh", "ko"}

_DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9\u0966-\u096f"
# A written number: digits with grouping (",", ".", "'", thin or no-break spaces, Arabic separators) and decimals.
_NUMBER = rf"[{_DIGITS}](?:[{_DIGITS}]|[.,'’\u066b\u066c\u00a0\u202f](?=[{_DIGITS}]))*"
_MARKS = "\u200e\u200f\u061c"  # bidi marks Babel puts around Arabic prices
_NATIVE = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९", "0123456789" * 3)


def _region(locale: str) -> str:
    parts = [p for p in locale.replace("_", "-").split("-")[1:] if len(p) == 2 and p.isalpha()]
    return parts[-1].upper() if parts else ""


@lru_cache(maxsize=64)
def _signs(locale: str) -> tuple[dict[str, str], re.Pattern]:
    """{sign: currency} for the locale (its own currency wins a shared sign) and the price pattern."""
    from babel.numbers import get_currency_symbol, get_territory_currencies

    lang = language_of(locale)
    own = None
    region = _region(locale)
    if region:
        try:
            own = next(iter(get_territory_currencies(region)), None)
        except Exception:  # an unknown region: fall back on the language's usual currency
            own = None
    own = own or _LANGUAGE_CURRENCY.get(lang)
    signs: dict[str, str] = {}
    order = ([own] if own in CURRENCIES else []) + [c for c in CURRENCIES if c != own]
    for code in order:
        found = list(_EXTRA_SIGNS.get(code, []))
        try:
            found.insert(0, get_currency_symbol(code, locale=lang + (f"_{region}" if region else "")))
        except Exception:  # Babel without this locale: the signs above still match
            pass
        for sign in found:
            sign = sign.strip(_MARKS + "\u00a0 ")
            if sign and sign not in signs:
                signs[sign] = code
    alt = "|".join(re.escape(s) for s in sorted(signs, key=len, reverse=True))
    sep = rf"[\s{_MARKS}]*"
    pattern = re.compile(rf"(?P<pre>{alt}){sep}(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER}){sep}(?P<post>{alt})(?![A-Za-z])")
    return signs, pattern


def _amount(number: str) -> tuple[int, int, int] | None:
    """(major, minor, minor digits) of a written number; a last separator before 1–2 digits is the decimal sign."""
    digits = number.translate(_NATIVE)
    m = re.fullmatch(r"(.*?)(?:[.,\u066b](\d{1,2}))?", digits)
    if m is None:
        return None
    whole = re.sub(r"\D", "", m.group(1))
    if not whole:
        return None
    try:
        major = int(Decimal(whole))
    except InvalidOperation:
        return None
    frac = m.group(2) or ""
    return major, int(frac) if frac else 0, len(frac)


def say_price(major: int, minor: int, currency: str, locale: str, minor_digits: int = 2) -> str:
    """One price as the locale says it ("18 dollars", "49 Euro 99", "7480えん", "49元9角")."""
    lang = language_of(locale)
    if currency == "CNY" and lang == "zh":
        jiao, fen = divmod(minor if minor_digits == 2 else minor * 10, 10)
        return f"{major}元" + (f"{jiao}角" if jiao or fen else "") + (f"{fen}分" if fen else "")
    entry = _SAY.get(lang, {}).get(currency)
    if entry is None:
        from babel.numbers import get_currency_name

        try:
            name = get_currency_name(currency, count=major, locale=lang)
        except Exception:  # Babel without this locale
            name = currency
        entry = (name, name, " ", "")
    one, many, join, minor_unit = entry
    space = "" if lang in _NO_SPACE else " "
    out = f"{major}{space}{one if major == 1 else many}"
    if minor:
        # "19 dollars 05", not "19 dollars 5" (which sounds like 50 cents); a named minor unit takes the plain number.
        number = f"{minor:02d}" if minor_digits == 2 and not minor_unit else str(minor)
        out += f"{join}{number}" + (f" {minor_unit}" if minor_unit else "")
    return out


def spoken_prices(text: str, locale: str) -> str:
    """``text`` with every written price replaced by its spoken form for the locale (a BCP 47 tag or a voice)."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    signs, pattern = _signs(locale or "en")

    def repl(m: re.Match) -> str:
        sign = m.group("pre") or m.group("post")
        number = m.group("n1") or m.group("n2")
        parsed = _amount(number)
        if parsed is None:
            return m.group(0)
        major, minor, places = parsed
        return say_price(major, minor, signs[sign], locale, places)

    return pattern.sub(repl, text)
