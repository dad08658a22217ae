"""PRICE-1: the price read on screen equals the market's formatted price (exact on digits, fuzzy on the rest)."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from difflib import SequenceMatcher

from compliance.context import Context, finding
from compliance.ocr import channel_mean
from compliance.rules import Rule
from productreel.models import Finding

NUMBER = re.compile(r"\d(?:[\d.,'’\u00a0\u202f\u066b\u066c ]*\d)?")
CURRENCY_MARKS = ["$", "€", "£", "¥", "円", "元", "₹", "₩", "﷼", "r$", "usd", "eur", "gbp", "jpy", "cny", "rmb", "brl", "chf", "kr", "zł", "₺", "c$", "a$", "mx$", "ر.س", "sar"]


_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8"})
# A look-alike letter folds only inside a number, never as the first letter of a word ("$18. Shop").
_NUMERIC_TOKEN = re.compile(r"(?<![A-Za-z])[\dOoDlI|SB](?:[\dOoDlI|SB.,'’\u00a0\u202f ]*[\dOoDlI|SB])?(?![A-Za-z])")


def fix_ocr_digits(text: str) -> str:
    """Letters OCR reads for digits (O→0, l/I→1, S→5, B→8) inside number-like runs that hold real digits."""

    def fix(m: re.Match) -> str:
        tok = m.group(0)
        real = sum(c.isdigit() for c in tok)
        # Only runs that are mostly digits: "Ad" or "Shop" stay words.
        if real >= 2 and real >= len([c for c in tok if c.isalnum()]) - 1:
            return tok.translate(_LOOKALIKE)
        return tok

    return _NUMERIC_TOKEN.sub(fix, unicodedata.normalize("NFKC", text))


def digits(text: str) -> str:
    """The decimal digits of ``text`` in any script, as ASCII (٤٩٫٩٩ → 4999)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(c)) for c in text if unicodedata.digit(c, None) is not None)


def currency_marks(currency: str, locale: str) -> list[str]:
    """Signs that mark a number as a price in this market: CLDR symbols of its currency plus common ones."""
    marks = list(CURRENCY_MARKS)
    try:
        from babel.numbers import get_currency_symbol

        for loc in {locale.replace("-", "_"), "en"}:
            try:
                marks.append(get_currency_symbol(currency, locale=loc).casefold())
            except Exception:  # an unknown locale only loses one symbol
                continue
    except ImportError:
        pass
    marks.append(currency.casefold())
    return sorted({m for m in marks if m}, key=len, reverse=True)


def price_numbers(text: str, marks: list[str], window: int = 3) -> list[tuple[str, str]]:
    """(number text, digits) of numbers in ``text`` with a currency sign within ``window`` chars of them."""
    norm = fix_ocr_digits(text).casefold()
    out = []
    for m in NUMBER.finditer(norm):
        before = norm[max(0, m.start() - window - 2): m.start()]
        after = norm[m.end(): m.end() + window + 6]
        if not any(mark in before + " " + after for mark in marks):
            continue
        # A unit price ("35,80 €/kg", "€ 3.58 / 100 ml") is another price the shop must show, not the product's.
        if re.match(r"\s*(?:[^\d\s]{1,3}\s*)?/\s*(?:\d+\s*)?(?:kg|g|l|ml|m|cl|100)", after):
            continue
        out.append((m.group(0).strip(), digits(m.group(0))))
    return out


def _similar(a: str, b: str) -> float:
    na = re.sub(r"\s+", "", unicodedata.normalize("NFKC", a).casefold())
    nb = re.sub(r"\s+", "", unicodedata.normalize("NFKC", b).casefold())
    return SequenceMatcher(None, na, nb).ratio()


def _whole_units(price_digits: str, currency: str) -> str:
    """The digits of a price without its minor units: 1800 -> 18 for USD, 7480 stays 7480 for JPY."""
    try:
        from babel.numbers import get_currency_precision

        precision = get_currency_precision(currency)
    except Exception:  # an unknown currency: assume cents
        precision = 2
    return price_digits[:-precision] if precision and len(price_digits) > precision else price_digits


def check_price(rule: Rule, ctx: Context) -> list[Finding]:
    """BLOCK when the market price is not read on screen, or a different price is."""
    lp = ctx.lp
    if lp is None or not lp.price_text or ctx.info is None:
        return []
    expected = lp.price_text
    want = digits(expected)
    if not want:
        return []
    allowed = {want}
    for other in (lp.compare_at_text, lp.prior_price_text, lp.tax_text):
        if other:
            allowed.add(digits(other))
            allowed.update(d for _, d in price_numbers(other, CURRENCY_MARKS + ["%"], 6))
    marks = currency_marks(lp.currency or ctx.market.currency, ctx.market.locale)
    window = int(rule.params.get("currency_window", 3))
    found = None
    wrong: list[dict] = []
    for fr in ctx.ocr:
        # A price may be split over two boxes on one line ("49,99" and "€"): read lines joined too.
        texts = [(it.text, list(it.box)) for it in fr.items]
        line = fr.text
        texts.append((line, None))
        for text, box in texts:
            for m in NUMBER.finditer(fix_ocr_digits(text)):
                if digits(m.group(0)) == want and found is None:
                    found = {"time": round(fr.t, 2), "box": box, "text": text, "similarity": round(_similar(text, expected), 2)}
            for num, d in price_numbers(text, marks, window):
                if d and d not in allowed and box is not None:
                    wrong.append({"time": round(fr.t, 2), "box": box, "text": text, "number": num})
    out: list[Finding] = []
    if found is None:
        out.append(finding(rule, ctx, f"market price {expected!r} not read on screen", expected=expected))
    else:
        # Once the right price is on screen, a reading of only its whole units ("$18." for "$18.00") is the
        # same badge caught mid-transition (cents faded or cut), not another price.
        whole = _whole_units(want, lp.currency or ctx.market.currency)
        wrong = [w for w in wrong if digits(w["number"]) != whole]
    seen = set()
    for w in wrong:
        if w["number"] in seen:
            continue
        seen.add(w["number"])
        out.append(finding(rule, ctx, f"price on screen {w['text']!r} differs from the market price {expected!r}", expected=expected, **w))
    return out


def _struck(gray: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """True when a line crosses the middle of a text box: one row of its middle half holds an unbroken run of
    ink longer than the box is high (glyph strokes are shorter; a strike-through spans several glyphs)."""
    x0, y0, x1, y1 = box
    h, w = gray.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    bh = y1 - y0
    if bh < 6 or x1 - x0 < bh:
        return False
    region = gray[y0:y1, x0:x1]
    border = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    ink = np.abs(region - float(np.median(border))) > 60
    ink[:, 1:-1] |= ink[:, :-2] & ink[:, 2:]  # bridge one anti-aliased pixel
    for row in ink[bh // 4: bh - bh // 4]:
        padded = np.concatenate([[False], row, [False]])
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        if len(edges) and int((edges[1::2] - edges[::2]).max()) > bh:
            return True
    return False


def struck_prices(ctx: Context) -> list[tuple[object, object]]:
    """(OCR frame, line) for every price read struck through while another price shows in the same frame:
    a reduction told by the pixels, whatever the words."""
    if ctx.info is None:
        return []
    marks = currency_marks(ctx.market.currency, ctx.market.locale)
    dec = ctx.decoded
    out = []
    for fr in ctx.ocr:
        priced = [(it, {d for _, d in price_numbers(it.text, marks)}) for it in fr.items]
        priced = [(it, ds) for it, ds in priced if ds]
        if len(priced) < 2 and not any(len(ds) > 1 for _, ds in priced):
            continue
        if fr.index >= len(dec.samples):
            continue
        gray = channel_mean(dec.samples[fr.index].rgb)
        for it, ds in priced:
            others = set().union(*(o for j, o in priced if j is not it)) - ds if len(priced) > 1 else set()
            if not (others or len(ds) > 1):
                continue
            box = tuple(int(round(v * dec.scale)) for v in it.box)
            if _struck(gray, box):
                out.append((fr, it))
    return out
