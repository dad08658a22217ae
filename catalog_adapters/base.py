"""What every catalog adapter shares: problems, prices, currencies, HTML to text, list cells."""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Iterator, Protocol

import orjson

from productreel.errors import InputError
from productreel.models import Product


@dataclass(frozen=True)
class CatalogProblem:
    """One bad row or item: where it is, why, and the product when known."""

    where: str
    reason: str
    product: str | None = None

    def __str__(self) -> str:
        head = f"{self.where}: product {self.product}" if self.product else self.where
        return f"{head}: {self.reason}"


class CatalogAdapter(Protocol):
    """A catalog source: iterate products; problems are collected while iterating."""

    problems: list[CatalogProblem]

    def products(self) -> Iterator[Product]:
        """Yield each product that could be read."""
        ...


def parse_since(value: datetime | str | None) -> datetime | None:
    """An aware datetime from an ISO date or date-time (UTC when no zone is given); InputError when malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--since {value!r} is not an ISO date such as 2025-01-31 or 2025-01-31T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


from productreel.secrets import set_secret_source, setting  # noqa: E402,F401 - re-exported for the room


class BadValue(ValueError):
    """A cell that cannot be used; the message is the one-line reason."""


def parse_price(text: str, what: str = "price") -> Decimal | None:
    """A non-negative decimal from a catalog cell; None when empty; BadValue naming ``what`` otherwise."""
    if not text:
        return None
    try:
        value = Decimal(text)  # Decimal itself ignores surrounding whitespace
    except InvalidOperation:
        if not text.strip():
            return None
        raise BadValue(f"{what} {text.strip()!r} is not a number") from None
    if value.is_finite() and value >= 0 and "_" not in text:
        return value
    if value.is_finite() and value < 0:
        raise BadValue(f"{what} {text.strip()!r} is negative")
    raise BadValue(f"{what} {text.strip()!r} is not a number")


@lru_cache(maxsize=1)
def known_currencies() -> frozenset[str]:
    """ISO 4217 codes that CLDR (via Babel) knows."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """The upper-cased ISO 4217 code, or BadValue naming the unknown one."""
    norm = code.strip().upper()
    if norm not in known_currencies():
        raise BadValue(f"unknown currency {code.strip()!r}")
    return norm


_MONEY = re.compile(r"^\s*([0-9][0-9.,]*)\s*([A-Za-z]{3})\s*$|^\s*([A-Za-z]{3})\s*([0-9][0-9.,]*)\s*$")


def parse_money(text: str, what: str = "price") -> tuple[Decimal, str] | None:
    """'15.00 USD' (Merchant Center style) into (amount, currency); None when empty."""
    if not text.strip():
        return None
    m = _MONEY.match(text)
    if not m:
        raise BadValue(f"{what} {text.strip()!r} is not an amount with a currency code (e.g. '15.00 USD')")
    amount, code = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    value = parse_price(amount, what)
    assert value is not None
    return value, check_currency(code)


# Short names that shops use where CLDR's English name is longer or newer.
_TERRITORY_ALIASES = {
    "hong kong": "HK", "macau": "MO", "macao": "MO", "uae": "AE", "usa": "US", "us": "US", "uk": "GB",
    "great britain": "GB", "turkey": "TR", "korea": "KR", "czech republic": "CZ", "russia": "RU",
}


@lru_cache(maxsize=256)
def market_currency(market: str) -> str | None:
    """The currency of a market named like a country ('Germany' -> EUR), via CLDR; None when unknown."""
    from babel import Locale
    from babel.numbers import get_territory_currencies

    name = market.strip().lower()
    codes = {v.lower(): k for k, v in Locale("en").territories.items()}
    code = (
        codes.get(name)
        or _TERRITORY_ALIASES.get(name)
        or (name.upper() if len(name) == 2 and name.upper() in Locale("en").territories else None)
    )
    if not code:
        return None
    found = get_territory_currencies(code, tender=True)
    return found[0] if found else None


# Block-level tags (and list items) become line breaks so lists and paragraphs stay readable as plain text.
_SCRIPT_START = re.compile(r"<\s*(?:script|style)\b", re.I)
_SCRIPT = re.compile(r"<\s*(script|style)\b.*?</\s*\1\s*>", re.I | re.S)
_BREAK_NAME = r"\s*/?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|header|footer|pre|dd|dt|dl)\b"
_BREAK = re.compile(r"<" + _BREAK_NAME + r"[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
# A tag's inside (between '<' and '>') that _BREAK turns into a line break; answers are kept per inside.
_BREAK_INSIDE = re.compile(_BREAK_NAME, re.I)
_IS_BREAK: dict[str, str] = {}


# The plain block tags most catalog bodies hold and nothing else: each one is a line break.
_PLAIN_BREAKS = re.compile(r"</?(?:p|li|ul|ol|div|br|h[1-6])>")


def _drop_tags(text: str) -> str:
    """``_TAG.sub("", _BREAK.sub("\n", text))`` by splitting on '<' (several times faster).

    When every '<' opens one of the plain block tags, one substitution does it (half the time
    again). When every '<' has a '>' before the next '<', each tag is exactly one '<...>' and both
    regexes act on it alone; otherwise the regexes decide.
    """
    plain = _PLAIN_BREAKS.sub("\n", text)
    if "<" not in plain:
        return plain
    head, *tags = text.split("<")
    out = [head]
    known = _IS_BREAK
    for tag in tags:
        inside, gt, rest = tag.partition(">")
        if not gt:
            return _TAG.sub("", _BREAK.sub("\n", text))
        brk = known.get(inside)
        if brk is None:
            brk = "\n" if _BREAK_INSIDE.match(inside) else ""
            if len(known) < 4096:
                known[inside] = brk
        out.append(brk)
        out.append(rest)
    return "".join(out)


def html_to_text(text: str) -> str:
    """Plain text from catalog HTML: tags dropped, entities decoded, list items and blocks on their own lines."""
    if "<" not in text and "&" not in text:
        return "\n".join(filter(None, map(str.strip, text.strip().splitlines())))
    if ("<s" in text or "<S" in text or "< " in text) and _SCRIPT_START.search(text):
        text = _SCRIPT.sub("", text)
    if "<" in text:
        text = _drop_tags(text)
    if "&" in text:
        text = html.unescape(text)
    # (what _SPACES collapses: a tab, CR, form feed, vertical tab or no-break space, or two spaces)
    if "  " in text or "\t" in text or "\r" in text or "\xa0" in text or "\f" in text or "\v" in text:
        text = _SPACES.sub(" ", text)
    return "\n".join(filter(None, map(str.strip, text.split("\n"))))


def split_list(cell: str) -> list[str]:
    """A list cell: a JSON array (Shopify list metafields), else newline- or '|'-separated items."""
    cell = cell.strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            items = json.loads(cell)
            if isinstance(items, list):
                return [str(i).strip() for i in items if str(i).strip()]
        except ValueError:
            pass
    return list(filter(None, map(str.strip, cell.split("\n" if "\n" in cell else "|"))))


def split_tags(cell: str) -> list[str]:
    """Comma-separated tags, trimmed, empties dropped."""
    return list(filter(None, map(str.strip, cell.split(",")))) if cell else []


# Decoding with this handler keeps going past invalid UTF-8 (as lone surrogates, like
# surrogateescape) and counts the bad runs so a reader knows to look for them.
BAD_BYTES = [0]


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    BAD_BYTES[0] += 1
    assert isinstance(exc, UnicodeDecodeError)
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("productreel.catalog", _mark_bad_bytes)
DECODE_ERRORS = "productreel.catalog"
_SURROGATE = re.compile("[\udc80-\udcff]")


def bad_bytes_at(text: str) -> int | None:
    """Index of the first undecodable byte kept by DECODE_ERRORS, or None."""
    m = _SURROGATE.search(text)
    return m.start() if m else None


def sorted_payload_hash(payload: dict[str, Any]) -> str:
    """Product.content_hash from its payload (as _hash_of_json builds it) whose dicts are all already in sorted key order.

    A reader that builds the payload that way while reading saves the sorting pass; ingest
    checks the first products' hashes against the model's like every fast hash.
    """
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()[:20]
