"""Sentence segmentation (ICU) never cuts a price, measure or abbreviation; prices are voiced as people say them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from localization.formatting import format_price
from localization.markets import load_markets
from localization.segment import cuts_number, sentences
from localization.spoken import spoken_prices

MARKETS = load_markets()
CODES = sorted(MARKETS)
AMOUNTS = ["18", "49.99", "7480", "1299.90", "0.50"]
STOP = {"ja": "。", "zh": "。", "hi": "।"}
LEAD = {"en": "Now only", "de": "Jetzt nur", "fr": "Maintenant", "es": "Ahora", "it": "Ora", "nl": "Nu", "pt": "Agora",
        "ja": "今だけ", "zh": "仅需", "ko": "지금", "ar": "الآن فقط", "hi": "अभी सिर्फ़"}


def test_all_fifteen_markets_are_covered():
    assert len(CODES) >= 15 and {"us", "ca", "ca-fr", "gb", "de", "fr", "es", "it", "nl", "br", "mx", "jp", "cn", "kr", "sa", "in"} <= set(CODES)


@pytest.mark.parametrize("amount", AMOUNTS)
@pytest.mark.parametrize("code", CODES)
def test_a_price_and_its_tax_label_stay_in_one_sentence(code, amount):
    m = MARKETS[code]
    price = format_price(Decimal(amount), m.currency, m)
    stop = STOP.get(m.language, ".")
    tax = f" {m.tax_label}" if m.tax_label else ""
    first = f"{LEAD.get(m.language, 'Now')} {price}{tax}"
    first = first if first.endswith(".") else first + stop
    cta = m.cta + stop
    text = f"{first} {cta}" if stop == "." else first + cta
    got = sentences(text, m.locale)
    assert got == [first.strip("\u200f"), cta], (code, text, got)
    assert sum(price.strip("\u200f") in s for s in got) == 1


@pytest.mark.parametrize("locale,text,expected", [
    ("en-US", "Only $18.00. Shop now.", ["Only $18.00.", "Shop now."]),
    ("en-US", "Our No. 1 mug. Shop now.", ["Our No. 1 mug.", "Shop now."]),
    ("en-US", "A 3.5 mm jack. Approx. 2 kg. Buy now!", ["A 3.5 mm jack.", "Approx. 2 kg.", "Buy now!"]),
    ("en-GB", "£19.99 incl. VAT. Shop now.", ["£19.99 incl. VAT.", "Shop now."]),
    ("en-CA", "Was $24.99. Now $19.99. Shop now.", ["Was $24.99.", "Now $19.99.", "Shop now."]),
    ("de-DE", "Jetzt für 49,99 € inkl. MwSt. Jetzt kaufen.", ["Jetzt für 49,99 € inkl. MwSt.", "Jetzt kaufen."]),
    ("de-DE", "Nr. 1 im Test, z. B. für 3,5 mm Kabel. Jetzt kaufen.", ["Nr. 1 im Test, z. B. für 3,5 mm Kabel.", "Jetzt kaufen."]),
    ("de-DE", "Set. 1. Filter spülen. 2. Kaffee einfüllen.", ["Set.", "1. Filter spülen.", "2. Kaffee einfüllen."]),
    ("fr-FR", "Seulement 49,99 € TTC. Env. 2 kg. Achetez.", ["Seulement 49,99 € TTC.", "Env. 2 kg.", "Achetez."]),
    ("es-ES", "Solo 49,99 € IVA incluido. Aprox. 2 kg. Compra ya.", ["Solo 49,99 € IVA incluido.", "Aprox. 2 kg.", "Compra ya."]),
    ("es-MX", "Solo $1,299.00 IVA incluido. Compra ya.", ["Solo $1,299.00 IVA incluido.", "Compra ya."]),
    ("pt-BR", "Só R$ 49,90. Compre já.", ["Só R$ 49,90.", "Compre já."]),
    ("nl-NL", "Nu € 49,99 incl. btw. Bijv. 3.5 mm. Koop nu.", ["Nu € 49,99 incl. btw.", "Bijv. 3.5 mm.", "Koop nu."]),
    ("it-IT", "Solo 49,99 € IVA inclusa, ecc. Acquista ora.", ["Solo 49,99 € IVA inclusa, ecc. Acquista ora."]),
    ("ja-JP", "今だけ¥7,480。税込。今すぐ購入！", ["今だけ¥7,480。", "税込。", "今すぐ購入！"]),
    ("ja-JP", "価格は￥2,400です。今すぐ購入。", ["価格は￥2,400です。", "今すぐ購入。"]),
    ("zh-Hans-CN", "仅需¥49.90！立即购买。", ["仅需¥49.90！", "立即购买。"]),
    ("ko-KR", "지금 ₩39,000. 지금 구매하세요.", ["지금 ₩39,000.", "지금 구매하세요."]),
    ("ar-SA", "السعر 49.99 ر.س. شامل الضريبة. اشتر الآن.", ["السعر 49.99 ر.س. شامل الضريبة.", "اشتر الآن."]),
    ("hi-IN", "सिर्फ़ ₹1,499.00। अभी खरीदें।", ["सिर्फ़ ₹1,499.00।", "अभी खरीदें।"]),
    (None, "Jetzt für 39,90 € inkl. MwSt. Jetzt kaufen. 今すぐ購入。価格は￥2,400です。",
     ["Jetzt für 39,90 € inkl. MwSt.", "Jetzt kaufen.", "今すぐ購入。", "価格は￥2,400です。"]),
    ("en-us", "", []),
])
def test_sentences_keep_numbers_and_abbreviations_whole(locale, text, expected):
    assert sentences(text, locale) == expected


@pytest.mark.parametrize("left,right,cut", [
    ("Only $18.", "00. Shop now.", True),
    ("Only $19.", "99. Shop now.", True),
    ("Only $", "18.00", True),
    ("Jetzt 49,99", "€ inkl. MwSt.", True),
    ("Jetzt 49,", "99 €", True),
    ("A 3.5", "mm jack", True),
    ("Our No.", "1 mug", True),
    ("今だけ¥7,", "480", True),
    ("Only $18.00.", "Shop now.", False),
    ("Jetzt für 49,99 € inkl. MwSt.", "Jetzt kaufen.", False),
    ("Step 2 done.", "Next, pour.", False),
    ("", "18", False),
])
def test_cuts_number(left, right, cut):
    assert cuts_number(left, right) is cut


@pytest.mark.parametrize("locale,text,said", [
    ("en-US", "Only $18.00.", "Only 18 dollars."),
    ("en-us", "Only $19.99. Shop now.", "Only 19 dollars 99. Shop now."),
    ("en-us", "Just $1.00!", "Just 1 dollar!"),
    ("en-us", "Only $19.05.", "Only 19 dollars 05."),
    ("en-GB", "£1,299.00 incl. VAT.", "1299 pounds incl. VAT."),
    ("de-DE", "Jetzt für 49,99\u00a0€ inkl. MwSt.", "Jetzt für 49 Euro 99 inkl. MwSt."),
    ("de", "Nur 1.299,00 €.", "Nur 1299 Euro."),
    ("fr-fr", "Seulement 49,99\u00a0€ TTC.", "Seulement 49 euros 99 TTC."),
    ("fr-CA", "Seulement 1\u00a0299,99\u00a0$.", "Seulement 1299 dollars 99."),
    ("es-ES", "Solo 49,99\u00a0€.", "Solo 49 euros con 99."),
    ("es-419", "Solo $1,299.50.", "Solo 1299 pesos con 50 centavos."),
    ("it", "Solo 49,99\u00a0€.", "Solo 49 euro e 99."),
    ("nl-NL", "Nu €\u00a049,99.", "Nu 49 euro 99."),
    ("pt-br", "Só R$\u00a049,90.", "Só 49 reais e 90 centavos."),
    ("ja", "今だけ￥7,480。", "今だけ7480えん。"),
    ("ja-JP", "今だけ¥7,480。", "今だけ7480えん。"),
    ("cmn", "仅需¥49.90！", "仅需49元9角！"),
    ("ko-KR", "지금 ₩39,000.", "지금 39000원."),
    ("ar-SA", "السعر \u200f49.99\u00a0ر.س.\u200f", "السعر \u200f49 ريال و99 هللة\u200f"),
    ("hi-IN", "सिर्फ़ ₹1,499.00।", "सिर्फ़ 1499 रुपये।"),
    ("en-us", "Holds 350 ml. 3 sizes.", "Holds 350 ml. 3 sizes."),
])
def test_spoken_prices(locale, text, said):
    assert spoken_prices(text, locale) == said


@pytest.mark.parametrize("code", CODES)
def test_every_market_price_is_voiced_without_separators(code):
    m = MARKETS[code]
    price = format_price(Decimal("1299.00"), m.currency, m)
    said = spoken_prices(price, m.voice)
    assert price not in said and "1299" in said, (code, price, said)
    assert not any(sign in said for sign in "$€£¥￥₩₹"), said


def test_the_voice_says_the_spoken_price_and_the_captions_keep_the_written_one():
    from clips.audio import RATE, speak

    heard: list[str] = []

    class Recorder:
        name = "recorder"

        def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
            heard.append(text)
            return np.zeros(int(0.05 * RATE * len(text) / 5), np.float32)

    speech = speak("Only $18.00. Shop now.", "en-us", 6.0, Recorder())
    assert heard == ["Only 18 dollars.", "Shop now."]
    assert [s[2] for s in speech.segments] == ["Only $18.00.", "Shop now."]


@pytest.mark.parametrize("code", CODES)
def test_captions_never_cut_a_price(code):
    from localization.subtitles import make_cues

    m = MARKETS[code]
    stop = STOP.get(m.language, ".")
    price = format_price(Decimal("1299.99"), m.currency, m)
    text = f"{LEAD.get(m.language, 'Now')} {price} {m.tax_label}{stop} {m.cta}{stop} {LEAD.get(m.language, 'Now')} {price}{stop}"
    cues = make_cues(text, 8.0, m)
    pieces = [(a.text, b.text) for a, b in zip(cues, cues[1:])]
    pieces += [(x, y) for c in cues for x, y in zip(c.text.split("\n"), c.text.split("\n")[1:])]
    assert cues and not [p for p in pieces if cuts_number(*p)], (code, [c.text for c in cues])
