"""Claim rules as a table: each rule id with passing and failing texts (NFKC, case, word boundaries, allow-lists)."""

from __future__ import annotations

import pytest
from .helpers import localized, text_findings

CASES = [
    # rule, market, text, expected severity of a hit (None: no finding)
    ("CL-CN-1", "cn", "全网销量第一的杯子", "BLOCK"),
    ("CL-CN-1", "cn", "ＮＯ．１ 保温杯", "BLOCK"),  # full-width, NFKC makes it NO.1
    ("CL-CN-1", "cn", "第一次使用就很方便", None),  # allow-list: 第一次
    ("CL-CN-1", "cn", "品质可靠，保温持久", None),
    ("CL-CN-2", "cn", "纯天然材料", "WARN"),
    ("CL-CN-2", "cn", "天然竹木材料", None),
    ("CL-EU-1", "de", "Jetzt -20 % auf alle Becher", "BLOCK"),
    ("CL-EU-1", "de", "-20 % · Niedrigster Preis der letzten 30 Tage: 59,99 €", None),
    ("CL-EU-1", "de", "Becher aus Steinzeug", None),
    ("CL-EU-1", "de", "Jetzt 49,99 € statt 79,99 €", "BLOCK"),  # "statt 7" ends inside a number: matched whole
    ("CL-EU-1", "de", "UVP: 79,99 € · jetzt 49,99 €", "BLOCK"),
    ("CL-EU-1", "de", "vorher 79,99 €", "BLOCK"),
    ("CL-EU-1", "de", "49,99 € statt 79,99 € · Niedrigster Preis der letzten 30 Tage: 59,99 €", None),
    ("CL-EU-1", "de", "Fertig in 5 statt 15 Minuten", "BLOCK"),  # the old pattern's reach: "statt <number>"
    ("CL-EU-1", "de", "Anstatt 5 Minuten", None),  # word boundary
    ("CL-EU-1", "fr", "49,99 € au lieu de 79,99 €", "BLOCK"),
    ("CL-EU-1", "fr", "Prima 3 lavages", None),  # an ambiguous word counts only before a price with its sign
    ("CL-EU-2", "de", "49,99 € zzgl. MwSt.", "BLOCK"),
    ("CL-EU-2", "de", "49,99 € inkl. MwSt.", None),
    ("CL-EU-3", "de", "Klimaneutral hergestellt", "BLOCK"),
    ("CL-EU-3", "de", "Aus recyceltem Glas", None),
    ("CL-DE-1", "de", "Testsieger 2024", "WARN"),
    ("CL-DE-1", "de", "Ein guter Becher für jeden Tag", None),
    ("CL-US-1", "us", "Proudly MADE IN USA", "BLOCK"),
    ("CL-US-1", "us", "Made in US", "BLOCK"),  # what OCR reads for "Made in USA"
    ("CL-US-1", "us", "Made in Portugal", None),
    ("CL-US-1", "us", "Made in usual sizes", None),  # word boundary
    ("CL-US-2", "us", "Get a free mug today", "BLOCK"),
    ("CL-US-2", "us", "Free mug with any purchase over $50", None),
    ("CL-US-2", "us", "Sugar-free and BPA-free", None),  # allow-list
    ("CL-US-2", "us", "Freedom to sip anywhere", None),  # word boundary
    ("CL-UK-1", "gb", "£20 excl. VAT", "BLOCK"),
    ("CL-UK-1", "gb", "The best mug in Britain", "WARN"),
    ("CL-UK-1", "gb", "A good mug, £20 incl. VAT", None),
    ("CL-JP-1", "jp", "満足度No.1のマグ", "BLOCK"),
    ("CL-JP-1", "jp", "毎日使えるマグ", None),
    ("CL-JP-3", "jp", "シミが消える美容液", "BLOCK"),
    ("CL-JP-3", "jp", "肌にうるおいを与える", None),
    ("CL-BR-2", "br", "O melhor copo do Brasil", "WARN"),
    ("CL-BR-2", "br", "Um copo bonito", None),
]


@pytest.mark.parametrize("rule,code,text,severity", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_claim_rule_table(rule, code, text, severity):
    found = text_findings(rule, code, text)
    if severity is None:
        assert found == []
    else:
        assert found, f"{rule} missed {text!r}"
        assert found[0].severity == severity
        assert found[0].evidence["match"]
        assert found[0].source


@pytest.mark.parametrize("text,hit", [("Visit www.mugshop.com", True), ("Only $19 — limited time", True), ("Keeps coffee hot for 6 hours", False)])
def test_amazon_listing_rule_only_for_amazon(text, hit):
    assert bool(text_findings("CL-AMZ-1", "us", text, destination="amazon")) is hit


def test_eu_reduction_passes_when_the_prior_price_is_shown():
    lp = localized("de", "39,99 €", prior_price_text="Niedrigster Preis: 49,99 €")
    assert text_findings("CL-EU-1", "de", "-20 % nur heute, vorher 49,99 €", lp=lp) == []
    assert text_findings("CL-EU-1", "de", "-20 % nur heute", lp=lp)


def test_eu_reduction_read_on_a_bare_clip_blocks(clip_factory):
    """A clip checked without storyboard or product: the reduction is judged on the text read on screen."""
    from compliance.engine import check_clip
    from .helpers import market

    now = ("Jetzt 49,99 €", (20, 150), 30, "white", 0, 2)
    was = ("statt 79,99 €", (20, 220), 24, "white", 0, 2)
    lowest = ("Niedrigster Preis der letzten 30 Tage: 59,99 €", (8, 320), 11, "white", 0, 2)
    bare = check_clip(clip_factory("reduction.mp4", texts=[now, was]), market("de"))
    (f,) = [f for f in bare.findings if f.rule == "CL-EU-1"]
    assert f.severity == "BLOCK" and f.evidence["input"] == "ocr" and "statt 79,99" in f.evidence["match"] and "box" in f.evidence
    assert not bare.passed
    shown = check_clip(clip_factory("reduction-ok.mp4", texts=[now, was, lowest]), market("de"))
    assert not [f for f in shown.findings if f.rule == "CL-EU-1"]


def _prices(strike: bool, lowest: bool = False):
    from PIL import Image, ImageDraw

    from .clipmaker import font

    def draw(t: float):
        img = Image.new("RGB", (270, 480), (30, 40, 60))
        d = ImageDraw.Draw(img)
        d.text((20, 150), "49,99 €", font=font(34), fill="white")
        x0, y0, x1, y1 = d.textbbox((20, 220), "79,99 €", font=font(24))
        d.text((20, 220), "79,99 €", font=font(24), fill=(200, 200, 200))
        if strike:
            d.line((x0 - 2, (y0 + y1) // 2, x1 + 2, (y0 + y1) // 2), fill=(200, 200, 200), width=3)
        if lowest:
            d.text((8, 320), "Niedrigster Preis der letzten 30 Tage: 59,99 €", font=font(11), fill="white")
        return img

    return dict(duration=2.0, frame_fn=draw)


@pytest.mark.parametrize("strike,lowest,blocked", [(True, False, True), (False, False, False), (True, True, False)],
                         ids=["struck", "two-prices-not-struck", "struck-with-30-day-price"])
def test_eu_reduction_struck_through_on_a_bare_clip(clip_factory, strike, lowest, blocked):
    """A prior price struck through beside the current one is a reduction, with no word to say so."""
    from compliance.engine import run_checks
    from .helpers import market

    report, _ = run_checks(clip_factory("prices.mp4", **_prices(strike, lowest)), market("de"), only={"CL-EU-1"})
    found = [f for f in report.findings if f.rule == "CL-EU-1"]
    assert bool(found) is blocked
    if blocked:
        assert found[0].severity == "BLOCK" and "79,99" in found[0].evidence["text"] and found[0].evidence["box"]


def test_hits_carry_evidence_of_where_they_were_seen():
    (f,) = text_findings("CL-US-1", "us", "Built in America since 1950")
    assert f.rule == "CL-US-1" and f.evidence["input"] == "script" and f.evidence["match"] == "built in america"
