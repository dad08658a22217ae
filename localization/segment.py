"""Sentences for captions and voice: ICU's sentence break iterator, never cutting a price, number or abbreviation.

ICU (through PyICU) applies the Unicode sentence rules of the locale (UAX #29: "$18.00", "7,480", a full
stop followed by a lower-case word, CJK, Arabic and Devanagari stops). Abbreviations are the project's
list per language, not CLDR's suppressions (``de@ss=standard``): CLDR's say "MwSt." never ends a
sentence, but in shop copy the tax label ends the price sentence ("Jetzt für 39,90 € inkl. MwSt. Jetzt
kaufen."), and they miss "No. 1" and "ر.س.". A last guard joins any break that would still separate a
number from its currency, unit or decimals (``cuts_number``, which the CAP-2 caption check uses too).
"""

from __future__ import annotations

import re
import threading

# Abbreviations whose full stop does not end a sentence, per language ("*" for every language), lower
# case without the final stop. CLDR's own lists are applied by ICU; these are what shop copy adds.
ABBREVIATIONS: dict[str, set[str]] = {
    "*": {"no", "nr", "nº", "n°", "art", "ca", "approx", "incl", "excl", "max", "min", "vs", "etc", "e.g", "i.e"},
    "en": {"mr", "mrs", "ms", "dr", "st", "oz", "lb", "lbs", "ft", "pc", "pcs", "qty", "dept"},
    "de": {"inkl", "zzgl", "exkl", "bzw", "z.b", "usw", "evtl", "ggf", "u.a", "d.h", "str", "stk", "tel"},
    "fr": {"env", "p.ex", "réf", "cf", "mme", "mlle"},
    "es": {"aprox", "p.ej", "núm", "sr", "sra", "ud", "uds", "pág"},
    "pt": {"aprox", "ex", "sr", "sra", "pág", "núm"},
    "it": {"ecc", "pag", "sig", "sigg"},
    "nl": {"bijv", "o.a", "m.b.t", "st"},
    # The riyal sign "ر.س." ends in a full stop; the tax label usually follows it ("… ر.س. شامل الضريبة.").
    "ar": {"ر.س", "ج.م", "د.إ"},
}

_ALL = set().union(*ABBREVIATIONS.values())  # for text of unknown language

# Currency signs and units that belong to the number before or after them.
_CURRENCY = r"(?:US\$|CA\$|MX\$|R\$|C\$|\$|€|£|¥|￥|₩|₹|円|元|원|ر\.س\.?|SAR|EUR|USD|CAD|GBP|MXN|BRL|JPY|CNY|KRW|INR|Rs\.?)"
_UNIT = r"(?:mm|cm|m|km|kg|g|mg|ml|cl|l|oz|lb|lbs|in|ft|%|°C|°F|℃|W|V|mAh|GB|TB|Stk|pcs|個|件|개)"
_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9\u0966-\u096f]"
_SPACE = "\u00a0\u202f\u2009\u200f\u200e\u061c"
_NUMBER_END = re.compile(rf"{_DIGIT}[.,\u066b\u066c'’]?$")
_NUMBER_START = re.compile(rf"^[.,\u066b]?{_DIGIT}")
_LEAD_SIGN = re.compile(rf"(?:{_CURRENCY}|\b(?:No|Nr|N[º°]|n[º°]|Art|Ref|Réf)\.?)$", re.IGNORECASE)
_TRAIL_SIGN = re.compile(rf"^(?:{_CURRENCY}|{_UNIT})(?![A-Za-z])")


def _strip(text: str) -> str:
    return text.strip().strip(_SPACE).strip()


def cuts_number(left: str, right: str) -> bool:
    """True when a break between ``left`` and ``right`` separates a number from its decimals, currency or unit.

    ``"$18." | "00"``, ``"Only $" | "18.00"``, ``"49,99" | "€ inkl. MwSt."``, ``"3.5" | "mm"``, ``"No." | "1"``.
    """
    a, b = _strip(left), _strip(right)
    if not a or not b:
        return False
    if _NUMBER_END.search(a) and _NUMBER_START.search(b):
        return True
    if _LEAD_SIGN.search(a) and _NUMBER_START.search(b):
        return True
    return bool(re.search(rf"{_DIGIT}[.,\u066b]?$", a) and _TRAIL_SIGN.search(b))


def language_of(locale: str | None) -> str:
    """The language subtag of a locale or voice name (``de-DE`` → ``de``, ``cmn`` → ``zh``, ``es-419`` → ``es``)."""
    lang = (locale or "").replace("_", "-").split("-")[0].split("@")[0].lower()
    return {"cmn": "zh", "yue": "zh", "jpn": "ja", "kor": "ko", "ara": "ar", "hin": "hi"}.get(lang, lang)


def _icu_locale(locale: str | None) -> str:
    """An ICU locale id (``de_DE``) from a BCP 47 tag or a voice name ("pt-br", "cmn", "es-419")."""
    tag = (locale or "").replace("-", "_")
    parts = tag.split("_") if tag else []
    if parts:
        parts[0] = language_of(parts[0])
    # Voice names carry a region in lower case ("en-us", "pt-br"); ICU wants "en_US".
    parts = [p.upper() if len(p) == 2 and i else p for i, p in enumerate(parts)]
    base = "_".join(p for p in parts if p and not p.isdigit()) or "root"
    return base


_LOCAL = threading.local()


def _iterator(locale: str | None):
    """A sentence BreakIterator for the locale (one per thread: ICU iterators hold their text)."""
    cache = getattr(_LOCAL, "iterators", None)
    if cache is None:
        cache = _LOCAL.iterators = {}
    key = _icu_locale(locale)
    it = cache.get(key)
    if it is None:
        import icu

        it = cache[key] = icu.BreakIterator.createSentenceInstance(icu.Locale(key))
    return it


def _icu_pieces(text: str, locale: str | None) -> list[str]:
    it = _iterator(locale)
    it.setText(text)
    # ICU reports boundaries in UTF-16 code units; map them back to Python string indices.
    utf16 = [0]
    for ch in text:
        utf16.append(utf16[-1] + (2 if ord(ch) > 0xFFFF else 1))
    index = {u: i for i, u in enumerate(utf16)}
    out, start = [], 0
    for end16 in it:
        end = index.get(end16, len(text))
        out.append(text[start:end])
        start = end
    if start < len(text):
        out.append(text[start:])
    return out


def _joins_next(piece: str, following: str, lang: str) -> bool:
    """True when the full stop ending ``piece`` belongs to an abbreviation or number, not to a sentence end.

    An abbreviation of the language ("inkl.", "No."), a list number ("2."), or a one-letter word followed
    by another one-letter word ("z. B.", the riyal sign "ر.س." that ICU cuts after "ر.").
    """
    if not piece.endswith("."):
        return False
    words = piece.split()
    word = words[-1][:-1]
    known = ABBREVIATIONS["*"] | ABBREVIATIONS.get(lang, _ALL)
    # "z. B." is "z.b" written with a space.
    if word.lower() in known or "".join(words[-2:])[:-1].lower() in known:
        return True
    if len(word) == 1 and word.isalpha():
        return bool(re.match(r"\w\.", following))
    return word.isdigit() and len(word) <= 2


def spans(text: str, locale: str | None = None) -> list[str]:
    """``text`` cut at sentence ends into slices that join back to it exactly (spaces stay with the sentence before)."""
    if not text:
        return []
    lang = language_of(locale)
    out: list[str] = []
    for raw in _icu_pieces(text, locale):
        piece = _strip(raw)
        prev = _strip(out[-1]) if out else ""
        if out and (not piece or not prev or _joins_next(prev, piece, lang) or cuts_number(prev, piece)):
            out[-1] += raw
        else:
            out.append(raw)
    return out


def sentences(text: str, locale: str | None = None) -> list[str]:
    """``text`` as sentences for the locale (a BCP 47 tag or a voice name; None: the root rules).

    Never splits a price ("$18.00", "49,99 €", "¥7,480"), a measure ("3.5 mm"), "No. 1" or the market's
    abbreviations ("inkl. MwSt."). The text of each sentence is kept as written; the spaces between
    sentences are dropped.
    """
    return [_strip(p) for p in spans((text or "").strip(), locale) if _strip(p)]
